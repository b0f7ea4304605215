"""Conformal prediction sets: a hand-computed example, coverage on held-out data, monotone sets."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.confidence import softmax
from explorer.conformal import (
    calibrate,
    class_scores,
    conformal_quantile,
    coverage_and_size,
    halves,
    prediction_sets,
    risk_coverage,
)
from explorer.testset_logits import testset_logits as stored_or_computed_logits
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
    # APS scores of the true classes: 0.9, 0.8, 0.7, 0.4 + 0.4 + 0.2 = 1.0 -> q̂ = 0.9
    aps = calibrate(probs, labels, 0.4, "APS")
    assert aps.qhat == pytest.approx(0.9)
    sets = prediction_sets(np.array([[0.72, 0.2, 0.08], [0.45, 0.35, 0.2]]), aps)
    assert sets.tolist() == [[True, True, False], [True, True, True]]  # mass up to 0.9
    assert conformal_quantile(np.arange(4.0), 0.1) == float("inf")  # too few for 90 %


def _calibrated_model(n: int, seed: int):
    """Probabilities from random logits, labels drawn from them: a calibrated 'model'."""
    rng = np.random.default_rng(seed)
    probs = softmax(rng.normal(size=(n, 10)) * rng.uniform(0.5, 4, (n, 1)))
    labels = np.array([rng.choice(10, p=p / p.sum()) for p in probs])
    return probs, labels


@pytest.mark.parametrize("score", ["LAC", "APS"])
def test_coverage_on_held_out_data_is_at_least_one_minus_alpha(score):
    probs, labels = _calibrated_model(10_000, seed=0)
    cal, ev = halves(len(labels))
    for alpha in ALPHAS:
        fitted = calibrate(probs[cal], labels[cal], alpha, score)
        coverage, _ = coverage_and_size(prediction_sets(probs[ev], fitted), labels[ev])
        assert coverage >= 1 - alpha - TOLERANCE, (score, alpha, coverage)


@pytest.mark.parametrize("score", ["LAC", "APS"])
def test_sets_grow_as_alpha_shrinks(score):
    probs, labels = _calibrated_model(4_000, seed=1)
    cal, ev = halves(len(labels))
    sets = [prediction_sets(probs[ev], calibrate(probs[cal], labels[cal], a, score))
            for a in sorted(ALPHAS, reverse=True)]  # 0.2 first: the smallest sets
    for smaller, larger in zip(sets, sets[1:]):
        assert (larger | ~smaller).all()  # every set at a larger alpha is inside
    assert sets[-1].sum() > sets[0].sum()


def test_aps_never_gives_an_empty_set_and_lac_can():
    probs, labels = _calibrated_model(2_000, seed=2)
    flat = np.full((1, 10), 0.1)  # a scribble: nothing stands out
    assert prediction_sets(flat, calibrate(probs, labels, 0.1, "APS")).sum() >= 1
    assert prediction_sets(flat, calibrate(probs, labels, 0.1, "LAC")).sum() in (0, 10)


def test_the_shipped_cnn_covers_its_held_out_half():
    need_checkpoints("cnn")
    from explorer import load_model
    from explorer.data import load_test_split

    logits = stored_or_computed_logits(load_model("cnn", device="cpu"))
    labels = load_test_split()[1]
    probs = softmax(logits)
    cal, ev = halves(len(labels))
    for score in ("LAC", "APS"):
        for alpha in ALPHAS:
            fitted = calibrate(probs[cal], labels[cal], alpha, score)
            coverage, size = coverage_and_size(prediction_sets(probs[ev], fitted), labels[ev])
            assert coverage >= 1 - alpha - TOLERANCE and size >= 1 - alpha - TOLERANCE


def test_risk_coverage_keeps_the_most_confident_first():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.55, 0.45]])
    coverage, risk, cut = risk_coverage(probs, np.array([0, 1, 1, 0]))
    assert coverage.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert cut.tolist() == [0.9, 0.8, 0.6, 0.55]
    assert risk.tolist() == [0.0, 0.0, pytest.approx(1 / 3), 0.25]
    assert class_scores(probs, "LAC").shape == (4, 2)
