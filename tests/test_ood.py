"""explorer.lab.ood (scores, cuts, the not-a-digit verdict) and scripts/ood_threshold.py."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.inputs.data import load_test_float
from explorer.lab.non_digits import NON_DIGIT_KINDS, make_non_digits
from explorer.lab.ood import (
    DETECTOR_KEY,
    THRESHOLDS_PATH,
    auroc,
    energy_score,
    load_thresholds,
    msp_score,
    pick_threshold,
)
from explorer.model.checkpoints import load_model
from explorer.model.inference import predict_logits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import ood_threshold  # noqa: E402

from explorer.inputs.doodles import DOODLE_KINDS  # noqa: E402
from explorer.lab.detector import load_detector  # noqa: E402

scores = arrays(np.float64, st.integers(1, 40),
                elements=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]) | st.floats(-5, 5))


@settings(max_examples=30, deadline=None)
@given(logits=arrays(np.float64, (5, 10), elements=st.floats(-60, 60)))
def test_scores_match_torch(logits):
    t = torch.tensor(logits)
    np.testing.assert_allclose(msp_score(logits), torch.softmax(t, 1).max(1).values, rtol=1e-9)
    np.testing.assert_allclose(energy_score(logits), -torch.logsumexp(t, 1), rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("higher_is_in", [True, False])
def test_pick_threshold_on_well_separated_scores(higher_is_in):
    rng = np.random.default_rng(0)
    sign = 1 if higher_is_in else -1
    s_in, s_out = sign * rng.normal(5, 1, 4000), sign * rng.normal(-5, 1, 1000)
    thr = pick_threshold(s_in, s_out, higher_is_in, target_tpr=0.95)
    assert thr.tpr_in >= 0.95 and thr.false_alarm == pytest.approx(0.05, abs=0.001)
    assert thr.detection > 0.999 and thr.fpr_out < 0.001
    assert thr.is_digit(sign * 6.0) and not thr.is_digit(sign * -5.0)
    assert sign * thr.value == pytest.approx(np.quantile(sign * s_in, 0.05), abs=0.01)


def test_pick_threshold_on_identical_distributions_flags_as_many_non_digits_as_digits():
    rng = np.random.default_rng(1)
    thr = pick_threshold(rng.random(5000), rng.random(5000), target_tpr=0.8)
    assert thr.detection == pytest.approx(thr.false_alarm, abs=0.03)


@settings(max_examples=80, deadline=None)
@given(s_in=scores, s_out=scores, target=st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0]),
       higher_is_in=st.booleans())
def test_pick_threshold_is_the_strictest_cut_that_keeps_the_target(s_in, s_out, target,
                                                                   higher_is_in):
    thr = pick_threshold(s_in, s_out, higher_is_in, target)
    kept = thr.is_digit(s_in)
    assert kept.mean() == pytest.approx(thr.tpr_in) and thr.tpr_in >= target - 1e-12
    assert thr.is_digit(s_out).mean() == pytest.approx(thr.fpr_out)
    strictly = s_in > thr.value if higher_is_in else s_in < thr.value
    assert strictly.mean() < target  # any stricter cut would lose the target


@settings(max_examples=80, deadline=None)
@given(s_in=scores, s_out=scores, higher_is_in=st.booleans())
def test_auroc_matches_pair_counting(s_in, s_out, higher_is_in):
    a, b = (s_in, s_out) if higher_is_in else (-s_in, -s_out)
    wins = (a[:, None] > b[None, :]).mean() + 0.5 * (a[:, None] == b[None, :]).mean()
    assert auroc(s_in, s_out, higher_is_in) == pytest.approx(wins, abs=1e-12)


def test_bad_threshold_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="target_tpr"):
        pick_threshold([1.0], [0.0], target_tpr=0.0)
    with pytest.raises(ValueError, match="scores_out"):
        pick_threshold([1.0], [])
    with pytest.raises(ValueError, match="finite"):
        auroc([np.nan], [0.0])


def test_make_non_digits_shapes_range_kinds_and_determinism():
    images, kinds = make_non_digits(30, seed=3)
    assert images.shape == (30, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert set(kinds) == set(NON_DIGIT_KINDS) and len(kinds) == 30
    assert (images.reshape(30, -1).max(axis=1) > 0.2).all()  # every one has visible ink
    again, kinds_again = make_non_digits(30, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(kinds, kinds_again)
    assert not np.array_equal(images, make_non_digits(30, seed=4)[0])
    assert make_non_digits(0)[0].shape == (0, 28, 28)
    with pytest.raises(ValueError, match="n must be"):
        make_non_digits(-1)


def test_load_thresholds_missing_corrupt_and_roundtrip(tmp_path):
    path = tmp_path / "t.json"
    assert load_thresholds("cnn", path) is None
    path.write_text(json.dumps({"cnn": {"msp": 0.7, "energy": -5.0}}))
    assert load_thresholds("cnn", path) == {"msp": 0.7, "energy": -5.0}
    assert load_thresholds("mlp", path) is None
    path.write_text("{not json")
    with pytest.raises(ValueError, match="ood_threshold.py"):
        load_thresholds("cnn", path)


def test_script_measures_the_verdict_and_writes_what_the_app_reads(tmp_path, capsys):
    out = tmp_path / "ood.json"
    results = ood_threshold.main(["--models", "cnn", "mlp_softmax", "--save", "cnn",
                                  "mlp_softmax", "--n-digits", "400", "--n-doodles", "44",
                                  "--n-non-digits", "10", "--drawn-mnist", "20",
                                  "--drawn-strokes", "10", "--drawn-styles", "22",
                                  "--out", str(out)])
    printed = capsys.readouterr().out
    assert "cnn" in printed and "verdict" in printed and "hatching" in printed
    entry = load_thresholds("cnn", out)
    assert entry["n_digits"] == 400 and entry["n_doodles"] == 44
    assert set(entry["verdict_by_kind"]) == set(DOODLE_KINDS)
    # The verdict's cut is the detector's, picked on validation when it was trained.
    _, meta = load_detector()
    assert entry["detector"] == meta["threshold"] == load_thresholds(DETECTOR_KEY, out)["detector"]
    assert entry["detector_sha256"] == meta["weights_sha256"]
    # By hand: keeping 99 % of 400 digits rejects 4, so the energy cut (the comparison row)
    # is the 5th least digit-like score of the first 400 test digits, from torch's logsumexp.
    z = torch.tensor(predict_logits(load_model("cnn", "cpu"), load_test_float()[0][:400]),
                     dtype=torch.float64)
    energy = -torch.logsumexp(z, 1)
    assert entry["energy"] == pytest.approx(float(energy.sort(descending=True).values[4]),
                                            rel=1e-9)
    assert entry["energy"] == results["cnn"]["energy"]["threshold"]  # the file holds it
    assert entry["weights_sha256"] == load_model("cnn", "cpu").meta["weights_sha256"]
    # The exhibit gets the verdict (the detector reads images) but no energy cut.
    exhibit = load_thresholds("mlp_softmax", out)
    assert "energy" not in exhibit and exhibit["detector"] == entry["detector"]


@pytest.mark.parametrize("name", ["cnn", "mlp", "mlp_softmax"])
def test_shipped_verdict_belongs_to_the_shipped_weights_and_meets_the_issue(name):
    """Retraining without rerunning scripts/ood_threshold.py would leave stale figures."""
    entry = load_thresholds(name)
    assert entry is not None, f"{THRESHOLDS_PATH} lacks {name}: run scripts/ood_threshold.py"
    assert entry["weights_sha256"] == load_model(name, "cpu").meta["weights_sha256"]
    assert entry["detector_sha256"] == load_detector()[1]["weights_sha256"]
    # Issue 22: at least 90 % of doodles caught, at most 2 % of real drawn digits flagged.
    assert entry["verdict_detection"] >= 0.9 and entry["verdict_drawn_false_alarm"] <= 0.02
    assert entry["verdict_false_alarm"] <= 0.02


def test_verdict_thresholds_use_the_saved_energy_cut(tmp_path):
    from explorer.lab.ood import verdict_thresholds
    path = tmp_path / "t.json"
    assert verdict_thresholds("cnn", path).max_energy is None
    path.write_text(json.dumps({"cnn": {"msp": 0.7, "energy": -6.25}}))
    assert verdict_thresholds("cnn", path).max_energy == -6.25
    assert verdict_thresholds("mlp_softmax", path).max_energy is None
    assert verdict_thresholds("cnn").max_energy == load_thresholds("cnn")["energy"]
