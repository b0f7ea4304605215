"""Tests for explorer.figures and explorer.maths.summary: figures and text from numbers."""
from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import explorer.figures
from explorer.figures import base
from explorer.figures.calibration import agreement_figure, confusion_figure, reliability_figure
from explorer.figures.conformal import coverage_figure, risk_coverage_figure, set_size_figure
from explorer.figures.explorer import Stroke, explorer_figures, panel_figures
from explorer.figures.heads import binary_figure, number_line_figure, wide_image_figure
from explorer.figures.images import (
    diverging_grid_figure,
    feature_maps_figure,
    image_figure,
    saliency_figure,
    units_figure,
    weights_figure,
)
from explorer.figures.outputs import (
    bound_figure,
    logit_range,
    logits_figure,
    nice_bound,
    probs_figure,
    sigmoid_figure,
    sigmoid_unavailable_figure,
    softmax_figure,
)
from explorer.figures.replay import replay_figure
from explorer.figures.robustness import distortion_sweep_figure
from explorer.figures.temperature import temperature_sweep_figure, uncertainty_figure
from explorer.figures.training import history_figure
from explorer.lab.evaluation import confusion_matrix
from explorer.lab.exhibit import DOUBLE_SOFTMAX_BOUND, double_softmax
from explorer.maths.calibration import reliability
from explorer.maths.confidence import entropy_bits, softmax, temperature_sweep
from explorer.maths.summary import (
    OVR_COLUMN,
    argmax_fact,
    format_entropy_bits,
    format_margin,
    format_sigmoid,
    format_top1,
    layer_table,
    values_table,
)
from explorer.model.registry import build_model, count_params

LOGITS = np.array([-1.5, 0.3, 7.2, 2.0, -3.0, 0.0, 1.1, 4.9, -0.4, 0.8])  # argmax 2
EXTREME = np.array([1e4, -1e4, 0.0, 1e4 - 1e-3, -5e3, 5e3, 1.0, -1.0, 2e3, -2e3])
finite_logits = arrays(np.float64, 10, elements=st.floats(-1e4, 1e4, allow_nan=False))


def numbers(obj) -> list[float]:
    """Every number anywhere in a figure's JSON (data and layout)."""
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in numbers(v)]
    if isinstance(obj, (list, tuple)):
        return [x for v in obj for x in numbers(v)]
    if isinstance(obj, np.ndarray):
        return numbers(obj.tolist())
    if isinstance(obj, (int, float, np.number)) and not isinstance(obj, bool):
        return [float(obj)]
    return []


def all_figures(logits, temperature) -> list[go.Figure]:
    """The Explorer's figures, from the page's own explorer_figures: the three bars first."""
    figures = explorer_figures(logits, np.eye(28), temperature, temperature_sweep(logits),
                               ovr_logits=logits)
    keys = ("logits_chart", "softmax_chart", "sigmoid_chart", "sweep_chart",
            "uncertainty_chart", "model_sees")
    return [figures[f"explorer_{key}"] for key in keys]


