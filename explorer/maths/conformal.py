"""Split conformal prediction sets from softmax probabilities: LAC and APS.

Calibrate once on held-out (probabilities, labels): the score's conformal quantile q̂ at
level ⌈(n + 1)(1 − α)⌉ / n. Then a new image's set holds every class whose score is at
most q̂, and on exchangeable data it contains the true class at least 1 − α of the time.

    LAC (least ambiguous sets): score = 1 − p_true; set = {k : p_k ≥ 1 − q̂}. Smallest sets on
        average; it can be empty when nothing is likely enough (a scribble).
    APS (adaptive sets): score = mass of the classes ranked above the true one, plus a
        uniform U times its own (randomised, as Romano et al.: without U a model sure to
        1 − 1e-6 makes q̂ ≈ 1 and every set huge); set = the top classes while that stays
        ≤ q̂. Sets widen with the model's doubt; larger on average.
NB: U comes from a seeded generator (`APS_SEED`), so a given image always gets the same set.

NB: the app has no training split on a user's machine, so it calibrates on the even-indexed
half of the shipped test split and evaluates on the odd half (`halves`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.maths.confidence import energy, softmax

SCORES = ("LAC", "APS")
APS_SEED = 0


def halves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(calibration, evaluation) indices: the even and the odd images of a split."""
    return np.arange(0, n, 2), np.arange(1, n, 2)


def _aps_scores(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(N, K) randomised APS score of every class: the mass ranked above it plus U·its own."""
    order = np.argsort(-probs, axis=1, kind="stable")
    sorted_p = np.take_along_axis(probs, order, axis=1)
    above = np.cumsum(sorted_p, axis=1) - sorted_p  # mass strictly above each rank
    scores = np.empty_like(probs)
    np.put_along_axis(scores, order, above + u[:, None] * sorted_p, axis=1)
    return scores


def uniforms(n: int, seed: int = APS_SEED) -> np.ndarray:
    """(n,) U(0, 1) draws for APS, the same for the same n and seed."""
    return np.random.default_rng(seed).random(n)


def class_scores(probs, score: str, u=None) -> np.ndarray:
    """(N, K) nonconformity of every class for every image (lower: more conforming).

    `u`: APS's (N,) uniforms (default: `uniforms(N)`); LAC ignores it.
    """
    p = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    if score == "LAC":
        return 1.0 - p
    if score == "APS":
        return _aps_scores(p, uniforms(len(p)) if u is None else np.asarray(u, np.float64))
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


def calibrate(probs, labels, alpha: float, score: str, u=None) -> Calibrated:
    """Fit q̂ on held-out (N, K) probabilities and their labels (`u`: see class_scores)."""
    labels = np.asarray(labels)
    true_scores = class_scores(probs, score, u)[np.arange(len(labels)), labels]
    return Calibrated(score, alpha, conformal_quantile(true_scores, alpha), len(labels))


def prediction_sets(probs, calibrated: Calibrated, u=None) -> np.ndarray:
    """(N, K) bool: each image's set, every class whose score is at most q̂.

    NB: `u` must not be the calibration images' draws: the default seed is for one batch;
    pass `uniforms(n, seed=1)` to measure on held-out images.
    """
    return class_scores(probs, calibrated.score, u) <= calibrated.qhat + 1e-12


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


def held_out_sets(probs, labels, alpha: float, score: str) -> np.ndarray:
    """(N/2, K) sets of the odd half, calibrated on the even half (`halves`)."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    cal, ev = halves(len(labels))
    fitted = calibrate(probs[cal], labels[cal], alpha, score, uniforms(len(cal)))
    return prediction_sets(probs[ev], fitted, uniforms(len(ev), seed=APS_SEED + 1))


def alpha_table(probs, labels, alphas, scores=SCORES) -> dict[str, dict[str, list[float]]]:
    """{score: {"coverage": [...], "size": [...]}} per α, calibrated and measured on `halves`."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    ev = halves(len(labels))[1]
    out = {}
    for score in scores:
        rows = [coverage_and_size(held_out_sets(probs, labels, alpha, score), labels[ev])
                for alpha in alphas]
        out[score] = {"coverage": [c for c, _ in rows], "size": [s for _, s in rows]}
    return out


def verdict_marks(logits, labels, thresholds, not_digit=None) -> list[tuple[str, float, float]]:
    """(name, share answered, error rate among them) when abstaining on the app's verdicts.

    `not_digit`: (N,) bools, the not-a-digit verdict (explorer.lab.ood.not_a_digit); without
    it the energy cut, else top-1 < thresholds.not_a_digit, stands in.
    """
    z = np.asarray(logits, dtype=np.float64)
    top = softmax(z).max(1)
    wrong = z.argmax(1) != np.asarray(labels)
    if not_digit is not None:
        digit = ~np.asarray(not_digit, dtype=bool)
    elif thresholds.max_energy is not None:
        digit = energy(z) <= thresholds.max_energy
    else:
        digit = top >= thresholds.not_a_digit
    marks = []
    for name, kept in (("answer unless \"not a digit\"", digit),
                       ("answer only \"confident\"", digit & (top >= thresholds.confident))):
        marks.append((name, float(kept.mean()), float(wrong[kept].mean()) if kept.any() else 0.0))
    return marks
