"""The Confidence lab's figures (explorer.figures): reliability, confusion, agreement, bars."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.figures.base import BAR, TOP
from explorer.figures.calibration import agreement_figure, confusion_figure, reliability_figure
from explorer.figures.outputs import probs_figure
from explorer.lab.evaluation import confusion_matrix
from explorer.maths.calibration import N_BINS, bin_index, reliability
from explorer.maths.confidence import softmax


def fake_logits(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose confidences spread over every bin, and labels right ~80 % of the time."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    logits = rng.normal(size=(n, 10)) * rng.uniform(0.1, 6.0, (n, 1))
    hits = rng.random(n) < 0.8
    logits[hits, labels[hits]] += rng.uniform(0, 8, hits.sum())
    return logits, labels


def trace(fig, name: str):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def single_bin(confidence: float) -> int:
    """The bin calibration.reliability puts one input of this top-1 probability in."""
    probs = np.full((1, 10), (1.0 - confidence) / 9.0)
    probs[0, 3] = confidence
    return int(np.flatnonzero(reliability(probs, [3]).counts)[0])


def test_reliability_figure_has_15_bins_whose_counts_sum_to_n():
    logits, labels = fake_logits()
    rel = reliability(softmax(logits), labels)
    fig = reliability_figure(rel)
    accuracy, count = trace(fig, "accuracy"), trace(fig, "count")
    assert len(accuracy.x) == len(count.x) == N_BINS == 15
    np.testing.assert_allclose(np.diff(accuracy.x), 1 / 15)
    assert np.nansum(np.asarray(count.y, float)) == len(labels)
    filled = rel.counts > 0
    np.testing.assert_allclose(np.asarray(accuracy.y)[filled], rel.accuracy[filled])
    assert not [t for t in fig.data if t.name == "your drawing"]
    assert set(accuracy.marker.color) == {BAR}


def test_reliability_gap_runs_from_accuracy_to_mean_confidence():
    logits, labels = fake_logits(seed=1)
    rel = reliability(softmax(logits, 2.0), labels)
    gap = trace(reliability_figure(rel), "gap")
    filled = rel.counts > 0
    base, height = np.asarray(gap.base, float), np.asarray(gap.y, float)
    top = base + height
    np.testing.assert_allclose(top[filled], rel.confidence[filled])
    np.testing.assert_allclose(base[filled], rel.accuracy[filled])


def test_reliability_accuracy_matches_a_direct_count():
    logits, labels = fake_logits(seed=2)
    probs = torch.softmax(torch.as_tensor(logits), dim=1).numpy()  # reference softmax
    rel = reliability(softmax(logits), labels)
    fig = reliability_figure(rel)
    conf, right = probs.max(1), probs.argmax(1) == labels
    b = 14  # the top bin (14/15, 1]
    in_bin = conf > 14 / 15
    assert trace(fig, "count").y[b] == in_bin.sum()
    assert trace(fig, "accuracy").y[b] == pytest.approx(right[in_bin].mean())


@settings(max_examples=60, deadline=None)
@given(st.floats(0.1001, 1.0))
def test_drawing_marker_lands_in_the_bin_reliability_uses(confidence):
    logits, labels = fake_logits(500, seed=3)
    rel = reliability(softmax(logits), labels)
    fig = reliability_figure(rel, marker=confidence)
    expected = single_bin(confidence)
    assert bin_index(confidence, rel.edges) == expected
    colours = list(trace(fig, "accuracy").marker.color)
    assert colours.index(TOP) == expected and colours.count(TOP) == 1
    assert list(trace(fig, "count").marker.color) == colours
    star = trace(fig, "your drawing")
    assert star.x[0] == pytest.approx(confidence)
    assert rel.edges[expected] < star.x[0] <= rel.edges[expected + 1]


@pytest.mark.parametrize("k", [2, 7, 14, 15])
def test_a_confidence_on_a_bin_edge_belongs_to_the_lower_bin(k):
    edges = np.linspace(0, 1, 16)
    assert bin_index(edges[k], edges) == k - 1 == single_bin(edges[k])


def test_confusion_heatmap_sums_to_n_and_outlines_the_chosen_cell():
    logits, labels = fake_logits(seed=4)
    counts = confusion_matrix(logits, labels)
    fig = confusion_figure(counts, cell=(4, 9))
    heat = trace(fig, "confusion")
    shown = np.asarray(heat.customdata)
    assert shown.sum() == len(labels)
    assert np.trace(shown) == (logits.argmax(1) == labels).sum()
    assert shown[4, 9] == ((labels == 4) & (logits.argmax(1) == 9)).sum()
    np.testing.assert_allclose(np.asarray(heat.z), np.log10(1 + shown))  # log colour
    (rect,) = fig.layout.shapes
    assert (rect.x0 + rect.x1) / 2 == 9 and (rect.y0 + rect.y1) / 2 == 4
    assert confusion_figure(counts).layout.shapes == ()


def test_agreement_heatmap_shows_the_matrix_as_percentages():
    names, matrix = ["a", "b"], np.array([[1.0, 0.981], [0.981, 1.0]])
    heat = trace(agreement_figure(names, matrix), "agreement")
    np.testing.assert_array_equal(np.asarray(heat.z), matrix)
    assert heat.text[0][1] == "98.10%" and list(heat.x) == names


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=10, max_size=10), st.floats(0.05, 20))
def test_probs_figure_is_torch_softmax_of_logits_over_t(logits, temperature):
    # The Compare page's bars: it softmaxes each model's raw outputs itself.
    fig = probs_figure(softmax(logits, temperature), height=230, name="softmax", labels=False)
    bars = trace(fig, "softmax")
    reference = torch.softmax(torch.tensor(logits, dtype=torch.float64) / temperature, 0)
    np.testing.assert_allclose(np.asarray(bars.y), reference.numpy(), atol=1e-12)
    assert list(bars.marker.color).index(TOP) == int(np.argmax(np.asarray(bars.y)))
