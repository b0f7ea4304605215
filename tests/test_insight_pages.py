"""The three insight pages end to end with AppTest: exhibit, saliency and robustness.

They run against the shipped checkpoints; a test that needs a missing one skips, naming
the train command.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.lab.exhibit import DOUBLE_SOFTMAX_BOUND
from explorer.model import registry
from explorer.model.checkpoints import CHECKPOINT_DIR
from tests.apptest import (
    assert_clean,
    blank_canvas,
    chart_keys,
    chart_spec,
    install_canvas,
    metric,
    mnist_digit,
    need_checkpoints,
    only_checkpoints,
    open_page,
    values,
)
from ui import models, state

APP = "../streamlit_app.py"
EXHIBIT, SALIENCY, ROBUSTNESS = ("ui/pages/exhibit_page.py", "ui/pages/saliency_page.py",
                                 "ui/pages/robustness_page.py")
PAGES = (EXHIBIT, SALIENCY, ROBUSTNESS)
LOAD_KEYS = {EXHIBIT: "exhibit_load_example", SALIENCY: "saliency_load_example",
             ROBUSTNESS: "robust_load_example"}
NEEDS = {EXHIBIT: ("mlp", "mlp_softmax"), SALIENCY: (), ROBUSTNESS: ()}  # beyond the picked one


@pytest.fixture(autouse=True)
def stand_in_canvas(monkeypatch):
    """A stand-in canvas component (blank) and the project's own checkpoints."""
    install_canvas(monkeypatch, blank_canvas)


# --- Every page, with and without a drawing ---------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_page_without_a_drawing_invites_one_and_can_load_an_example(page, monkeypatch):
    need_checkpoints(registry.the(registry.DEFAULT), *NEEDS[page])
    monkeypatch.setattr(state, "example_rng", lambda: np.random.default_rng(3))
    at = open_page(page)
    assert_clean(at)
    assert any("Explorer" in info.value for info in at.info)
    at.button(key=LOAD_KEYS[page]).click().run()
    assert_clean(at)
    current = at.session_state[state.CURRENT_IMAGE_KEY]
    assert current.shape == (28, 28)
    np.testing.assert_array_equal(current, at.session_state[state.EXAMPLE_KEY])
    assert "MNIST test digit #" in at.session_state[state.EXAMPLE_SOURCE_KEY]
    assert not any(LOAD_KEYS[page] == b.key for b in at.button)  # the invitation is gone
    assert any("MNIST test digit #" in c.value for c in at.caption)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("model", ["cnn", "mlp", "mlp_softmax"])
def test_page_with_a_drawing_runs_cleanly_for_every_model(page, model):
    need_checkpoints(model, *NEEDS[page])
    at = open_page(page, model, mnist_digit(7))
    assert_clean(at)
    assert not any(LOAD_KEYS[page] == b.key for b in at.button)
    assert len(chart_keys(at)) >= 2
    assert not at.get("plotly_chart"), "a chart not drawn by the cartesian bundle"


def test_an_example_queued_for_the_explorer_is_used_when_no_drawing_is_current():
    need_checkpoints("cnn")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state[state.EXAMPLE_KEY] = mnist_digit(4)
    at.session_state[state.EXAMPLE_SOURCE_KEY] = "MNIST test #4"
    at.switch_page(ROBUSTNESS).run()
    assert_clean(at)
    assert "robust_probs" in chart_keys(at)


