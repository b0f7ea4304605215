"""Confidence maths on logits: the one place probabilities are computed.

Pure numpy in float64, stable for any temperature: every function takes logits of
shape (..., 10) and never returns NaN or inf for finite input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LN2 = np.log(2.0)
T_CLIP_MIN, T_CLIP_MAX = 1e-3, 1e3  # every T is clipped to this, so no value becomes inf
T_SLIDER_MIN, T_SLIDER_MAX = 0.05, 20.0  # the temperature slider's range
N_TEMPERATURES = 161  # odd, so T = 1 sits exactly in the middle of the log grid


def _scaled(logits, temperature: float) -> np.ndarray:
    """logits / T in float64, with T clipped to a sane range.

    NB: T is clipped to [1e-3, 1e3] so an extreme slider value can't make inf.
    """
    t = float(np.clip(temperature, T_CLIP_MIN, T_CLIP_MAX))
    return np.asarray(logits, dtype=np.float64) / t


def logsumexp(logits, temperature: float = 1.0) -> np.ndarray:
    """log Σ exp(z / T) over the last axis, shape (...,)."""
    z = _scaled(logits, temperature)
    zmax = z.max(axis=-1, keepdims=True)
    return (zmax + np.log(np.exp(z - zmax).sum(axis=-1, keepdims=True)))[..., 0]


def log_softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """log softmax(z / T), shape (..., 10); finite for any finite input.

    NB: the normaliser is log1p(Σ others) after shifting by the max, so the top class's
    log-probability stays below 0 even when 1 − p is far below float64's epsilon.
    """
    z = _scaled(logits, temperature)
    shifted = z - z.max(axis=-1, keepdims=True)  # top class at exactly 0
    e = np.exp(shifted)
    first_top = np.zeros_like(e, dtype=bool)
    np.put_along_axis(first_top, shifted.argmax(axis=-1)[..., None], True, axis=-1)
    others = np.where(first_top, 0.0, e).sum(axis=-1, keepdims=True)
    return shifted - np.log1p(others)


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T) via log-sum-exp, shape (..., 10); sums to 1."""
    return np.exp(log_softmax(logits, temperature))


def temperature_grid(t_min: float = T_SLIDER_MIN, t_max: float = T_SLIDER_MAX,
                     n: int = N_TEMPERATURES) -> np.ndarray:
    """Geometrically spaced temperatures, shape (n,); holds exactly 1.0 when t_min·t_max = 1."""
    grid = np.geomspace(t_min, t_max, n)
    grid[np.isclose(grid, 1.0)] = 1.0  # geomspace lands at 0.9999999 otherwise
    return grid


def as_logits(outputs, outputs_logits: bool) -> np.ndarray:
    """Model outputs as logits: probabilities (the exhibit's) become their log.

    NB: softmax(log p) = p, so the exhibit's own probabilities pass through unchanged.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    return outputs if outputs_logits else np.log(np.clip(outputs, 1e-12, 1.0))


def sigmoid(logits, temperature: float = 1.0) -> np.ndarray:
    """Per-class one-vs-rest sigmoid(z / T); these do not sum to 1."""
    z = _scaled(logits, temperature)
    # exp of a non-positive number never overflows.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def entropy_bits(logits, temperature: float = 1.0) -> np.ndarray:
    """Entropy of softmax(z / T) in bits, shape (...,); 0 ≤ H ≤ log2(10)."""
    logp = log_softmax(logits, temperature)
    return np.maximum(-(np.exp(logp) * logp).sum(axis=-1) / LN2, 0.0)


def margin(logits, temperature: float = 1.0) -> np.ndarray:
    """Top-1 minus top-2 softmax probability, shape (...,)."""
    top2 = np.sort(softmax(logits, temperature), axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0]


def energy(logits, temperature: float = 1.0) -> np.ndarray:
    """Energy score −T·logsumexp(z / T); higher means less digit-like."""
    t = float(np.clip(temperature, T_CLIP_MIN, T_CLIP_MAX))
    return -t * logsumexp(logits, t)


def one_minus_top(logits, temperature: float = 1.0) -> np.ndarray:
    """1 − max softmax, computed as the others' sum so it is never rounded to 0."""
    p = softmax(logits, temperature)
    top = p.argmax(axis=-1)[..., None]
    others = np.ones_like(p, dtype=bool)
    np.put_along_axis(others, top, False, axis=-1)
    return np.where(others, p, 0.0).sum(axis=-1)