def lab_figures(logits, temperature) -> list[tuple[str, go.Figure]]:
    """(function name, figure) for every figure function of the package but the Explorer's."""
    rng = np.random.default_rng(0)
    probs = softmax(logits, temperature)  # (10,)
    labels = rng.integers(0, 10, 400)
    test_logits = rng.normal(size=(400, 10)) * rng.uniform(0.1, 6.0, (400, 1))  # (400, 10)
    rel = reliability(softmax(test_logits), labels)
    history = [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e, "train_acc": 0.9,
                "val_acc": 0.85} for e in (1, 2, 3)]
    panels, titles = rng.normal(size=(4, 784)), ["a", "b", "c", "d"]
    units = [("hidden1 (tanh)", 7, -0.99), ("hidden2 (sigmoid)", 3, 0.98)]
    xs = np.linspace(-30, 30, 7)
    return [
        ("probs_figure", probs_figure(probs, "t<br>two", bound=0.232, ghost=softmax(logits))),
        ("probs_figure", probs_figure(probs, "", height=230, name="softmax", labels=False)),
        ("bound_figure", bound_figure(double_softmax(np.eye(10)).max(axis=0),
                                      DOUBLE_SOFTMAX_BOUND)),
        ("image_figure", image_figure(np.eye(28), "x", 140)),
        ("saliency_figure", saliency_figure(rng.normal(size=(28, 28)), "IG")),
        ("feature_maps_figure", feature_maps_figure(rng.random((9, 26, 26)))),
        ("diverging_grid_figure", diverging_grid_figure(panels, titles, cols=3)),
        ("weights_figure", weights_figure(panels, titles, cols=2)),
        ("units_figure", units_figure(units)),
        ("reliability_figure", reliability_figure(rel)),
        ("reliability_figure", reliability_figure(rel, marker=0.7, title="T = 1")),
        ("confusion_figure", confusion_figure(confusion_matrix(test_logits, labels), (4, 9),
                                              "c")),
        ("agreement_figure", agreement_figure(["a", "b"], [[1.0, 0.98], [0.98, 1.0]])),
        ("history_figure", history_figure({"mlp": history, "unknown": history}, 0.5)),
        ("history_figure", history_figure({"mlp": history[:2]})),
        ("sigmoid_unavailable_figure", sigmoid_unavailable_figure("toy_ovr")),
        ("coverage_figure", coverage_figure([0.05, 0.1], {"LAC": [0.95, 0.9],
                                                          "APS": [0.96, 0.91]}, 0.1)),
        ("set_size_figure", set_size_figure({"LAC": rng.integers(0, 4, 50),
                                             "APS": rng.integers(1, 5, 50)}, 0.1)),
        ("risk_coverage_figure", risk_coverage_figure(np.linspace(0.01, 1, 100),
                                                      np.linspace(0, 0.02, 100),
                                                      [("confident", 0.9, 0.002)])),
        ("replay_figure", replay_figure([0, 1, 4], rng.normal(size=(3, 10)),
                                        softmax(rng.normal(size=(3, 10))),
                                        {e: {"accuracy": 0.5, "nll": 1.0, "ece": 0.1,
                                             "loss": 1.5} for e in (0, 1, 4)}, "r", 1.46)),
        ("number_line_figure", number_line_figure(3.71, 4.2, 4)),
        ("binary_figure", binary_figure(0.93, 0.12)),
        ("wide_image_figure", wide_image_figure(rng.random((28, 56)))),
        ("distortion_sweep_figure", distortion_sweep_figure(
            xs, softmax(rng.normal(size=(len(xs), 10))), 10.0, "rotation")),
    ]


def every_figure(logits, temperature) -> list[tuple[str, go.Figure]]:
    """(function name, figure) for every figure function of explorer.figures."""
    sweep = temperature_sweep(logits)
    explorer = [("explorer_figures", fig) for fig in all_figures(logits, temperature)]
    idle = Stroke.uniform(temperature, ovr=True)  # the blank canvas's placeholders
    explorer += [("panel_figures", fig) for fig in panel_figures(idle).values()]
    return explorer + [
        ("logits_figure", logits_figure(logits)),
        ("softmax_figure", softmax_figure(logits, temperature)),
        ("sigmoid_figure", sigmoid_figure(logits, temperature)),
        ("temperature_sweep_figure", temperature_sweep_figure(sweep, temperature)),
        ("uncertainty_figure", uncertainty_figure(sweep, temperature)),
        ("image_figure", image_figure(np.eye(28))),
    ] + lab_figures(logits, temperature)