# --- Double softmax ---------------------------------------------------------------------------
def test_exhibit_page_shows_the_bound_and_the_measured_max_below_it():
    need_checkpoints("mlp", "mlp_softmax")
    at = open_page(EXHIBIT, image28=mnist_digit(3))
    assert_clean(at)
    assert metric(at, "Bound e/(e+9)") == "0.2320"
    measured = float(metric(at, "Measured max, test set"))
    assert 0.1 <= measured <= DOUBLE_SOFTMAX_BOUND + 1e-4
    bound = chart_spec(at, "exhibit_bound_chart")
    assert [s["y0"] for s in bound["layout"]["shapes"]] == [pytest.approx(DOUBLE_SOFTMAX_BOUND)]
    assert values(bound["data"][0]["y"]).max() == pytest.approx(measured, abs=1e-4)
    double = chart_spec(at, "exhibit_double_chart")
    assert values(double["data"][0]["y"]).max() <= DOUBLE_SOFTMAX_BOUND
    own = values(chart_spec(at, "exhibit_own_chart")["data"][0]["y"])
    assert own.sum() == pytest.approx(1.0, abs=1e-4)  # the exhibit's outputs are probabilities
    assert "exhibit_history_chart" in chart_keys(at)
    assert any("log(1 + 9/e)" in m.label for m in at.metric)


def test_exhibit_page_shows_both_histories_and_metrics_from_meta():
    need_checkpoints("mlp", "mlp_softmax")
    at = open_page(EXHIBIT)
    assert_clean(at)
    names = {t["name"] for t in chart_spec(at, "exhibit_history_chart")["data"]}
    assert {"mlp train", "mlp val", "mlp_softmax train", "mlp_softmax val"} <= names
    meta = json.loads((CHECKPOINT_DIR / "mlp" / "meta.json").read_text())
    table = at.dataframe[0].value
    row = table[table["model"] == "mlp"].iloc[0]
    assert row["accuracy"] == pytest.approx(meta["metrics"]["test"]["accuracy"])
    assert row["ECE"] == pytest.approx(meta["metrics"]["test"]["ece"])
    assert (table["model"] == "mlp_softmax").sum() >= 1


def test_exhibit_page_without_the_exhibit_checkpoint_explains_and_shows_the_rest(
        monkeypatch, tmp_path):
    only_checkpoints(monkeypatch, tmp_path, "mlp")
    at = open_page(EXHIBIT, "mlp", mnist_digit(2))
    assert not at.exception
    assert any("--arch mlp_softmax" in e.value for e in at.error)
    assert metric(at, "Bound e/(e+9)") == "0.2320"
    assert {"exhibit_mlp_chart", "exhibit_history_chart"} <= chart_keys(at)
    assert "exhibit_double_chart" not in chart_keys(at)


# --- Where the model looks --------------------------------------------------------------------
def heat(spec: dict, trace: int = 0) -> np.ndarray:
    z = spec["data"][trace]["z"]
    return values(z) if isinstance(z, dict) else np.asarray(z, dtype=np.float64)


def test_saliency_page_for_the_cnn_shows_a_map_and_32_feature_maps():
    need_checkpoints("cnn")
    at = open_page(SALIENCY, "cnn", mnist_digit(7))
    assert_clean(at)
    saliency = heat(chart_spec(at, "saliency_map"))
    assert saliency.shape == (28, 28) and np.isfinite(saliency).all()
    assert np.abs(saliency).max() > 0
    maps = chart_spec(at, "feature_maps")["data"]
    assert len(maps) == 32 and heat({"data": maps}, 31).shape == (26, 26)
    assert "top_units" not in chart_keys(at)
    assert "class 7" in chart_spec(at, "saliency_map")["layout"]["title"]["text"]


def test_saliency_class_and_method_change_the_map():
    need_checkpoints("cnn")
    at = open_page(SALIENCY, "cnn", mnist_digit(7))
    predicted = heat(chart_spec(at, "saliency_map"))
    at.selectbox(key="saliency_class").set_value(1).run()
    assert_clean(at)
    other = heat(chart_spec(at, "saliency_map"))
    assert "class 1" in chart_spec(at, "saliency_map")["layout"]["title"]["text"]
    assert not np.allclose(predicted, other)
    at.radio(key="saliency_method").set_value("Gradient × input").run()
    assert_clean(at)
    assert "Gradient × input" in chart_spec(at, "saliency_map")["layout"]["title"]["text"]
    assert not np.allclose(heat(chart_spec(at, "saliency_map")), other)
    at.toggle(key="saliency_all_classes").set_value(True).run()
    assert len(chart_spec(at, "saliency_all")["data"]) == 10


