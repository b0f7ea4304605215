"""Conformal prediction sets: a hand-computed example, coverage on held-out data, monotone sets."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.lab.testset_logits import testset_logits as stored_or_computed_logits
from explorer.maths.confidence import Thresholds, softmax
from explorer.maths.conformal import (
    Calibrated,
    calibrate,
    class_scores,
    conformal_quantile,
    coverage_and_size,
    halves,
    held_out_sets,
    prediction_sets,
    risk_coverage,
    verdict_marks,
)
from tests.apptest import need_checkpoints

ALPHAS = (0.01, 0.05, 0.1, 0.2)
TOLERANCE = 0.015  # finite-sample slack on 5,000 evaluation images (a few standard errors)


def test_a_small_example_by_hand():
    # Four calibration images with LAC scores 1 - p_true = 0.1, 0.2, 0.3, 0.6.
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.3, 0.7], [0.4, 0.2, 0.4]])
    labels = np.array([0, 1, 2, 1])
    # alpha 0.4: rank ceil(5 * 0.6) = 3, so q̂ is the third smallest score, 0.3
    lac = calibrate(probs, labels, 0.4, "LAC")
    assert lac.qhat == pytest.approx(0.3)
    sets = prediction_sets(np.array([[0.72, 0.2, 0.08], [0.45, 0.35, 0.2]]), lac)
    assert sets.tolist() == [[True, False, False], [False, False, False]]  # p ≥ 0.7: none
    # APS with U = 1 (no randomisation): true-class scores 0.9, 0.8, 0.7, 0.4 + 0.4 + 0.2 = 1.0
    aps = calibrate(probs, labels, 0.4, "APS", u=np.ones(4))
    assert aps.qhat == pytest.approx(0.9)
    sets = prediction_sets(np.array([[0.72, 0.2, 0.08], [0.45, 0.35, 0.2]]), aps, np.ones(2))
    assert sets.tolist() == [[True, False, False], [True, True, False]]  # mass ≤ 0.9
    # ... and U = 0 counts only the mass above: the top class is always in
    sets = prediction_sets(np.array([[0.72, 0.2, 0.08]]), aps, np.zeros(1))
    assert sets.tolist() == [[True, True, False]]
    assert conformal_quantile(np.arange(4.0), 0.1) == float("inf")  # too few for 90 %


def test_a_score_exactly_at_the_sets_edge_is_in_it():
    """A set holds every class whose score is at most q̂ (+ 1e-12 for rounding): the edge too."""
    lac = Calibrated("LAC", alpha=0.1, qhat=0.25, n=100)
    edge = 0.25 + 1e-12  # the largest score still in the set
    p_edge = 1.0 - edge
    assert 1.0 - p_edge == edge  # LAC's score 1 − p lands exactly on the edge
    probs = np.array([[p_edge, np.nextafter(p_edge, 0.0), 0.9]])  # at, just past, well in
    assert prediction_sets(probs, lac).tolist() == [[True, False, True]]


# Five images' logits (10 classes; -1000 is a class with no mass) and top-1 probabilities:
# A ≈ 1 right, B = 0.75 exactly wrong, C = 0.5 exactly right (a tie, argmax 0), D = 0.1
# (uniform) wrong, E = 0.6 wrong.
VERDICT_TOPS = {"A": ([10.0], 0), "B": ([np.log(3.0), 0.0], 1), "C": ([0.0, 0.0], 0),
                "D": ([0.0] * 10, 3), "E": ([np.log(1.5), 0.0], 2)}


def _verdict_images() -> tuple[np.ndarray, np.ndarray]:
    logits = np.full((len(VERDICT_TOPS), 10), -1000.0)
    for row, (head, _) in zip(logits, VERDICT_TOPS.values()):
        row[:len(head)] = head
    return logits, np.array([label for _, label in VERDICT_TOPS.values()])


def test_verdict_marks_by_hand():
    """Share answered, and the error rate among those answered only, at each rule's edge."""
    logits, labels = _verdict_images()
    marks = verdict_marks(logits, labels, Thresholds(confident=0.75, not_a_digit=0.5))
    # "not a digit" is top-1 < 0.5: D alone; A, B, C, E answered, B and E wrong.
    # "confident" is top-1 ≥ 0.75: A and B answered, B wrong.
    assert [(share, error) for _, share, error in marks] == [(0.8, 0.5), (0.4, 0.5)]


