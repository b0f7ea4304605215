"""The saliency page end to end (AppTest): every captum method for the cnn and the mlp,
Grad-CAM only where there is a conv layer, what is attributed, IG's completeness check."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.lab import saliency
from explorer.model.checkpoints import load_model
from tests.apptest import (
    assert_clean,
    blank_canvas,
    chart_spec,
    install_canvas,
    metric,
    mnist_digit,
    need_checkpoints,
    open_page,
    values,
)
from ui import state

PAGE = "ui/pages/saliency_page.py"
METHOD, CLASS, STEPS = "saliency_method", "saliency_class", "saliency_ig_steps"


@pytest.fixture(autouse=True)
def stand_in_canvas(monkeypatch):
    install_canvas(monkeypatch, blank_canvas)


def shown_map(at) -> tuple[np.ndarray, str]:
    """The attribution map on the page (28, 28) and its title."""
    spec = chart_spec(at, "saliency_map")
    z = spec["data"][0]["z"]
    return (values(z) if isinstance(z, dict) else np.asarray(z, np.float64),
            spec["layout"]["title"]["text"])


def texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


# NB: the mlp reads the first 3 of the test split as an 8: the second one, then
@pytest.mark.parametrize("name, label, nth", [("cnn", 7, 0), ("mlp", 3, 1)])
def test_every_offered_method_shows_its_map_and_its_two_lines(name, label, nth):
    need_checkpoints(name)
    image = mnist_digit(label, nth)
    loaded = load_model(name, "cpu")
    at = open_page(PAGE, name, image)
    assert_clean(at)
    offered = at.radio(key=METHOD).options
    assert offered == list(saliency.methods_for(loaded))
    assert (saliency.GRAD_CAM in offered) == (name == "cnn")
    for method in offered:
        at.radio(key=METHOD).set_value(method).run()
        assert_clean(at)
        shown, title = shown_map(at)
        assert title == f"{method} for class {label}"
        expected = saliency.attribute(loaded, image, method, label).map28
        np.testing.assert_allclose(shown, expected, rtol=1e-4, atol=1e-6)
        assert np.abs(shown).max() > 0
        if method == saliency.GRAD_CAM:
            assert (shown >= 0).all()
        shows_line = [m.value for m in at.markdown if m.value.startswith("**Shows:**")]
        assert len(shows_line) == 1 and "**Misleads:**" in shows_line[0]
        assert (metric(at, "Convergence delta") is not None) == (method == saliency.IG)


def test_grad_cam_is_explained_for_the_mlp_and_a_cnn_pick_falls_back():
    need_checkpoints("cnn", "mlp")
    at = open_page(PAGE, "cnn", mnist_digit(4))
    at.radio(key=METHOD).set_value(saliency.GRAD_CAM).run()
    assert "Grad-CAM is not offered" not in texts(at)
    at.selectbox(key=state.MODEL_KEY).set_value("mlp").run()
    assert_clean(at)
    assert saliency.GRAD_CAM not in at.radio(key=METHOD).options
    assert at.radio(key=METHOD).value == saliency.IG
    assert "Grad-CAM is not offered: it reads a convolutional layer" in texts(at)
    assert shown_map(at)[1].startswith(saliency.IG)


@pytest.mark.parametrize("name, quantity", [("cnn", "logit"), ("mlp_softmax", "probability")])
def test_the_page_says_which_output_is_attributed(name, quantity):
    need_checkpoints(name)
    at = open_page(PAGE, name, mnist_digit(2))
    assert_clean(at)
    assert f"Attributed: the model's **{quantity}** for class **2**" in texts(at)
    assert ("raw outputs are probabilities" in texts(at)) == (quantity == "probability")


def test_ig_shows_the_sum_the_change_and_captums_delta_for_the_chosen_steps():
    need_checkpoints("cnn")
    image, loaded = mnist_digit(9), load_model("cnn", "cpu")
    at = open_page(PAGE, "cnn", image)
    for steps in (8, 64):
        at.select_slider(key=STEPS).set_value(steps).run()
        assert_clean(at)
        got = saliency.integrated_gradients_and_delta(loaded, image, 9, steps)
        at_black, at_image = saliency.output_change(loaded, image, 9)
        assert metric(at, "Sum of the map") == f"{got.map28.sum():+.3f}"
        assert metric(at, "Convergence delta") == f"{got.delta:+.2g}"
        assert f"is {at_image - at_black:+.3f} ({at_black:+.3f} → {at_image:+.3f})" in texts(at)


def test_a_rerun_reuses_the_maps_and_a_new_class_computes_one(monkeypatch):
    need_checkpoints("cnn")
    at = open_page(PAGE, "cnn", mnist_digit(1))
    at.radio(key=METHOD).set_value(saliency.OCCLUSION).run()
    calls = []
    real = saliency.attribute
    monkeypatch.setattr(saliency, "attribute",
                        lambda *args, **kwargs: calls.append(args[2:4]) or real(*args, **kwargs))
    at.run()
    assert_clean(at)
    assert calls == []  # same model, image, method and class: from the session's memo
    at.selectbox(key=CLASS).set_value(5).run()
    assert_clean(at)
    assert calls == [(saliency.OCCLUSION, 5)]
