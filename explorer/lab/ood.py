"""'Not a digit': the verdict (not_a_digit), its detector's cut, MSP and energy, thresholds, AUROC.

NB: the verdict is the detector's (explorer.lab.detector), never the classifiers' softmax:
their ten outputs stay what they are, and the page says why the verdict disagrees.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from explorer.inputs.preprocess import is_blob
from explorer.lab.detector import KIND, doodle_logits, load_detector
from explorer.maths.confidence import Thresholds, energy, softmax

THRESHOLDS_PATH = Path(__file__).parent / "ood_thresholds.json"
DETECTOR_KEY = "_detector"  # the table's entry for the detector itself (no model's name)


def msp_score(logits, temperature: float = 1.0) -> np.ndarray:
    """Maximum softmax probability (N,); higher means more digit-like."""
    return softmax(logits, temperature).max(axis=-1)


def energy_score(logits, temperature: float = 1.0) -> np.ndarray:
    """Energy −T·logsumexp(z / T) (N,); higher means LESS digit-like."""
    return energy(logits, temperature)


# --- thresholds ---------------------------------------------------------------------------

def _scores(scores, what: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError(f"{what} must be a non-empty array of finite numbers")
    return scores


@dataclass(frozen=True)
class Threshold:
    """A digit / not-a-digit cut on one score and how it does on both sides."""

    value: float
    tpr_in: float  # fraction of real digits kept as digits
    fpr_out: float  # fraction of non-digits wrongly kept as digits
    higher_is_in: bool = True

    @property
    def detection(self) -> float:
        """Fraction of non-digits flagged as 'not a digit'."""
        return 1.0 - self.fpr_out

    @property
    def false_alarm(self) -> float:
        """Fraction of real digits flagged as 'not a digit'."""
        return 1.0 - self.tpr_in

    def is_digit(self, scores) -> np.ndarray:
        """True where a score counts as a digit (the threshold itself counts as one)."""
        scores = np.asarray(scores, dtype=np.float64)
        return scores >= self.value if self.higher_is_in else scores <= self.value


def pick_threshold(scores_in, scores_out, higher_is_in: bool = True,
                   target_tpr: float = 0.95) -> Threshold:
    """The strictest cut that still keeps ≥ target_tpr of the in-distribution digits.

    NB: for energy pass higher_is_in=False (low energy = digit-like).
    """
    if not 0.0 < target_tpr <= 1.0:
        raise ValueError(f"target_tpr must be in (0, 1], got {target_tpr}")
    sign = 1.0 if higher_is_in else -1.0
    s_in = sign * _scores(scores_in, "scores_in")
    s_out = sign * _scores(scores_out, "scores_out")
    # Reject at most floor((1 − tpr)·n) digits: the cut is that order statistic.
    n_reject = int(np.floor((1.0 - target_tpr) * len(s_in) + 1e-9))
    cut = np.sort(s_in)[n_reject]
    return Threshold(float(sign * cut), float((s_in >= cut).mean()),
                     float((s_out >= cut).mean()), bool(higher_is_in))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse]


def auroc(scores_in, scores_out, higher_is_in: bool = True) -> float:
    """P(a random digit scores more digit-like than a random non-digit), ties count ½."""
    sign = 1.0 if higher_is_in else -1.0
    s_in = sign * _scores(scores_in, "scores_in")
    s_out = sign * _scores(scores_out, "scores_out")
    ranks = _average_ranks(np.concatenate([s_in, s_out]))
    n_in, n_out = len(s_in), len(s_out)
    return float((ranks[:n_in].sum() - n_in * (n_in + 1) / 2.0) / (n_in * n_out))


def load_thresholds(model_name: str, path: str | Path = THRESHOLDS_PATH) -> dict | None:
    """The saved OOD thresholds for one model, or None if none were saved for it.

    NB: a file that exists but is unreadable raises ValueError naming the fix.
    """
    path = Path(path)
    if not path.is_file():
        return None
    stat = path.stat()
    entry = _thresholds_table(path, stat.st_mtime_ns, stat.st_size).get(model_name)
    return dict(entry) if isinstance(entry, dict) else None


@lru_cache(maxsize=8)
def _thresholds_table(path: Path, mtime_ns: int, size: int) -> dict:
    """The parsed JSON, read once per file version: the verdict asks on every stroke."""
    try:
        table = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}); remake it with "
                         f"`python scripts/ood_threshold.py`") from err
    return table if isinstance(table, dict) else {}


def verdict_thresholds(model_name: str, path: str | Path = THRESHOLDS_PATH) -> Thresholds:
    """The explorer's verdict thresholds for a model: its data-picked energy cut if saved."""
    entry = load_thresholds(model_name, path)
    if entry is None or "energy" not in entry:
        return Thresholds()
    return Thresholds(max_energy=float(entry["energy"]))