@pytest.mark.parametrize("model", ["mlp", "mlp_softmax"])
def test_saliency_page_for_the_mlps_shows_units_and_their_weights(model):
    need_checkpoints(model)
    at = open_page(SALIENCY, model, mnist_digit(0))
    assert_clean(at)
    assert "feature_maps" not in chart_keys(at)
    units = chart_spec(at, "top_units")["data"][0]
    acts, labels = values(units["x"]), units["y"][::-1]  # plotly lists bars bottom-up
    assert len(acts) == 16  # the 8 strongest of each hidden layer
    assert all(label.startswith("hidden1") for label in labels[:8])
    assert all(label.startswith("hidden2") for label in labels[8:])
    weights = chart_spec(at, "unit_weights")["data"]
    assert len(weights) == 6
    # Each panel is a row of the first Linear layer, read from the shipped weights.
    from explorer.model.checkpoints import load_model
    first = load_model(model).model.net[2].weight.detach().numpy()  # (96, 784)
    unit = int(weights[0]["name"].split("#")[1].split(":")[0])
    np.testing.assert_allclose(heat({"data": weights}, 0), first[unit].reshape(28, 28),
                               rtol=1e-5, atol=1e-6)


def test_saliency_page_leaves_the_cached_model_untouched():
    need_checkpoints("cnn")
    at = open_page(SALIENCY, "cnn", mnist_digit(5))
    assert_clean(at)
    loaded = models.get_model("cnn")  # the same st.cache_resource the page used
    assert not loaded.model.training
    assert all(not p.requires_grad and p.grad is None for p in loaded.model.parameters())
    with torch.inference_mode():
        out = loaded.model(torch.from_numpy(mnist_digit(5))[None, None])
    assert int(out.argmax()) == 5


# --- Robustness ---------------------------------------------------------------------------------
def test_a_big_rotation_changes_the_prediction_shown():
    need_checkpoints("cnn")
    at = open_page(ROBUSTNESS, "cnn", mnist_digit(7))
    assert_clean(at)
    assert metric(at, "Prediction") == "7"
    before = values(chart_spec(at, "robust_probs")["data"][1]["y"])
    at.slider(key="robust_rotate").set_value(180.0).run()
    assert_clean(at)
    after = values(chart_spec(at, "robust_probs")["data"][1]["y"])
    assert not np.allclose(before, after, atol=1e-3)
    assert after[7] < before[7]
    assert metric(at, "Prediction") != "7" or float(metric(at, "Top-1 probability")) < 0.9
    ghost = values(chart_spec(at, "robust_probs")["data"][0]["y"])
    np.testing.assert_allclose(ghost, before, atol=1e-6)  # grey bars: the undistorted digit
    at.button(key="robust_reset").click().run()
    assert at.slider(key="robust_rotate").value == 0.0
    np.testing.assert_allclose(values(chart_spec(at, "robust_probs")["data"][1]["y"]), before,
                               atol=1e-6)


def test_robustness_sweep_has_ten_curves_over_41_values_and_marks_the_slider():
    need_checkpoints("cnn")
    at = open_page(ROBUSTNESS, "cnn", mnist_digit(1))
    at.selectbox(key="robust_sweep_param").set_value("rotate").run()
    at.slider(key="robust_rotate").set_value(45.0).run()
    assert_clean(at)
    spec = chart_spec(at, "robust_sweep")
    assert len(spec["data"]) == 10
    xs = values(spec["data"][0]["x"])
    assert len(xs) == 41 and xs[0] == -180 and xs[-1] == 180
    probs = np.stack([values(t["y"]) for t in spec["data"]], axis=1)  # (41, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert [s["x0"] for s in spec["layout"]["shapes"]] == [45.0]
    assert probs[20].argmax() == 1  # 0° is the undistorted digit


def test_robustness_page_names_where_the_distortions_apply():
    need_checkpoints("cnn")
    at = open_page(ROBUSTNESS, image28=mnist_digit(1))
    text = " ".join(md.value for md in at.markdown)
    assert "applied to the 28×28 image the model sees, after preprocessing" in text
