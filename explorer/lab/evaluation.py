"""Test-set figures for a model: the numbers that go into a checkpoint's metadata."""
from __future__ import annotations

import numpy as np

from explorer.maths.calibration import N_BINS, calibration_report, fit_temperature, nll
from explorer.maths.confidence import as_logits


def metrics_block(logits, labels, temperature: float) -> dict:
    """Accuracy, NLL, ECE (15 bins), MCE, Brier at T = 1 and at `temperature`."""
    at_1 = calibration_report(logits, labels, 1.0, N_BINS)
    at_t = calibration_report(logits, labels, temperature, N_BINS)
    return {
        "n": int(len(labels)),
        "accuracy": at_1["accuracy"],
        "nll": at_1["nll"], "ece": at_1["ece"], "mce": at_1["mce"], "brier": at_1["brier"],
        "nll_fitted_t": at_t["nll"], "ece_fitted_t": at_t["ece"],
        "mce_fitted_t": at_t["mce"], "brier_fitted_t": at_t["brier"],
    }


def own_probs_block(probs, labels) -> dict:
    """Figures for outputs that already are probabilities (the double-softmax exhibit)."""
    return calibration_report(as_logits(probs, outputs_logits=False), labels, 1.0, N_BINS)


def temperature_from_val(val_logits, val_labels) -> dict:
    """Fit T on validation logits; report validation NLL before and after."""
    t = fit_temperature(val_logits, val_labels)
    return {"temperature": t, "val_nll_t1": nll(val_logits, val_labels, 1.0),
            "val_nll_fitted_t": nll(val_logits, val_labels, t),
            "n_val": int(len(val_labels))}


def confusion_matrix(logits, labels, n_classes: int = 10) -> np.ndarray:
    """(true, predicted) counts, shape (C, C)."""
    pred = np.asarray(logits).argmax(axis=1)
    return np.bincount(np.asarray(labels) * n_classes + pred,
                       minlength=n_classes ** 2).reshape(n_classes, n_classes)
