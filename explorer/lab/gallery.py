"""Pick test images worth looking at, from precomputed logits (N, 10) and labels (N,).

Every function returns int64 indices into the test set; ties keep test-set order.
NB: for the mlp_softmax exhibit pass np.log of its probabilities, not the raw outputs.
"""
from __future__ import annotations

import numpy as np

from explorer.maths.confidence import entropy_bits, margin, softmax
from explorer.model.networks import N_CLASSES


def _logits(logits) -> np.ndarray:
    """(N, 10) float64 logits, or ValueError."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] != N_CLASSES:
        raise ValueError(f"logits must have shape (N, {N_CLASSES}), got {logits.shape}")
    return logits


def _labels(labels, n: int) -> np.ndarray:
    """(N,) int64 labels matching N logit rows, or ValueError."""
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match the logits, got {labels.shape}")
    return labels.astype(np.int64)


def _k(k) -> int:
    if int(k) < 0:
        raise ValueError(f"k must be ≥ 0, got {k}")
    return int(k)


def _class(value, what: str) -> int | None:
    if value is None:
        return None
    if not 0 <= int(value) < N_CLASSES:
        raise ValueError(f"{what} must be a digit 0..{N_CLASSES - 1}, got {value}")
    return int(value)


def most_confident_mistakes(logits, labels, k: int, temperature: float = 1.0) -> np.ndarray:
    """Indices of wrong predictions, most confident (top softmax prob at T) first; ≤ k."""
    logits = _logits(logits)
    labels = _labels(labels, len(logits))
    wrong = np.flatnonzero(logits.argmax(axis=1) != labels)
    confidence = softmax(logits[wrong], temperature).max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    return wrong[order][:_k(k)].astype(np.int64)


def most_uncertain(logits, k: int, by: str = "entropy", temperature: float = 1.0) -> np.ndarray:
    """Indices of the k least sure predictions: highest entropy, or smallest top-2 margin."""
    logits = _logits(logits)
    if by == "entropy":
        key = -entropy_bits(logits, temperature)
    elif by == "margin":
        key = margin(logits, temperature)
    else:
        raise ValueError(f"by must be 'entropy' or 'margin', got {by!r}")
    return np.argsort(key, kind="stable")[:_k(k)].astype(np.int64)


def filter_indices(logits, labels, true_class: int | None = None,
                   predicted_class: int | None = None) -> np.ndarray:
    """Indices whose label and/or prediction match; None means any."""
    logits = _logits(logits)
    labels = _labels(labels, len(logits))
    true_class = _class(true_class, "true_class")
    predicted_class = _class(predicted_class, "predicted_class")
    keep = np.ones(len(logits), dtype=bool)
    if true_class is not None:
        keep &= labels == true_class
    if predicted_class is not None:
        keep &= logits.argmax(axis=1) == predicted_class
    return np.flatnonzero(keep).astype(np.int64)


def confusion_cell(logits, labels, true_class: int, predicted_class: int) -> np.ndarray:
    """Indices in one confusion-matrix cell: labelled true_class, predicted predicted_class."""
    if true_class is None or predicted_class is None:
        raise ValueError("confusion_cell needs both true_class and predicted_class")
    return filter_indices(logits, labels, true_class, predicted_class)


def _predictions(logits_by_model: dict) -> tuple[list[str], np.ndarray]:
    """Model names and their argmax predictions (M, N); all models must cover the same N."""
    if not logits_by_model:
        raise ValueError("logits_by_model is empty; give at least one model's logits")
    names = list(logits_by_model)
    preds = [_logits(logits_by_model[name]).argmax(axis=1) for name in names]
    sizes = {len(p) for p in preds}
    if len(sizes) != 1:
        raise ValueError(f"every model's logits must cover the same images; got sizes "
                         f"{dict(zip(names, map(len, preds), strict=True))}")
    return names, np.stack(preds)


def disagreements(logits_by_model: dict) -> np.ndarray:
    """Indices where the models' top predictions are not all the same."""
    _, preds = _predictions(logits_by_model)  # (M, N)
    return np.flatnonzero((preds != preds[:1]).any(axis=0)).astype(np.int64)


def agreement_matrix(logits_by_model: dict) -> tuple[list[str], np.ndarray]:
    """Model names and the (M, M) fraction of images on which each pair predicts the same."""
    names, preds = _predictions(logits_by_model)  # (M, N)
    if preds.shape[1] == 0:
        return names, np.full((len(names), len(names)), np.nan)
    same = preds[:, None, :] == preds[None, :, :]  # (M, M, N)
    return names, same.mean(axis=2)


# The gallery page's views, in its selectbox order.
VIEWS = ("Most confident mistakes", "Most uncertain (highest entropy)",
         "Most uncertain (smallest margin)", "All, in test-set order")


def select_examples(logits, labels, view: str, true_class: int | None,
                    predicted_class: int | None, k: int) -> tuple[np.ndarray, int]:
    """Up to k indices for a gallery view within a true/predicted filter, and how many match.

    NB: "match" counts mistakes for the mistakes view, images for the others.
    """
    candidates = filter_indices(logits, labels, true_class, predicted_class)
    sub_logits, sub_labels = np.asarray(logits)[candidates], np.asarray(labels)[candidates]
    if view == VIEWS[0]:
        wrong = int((sub_logits.argmax(axis=1) != sub_labels).sum())
        return candidates[most_confident_mistakes(sub_logits, sub_labels, k)], wrong
    if view == VIEWS[1]:
        return candidates[most_uncertain(sub_logits, k, by="entropy")], len(candidates)
    if view == VIEWS[2]:
        return candidates[most_uncertain(sub_logits, k, by="margin")], len(candidates)
    if view == VIEWS[3]:
        return candidates[:_k(k)], len(candidates)
    raise ValueError(f"unknown gallery view {view!r}; choose one of {VIEWS}")


def random_example(labels, rng: np.random.Generator, digit: int | None = None) -> int:
    """A random index into `labels` (of class `digit` if given)."""
    labels = np.asarray(labels)
    digit = _class(digit, "digit")
    candidates = np.arange(len(labels)) if digit is None else np.flatnonzero(labels == digit)
    return int(rng.choice(candidates))