def test_every_figure_function_of_the_package_is_validated_below():
    public = set()
    for module in pkgutil.iter_modules(explorer.figures.__path__):
        mod = importlib.import_module(f"explorer.figures.{module.name}")
        public |= {name for name, fn in inspect.getmembers(mod, inspect.isfunction)
                   if fn.__module__ == mod.__name__ and not name.startswith("_")
                   and name.endswith(("_figure", "_figures"))}
    assert {name for name, _ in every_figure(LOGITS, 1.0)} == public


@pytest.mark.parametrize("logits", [LOGITS, EXTREME, np.zeros(10)])
@pytest.mark.parametrize("temperature", [0.05, 1.0, 7.3])
def test_every_figure_is_what_plotly_validation_would_make(logits, temperature):
    # The figures skip validation for speed; rebuilding them validated must raise on a
    # misspelt key and must not change a single value (e.g. title="x" vs {"text": "x"}).
    for name, fig in every_figure(logits, temperature):
        validated = go.Figure(fig)
        assert json.loads(validated.to_json()) == json.loads(fig.to_json()), name


def test_unvalidated_figure_still_fails_validation_on_a_typo():
    fig = base.figure([dict(type="bar", y=[1.0], colour="red")], {})
    with pytest.raises(ValueError, match="colour"):
        go.Figure(fig)


@pytest.fixture
def tiny_template():
    """Plotly's default template set to one with bar and pie defaults, all undone after."""
    default = pio.templates.default
    pio.templates["test_charts_tiny"] = go.layout.Template(
        layout=dict(colorway=["#123456"]),
        data=dict(bar=[go.Bar(opacity=0.5)], pie=[go.Pie(hole=0.3)]))
    pio.templates.default = "test_charts_tiny"
    yield
    pio.templates.default = default
    del pio.templates["test_charts_tiny"]


@pytest.mark.usefixtures("tiny_template")
def test_figures_carry_the_default_template_for_their_trace_types_only():
    template = logits_figure(LOGITS).to_dict()["layout"]["template"]
    assert template["layout"]["colorway"] == ["#123456"]
    assert set(template["data"]) == {"bar"}
    sweep = temperature_sweep(LOGITS)
    assert "data" not in temperature_sweep_figure(sweep, 1.0).to_dict()["layout"]["template"]
    pio.templates.default = None
    assert "template" not in logits_figure(LOGITS).to_dict()["layout"]


def test_changing_one_figure_leaves_the_next_alone():
    fig = logits_figure(LOGITS)
    fig.layout.template.layout.colorway = ["red"]
    fig.data[0].marker.color = "red"
    fresh = logits_figure(LOGITS)
    assert fresh.layout.template.layout.colorway != ("red",)
    assert fresh.data[0].marker.color[0] != "red"


def test_logits_figure_has_zero_line_and_highlights_argmax():
    fig = logits_figure(LOGITS)
    (bar,) = fig.data
    np.testing.assert_allclose(bar.y, LOGITS)
    assert any(s.y0 == 0 and s.y1 == 0 for s in fig.layout.shapes)
    colours = list(bar.marker.color)
    assert colours[2] != colours[0] and len(set(colours)) == 2
    assert colours.count(colours[2]) == 1


@pytest.mark.parametrize("temperature", [0.05, 1.0, 3.0, 20.0])
def test_softmax_figure_sums_to_one_with_ghost_of_t1(temperature):
    fig = softmax_figure(LOGITS, temperature)
    ghost, bars = fig.data
    assert sum(bars.y) == pytest.approx(1.0)
    assert sum(ghost.y) == pytest.approx(1.0)
    assert ghost.name == "T = 1"
    reference = torch.softmax(torch.tensor(LOGITS) / temperature, 0).numpy()
    np.testing.assert_allclose(bars.y, reference, rtol=1e-9, atol=1e-12)
    assert "Σ = 1.000" in fig.layout.title.text


