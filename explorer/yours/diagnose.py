"""Diagnose a user's model: probe its contract, then measure it on the 10,000 MNIST test digits.

Accuracy, ECE at T = 1 (15 bins) and a fitted temperature under the contract probing found,
and the findings of explorer.yours.findings (ids, severity, evidence, fix), worst first.
`Diagnosis.to_json()` is what `scripts/diagnose.py --json` prints.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.inputs.data import load_test_float
from explorer.maths.calibration import N_BINS, ece, refit_on_half
from explorer.maths.confidence import entropy_bits, softmax
from explorer.yours.findings import CHECKS, SEVERITIES, Finding, jsonable
from explorer.yours.probe import SEARCH_SIZE, Probe, Run, probe


@dataclass(frozen=True)
class Diagnosis:
    """The probe's contract and evidence, the test-set figures under it, the findings."""

    probe: Probe
    calibration: dict | None  # calibration()'s figures; None when there aren't ten scores
    findings: tuple[Finding, ...]  # errors first, then warnings, then notes

    @property
    def accuracy(self) -> float | None:
        return self.probe.accuracy

    @property
    def ece(self) -> float | None:
        return self.calibration["ece"] if self.calibration else None

    @property
    def fitted_temperature(self) -> float | None:
        return self.calibration["fitted_temperature"] if self.calibration else None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.findings)

    def to_json(self) -> dict:
        """The issue's JSON (input, outputs, label_order, accuracy, ece, fitted_temperature,
        findings), then the evidence behind the contract."""
        p = self.probe
        return jsonable({
            **p.contract.to_json(), "accuracy": self.accuracy, "ece": self.ece,
            "fitted_temperature": self.fitted_temperature,
            "findings": [f.to_json() for f in self.findings],
            "n_images": len(p.outputs), "output_shape": ["N", *p.output_shape],
            "output_kind": p.output_kind, "calibration": self.calibration,
            "input_scales_tried": [{"scale": t.scale, "inverted": t.inverted,
                                    "accuracy": t.accuracy, "nll": t.nll,
                                    "non_finite_rows": t.non_finite} for t in p.trials],
            "search_images": SEARCH_SIZE if p.trials else 0,
            "non_finite": p.non_finite, "layouts_refused": p.layout_errors})


def calibration(p: Probe, labels: np.ndarray) -> dict | None:
    """ECE at T = 1 on every finite row; T fitted on the even half, ECE on the odd half.

    NB: a T fitted and measured on the same images flatters it; the held-out half doesn't.
    """
    finite = np.isfinite(p.outputs).all(axis=1)
    if not p.ten_scores or finite.sum() < 2:
        return None
    logits = p.contract.ranking_logits(p.outputs[finite])  # (N, 10) in digit order
    labels = np.asarray(labels)[finite]
    halves = refit_on_half(logits, labels, 1.0)
    at_one, _, fitted = halves["rows"]  # T = 1, "checkpoint" T (also 1 here), fitted T
    probs = softmax(logits)  # (N, 10)
    return {"ece": ece(probs, labels, N_BINS), "n_bins": N_BINS, "n_finite": int(finite.sum()),
            "fitted_temperature": halves["temperature"], "ece_held_out_t1": at_one["ECE"],
            "ece_held_out_fitted": fitted["ECE"], "nll_held_out_t1": at_one["NLL (nats)"],
            "nll_held_out_fitted": fitted["NLL (nats)"], "n_fit": halves["n_fit"],
            "n_eval": halves["n_eval"], "mean_top1": float(probs.max(axis=1).mean()),
            "mean_entropy_bits": float(entropy_bits(logits).mean())}


def diagnose_probe(p: Probe, labels: np.ndarray) -> Diagnosis:
    """The figures and findings of an already probed model (labels: its test images')."""
    labels = np.asarray(labels)
    cal = calibration(p, labels)
    found = [f for check in CHECKS if (f := check(p, cal, labels)) is not None]
    found.sort(key=lambda f: SEVERITIES.index(f.severity))  # stable: CHECKS order within
    return Diagnosis(p, cal, tuple(found))


def diagnose(run: Run, images01: np.ndarray | None = None, labels: np.ndarray | None = None,
             input_rank: int | None = None) -> Diagnosis:
    """Probe `run` and diagnose it on (N, 28, 28) images in [0, 1]: the shipped test split
    unless given."""
    if images01 is None or labels is None:
        images01, labels = load_test_float()
    return diagnose_probe(probe(run, images01, labels, input_rank), labels)
