"""Tests for explorer.charts and explorer.summary: figures and tables from numbers."""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer import charts
from explorer.confidence import entropy_bits, log_softmax, margin, softmax
from explorer.models import build_model, count_params
from explorer.summary import (
    format_entropy_bits,
    format_margin,
    format_top1,
    layer_table,
    values_table,
)

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
    sweep = charts.temperature_sweep(logits)
    return [charts.logits_figure(logits), charts.softmax_figure(logits, temperature),
            charts.sigmoid_figure(logits, temperature), charts.sweep_figure(sweep, temperature),
            charts.uncertainty_figure(sweep, temperature), charts.image_figure(np.eye(28))]


@pytest.mark.parametrize("logits", [LOGITS, EXTREME, np.zeros(10)])
@pytest.mark.parametrize("temperature", [0.05, 1.0, 7.3])
def test_every_figure_is_what_plotly_validation_would_make(logits, temperature):
    # The figures skip validation for speed; rebuilding them validated must raise on a
    # misspelt key and must not change a single value (e.g. title="x" vs {"text": "x"}).
    for fig in all_figures(logits, temperature):
        validated = go.Figure(fig)
        assert json.loads(validated.to_json()) == json.loads(fig.to_json())


def test_unvalidated_figure_still_fails_validation_on_a_typo():
    fig = charts.figure([dict(type="bar", y=[1.0], colour="red")], {})
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
    template = charts.logits_figure(LOGITS).to_dict()["layout"]["template"]
    assert template["layout"]["colorway"] == ["#123456"]
    assert set(template["data"]) == {"bar"}
    sweep = charts.temperature_sweep(LOGITS)
    assert "data" not in charts.sweep_figure(sweep, 1.0).to_dict()["layout"]["template"]
    pio.templates.default = None
    assert "template" not in charts.logits_figure(LOGITS).to_dict()["layout"]


def test_changing_one_figure_leaves_the_next_alone():
    fig = charts.logits_figure(LOGITS)
    fig.layout.template.layout.colorway = ["red"]
    fig.data[0].marker.color = "red"
    fresh = charts.logits_figure(LOGITS)
    assert fresh.layout.template.layout.colorway != ("red",)
    assert fresh.data[0].marker.color[0] != "red"


@settings(max_examples=60, deadline=None)
@given(finite_logits, arrays(np.float64, st.integers(1, 8),
                             elements=st.floats(1e-4, 1e4, allow_nan=False)))
def test_sweep_equals_the_scalar_functions_at_every_t(logits, temperatures):
    # Vectorised over T, including temperatures outside confidence's clip range.
    sweep = charts.temperature_sweep(logits, temperatures)
    for row, t in enumerate(temperatures):
        np.testing.assert_array_equal(sweep.probs[row], softmax(logits, t))
        assert sweep.entropy_bits[row] == entropy_bits(logits, t)
        assert sweep.margin[row] == margin(logits, t)
        assert sweep.argmax[row] == np.argmax(log_softmax(logits, t))


def test_temperature_grid_is_log_spaced_and_holds_one():
    grid = charts.temperature_grid()
    assert grid[0] == pytest.approx(0.05) and grid[-1] == pytest.approx(20.0)
    assert 1.0 in grid
    ratios = grid[1:] / grid[:-1]
    np.testing.assert_allclose(ratios, ratios[0])


def test_logits_figure_has_zero_line_and_highlights_argmax():
    fig = charts.logits_figure(LOGITS)
    (bar,) = fig.data
    np.testing.assert_allclose(bar.y, LOGITS)
    assert any(s.y0 == 0 and s.y1 == 0 for s in fig.layout.shapes)
    colours = list(bar.marker.color)
    assert colours[2] != colours[0] and len(set(colours)) == 2
    assert colours.count(colours[2]) == 1


@pytest.mark.parametrize("temperature", [0.05, 1.0, 3.0, 20.0])
def test_softmax_figure_sums_to_one_with_ghost_of_t1(temperature):
    fig = charts.softmax_figure(LOGITS, temperature)
    ghost, bars = fig.data
    assert sum(bars.y) == pytest.approx(1.0)
    assert sum(ghost.y) == pytest.approx(1.0)
    assert ghost.name == "T = 1"
    reference = torch.softmax(torch.tensor(LOGITS) / temperature, 0).numpy()
    np.testing.assert_allclose(bars.y, reference, rtol=1e-9, atol=1e-12)
    assert "Σ = 1.000" in fig.layout.title.text