def test_verdict_marks_with_an_energy_cut_by_hand():
    """Energy −log Σ e^z ≤ the cut is a digit: C's is −log 2, exactly at the cut."""
    logits, labels = _verdict_images()
    marks = verdict_marks(logits, labels, Thresholds(confident=0.75, max_energy=-np.log(2.0)))
    # Every energy is ≤ −log 2 (A −10, B −log 4, C −log 2, D −log 10, E −log 2.5): all answered.
    assert [(share, error) for _, share, error in marks] == [(1.0, 0.6), (0.4, 0.5)]


def test_verdict_marks_with_the_not_a_digit_verdict_by_hand():
    """Given the detector's flags, they alone decide "not a digit": the energy cut is unused."""
    logits, labels = _verdict_images()
    flags = np.array([False, True, False, False, True])  # B and E: wrong answers, abstained on
    marks = verdict_marks(logits, labels, Thresholds(confident=0.75, max_energy=-100.0), flags)
    # Answered A, C, D (D wrong); confident among them: A alone, right.
    assert [(share, error) for _, share, error in marks] == [(0.6, 1 / 3), (0.2, 0.0)]


def _calibrated_model(n: int, seed: int):
    """Probabilities from random logits, labels drawn from them: a calibrated 'model'."""
    rng = np.random.default_rng(seed)
    probs = softmax(rng.normal(size=(n, 10)) * rng.uniform(0.5, 4, (n, 1)))
    labels = np.array([rng.choice(10, p=p / p.sum()) for p in probs])
    return probs, labels


@pytest.mark.parametrize("score", ["LAC", "APS"])
def test_coverage_on_held_out_data_is_at_least_one_minus_alpha(score):
    probs, labels = _calibrated_model(10_000, seed=0)
    ev = halves(len(labels))[1]
    for alpha in ALPHAS:
        sets = held_out_sets(probs, labels, alpha, score)
        coverage, _ = coverage_and_size(sets, labels[ev])
        assert coverage >= 1 - alpha - TOLERANCE, (score, alpha, coverage)


@pytest.mark.parametrize("score", ["LAC", "APS"])
def test_sets_grow_as_alpha_shrinks(score):
    probs, labels = _calibrated_model(4_000, seed=1)
    sets = [held_out_sets(probs, labels, a, score)
            for a in sorted(ALPHAS, reverse=True)]  # 0.2 first: the smallest sets
    for smaller, larger in zip(sets, sets[1:]):
        assert (larger | ~smaller).all()  # every set at a larger alpha is inside
    assert sets[-1].sum() > sets[0].sum()


def test_a_scribble_gets_a_large_aps_set_and_an_empty_lac_one():
    need_checkpoints("cnn")
    from explorer import load_model
    from explorer.inputs.data import load_test_split

    probs = softmax(stored_or_computed_logits(load_model("cnn", device="cpu")))
    labels = load_test_split()[1]
    flat = np.full((1, 10), 0.1)  # nothing stands out
    assert prediction_sets(flat, calibrate(probs, labels, 0.05, "APS"), [0.5]).sum() >= 5
    assert prediction_sets(flat, calibrate(probs, labels, 0.05, "LAC")).sum() == 0


def test_the_shipped_cnn_covers_its_held_out_half():
    need_checkpoints("cnn")
    from explorer import load_model
    from explorer.inputs.data import load_test_split

    logits = stored_or_computed_logits(load_model("cnn", device="cpu"))
    labels = load_test_split()[1]
    probs = softmax(logits)
    ev = halves(len(labels))[1]
    for score in ("LAC", "APS"):
        for alpha in ALPHAS:
            coverage, size = coverage_and_size(held_out_sets(probs, labels, alpha, score),
                                               labels[ev])
            assert coverage >= 1 - alpha - TOLERANCE and size >= 1 - alpha - TOLERANCE
            assert size < 1.5  # a 99.4 % model: sets of about one class, not of five


def test_risk_coverage_keeps_the_most_confident_first():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.55, 0.45]])
    coverage, risk, cut = risk_coverage(probs, np.array([0, 1, 1, 0]))
    assert coverage.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert cut.tolist() == [0.9, 0.8, 0.6, 0.55]
    assert risk.tolist() == [0.0, 0.0, pytest.approx(1 / 3), 0.25]
    assert class_scores(probs, "LAC").shape == (4, 2)
