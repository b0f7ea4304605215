"""explorer.yours.diagnose: each defect a test model has is found, with its evidence and a fix."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.inputs.data import load_test_float
from explorer.lab.exhibit import DOUBLE_SOFTMAX_MIN_LOSS
from explorer.yours.diagnose import diagnose, diagnose_probe
from explorer.yours.findings import SEVERITIES, jsonable
from explorer.yours.probe import probe
from tests.yours_models import DEFECTS, EXPECTED, PERMUTATION, defect_run, trained_mlp

ISSUE_KEYS = {"input", "outputs", "label_order", "accuracy", "ece", "fitted_temperature",
              "findings"}


@pytest.fixture(scope="module")
def test_set():
    return load_test_float()


@pytest.fixture(scope="module")
def diagnoses(test_set):
    """Every defect model diagnosed once on the 10,000 shipped test images: {name: Diagnosis}."""
    images01, labels = test_set
    out = {}
    for name in DEFECTS:
        run, rank = defect_run(name)
        out[name] = diagnose(run, images01, labels, rank)
    return out


@pytest.fixture(scope="module")
def clean_logits(test_set):
    with torch.no_grad():
        return trained_mlp()(torch.from_numpy(test_set[0][:, None])).double()


@pytest.mark.parametrize("name", DEFECTS)
def test_each_defect_gets_its_finding_and_no_other(diagnoses, name):
    assert diagnoses[name].ids == EXPECTED[name][0]


@pytest.mark.parametrize("name", DEFECTS)
def test_the_json_has_the_issues_keys_and_is_strict_json(diagnoses, name):
    data = diagnoses[name].to_json()
    assert ISSUE_KEYS <= data.keys()
    assert set(data["input"]) == {"layout", "scale", "inverted"}
    _, layout, scale, inverted, outputs, order = EXPECTED[name]
    assert data["input"] == {"layout": layout, "scale": scale, "inverted": inverted}
    assert data["outputs"] == outputs and data["label_order"] == list(order)
    for finding in data["findings"]:
        assert set(finding) >= {"id", "severity", "evidence", "fix"}
        assert finding["severity"] in SEVERITIES and finding["fix"]
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_findings_are_sorted_worst_first(test_set):
    images01, labels = test_set
    run, rank = defect_run("permuted")
    p = probe(lambda x: run(x / 255), images01, labels, rank)  # wants 0-255, shuffled labels
    found = diagnose_probe(p, labels)
    assert found.ids == ("label-order", "input-scale")
    ranks = [SEVERITIES.index(f.severity) for f in found.findings]
    assert ranks == sorted(ranks)


def _ece_by_hand(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    conf, right = probs.max(1), probs.argmax(1) == labels
    total = 0.0
    for lo, hi in zip(np.linspace(0, 1, bins + 1)[:-1], np.linspace(0, 1, bins + 1)[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.sum() * abs(right[inside].mean() - conf[inside].mean())
    return total / len(labels)


def test_accuracy_and_ece_against_torch_and_a_hand_ece(diagnoses, clean_logits, test_set):
    labels = test_set[1]
    d = diagnoses["clean"]
    assert d.accuracy == pytest.approx(float((clean_logits.argmax(1).numpy() == labels).mean()))
    probs = clean_logits.softmax(1).numpy()
    assert d.ece == pytest.approx(_ece_by_hand(probs, labels), abs=1e-9)


def test_the_temperature_is_fitted_on_one_half_and_measured_on_the_other(diagnoses, clean_logits,
                                                                         test_set):
    labels = torch.from_numpy(np.array(test_set[1]))
    cal = diagnoses["clean"].calibration
    t = cal["fitted_temperature"]
    even = slice(0, None, 2)
    loss = [F.cross_entropy(clean_logits[even] / (t * f), labels[even]).item()
            for f in (1 / 1.02, 1.0, 1.02)]
    assert loss[1] <= min(loss[0], loss[2])  # a minimum of the NLL on the fitting half
    odd = slice(1, None, 2)
    held_out = clean_logits[odd].softmax(1).numpy()
    assert cal["ece_held_out_t1"] == pytest.approx(_ece_by_hand(held_out, labels[odd].numpy()))
    assert cal["n_fit"] + cal["n_eval"] == len(labels)


def test_scaling_logits_scales_the_fitted_temperature(diagnoses):
    clean = diagnoses["clean"].fitted_temperature
    assert diagnoses["overconfident"].fitted_temperature == pytest.approx(5 * clean, rel=1e-3)
    assert diagnoses["underconfident"].fitted_temperature == pytest.approx(clean / 5, rel=1e-3)


@pytest.mark.parametrize("name", ["overconfident", "underconfident"])
def test_a_miscalibrated_model_shows_what_the_fit_fixes(diagnoses, name):
    finding = diagnoses[name].findings[0]
    ev = finding.evidence
    assert ev["ece_held_out_fitted"] < ev["ece_held_out_t1"] / 2
    assert f"T = {ev['fitted_temperature']:.2f}" in finding.fix


def test_softmax_output_evidence_is_what_cross_entropy_loss_would_report(diagnoses, clean_logits,
                                                                         test_set):
    ev = diagnoses["softmax"].findings[0].evidence
    probs = clean_logits.softmax(1)
    labels = torch.from_numpy(np.array(test_set[1]))
    assert ev["cross_entropy_loss_on_these_outputs"] == pytest.approx(
        F.cross_entropy(probs, labels).item(), rel=1e-6)
    assert ev["cross_entropy_loss_on_these_outputs"] >= DOUBLE_SOFTMAX_MIN_LOSS
    assert ev["cross_entropy_loss_floor"] == pytest.approx(math.log(1 + 9 / math.e))
    assert ev["nll_of_these_probabilities"] == pytest.approx(
        F.cross_entropy(clean_logits, labels).item(), rel=1e-5)
    assert abs(ev["row_sum_min"] - 1) < 1e-5 and abs(ev["row_sum_max"] - 1) < 1e-5


def test_label_order_evidence_names_each_moved_index(diagnoses):
    ev = diagnoses["permuted"].findings[0].evidence
    assert ev["moved"] == {k: d for k, d in enumerate(PERMUTATION) if k != d}
    assert ev["accuracy_reading_index_as_digit"] < ev["accuracy_with_this_order"]
    assert str(list(PERMUTATION)) in diagnoses["permuted"].findings[0].fix


@pytest.mark.parametrize("name, recipe", [("mnist-normalised", "0.1307"),
                                          ("minus-one-to-one", "2·x − 1"),
                                          ("0-255", "0–255"), ("inverted", "1 − x")])
def test_input_scale_says_what_plain_pixels_cost(diagnoses, name, recipe):
    finding = diagnoses[name].findings[0]
    assert finding.evidence["accuracy_on_0_1_pixels"] < finding.evidence["accuracy_on_its_scale"]
    assert recipe in finding.fix


def test_untrained_evidence_is_near_uniform_and_chance(diagnoses):
    ev = diagnoses["untrained"].findings[0].evidence
    assert ev["accuracy"] < 0.2 and ev["mean_entropy_bits"] > 0.9 * math.log2(10)


def test_non_finite_is_an_error_with_its_counts(diagnoses):
    finding = diagnoses["nan"].findings[0]
    assert finding.severity == "error" and finding.evidence["test_set_rows"] > 0
    assert finding.evidence["blank_image"] is True


def test_not_ten_way_says_what_the_outputs_are(diagnoses, clean_logits, test_set):
    one, two, multi = (diagnoses[n].findings[0] for n in ("one-output", "two-outputs",
                                                          "multi-label"))
    assert one.evidence["output_shape"] == ["N", 1] and "1 number" in one.title
    expected = clean_logits.softmax(1) @ torch.arange(10.0, dtype=torch.float64)
    rounded = np.clip(np.rint(expected.numpy()), 0, 9) == test_set[1]
    assert one.evidence["rounded_to_a_digit_accuracy"] == pytest.approx(rounded.mean(), abs=1e-3)
    assert two.evidence["output_shape"] == ["N", 2] and "2 scores" in two.title
    assert "sigmoids" in multi.title and multi.evidence["row_sum_mean"] != pytest.approx(1)
    assert diagnoses["one-output"].accuracy is None and diagnoses["one-output"].ece is None


def test_jsonable_turns_numpy_and_non_finite_numbers_into_json():
    value = {1: np.float32(0.5), "b": [np.int64(3), np.bool_(True), float("nan"), np.inf]}
    assert jsonable(value) == {"1": 0.5, "b": [3, True, None, None]}
