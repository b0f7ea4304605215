"""The heads page with AppTest: every head on one drawing, the two-digit canvas, bad input.

The checkpoints are the shipped ones; a test that needs a missing head skips, naming the
train command.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from explorer.inputs.data import load_test_split
from tests.apptest import (
    FakeCanvas,
    assert_clean,
    chart_keys,
    chart_spec,
    install_canvas,
    mnist_digit,
    need_checkpoints,
    open_page,
    values,
)
from ui.pages import heads_view

PAGE = "ui/pages/heads_page.py"
SINGLE = ("cnn", "cnn_ovr", "cnn_regress", "binary7_sigmoid", "binary7_softmax")
PAIRS = ("cnn_multilabel", "cnn_pair_softmax")


@pytest.fixture
def wide(monkeypatch) -> FakeCanvas:
    """A stand-in for the canvas component: both canvases get its image (None: blank)."""
    fake = FakeCanvas()
    install_canvas(monkeypatch, fake.st_canvas)
    return fake


def wide_canvas(left: int | None, right: int | None) -> np.ndarray:
    """A 560×280 white-on-black canvas with MNIST test digits drawn large in each half."""
    from PIL import Image

    canvas = np.zeros((280, 560, 4), np.uint8)
    canvas[..., 3] = 255
    for offset, label in ((0, left), (280, right)):
        if label is not None:
            grey = Image.fromarray((mnist_digit(label) * 255).astype(np.uint8)).resize((280, 280))
            canvas[:, offset:offset + 280, :3] = np.asarray(grey)[..., None]
    return canvas


def test_without_a_drawing_the_page_invites_one_and_still_offers_two_digits(wide):
    at = open_page(PAGE)
    assert_clean(at)
    assert any("No drawing yet" in info.value for info in at.info)
    assert any(b.key == "heads_load_example" for b in at.button)
    assert any(b.key == "heads_load_two_different" for b in at.button)


def test_every_head_reads_the_same_drawing(wide):
    need_checkpoints(*SINGLE)
    at = open_page(PAGE, image28=mnist_digit(4))
    assert_clean(at)
    assert {"heads_softmax", "heads_ovr", "heads_regress", "heads_binary"} <= chart_keys(at)
    softmax_bars = values(chart_spec(at, "heads_softmax")["data"][-1]["y"])
    assert softmax_bars.sum() == pytest.approx(1.0, abs=1e-6) and softmax_bars.argmax() == 4
    ovr = values(chart_spec(at, "heads_ovr")["data"][0]["y"])
    assert ovr.argmax() == 4 and 0.0 < ovr.sum() < 10.0  # a sum nothing forces to 1
    text = " ".join(md.value for md in at.markdown)
    assert "The regression head says" in text and "softmax([0," in text
    for kind in heads_view.USES:  # each panel says when to use it and which bug it invites
        assert heads_view.USES[kind][1] in text


def test_the_binary_identity_is_shown_with_equal_numbers():
    line = heads_view.binary_identity(1.7, -0.4, 2.2)
    first, second = line.split("\n")
    assert first.count("0.845535") == 2  # 1 / (1 + e^-1.7), by hand
    assert second.count("0.930862") == 2  # softmax([-0.4, 2.2])[1] = 1 / (1 + e^-2.6)


def test_two_drawn_digits_light_up_both_in_the_multilabel_model(wide):
    need_checkpoints(*PAIRS)
    wide.image = wide_canvas(3, 8)
    at = open_page(PAGE)
    assert_clean(at)
    sig = values(chart_spec(at, "heads_pair_sigmoid")["data"][0]["y"])
    assert set(np.flatnonzero(sig > 0.5)) == {3, 8}
    soft = values(chart_spec(at, "heads_pair_softmax")["data"][-1]["y"])
    assert soft.max() < 0.8 and set(np.argsort(soft)[-2:]) == {3, 8}  # forced to share


def half_label(half: np.ndarray) -> int | None:
    """The MNIST test label of a (28, 28) half shown in [0, 1]; None for a blank half."""
    if not half.any():
        return None
    images, labels = load_test_split()
    found = (images == np.rint(half * 255).astype(np.uint8)).all(axis=(1, 2))
    (label,) = set(labels[found].tolist())  # exactly one test digit's label, not a blend
    return int(label)


SOURCE = re.compile(r"MNIST test digits: (\d) (?:and (\d)|alone)\)")


@pytest.mark.parametrize("kind", ["one digit", "same digit twice", "two different"])
def test_each_pair_button_loads_the_kind_it_names(wide, kind):
    need_checkpoints(*PAIRS)
    at = open_page(PAGE)
    at.button(key=f"heads_load_{kind.replace(' ', '_')}").click().run()
    assert_clean(at)
    assert "heads_pair_sigmoid" in chart_keys(at)
    shown = values(chart_spec(at, "heads_pair_input")["data"][0]["z"]).reshape(28, 56)
    left, right = half_label(shown[:, :28]), half_label(shown[:, 28:])
    assert left is not None
    assert {"one digit": right is None, "same digit twice": right == left,
            "two different": right is not None and right != left}[kind], (left, right)
    (said,) = [m for m in (SOURCE.search(md.value) for md in at.markdown) if m]
    assert (int(said[1]), None if said[2] is None else int(said[2])) == (left, right)


def test_a_forged_wide_canvas_is_refused_before_decoding(wide):
    at = open_page(PAGE)
    key = "heads_pair_canvas_0"
    at.session_state[key] = {"drawing": {"raw": {"objects": []},
                                         "data": "data:image/png;base64,AAAA"},
                             "backgroundFit": None}
    at.run()
    assert_clean(at)
    assert any("wrong size" in w.value for w in at.warning)
    assert wide.calls[-1]["key"] != key  # a fresh canvas
