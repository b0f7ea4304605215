"""The browser's confidence maths (ui/live_assets/maths.mjs) against explorer.maths.confidence.

Node runs the same module the Explorer's component runs; every number and every string
it shows while T is dragged must be what the server shows after release.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from explorer.maths.confidence import entropy_bits, log_softmax, margin, sigmoid, softmax
from explorer.maths.summary import format_entropy_bits, format_margin, format_top1, values_table
from tests.needs import REQUIRE_NODE_ENV, skip_or_fail

MATHS = Path(__file__).resolve().parents[1] / "ui" / "live_assets" / "maths.mjs"
RNG = np.random.default_rng(0)
CASES = [
    (np.array([-1.5, 0.3, 7.2, 2.0, -3.0, 0.0, 1.1, 4.9, -0.4, 0.8]), 1.0),
    (np.array([1000.0, -1000, 0, 999, 3, -3, 1, 2, 500, -500]), 0.05),  # ±1000 at T = 0.05
    (np.array([1000.0, -1000, 0, 999, 3, -3, 1, 2, 500, -500]), 20.0),
    (np.zeros(10), 1.0),  # a tie: uniform
    (np.array([30.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0.3),  # 1 − p far below float64's eps
    (np.array([0.1, 0.1 + 1e-9, -2, -2, -2, -2, -2, -2, -2, -2]), 1.0),  # a near tie
    *[(RNG.normal(0, s, 10), t) for s, t in [(3, 0.5), (10, 1.355), (1, 7.3), (25, 2.0),
                                              (5, 0.001), (5, 5000.0)]],
]
HARNESS = """
import * as m from %s;
const cases = JSON.parse(process.argv[1]);
const out = cases.map(([z, t]) => ({
  softmax: m.softmax(z, t), logSoftmax: m.logSoftmax(z, t), sigmoid: m.sigmoid(z, t),
  entropy: m.entropyBits(z, t), margin: m.margin(z, t), readouts: m.readouts(z, t),
  table: m.valuesTable(z, t), ovrTable: m.valuesTable(z, t, z.map((v) => -v / 2)),
  g: [m.pyG(t), m.pyG(1), m.pyG(0.05), m.pyG(12.5)],
}));
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def browser_side() -> list[dict]:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is missing: apt-get install -y nodejs (CI installs it)",
                     REQUIRE_NODE_ENV)
    script = HARNESS % json.dumps(MATHS.as_uri())
    cases = json.dumps([[z.tolist(), t] for z, t in CASES])
    run = subprocess.run([node, "--input-type=module", "-e", script, cases],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(run.stdout)


@pytest.mark.parametrize("i", range(len(CASES)))
def test_browser_maths_equals_python(browser_side, i):
    z, t = CASES[i]
    js = browser_side[i]
    np.testing.assert_allclose(js["softmax"], softmax(z, t), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(js["logSoftmax"], log_softmax(z, t), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(js["sigmoid"], sigmoid(z, t), rtol=1e-12, atol=1e-300)
    assert js["entropy"] == pytest.approx(float(entropy_bits(z, t)), rel=1e-9, abs=1e-300)
    assert js["margin"] == pytest.approx(float(margin(z, t)), rel=1e-12, abs=1e-15)
    assert all(np.isfinite(js["softmax"])) and all(np.isfinite(js["logSoftmax"]))


@pytest.mark.parametrize("i", range(len(CASES)))
def test_browser_shows_the_strings_the_server_shows(browser_side, i):
    z, t = CASES[i]
    js = browser_side[i]
    assert js["readouts"] == {"top1": format_top1(z, t), "margin": format_margin(z, t),
                              "entropy": format_entropy_bits(float(entropy_bits(z, t)))}
    assert js["table"] == values_table(z, t)
    assert js["ovrTable"] == values_table(z, t, -np.asarray(z) / 2)
    assert js["g"] == [f"{t:.3g}", "1", "0.05", "12.5"]


FILL_HARNESS = """
import * as m from %s;
const [templates, values] = JSON.parse(process.argv[1]);
console.log(JSON.stringify(templates.map((t) => values.map((v) => m.fill(t, v)))));
"""


def test_the_panels_templates_fill_in_as_python_formats_them():
    from explorer.figures.explorer import PANEL

    templates = sorted({line for chart in PANEL if chart.title for line in chart.title.lines}
                       | {marker.label for chart in PANEL for marker in chart.markers}
                       | {"{{literal}} {t:.2f}", "{sum:.1f}/{t:.5g}"})
    values = [{"t": t, "sum": s} for t in (0.05, 0.0512345, 1, 1.355, 2.5, 12.5, 20, 1e-5, 123456.0)
              for s in (1.0, 0.99949, 2.3456, 0.0)]
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is missing: apt-get install -y nodejs (CI installs it)",
                     REQUIRE_NODE_ENV)
    run = subprocess.run([node, "--input-type=module", "-e", FILL_HARNESS % json.dumps(
        MATHS.as_uri()), json.dumps([templates, values])], capture_output=True, text=True,
        timeout=60, check=True)
    assert len(templates) >= 5  # the softmax and sigmoid titles' lines, the marker label
    assert json.loads(run.stdout) == [[t.format(**v) for v in values] for t in templates]


PANEL_HARNESS = """
const [rows, figures, sources, t] = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = rows.map((row) => {
  const moved = figureAtT(row, JSON.parse(figures[row.name]), sources, t);
  return moved && { fig: moved[0], changed: [...moved[1]] };
});
console.log(JSON.stringify(out));
"""


def _strip_tags(text: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", line) for line in text.split("<br>")]


@pytest.mark.parametrize("t0,t1", [(1.0, 3.7), (2.5, 0.05), (0.3, 20.0)])
def test_the_browser_moves_every_chart_with_t_as_python_draws_it_at_t(t0, t1, tmp_path):
    """panel.mjs's figureAtT from each PANEL row, against the figure Python builds at t1:
    every trace that changes with T is declared in the table, and moves to Python's values."""
    from explorer.figures.base import to_json
    from explorer.figures.explorer import Stroke, panel_figures, panel_spec
    from explorer.maths.confidence import temperature_sweep

    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is missing: apt-get install -y nodejs (CI installs it)",
                     REQUIRE_NODE_ENV)
    logits, ovr = RNG.normal(0, 4, 10), RNG.normal(-2, 3, 10)
    strokes = {t: Stroke(logits, t, temperature_sweep(logits), [-20, 20], ovr) for t in (t0, t1)}
    before = {n: to_json(f) for n, f in panel_figures(strokes[t0]).items()}
    after = {n: json.loads(to_json(f)) for n, f in panel_figures(strokes[t1]).items()}
    module = tmp_path / "panel.cjs"
    module.write_text("\n".join((MATHS.parent / name).read_text().replace("export ", "")
                                for name in ("maths.mjs", "panel.mjs")) + PANEL_HARNESS)
    stdin = json.dumps([panel_spec(), before, strokes[t0].sources(), t1])
    run = subprocess.run([node, str(module)], input=stdin, capture_output=True, text=True,
                         timeout=60, check=True)
    for row, moved in zip(panel_spec(), json.loads(run.stdout)):
        old, new = json.loads(before[row["name"]]), after[row["name"]]
        moving = {k for k, (a, b) in enumerate(zip(old["data"], new["data"]))
                  if any(_numbers(a.get(key)) != _numbers(b.get(key)) for key in ("x", "y"))}
        assert set(moved["changed"] if moved else []) == moving, row["name"]
        for k in moving:
            for key in ("x", "y"):
                np.testing.assert_allclose(_numbers(moved["fig"]["data"][k][key]),
                                           _numbers(new["data"][k][key]), rtol=1e-6)
            assert moved["fig"]["data"][k].get("text") == new["data"][k].get("text")
        if moved and row["title"]:
            assert _strip_tags(moved["fig"]["layout"]["title"]["text"]) == _strip_tags(
                new["layout"]["title"]["text"]), row["name"]


def _numbers(spec) -> list | None:
    """A trace's numbers as a list (plotly.py writes arrays as base64 typed arrays)."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        return np.frombuffer(base64.b64decode(spec["bdata"]), np.dtype(spec["dtype"])).tolist()
    return [float(v) for v in spec]
