"""The browser's confidence maths (ui/live_assets/maths.mjs) against explorer.maths.confidence.

Node runs the same module the Explorer's component runs; every number and every string
it shows while T is dragged must be what the server shows after release.
"""
from __future__ import annotations

import json
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
  table: m.valuesTable(z, t), g: [m.pyG(t), m.pyG(1), m.pyG(0.05), m.pyG(12.5)],
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
    assert js["g"] == [f"{t:.3g}", "1", "0.05", "12.5"]
