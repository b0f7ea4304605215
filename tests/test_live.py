"""The Explorer's plotly.js: the vendored cartesian bundle draws every trace the page sends."""
from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from plotly.offline import get_plotlyjs_version

from explorer.figures.explorer import explorer_figures
from explorer.maths.confidence import temperature_sweep
from ui import live


@pytest.mark.parametrize("ovr", [True, False], ids=["with cnn_ovr", "without cnn_ovr"])
@pytest.mark.parametrize("logits", [np.zeros(10), np.linspace(-8, 12, 10)], ids=["idle", "digit"])
def test_every_trace_the_explorer_draws_is_in_the_cartesian_bundle(logits, ovr):
    logits = logits.astype(np.float32)
    figures = explorer_figures(logits, np.ones((28, 28), np.float32), 1.5,
                               temperature_sweep(logits), ovr_logits=logits if ovr else None)
    types = {trace.type for figure in figures.values() for trace in figure.data}
    assert types and types <= live.CARTESIAN_TRACES, types - live.CARTESIAN_TRACES


def test_the_vendored_bundle_is_the_cartesian_build_of_plotly_pys_plotly_js():
    head = live.CARTESIAN_JS.read_text()[:200]
    assert f"plotly.js (cartesian - minified) v{get_plotlyjs_version()}" in head
    assert live.plotly_source() == live.CARTESIAN_JS


def test_without_a_matching_cartesian_bundle_the_full_one_is_served(monkeypatch, tmp_path):
    monkeypatch.setattr(live, "CARTESIAN_JS", tmp_path / "plotly-cartesian-0.0.0.min.js")
    source = live.plotly_source()
    assert source.name == "plotly.min.js" and source.stat().st_size > 3_000_000


def test_a_trace_outside_the_cartesian_bundle_goes_to_streamlits_plotly():
    import plotly.graph_objects as go

    assert live.draws(go.Figure([go.Bar(y=[1, 2]), go.Heatmap(z=[[1]])]))
    assert not live.draws(go.Figure([go.Bar(y=[1]), go.Pie(values=[1, 2])]))


def test_a_truncated_plotly_js_in_static_is_repaired_on_start(monkeypatch, tmp_path):
    monkeypatch.setattr(live, "STATIC_DIR", tmp_path)
    source = live.plotly_source()
    url_path = live._publish_plotly()
    target = tmp_path / url_path.rsplit("/", 1)[1]
    assert target.read_bytes() == source.read_bytes()
    target.write_bytes(source.read_bytes()[:1000])  # a kill during the first copy
    assert live._publish_plotly() == url_path
    assert target.read_bytes() == source.read_bytes()  # was kept as it was, for good
    target.write_bytes(source.read_bytes()[:-1] + b"!")  # same size, other bytes
    live._publish_plotly()
    assert target.read_bytes() == source.read_bytes()


def test_a_copy_that_fails_leaves_no_partial_file_behind(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(live, "STATIC_DIR", tmp_path)

    def disk_full(source, destination):
        with open(destination, "wb") as file:
            file.write(b"function(){")  # part of the file, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(live.shutil, "copyfile", disk_full)
    with caplog.at_level(logging.ERROR, logger="digit_explorer"):
        live._publish_plotly()  # the app still starts: its charts say what is missing
    assert list(tmp_path.iterdir()) == []  # no partial file under the served name, or any
    assert "could not publish" in caplog.text


def test_the_browser_holds_no_chart_names_trace_indices_or_titles_of_its_own():
    """Everything chart-specific comes from the panel's table (explorer.figures.explorer)."""
    from explorer.figures.explorer import PANEL

    names = {chart.name for chart in PANEL}
    for file in ("component.mjs", "patch.mjs", "panel.mjs"):
        source = (live.ASSETS / file).read_text()
        code = re.sub(r"//[^\n]*", "", source)  # comments may name what they explain
        literals = re.findall(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'', code)
        strings = {a or b for a, b in literals}
        assert not strings & names, (file, strings & names)
        assert not [s for s in strings if "Σ" in s or "Softmax" in s or "σ" in s], file
        assert not re.search(r"\.data\[\d\]|\]\[\d\]\s*[,;)]|traceIndex|\[\d\]\.y\b", code), file


def test_the_panel_spec_declares_what_moves_with_t():
    from explorer.figures.explorer import MATHS, PANEL, Stroke, panel_spec

    spec = {row["name"]: row for row in panel_spec()}
    assert list(spec) == [chart.name for chart in PANEL] and "build" not in spec["softmax"]
    sources = Stroke.uniform(1.0, ovr=True).sources()
    for row in spec.values():
        assert row["caption"] and isinstance(row["row"], int)
        assert all(f["maths"] in MATHS and f["source"] in sources for f in row["follows"])
    assert spec["softmax"]["title"]["lines"][0] == "Softmax at T = {t:.3g}"

