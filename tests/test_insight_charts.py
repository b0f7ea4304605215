"""Tests for the insight pages' figures (explorer.figures), from numbers."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.figures.base import BAR, CLASS_COLOURS, TOP
from explorer.figures.images import (
    diverging_grid_figure,
    feature_maps_figure,
    saliency_figure,
    units_figure,
    weights_figure,
)
from explorer.figures.outputs import bound_figure, probs_figure
from explorer.figures.robustness import distortion_sweep_figure
from explorer.figures.training import history_figure
from explorer.lab.exhibit import DOUBLE_SOFTMAX_BOUND, DOUBLE_SOFTMAX_MIN_LOSS, double_softmax
from explorer.lab.saliency import cnn_feature_maps, integrated_gradients
from explorer.maths.confidence import softmax
from explorer.model.registry import build_model, get_arch

PROBS = softmax(np.array([0.1, 2.0, -1.0, 5.0, 0.0, 0.3, -2.0, 1.0, 0.5, 0.2]))  # argmax 3
any_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


def hlines(fig: go.Figure) -> list[float]:
    return [s.y0 for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1]


def vlines(fig: go.Figure) -> list[float]:
    return [s.x0 for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1]


def heatmaps(fig: go.Figure) -> list[go.Heatmap]:
    return [t for t in fig.data if isinstance(t, go.Heatmap)]


def all_finite(fig: go.Figure) -> bool:
    for trace in fig.data:
        for name in ("x", "y", "z"):
            values = getattr(trace, name, None)
            if values is not None and not isinstance(values, str):
                array = np.asarray(values, dtype=object)
                numeric = [v for v in array.ravel() if isinstance(v, (int, float, np.number))]
                if not np.isfinite(np.asarray(numeric, dtype=np.float64)).all():
                    return False
    return True


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    from explorer.inputs.data import load_test_split
    images, _ = load_test_split()
    return images[0].astype(np.float32) / 255.0


# --- Double-softmax exhibit ---------------------------------------------------------------
def test_bound_figure_draws_the_line_at_e_over_e_plus_9():
    peak = double_softmax(np.eye(10)).max(axis=0)  # one-hot inputs reach the bound exactly
    fig = bound_figure(peak, DOUBLE_SOFTMAX_BOUND)
    assert hlines(fig) == [pytest.approx(0.2320, abs=5e-5)]
    assert hlines(fig)[0] == pytest.approx(math.e / (math.e + 9))
    np.testing.assert_allclose(fig.data[0].y, peak)
    assert fig.layout.yaxis.range[1] > DOUBLE_SOFTMAX_BOUND  # the line is inside the plot
    assert "0.2320" in fig.layout.title.text


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (20, 10), elements=st.floats(0.0, 1.0)))
def test_double_softmaxed_probabilities_stay_under_the_drawn_bound(raw):
    probs = raw / np.maximum(raw.sum(axis=1, keepdims=True), 1e-9)  # rows of probabilities
    probs[raw.sum(axis=1) < 1e-9] = 0.1
    fig = bound_figure(double_softmax(probs).max(axis=0), DOUBLE_SOFTMAX_BOUND)
    assert np.all(np.asarray(fig.data[0].y) <= hlines(fig)[0] + 1e-12)


def test_probs_figure_marks_argmax_and_ghosts_and_bound():
    fig = probs_figure(PROBS, "t", bound=0.5, ghost=np.full(10, 0.1))
    ghost, bars = fig.data
    np.testing.assert_allclose(ghost.y, 0.1)
    np.testing.assert_allclose(bars.y, PROBS)
    assert list(bars.marker.color) == [TOP if k == 3 else BAR for k in range(10)]
    assert hlines(fig) == [0.5]
    assert len(probs_figure(PROBS, "t").data) == 1
    with pytest.raises(ValueError, match="shape"):
        probs_figure(np.ones(9) / 9, "t")


def test_history_figure_has_train_and_val_per_model_and_the_loss_floor():
    history = [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e, "train_acc": 0.5 + e / 10,
                "val_acc": 0.45 + e / 10} for e in (1, 2, 3)]
    fig = history_figure({"mlp": history, "mlp_softmax": history}, DOUBLE_SOFTMAX_MIN_LOSS)
    assert len(fig.data) == 8  # 2 models × (loss, acc) × (train, val)
    names = [t.name for t in fig.data]
    assert names.count("mlp train") == 2 and names.count("mlp_softmax val") == 2
    loss_val = [t for t in fig.data if t.name == "mlp val" and t.xaxis == "x"][0]
    np.testing.assert_allclose(loss_val.y, [2.1, 1.05, 0.7])
    acc = [t for t in fig.data if t.xaxis == "x2"]
    assert all(max(t.y) <= 1 for t in acc)
    assert hlines(fig) == [pytest.approx(math.log(1 + 9 / math.e))]
    assert len(history_figure({"mlp": history}).data) == 4


# --- Saliency ------------------------------------------------------------------------------
def test_saliency_heatmap_keeps_the_input_shape_and_is_centred_at_zero(digit):
    torch.manual_seed(0)
    model = build_model("cnn").eval()
    attr = integrated_gradients(model, digit, target=3, steps=8)
    fig = saliency_figure(attr, "IG")
    (heat,) = heatmaps(fig)
    z = np.asarray(heat.z)
    assert z.shape == (28, 28) and np.isfinite(z).all()
    np.testing.assert_allclose(z, attr, rtol=1e-6)
    assert heat.zmid == 0 and heat.zmin == -heat.zmax == -np.abs(attr).max()
    assert fig.layout.yaxis.autorange == "reversed"  # row 0 at the top, like the image


def test_saliency_colours_positive_red_and_negative_blue():
    fig = saliency_figure(np.linspace(-1, 1, 784).reshape(28, 28))
    scale = [colour for _, colour in heatmaps(fig)[0].colorscale]

    def rgb(c: str) -> tuple[int, ...]:
        return tuple(int(v) for v in c[c.index("(") + 1:-1].split(","))
    low, high = rgb(scale[0]), rgb(scale[-1])
    assert low[2] > low[0]  # the most negative end is blue
    assert high[0] > high[2]  # the most positive end is red


@settings(max_examples=30, deadline=None)
@given(arrays(np.float32, (28, 28), elements=any_floats))
def test_saliency_figure_is_finite_for_any_input(attr):
    fig = saliency_figure(attr)
    z = np.asarray(heatmaps(fig)[0].z)
    assert z.shape == (28, 28) and np.isfinite(z).all()
    assert heatmaps(fig)[0].zmax > 0


def test_saliency_figure_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"\(28, 28\)"):
        saliency_figure(np.zeros((26, 26)))


def test_feature_map_grid_has_32_panels_on_one_scale(digit):
    torch.manual_seed(0)
    untrained = SimpleNamespace(model=build_model("cnn").eval(), arch=get_arch("cnn"))
    maps = cnn_feature_maps(untrained, digit)  # (32, 26, 26); the registry says it has them
    fig = feature_maps_figure(maps)
    panels = heatmaps(fig)
    assert len(panels) == 32
    assert all(np.asarray(p.z).shape == (26, 26) for p in panels)
    np.testing.assert_allclose(panels[5].z, maps[5], rtol=1e-6)
    assert {p.coloraxis for p in panels} == {"coloraxis"}
    assert fig.layout.coloraxis.cmin == 0
    assert fig.layout.coloraxis.cmax == pytest.approx(float(maps.max()))
    assert len({(p.xaxis, p.yaxis) for p in panels}) == 32  # each in its own subplot
    assert [a.text.split(" ")[0] for a in fig.layout.annotations] == [f"#{c}" for c in range(32)]
    with pytest.raises(ValueError, match="shape"):
        feature_maps_figure(maps[0])


def test_units_figure_puts_the_strongest_unit_on_top():
    units = [("hidden1 (tanh)", 7, -0.99), ("hidden2 (sigmoid)", 3, 0.98),
             ("hidden1 (tanh)", 1, 0.5)]
    fig = units_figure(units)
    (bars,) = fig.data
    assert list(bars.y) == ["hidden1 #1", "hidden2 #3", "hidden1 #7"]  # plotly draws bottom-up
    base, width = np.asarray(bars.base, float), np.asarray(bars.x, float)
    np.testing.assert_allclose(base + width, [0.5, 0.98, -0.99])  # bars end at the activation
    np.testing.assert_allclose(base, [0.0, 0.5, 0.0])  # and start at each layer's resting value
    np.testing.assert_allclose(np.asarray(bars.customdata, float), [0.5, 0.98, -0.99])
    assert bars.marker.color[1] != bars.marker.color[2]  # the two layers differ in colour
    off = units_figure([("hidden2 (sigmoid)", 0, 0.0)]).data[0]
    assert off.x[0] == pytest.approx(-0.5)  # a switched-off sigmoid unit still shows a bar


def test_weights_figure_shows_each_row_as_a_28x28_image_on_a_symmetric_scale():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(4, 784))
    fig = weights_figure(weights, ["a", "b", "c", "d"])
    panels = heatmaps(fig)
    assert len(panels) == 4
    np.testing.assert_allclose(panels[2].z, weights[2].reshape(28, 28))
    limit = np.abs(weights).max()
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == pytest.approx((-limit, limit))
    with pytest.raises(ValueError, match="titles"):
        weights_figure(weights, ["a"])


def test_diverging_grid_wraps_into_rows():
    fig = diverging_grid_figure(np.zeros((10, 28, 28)), [str(k) for k in range(10)], cols=5)
    panels = heatmaps(fig)
    assert len(panels) == 10
    top_row = fig.layout.yaxis.domain
    bottom_row = fig.layout[f"yaxis{6}"].domain
    assert bottom_row[1] < top_row[0]  # panel 6 sits below panel 1
    assert fig.layout.coloraxis.cmax > 0  # an all-zero grid still has a valid scale


# --- Robustness sweep ----------------------------------------------------------------------
def test_sweep_figure_has_ten_class_traces_and_marks_the_current_value():
    values = np.linspace(-180, 180, 41)
    logits = np.stack([np.cos(np.deg2rad(values)) * 4, *[np.zeros(41)] * 8,
                       -np.cos(np.deg2rad(values)) * 4], axis=1)  # class 0 upright, 9 flipped
    probs = softmax(logits)
    fig = distortion_sweep_figure(values, probs, current=180.0, param_label="rotate")
    assert len(fig.data) == 10
    assert [t.name for t in fig.data] == [str(k) for k in range(10)]
    assert all(len(t.y) == 41 for t in fig.data)
    np.testing.assert_allclose(fig.data[9].y, probs[:, 9])
    assert vlines(fig) == [180.0]
    # Each class keeps the Explorer's colour; the top class at the current value is thickest.
    assert [t.line.color for t in fig.data] == list(CLASS_COLOURS)
    widths = [t.line.width for t in fig.data]
    assert widths[9] == max(widths) and widths.count(max(widths)) == 1
    upright = distortion_sweep_figure(values, probs, current=0.0, param_label="rotate")
    assert [t.line.width for t in upright.data].index(max(widths)) == 0


def test_sweep_figure_checks_shapes_and_cleans_non_finite_values():
    with pytest.raises(ValueError, match="shape"):
        distortion_sweep_figure(np.arange(5), np.full((4, 10), 0.1), 0.0, "x")
    probs = np.full((3, 10), 0.1)
    probs[1, 2] = np.nan
    assert all_finite(distortion_sweep_figure(np.arange(3), probs, 1.0, "x"))