def test_logit_labels_are_readable_and_do_not_shrink():
    fig = logits_figure(LOGITS)
    (bar,) = fig.data
    assert bar.textfont.size >= 12 and bar.textfont.color == base.INK
    assert bar.constraintext == "none"  # plotly would shrink them to the bar width
    assert list(bar.text) == ["-1.5", "0.3", "7.2", "2.0", "-3.0", "0.0", "1.1", "4.9",
                              "-0.4", "0.8"]
    assert logits_figure([12.34, -10.6] + [0.0] * 8).data[0].text[:2] == ("12", "-11")
    assert fig.layout.title.text == "Logits"


def test_sweep_marks_the_prediction_by_width_not_by_a_colour():
    sweep = temperature_sweep(LOGITS)
    lines = [t for t in temperature_sweep_figure(sweep, 1.0).data if t.name != "current T"]
    colours = [t.line.color for t in lines]
    assert colours == list(base.CLASS_COLOURS) and len(set(colours)) == 10
    assert base.TOP not in colours
    widths = [t.line.width for t in lines]
    assert widths[2] > 2 * max(w for k, w in enumerate(widths) if k != 2)
    assert lines[2].name == "2 (predicted)" and lines[0].name == "0"


def test_softmax_ghost_does_not_follow_temperature():
    hot, cold = softmax_figure(LOGITS, 5.0), softmax_figure(LOGITS, 0.2)
    np.testing.assert_allclose(hot.data[0].y, cold.data[0].y)
    assert not np.allclose(hot.data[1].y, cold.data[1].y)


def test_sigmoid_figure_shows_a_sum_that_is_not_one():
    fig = sigmoid_figure(LOGITS, 1.0)
    total = float(np.sum(fig.data[0].y))
    np.testing.assert_allclose(fig.data[0].y, torch.sigmoid(torch.tensor(LOGITS)).numpy())
    assert f"Σ = {total:.3f}" in fig.layout.title.text
    assert abs(total - 1.0) > 0.1


def test_sweep_figure_has_ten_class_lines_and_marks_current_t():
    sweep = temperature_sweep(LOGITS)
    fig = temperature_sweep_figure(sweep, 2.5)
    classes = [t for t in fig.data if t.name != "current T"]
    (marker,) = [t for t in fig.data if t.name == "current T"]
    assert len(classes) == 10
    assert list(marker.x) == [2.5, 2.5]
    assert fig.layout.xaxis.type == "log"
    np.testing.assert_allclose(np.sum([t.y for t in classes], axis=0), 1.0)


def test_uncertainty_figure_has_entropy_margin_and_marker():
    sweep = temperature_sweep(LOGITS)
    fig = uncertainty_figure(sweep, 0.5)
    names = [t.name for t in fig.data]
    assert names == ["entropy (bits)", "top-1 margin", "current T"]
    assert max(fig.data[0].y) <= np.log2(10) + 1e-9
    assert np.all(np.diff(fig.data[0].y) >= -1e-9)  # entropy grows with T for these logits


def test_sweep_argmax_is_constant_and_fact_says_so():
    sweep = temperature_sweep(LOGITS)
    assert sweep.argmax_constant
    assert argmax_fact(sweep) == "argmax is 2 at every T"


@pytest.mark.parametrize("logits", [EXTREME, -EXTREME, np.zeros(10), np.full(10, 1e4)])
@pytest.mark.parametrize("temperature", [0.05, 20.0])
def test_figures_from_extreme_logits_are_finite(logits, temperature):
    for fig in all_figures(logits, temperature):
        values = numbers(fig.to_plotly_json())
        assert values and np.all(np.isfinite(values)), fig.layout.title.text


@settings(max_examples=40, deadline=None)
@given(finite_logits, st.floats(0.05, 20.0))
def test_figures_are_finite_for_any_logits_and_t(logits, temperature):
    for fig in all_figures(logits, temperature)[:3]:
        assert np.all(np.isfinite(numbers(fig.to_plotly_json())))