def test_logit_labels_are_readable_and_do_not_shrink():
    fig = charts.logits_figure(LOGITS)
    (bar,) = fig.data
    assert bar.textfont.size >= 12 and bar.textfont.color == charts.INK
    assert bar.constraintext == "none"  # plotly would shrink them to the bar width
    assert list(bar.text) == ["-1.5", "0.3", "7.2", "2.0", "-3.0", "0.0", "1.1", "4.9",
                              "-0.4", "0.8"]
    assert charts.logits_figure([12.34, -10.6] + [0.0] * 8).data[0].text[:2] == ("12", "-11")
    assert fig.layout.title.text == "Logits"


def test_sweep_marks_the_prediction_by_width_not_by_a_colour():
    sweep = charts.temperature_sweep(LOGITS)
    lines = [t for t in charts.sweep_figure(sweep, 1.0).data if t.name != "current T"]
    colours = [t.line.color for t in lines]
    assert colours == list(charts.CLASS_COLOURS) and len(set(colours)) == 10
    assert charts.TOP not in colours
    widths = [t.line.width for t in lines]
    assert widths[2] > 2 * max(w for k, w in enumerate(widths) if k != 2)
    assert lines[2].name == "2 (predicted)" and lines[0].name == "0"


def test_softmax_ghost_does_not_follow_temperature():
    hot, cold = charts.softmax_figure(LOGITS, 5.0), charts.softmax_figure(LOGITS, 0.2)
    np.testing.assert_allclose(hot.data[0].y, cold.data[0].y)
    assert not np.allclose(hot.data[1].y, cold.data[1].y)


def test_sigmoid_figure_shows_a_sum_that_is_not_one():
    fig = charts.sigmoid_figure(LOGITS, 1.0)
    total = float(np.sum(fig.data[0].y))
    np.testing.assert_allclose(fig.data[0].y, torch.sigmoid(torch.tensor(LOGITS)).numpy())
    assert f"Σ = {total:.3f}" in fig.layout.title.text
    assert abs(total - 1.0) > 0.1


def test_sweep_figure_has_ten_class_lines_and_marks_current_t():
    sweep = charts.temperature_sweep(LOGITS)
    fig = charts.sweep_figure(sweep, 2.5)
    classes = [t for t in fig.data if t.name != "current T"]
    (marker,) = [t for t in fig.data if t.name == "current T"]
    assert len(classes) == 10
    assert list(marker.x) == [2.5, 2.5]
    assert fig.layout.xaxis.type == "log"
    np.testing.assert_allclose(np.sum([t.y for t in classes], axis=0), 1.0)


def test_uncertainty_figure_has_entropy_margin_and_marker():
    sweep = charts.temperature_sweep(LOGITS)
    fig = charts.uncertainty_figure(sweep, 0.5)
    names = [t.name for t in fig.data]
    assert names == ["entropy (bits)", "top-1 margin", "current T"]
    assert max(fig.data[0].y) <= np.log2(10) + 1e-9
    assert np.all(np.diff(fig.data[0].y) >= -1e-9)  # entropy grows with T for these logits


def test_sweep_argmax_is_constant_and_fact_says_so():
    sweep = charts.temperature_sweep(LOGITS)
    assert sweep.argmax_constant
    assert charts.argmax_fact(sweep) == "argmax is 2 at every T"


@settings(max_examples=60, deadline=None)
@given(finite_logits)
def test_argmax_never_depends_on_temperature(logits):
    top2 = np.sort(logits)[-2:]
    # Gaps below float resolution of logsumexp are true numerical ties, not a property.
    assume(top2[1] - top2[0] >= 1e-3)
    sweep = charts.temperature_sweep(logits)
    assert sweep.argmax_constant
    assert sweep.argmax[0] == np.argmax(logits)


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
    fig = charts.image_figure(image, "x")
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
    assert float(rows[3]["sigmoid"]) == pytest.approx(0.5)


def test_values_table_has_one_minus_p_for_every_class_and_fixed_logits():
    rows = values_table(LOGITS, 2.0)
    reference = torch.softmax(torch.tensor(LOGITS) / 2.0, 0).numpy()
    for k, row in enumerate(rows):
        assert row["logit"] == f"{LOGITS[k]:.4f}"
        assert float(row["1 − p"]) == pytest.approx(1.0 - reference[k], rel=1e-6)
        assert float(row["softmax"]) + float(row["1 − p"]) == pytest.approx(1.0, abs=2e-6)
    widths = {len(row[name]) for row in rows for name in ("softmax", "1 − p", "sigmoid")}
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