def detector_cut(model_name: str, path: str | Path = THRESHOLDS_PATH) -> float:
    """The P(not a digit) above which `model_name`'s verdict says "not a digit".

    NB: picked on validation digits by scripts/ood_threshold.py, saved per model (today one
    detector serves them all); a model the table lacks gets the detector's own cut.
    """
    entry = load_thresholds(model_name, path) or {}
    if "detector" not in entry:
        entry = load_thresholds(DETECTOR_KEY, path) or {}
    if "detector" not in entry:
        raise ValueError(f"{Path(path).name} holds no detector cut: run "
                         f"`python scripts/ood_threshold.py`")
    return float(entry["detector"])


@dataclass(frozen=True)
class NotADigit:
    """Why the verdict calls one image "not a digit", or not: the score, its cut, its kind."""

    flagged: bool
    score: float  # the detector's P(not a digit)
    threshold: float  # flagged above this
    blob: bool  # filled, roughly square ink (a tap, a smear): never a digit, whatever the score
    logit: float  # the detector's raw output: score = σ(logit), for text that never says 1
    kind: str = KIND


def _images(images) -> np.ndarray:
    """(N, 28, 28) float32 in [0, 1] from the caller's array; ValueError if it is not one."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"images must have shape (N, 28, 28), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("images contain NaN or inf")
    return np.clip(x, 0.0, 1.0)


def verdict_at(images, cut: float) -> list[NotADigit]:
    """The verdict's rule for each of (N, 28, 28) images: the detector above `cut`, or a blob.

    NB: the one place the rule lives; scripts/ood_threshold.py measures it at the
    detector's own cut before the table it writes exists.
    """
    x = _images(images)
    logits = doodle_logits(load_detector()[0], x)  # (N,)
    scores = 1.0 / (1.0 + np.exp(-logits))
    return [NotADigit(bool(s > cut or b), float(s), cut, b, float(z))
            for s, z, b in zip(scores, logits, (is_blob(im) for im in x))]


def why_not_a_digit(model_name: str, images,
                    path: str | Path = THRESHOLDS_PATH) -> list[NotADigit]:
    """The verdict's reasons for each of (N, 28, 28) images, for the model `model_name`.

    NB: any name works: a model the thresholds table lacks (a user's own) gets the
    detector's own cut, since the detector reads the image, not the model.
    """
    return verdict_at(images, detector_cut(model_name, path))


def not_a_digit(model_name: str, images, path: str | Path = THRESHOLDS_PATH) -> np.ndarray:
    """(N,) bools: True where the Explorer's verdict for `model_name` says "not a digit".

    `images`: (N, 28, 28) float32 in [0, 1], as canvas_to_mnist makes them.
    """
    return np.array([r.flagged for r in why_not_a_digit(model_name, images, path)], dtype=bool)


def describe_verdict(model_name: str, path: str | Path = THRESHOLDS_PATH) -> str:
    """One line saying how a model's verdict is decided, for the page's help text."""
    thresholds = verdict_thresholds(model_name, path)
    kept = float((load_thresholds(DETECTOR_KEY, path) or {}).get("target_tpr", 0.99))
    return (f"Probably not a digit: {KIND} (a small CNN of its own, apart from {model_name}) "
            f"gives P(not a digit) above {detector_cut(model_name, path):.3f}, the cut that "
            f"flags {1 - kept:.0%} of validation digits (picked when it was trained, "
            f"scripts/train_detector.py), or the ink is a filled blob. Otherwise confident when "
            f"top-1 at T = 1 is ≥ {thresholds.confident:g}, else uncertain. The softmax still "
            f"shows the ten-way answer: it has no 'none of these'.")
