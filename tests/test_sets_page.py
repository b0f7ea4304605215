"""The prediction-sets page with AppTest: sets for the drawing, coverage, sizes, risk–coverage."""
from __future__ import annotations

import numpy as np
import pytest

from tests.apptest import (
    assert_clean,
    blank_canvas,
    chart_keys,
    chart_spec,
    install_canvas,
    metrics,
    mnist_digit,
    need_checkpoints,
    open_page,
)

PAGE = "ui/pages/sets_page.py"


@pytest.fixture(autouse=True)
def stand_in_canvas(monkeypatch):
    install_canvas(monkeypatch, blank_canvas)


def test_a_clear_digit_gets_a_one_class_set_and_the_test_set_charts_show():
    need_checkpoints("cnn")
    at = open_page(PAGE, image28=mnist_digit(4))
    assert_clean(at)
    assert metrics(at, "LAC set at α = 0.05") == ["{4}"]
    assert metrics(at, "APS set at α = 0.05")[0].startswith("{4")
    assert {"sets_coverage", "sets_sizes", "sets_risk"} <= chart_keys(at)
    table = next(md.value for md in at.markdown if md.value.startswith("| α"))
    assert table.count("\n") == 9  # header, rule and one row per α


def test_a_smaller_alpha_never_gives_a_smaller_set():
    need_checkpoints("cnn")
    at = open_page(PAGE, image28=np.full((28, 28), 0.3, np.float32))  # a grey smear
    sizes = []
    for alpha in (0.2, 0.05, 0.01):
        at.select_slider(key="sets_alpha").set_value(alpha).run()
        assert_clean(at)
        shown = metrics(at, f"APS set at α = {alpha:g}")[0]
        sizes.append(0 if shown.startswith("∅") else shown.count(",") + 1)
    assert sizes == sorted(sizes)


def test_without_a_drawing_the_test_set_part_still_shows():
    need_checkpoints("cnn")
    at = open_page(PAGE)
    assert_clean(at)
    assert any("No drawing yet" in info.value for info in at.info)
    assert "sets_risk" in chart_keys(at)
    marks = [t["name"] for t in chart_spec(at, "sets_risk")["data"]]
    assert any("not a digit" in name for name in marks)
