"""Split conformal prediction sets from softmax probabilities: LAC and APS.

Calibrate once on held-out (probabilities, labels): the score's conformal quantile q̂ at
level ⌈(n + 1)(1 − α)⌉ / n. Then a new image's set holds every class whose score is at
most q̂, and on exchangeable data it contains the true class at least 1 − α of the time.

    LAC (least ambiguous sets): score = 1 − p_true; set = {k : p_k ≥ 1 − q̂}. Smallest sets on
        average; it can be empty when nothing is likely enough (a scribble).
    APS (adaptive sets): score = mass of the classes ranked above the true one, plus its own;
        set = the top classes until their mass reaches q̂. Sets widen with the model's doubt,
        never empty, larger on average.

NB: the app has no training split on a user's machine, so it calibrates on the even-indexed
half of the shipped test split and evaluates on the odd half (`halves`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.confidence import energy, softmax

SCORES = ("LAC", "APS")


def halves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(calibration, evaluation) indices: the even and the odd images of a split."""
    return np.arange(0, n, 2), np.arange(1, n, 2)


def _aps_scores(probs: np.ndarray) -> np.ndarray:
    """(N, K) APS score of every class: the mass ranked above it plus its own."""
    order = np.argsort(-probs, axis=1, kind="stable")
    cumulative = np.cumsum(np.take_along_axis(probs, order, axis=1), axis=1)
    scores = np.empty_like(probs)
    np.put_along_axis(scores, order, cumulative, axis=1)
    return scores


def class_scores(probs, score: str) -> np.ndarray:
    """(N, K) nonconformity of every class for every image (lower: more conforming)."""
    p = np.asarray(probs, dtype=np.float64)
    if score == "LAC":
        return 1.0 - p
    if score == "APS":
        return _aps_scores(p)
    raise ValueError(f"score must be one of {SCORES}, got {score!r}")


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The ⌈(n + 1)(1 − α)⌉-th smallest score (inf when that exceeds n: too few to say)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    n = len(scores)
    rank = int(np.ceil((n + 1) * (1 - alpha)))
    return float("inf") if rank > n else float(np.sort(scores)[rank - 1])


@dataclass(frozen=True)
class Calibrated:
    score: str
    alpha: float
    qhat: float
    n: int


def calibrate(probs, labels, alpha: float, score: str) -> Calibrated:
    """Fit q̂ on held-out (N, K) probabilities and their labels."""
    labels = np.asarray(labels)
    true_scores = class_scores(probs, score)[np.arange(len(labels)), labels]
    return Calibrated(score, alpha, conformal_quantile(true_scores, alpha), len(labels))


def prediction_sets(probs, calibrated: Calibrated) -> np.ndarray:
    """(N, K) bool: each image's set.

    NB: for APS the class whose mass crosses q̂ is kept too (the set reaches q̂); with a
    tie at q̂ a class is kept, so sets never shrink below the guarantee.
    """
    scores = class_scores(np.atleast_2d(probs), calibrated.score)
    if calibrated.score == "LAC":
        return scores <= calibrated.qhat + 1e-12
    p = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    return (scores - p) < calibrated.qhat - 1e-12  # the mass above it had not reached q̂ yet


def coverage_and_size(sets: np.ndarray, labels) -> tuple[float, float]:
    """(how often the true class is in its set, mean set size)."""
    labels = np.asarray(labels)
    return float(sets[np.arange(len(labels)), labels].mean()), float(sets.sum(1).mean())


def risk_coverage(probs, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Abstain below a confidence cut: (coverage, risk, cut), most confident kept first.

    coverage[i] is the share of images kept when keeping the i + 1 most confident; risk[i]
    is the error rate among them; cut[i] is the top-1 probability of the last one kept.
    """
    p = np.asarray(probs, dtype=np.float64)
    top = p.max(1)
    order = np.argsort(-top, kind="stable")
    wrong = (p.argmax(1) != np.asarray(labels))[order]
    kept = np.arange(1, len(p) + 1)
    return kept / len(p), np.cumsum(wrong) / kept, top[order]


def alpha_table(probs, labels, alphas, scores=SCORES) -> dict[str, dict[str, list[float]]]:
    """{score: {"coverage": [...], "size": [...]}} per α, calibrated and measured on `halves`."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    cal, ev = halves(len(labels))
    out = {}
    for score in scores:
        rows = [coverage_and_size(prediction_sets(probs[ev], calibrate(
            probs[cal], labels[cal], alpha, score)), labels[ev]) for alpha in alphas]
        out[score] = {"coverage": [c for c, _ in rows], "size": [s for _, s in rows]}
    return out


def verdict_marks(logits, labels, thresholds) -> list[tuple[str, float, float]]:
    """(name, share answered, error rate among them) when abstaining on the app's verdicts."""
    z = np.asarray(logits, dtype=np.float64)
    top = softmax(z).max(1)
    wrong = z.argmax(1) != np.asarray(labels)
    if thresholds.max_energy is not None:
        digit = energy(z) <= thresholds.max_energy
    else:
        digit = top >= thresholds.not_a_digit
    marks = []
    for name, kept in (("answer unless \"not a digit\"", digit),
                       ("answer only \"confident\"", digit & (top >= thresholds.confident))):
        marks.append((name, float(kept.mean()), float(wrong[kept].mean()) if kept.any() else 0.0))
    return marks
