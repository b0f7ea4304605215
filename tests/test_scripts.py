"""The measuring scripts run end to end on small sizes and report what they claim."""
import json
import re
import shutil

import numpy as np
import pytest

from explorer.model.checkpoints import CHECKPOINT_DIR
from scripts import evaluate
from scripts.bench import benchmark


def test_evaluate_reproduces_metadata_and_measures_drawn_digits(capsys):
    result = evaluate.main(["mlp", "--drawn-mnist", "20", "--drawn-strokes", "10",
                            "--drawn-styles", "28"])
    out = capsys.readouterr().out
    assert "WARNING" not in out and "confusion matrix" in out and "per-class accuracy" in out
    drawn = result["mlp"]["drawn"]
    assert set(drawn) == {"MNIST-style preprocessing", "naive whole-canvas resize",
                          "ece_fitted_t"}
    # ECE at the checkpoint's own T, on the drawings the app preprocesses, per group
    assert set(drawn["ece_fitted_t"]) == {"all", "mnist", "strokes", "styles"}
    assert all(0 <= v <= 1 for v in drawn["ece_fitted_t"].values())
    assert {"styles", "style: thin", "style: blocky", "style: crossed 7",
            "style: European 1"} <= set(drawn["MNIST-style preprocessing"])
    assert drawn["MNIST-style preprocessing"]["all"] > drawn["naive whole-canvas resize"]["all"]


def test_evaluate_warns_when_metadata_drifts(tmp_path, capsys):
    ckpt = tmp_path / "mlp"
    shutil.copytree(CHECKPOINT_DIR / "mlp", ckpt)
    meta = json.loads((ckpt / "meta.json").read_text())
    meta["metrics"]["test"]["accuracy"] = 0.5
    (ckpt / "meta.json").write_text(json.dumps(meta))
    evaluate.main([str(ckpt), "--no-drawn"])
    assert "WARNING" in capsys.readouterr().out


def test_benchmark_times_every_stage(capsys):
    result = benchmark.main(["mlp", "--strokes", "4", "--warmup", "1"])
    ms = result["mlp"]  # stage -> (4,) milliseconds, one per stroke
    assert list(ms) == ["preprocess", "inference", "figures", "total"]
    assert all(len(v) == 4 and (v > 0).all() for v in ms.values())
    # The stages are consecutive spans of one stroke: they add up to its total.
    np.testing.assert_allclose(ms["preprocess"] + ms["inference"] + ms["figures"], ms["total"],
                               rtol=0, atol=1e-5)  # 10 ns: perf_counter's rounding, no more
    out = capsys.readouterr().out
    row = re.search(r"^mlp +(.+)$", out, re.MULTILINE)[1]  # the first mlp row: the strokes
    printed = [float(x) for x in re.findall(r"[\d.]+", row)]
    expected = [f(v) for v in ms.values() for f in (np.median, lambda v: np.percentile(v, 95))]
    np.testing.assert_allclose(printed, expected, atol=0.051)  # printed to 0.1 ms
    cold_s, warm_ms = re.search(r"^mlp +([\d.]+) s / *([\d.]+) ms$", out, re.MULTILINE).groups()
    assert "cold (cache miss)" in out and float(cold_s) > 0 and float(warm_ms) > 0


def test_browser_scripts_parse_their_defaults_and_show_them_in_help(capsys):
    """The measuring scripts that need a browser: defaults parse, --help lists them."""
    from scripts.bench import (
        browser_latency,
        chart_draw_times,
        drag_benchmark,
        load_test,
        page_times,
        profile_stroke,
        soak,
    )

    for script in (browser_latency, chart_draw_times, drag_benchmark, load_test, page_times,
                   profile_stroke, soak):
        assert script.parse_args([]) is not None
        try:
            script.parse_args(["--help"])
        except SystemExit as stop:
            assert stop.code == 0
        assert "(default:" in capsys.readouterr().out, script.__name__


@pytest.mark.browser
def test_the_explorers_charts_are_drawn_once_their_margins_hold_the_labels(browser_ready,
                                                                             capsys):
    """scripts/bench/chart_draw_times.py: as shipped, automargin widens no chart (a second drawing
    each); with the margins cut to 10 px it widens them all."""
    from scripts.bench import chart_draw_times

    assert chart_draw_times.main(["--rounds", "1"]) == 0
    shipped, tight = capsys.readouterr().out.strip().splitlines()
    assert shipped.startswith("as shipped") and shipped.endswith("widened by automargin: none")
    assert tight.startswith("tight margins") and "logits_chart (l" in tight


def test_every_file_the_bench_scripts_serve_exists():
    """Each script a benchmark starts with `streamlit run` is where the driver says it is."""
    from scripts.bench import browser

    for script in (browser.BARE_APP, browser.ROOT / "app.py", browser.ROOT / "streamlit_app.py"):
        assert script.is_file(), script
    for name in ("browser_latency.py", "load_test.py"):
        source = (browser.BARE_APP.parent / name).read_text()
        assert "browser.BARE_APP" in source and "bare_canvas_app.py\"" not in source, name