@dataclass(frozen=True)
class Sweep:
    """Softmax outputs of one logit row at every temperature of a grid."""

    temperatures: np.ndarray  # (K,)
    probs: np.ndarray  # (K, 10)
    entropy_bits: np.ndarray  # (K,)
    margin: np.ndarray  # (K,)
    argmax: np.ndarray  # (K,) int

    @property
    def argmax_constant(self) -> bool:
        """True when the predicted class is the same at every temperature."""
        return bool((self.argmax == self.argmax[0]).all())


def temperature_sweep(logits, temperatures=None) -> Sweep:
    """Probabilities, entropy, margin and argmax of softmax(z / T) for every T in a grid."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (10,)
    temps = temperature_grid() if temperatures is None else np.asarray(temperatures, float)
    # One (K, 10) array, scaled here with the clip _scaled applies to a scalar T;
    # the functions then run at T = 1, so every row matches softmax(z, t) exactly.
    scaled = z[None, :] / np.clip(temps, T_CLIP_MIN, T_CLIP_MAX)[:, None]  # (K, 10)
    log_probs = log_softmax(scaled)  # (K, 10)
    # argmax on log-probabilities: exp() can round near-equal probabilities into a tie.
    return Sweep(temperatures=temps, probs=np.exp(log_probs),
                 entropy_bits=entropy_bits(scaled), margin=margin(scaled),
                 argmax=np.argmax(log_probs, axis=-1))


@dataclass(frozen=True)
class Thresholds:
    """Verdict thresholds at T = 1: max-softmax probability, and an optional energy cut.

    NB: `max_energy` is picked from data per model (scripts/ood_threshold.py); without it
    the fallback "not a digit" rule is top-1 < `not_a_digit`.
    """

    confident: float = 0.90
    not_a_digit: float = 0.50
    max_energy: float | None = None


@dataclass(frozen=True)
class Summary:
    prediction: int
    top1: float
    margin: float
    entropy_bits: float
    energy: float
    verdict: str  # "confident" | "uncertain" | "probably not a digit"


def verdict(max_prob: float, thresholds: Thresholds = Thresholds(), blob: bool = False,
            energy_t1: float | None = None, not_digit: bool | None = None) -> str:
    """A plain-language reading of one input's T = 1 scores (a filled blob is never a digit).

    NB: `not_digit`, the not-a-digit verdict (explorer.lab.ood.not_a_digit), decides "probably
    not a digit" when given; without it the energy cut, else top-1 < `not_a_digit`, does.
    """
    if not_digit is None:
        not_digit = (energy_t1 > thresholds.max_energy
                     if thresholds.max_energy is not None and energy_t1 is not None
                     else max_prob < thresholds.not_a_digit)
    if blob or not_digit:
        return "probably not a digit"
    return "confident" if max_prob >= thresholds.confident else "uncertain"


def summarize(logits, temperature: float = 1.0, thresholds: Thresholds = Thresholds(),
              blob: bool = False, not_digit: bool | None = None) -> Summary:
    """Prediction, top-1, margin, entropy, energy and verdict for one (10,) logit row.

    NB: the verdict and the energy read T = 1, so moving the slider never relabels an
    input as "not a digit"; top-1, margin and entropy follow T. `not_digit`: see verdict().
    """
    logits = np.asarray(logits, dtype=np.float64).reshape(-1)
    energy_t1 = float(energy(logits, 1.0))
    return Summary(
        prediction=int(np.argmax(logits)),
        top1=float(softmax(logits, temperature).max()),
        margin=float(margin(logits, temperature)),
        entropy_bits=float(entropy_bits(logits, temperature)),
        energy=energy_t1,
        verdict=verdict(float(softmax(logits, 1.0).max()), thresholds, blob, energy_t1,
                        not_digit),
    )


def expected_digit(probs) -> float:
    """Σ k·p_k over a (10,) distribution: the mean digit (what a regression head learns)."""
    p = np.asarray(probs, dtype=np.float64)
    return float((np.arange(len(p)) * p).sum() / p.sum())