def test_image_figure_shows_the_image_upright():
    image = np.zeros((28, 28))
    image[3, 5] = 1.0
    fig = image_figure(image, "x")
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), image)
    assert fig.layout.yaxis.autorange == "reversed"  # row 0 at the top, like the canvas


def test_layer_table_of_mlp_totals_102762():
    model = build_model("mlp").eval()
    rows = layer_table(model)
    assert sum(r["params"] for r in rows) == 102_762 == count_params(model)
    by_name = {r["layer"]: r for r in rows}
    assert by_name["net.2"]["output shape"] == "(1, 96)"
    assert by_name["net.8"]["output shape"] == "(1, 10)"
    assert not model.net[2]._forward_hooks  # hooks removed afterwards


def test_layer_table_of_cnn_shows_pooling_through_shapes():
    model = build_model("cnn").eval()
    rows = layer_table(model)
    assert sum(r["params"] for r in rows) == count_params(model)
    shapes = {r["layer"]: r["output shape"] for r in rows}
    assert shapes["conv2"] == "(1, 64, 24, 24)"
    assert shapes["dropout1"] == "(1, 64, 12, 12)"
    assert [r["layer"] for r in rows][-1] == "fc2"


def test_values_table_is_scientific_and_never_rounds_to_one():
    rows = values_table([30.0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1.0)
    assert len(rows) == 10
    top = rows[0]
    assert float(top["1 − p"]) == pytest.approx(9 * np.exp(-30), rel=1e-6)
    assert float(top["1 − p"]) > 0
    assert "e" in top["softmax"] and float(top["log-softmax"]) < 0


def test_values_table_shows_sigmoids_only_of_a_one_vs_rest_model():
    alone = values_table(LOGITS, 2.0)
    assert not any("σ" in name or "sigmoid" in name for name in alone[0])  # they'd mean nothing
    ovr = np.linspace(-6, 6, 10)
    rows = values_table(LOGITS, 2.0, ovr_logits=ovr)
    reference = torch.sigmoid(torch.tensor(ovr) / 2.0).numpy()
    assert [float(row[OVR_COLUMN]) for row in rows] == pytest.approx(reference, rel=1e-6)
    assert [row["softmax"] for row in rows] == [row["softmax"] for row in alone]


def test_values_table_has_one_minus_p_for_every_class_and_fixed_logits():
    rows = values_table(LOGITS, 2.0)
    reference = torch.softmax(torch.tensor(LOGITS) / 2.0, 0).numpy()
    for k, row in enumerate(rows):
        assert row["logit"] == f"{LOGITS[k]:.4f}"
        assert float(row["1 − p"]) == pytest.approx(1.0 - reference[k], rel=1e-6)
        assert float(row["softmax"]) + float(row["1 − p"]) == pytest.approx(1.0, abs=2e-6)
    widths = {len(row[name]) for row in rows for name in ("softmax", "1 − p")}
    assert widths == {len("1.234567e-01")}  # one fixed width: digits line up right-aligned


def test_values_table_never_shows_an_exact_zero_or_an_exact_one_minus_zero():
    logits = np.array([-1.0, 2e4] + [0.0] * 8)  # every other class's probability underflows
    rows = values_table(logits, 1.0)
    top = 1
    assert rows[top]["1 − p"] == "< 1e-300"
    assert all(row["softmax"] == "< 1e-300" for k, row in enumerate(rows) if k != top)
    assert rows[top]["log-softmax"] == "> -1e-300"


def _reference_top2(logits, temperature):
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float64) / temperature, 0)
    return torch.sort(probs, descending=True).values[:2].numpy()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 4.0])
def test_format_margin_shows_four_decimals_in_the_middle(temperature):
    p1, p2 = _reference_top2(LOGITS, temperature)
    assert format_margin(LOGITS, temperature) == f"{p1 - p2:.4f}"


