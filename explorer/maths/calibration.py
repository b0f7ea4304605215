"""Calibration maths: reliability bins, ECE/MCE, NLL, Brier and temperature fitting."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.maths.confidence import log_softmax, softmax

N_BINS = 15


@dataclass(frozen=True)
class Reliability:
    edges: np.ndarray  # (B + 1,)
    counts: np.ndarray  # (B,)
    accuracy: np.ndarray  # (B,) NaN where a bin is empty
    confidence: np.ndarray  # (B,) NaN where a bin is empty


def bin_index(confidence, edges) -> np.ndarray:
    """The bin (lo, hi] of each confidence; a confidence of 0 (impossible) goes in bin 0."""
    edges = np.asarray(edges, dtype=np.float64)  # (B + 1,)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, len(edges) - 2)


def reliability(probs, labels, n_bins: int = N_BINS) -> Reliability:
    """Equal-width confidence bins over (0, 1] with per-bin accuracy and mean confidence."""
    probs = np.asarray(probs, dtype=np.float64)  # (N, C)
    labels = np.asarray(labels)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = bin_index(conf, edges)
    counts = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.bincount(idx, weights=correct, minlength=n_bins) / counts
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / counts
    return Reliability(edges, counts, acc, mean_conf)


def ece(probs, labels, n_bins: int = N_BINS) -> float:
    """Expected calibration error: Σ_b (n_b / N)·|acc_b − conf_b|, equal-width bins."""
    r = reliability(probs, labels, n_bins)
    gaps = np.nan_to_num(np.abs(r.accuracy - r.confidence))
    return float((r.counts * gaps).sum() / max(r.counts.sum(), 1))


def mce(probs, labels, n_bins: int = N_BINS) -> float:
    """Maximum calibration error over non-empty bins."""
    r = reliability(probs, labels, n_bins)
    gaps = np.abs(r.accuracy - r.confidence)[r.counts > 0]
    return float(gaps.max()) if gaps.size else 0.0


def nll(logits, labels, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of softmax(logits / T) in nats."""
    logp = log_softmax(logits, temperature)  # (N, C)
    return float(-np.take_along_axis(logp, np.asarray(labels)[:, None], 1).mean())


def brier(probs, labels) -> float:
    """Multi-class Brier score: mean Σ_c (p_c − y_c)²."""
    probs = np.asarray(probs, dtype=np.float64)
    onehot = np.eye(probs.shape[1])[np.asarray(labels)]
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def accuracy(logits, labels) -> float:
    """Top-1 accuracy."""
    return float((np.asarray(logits).argmax(axis=1) == np.asarray(labels)).mean())


def fit_temperature(logits, labels, t_min: float = 0.05, t_max: float = 20.0,
                    iters: int = 80) -> float:
    """Temperature minimising NLL, by golden-section search over β = 1/T.

    NB: NLL is convex in β (log-sum-exp of a linear function minus a linear one),
    so the search finds the global minimum in [t_min, t_max]; argmax never changes.
    """
    logits = np.asarray(logits, dtype=np.float64)
    f = lambda beta: nll(logits, labels, 1.0 / beta)  # noqa: E731
    lo, hi = 1.0 / t_max, 1.0 / t_min
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(iters):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return float(1.0 / ((lo + hi) / 2.0))


def calibration_report(logits, labels, temperature: float = 1.0,
                       n_bins: int = N_BINS) -> dict:
    """Accuracy, NLL, ECE, MCE and Brier of softmax(logits / T) as a flat dict."""
    probs = softmax(logits, temperature)
    return {
        "accuracy": accuracy(logits, labels),
        "nll": nll(logits, labels, temperature),
        "ece": ece(probs, labels, n_bins),
        "mce": mce(probs, labels, n_bins),
        "brier": brier(probs, labels),
    }


def refit_on_half(logits, labels, checkpoint_t: float) -> dict:
    """Fit T on the even-indexed images; NLL/ECE on the odd-indexed half at three T's.

    NB: a demonstration only; a checkpoint's T comes from a validation split of the
    training images, and fitting on test images would leak if it were kept.
    """
    logits, labels = np.asarray(logits), np.asarray(labels)
    fit_idx, eval_idx = np.arange(0, len(labels), 2), np.arange(1, len(labels), 2)
    refit_t = fit_temperature(logits[fit_idx], labels[fit_idx])
    rows = []
    for setting, t in (("T = 1", 1.0), ("checkpoint T", float(checkpoint_t)),
                       ("refit T", refit_t)):
        report = calibration_report(logits[eval_idx], labels[eval_idx], t)
        rows.append({"setting": setting, "T": t, "NLL (nats)": report["nll"],
                     "ECE": report["ece"], "accuracy": report["accuracy"]})
    return {"temperature": refit_t, "rows": rows, "n_fit": len(fit_idx),
            "n_eval": len(eval_idx)}
