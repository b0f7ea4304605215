import numpy as np
import pytest

from explorer.maths import calibration as K
from explorer.maths.confidence import softmax


def probs_with_conf(confs, preds, n_classes=3):
    """Rows whose max is `conf` at class `pred`, the rest spread evenly."""
    rows = []
    for c, p in zip(confs, preds):
        row = np.full(n_classes, (1 - c) / (n_classes - 1))
        row[p] = c
        rows.append(row)
    return np.array(rows)


def test_ece_hand_computed_three_bins():
    # Bins (0, 1/3], (1/3, 2/3], (2/3, 1]; confidences 0.5, 0.6 | 0.9, 0.8, 0.7.
    probs = probs_with_conf([0.5, 0.6, 0.9, 0.8, 0.7], [0, 0, 0, 0, 0])
    labels = np.array([0, 1, 0, 0, 1])
    # Bin 2: acc 1/2, conf 0.55 -> gap 0.05, weight 2/5. Bin 3: acc 2/3, conf 0.8 -> gap 2/15.
    expected = 2 / 5 * 0.05 + 3 / 5 * (0.8 - 2 / 3)
    assert K.ece(probs, labels, n_bins=3) == pytest.approx(expected)
    assert K.mce(probs, labels, n_bins=3) == pytest.approx(0.8 - 2 / 3)
    r = K.reliability(probs, labels, n_bins=3)
    assert r.counts.tolist() == [0, 2, 3]
    assert np.isnan(r.accuracy[0]) and r.accuracy[1] == 0.5


def test_ece_of_perfectly_calibrated_set_is_near_zero():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40_000, 10)) * 2
    probs = softmax(logits)
    labels = np.array([rng.choice(10, p=p) for p in probs])  # labels drawn from the probs
    assert K.ece(probs, labels) < 0.01
    overconfident = softmax(logits * 3)
    assert K.ece(overconfident, labels) > 0.1


def test_nll_and_brier_against_hand_values():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    labels = np.array([0, 1])
    assert K.nll(np.log(probs), labels) == pytest.approx(-(np.log(0.7) + np.log(0.1)) / 2)
    expected = ((0.3 ** 2 + 0.2 ** 2 + 0.1 ** 2) + (0.1 ** 2 + 0.9 ** 2 + 0.8 ** 2)) / 2
    assert K.brier(probs, labels) == pytest.approx(expected)


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.0, 4.0])
def test_temperature_fit_recovers_known_t(true_t):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(20_000, 10)) * 3  # (N, 10)
    labels = np.array([rng.choice(10, p=p) for p in softmax(logits, true_t)])
    t = K.fit_temperature(logits, labels)
    assert t == pytest.approx(true_t, rel=0.06)
    # The fit lowers NLL and leaves every argmax alone.
    assert K.nll(logits, labels, t) <= K.nll(logits, labels, 1.0) + 1e-12
    assert (softmax(logits, t).argmax(1) == logits.argmax(1)).all()


def test_calibration_report_keys_and_ranges():
    rng = np.random.default_rng(2)
    logits, labels = rng.normal(size=(500, 10)), rng.integers(0, 10, 500)
    report = K.calibration_report(logits, labels, 1.5)
    assert set(report) == {"accuracy", "nll", "ece", "mce", "brier"}
    assert 0 <= report["ece"] <= report["mce"] <= 1 and report["nll"] > 0