@pytest.mark.parametrize("gap", [12.0, 30.0, 60.0, 200.0])
def test_format_margin_near_one_is_its_exact_complement(gap):
    logits = np.array([gap, 1.0] + [0.0] * 8)
    # With r_c = e^(z_c − z_top): 1 − (p1 − p2) = (Σ r_c + r_runner_up) / (1 + Σ r_c).
    others = np.exp(np.array([1.0] + [0.0] * 8) - gap)  # (9,)
    expected = (others.sum() + others[0]) / (1.0 + others.sum())
    assert format_margin(logits) == f"1 − {expected:.2e}"


def test_format_margin_small_and_underflowed():
    p1, p2 = _reference_top2([1e-5, 0.0] + [-50.0] * 8, 1.0)
    text = format_margin([1e-5, 0.0] + [-50.0] * 8)
    assert "e-06" in text and float(text) == pytest.approx(p1 - p2, rel=1e-2)
    assert format_margin([2e4, 0.0] + [-1.0] * 8) == "> 1 − 1e-300"
    assert format_margin(np.zeros(10)) == "0.0000"  # a true tie


def test_format_entropy_bits_is_scientific_below_a_thousandth():
    assert format_entropy_bits(1.23456) == "1.235 bits"
    assert format_entropy_bits(np.log2(10)) == "3.322 bits"
    assert format_entropy_bits(3.1e-5) == "3.10e-05 bits"
    assert format_entropy_bits(0.0) == "< 1e-300 bits"
    logits = [30.0] + [0.0] * 9
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float64), 0)
    reference = float(-(probs * torch.log2(probs)).sum())
    text = format_entropy_bits(entropy_bits(logits))
    assert text.endswith(" bits") and float(text.split()[0]) == pytest.approx(reference, rel=1e-3)


@settings(max_examples=80, deadline=None)
@given(finite_logits, st.floats(0.05, 20.0))
def test_formatted_numbers_never_round_to_certainty(logits, temperature):
    top1, gap = format_top1(logits, temperature), format_margin(logits, temperature)
    entropy = format_entropy_bits(entropy_bits(logits, temperature))
    assert top1 not in ("1.0000", "1 − 0.00e+00")
    assert gap not in ("1.0000", "1 − 0.00e+00")
    assert entropy not in ("0.000 bits", "0.00e+00 bits")
    top2 = np.sort(np.asarray(logits) / temperature)[-2:]
    if top2[1] - top2[0] > 1e-12:  # closer than that, exp() itself rounds them to a tie
        assert gap != "0.0000"


def test_format_top1_never_shows_exactly_one():
    assert format_top1(LOGITS, 1.0) == f"{torch.softmax(torch.tensor(LOGITS), 0).max():.4f}"
    assert format_top1([60.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == f"1 − {9 * np.exp(-60):.2e}"
    assert format_top1(np.zeros(10)) == "0.1000"


def test_format_sigmoid_against_torch_and_never_zero_or_one():
    """The verdict's P(not a digit): torch.sigmoid's value, each tail from its own side."""
    def sigmoid(z: float) -> float:
        return float(torch.sigmoid(torch.tensor(z, dtype=torch.float64)))

    assert format_sigmoid(0.3) == f"{sigmoid(0.3):.4f}"
    assert format_sigmoid(40.0) == f"1 − {sigmoid(-40.0):.2e}"
    assert format_sigmoid(-40.0) == f"{sigmoid(-40.0):.2e}"
    assert format_sigmoid(800.0) == "> 1 − 1e-300"


@given(st.floats(-1e6, 1e6))
def test_format_sigmoid_never_says_exactly_zero_or_one(z):
    assert format_sigmoid(z) not in ("0.0000", "1.0000", "1 − 0.00e+00", "0.00e+00")


def test_a_denormal_logit_gets_an_axis():
    """Hypothesis found it on a CI run: logits of 5e-324 made nice_bound's decade 0."""
    assert logit_range(np.full(10, 5e-324)) == [-1e-6, 1e-6]
    assert nice_bound(5e-324) == pytest.approx(1e-6)
