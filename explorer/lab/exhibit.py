"""The double-softmax exhibit: why a network ending in nn.Softmax, trained with
CrossEntropyLoss, can never look more than ~23 % sure to its own loss.
"""
from __future__ import annotations

import math

import numpy as np

from explorer.maths.confidence import softmax
from explorer.model.networks import N_CLASSES

DOUBLE_SOFTMAX_BOUND = math.e / (math.e + N_CLASSES - 1)  # ≈ 0.2320
# The lowest loss CrossEntropyLoss can ever report for the exhibit: −log(bound) ≈ 1.4612.
DOUBLE_SOFTMAX_MIN_LOSS = math.log1p((N_CLASSES - 1) / math.e)


def double_softmax(probs) -> np.ndarray:
    """softmax(probs): what CrossEntropyLoss sees when handed probabilities, (..., 10)."""
    return softmax(probs)


def max_double_softmax(probs) -> np.ndarray:
    """Top of softmax(probs) (...,), never above DOUBLE_SOFTMAX_BOUND = e / (e + 9).

    CrossEntropyLoss applies log-softmax to whatever it gets, so the exhibit's
    probabilities p (each in [0, 1], summing to 1) are treated as logits. For the top
    class k, softmax(p)_k = 1 / (1 + Σ_{j≠k} exp(p_j − p_k)). Each p_j ≥ 0 and p_k ≤ 1, so
    every term is ≥ exp(−1) and the total is ≥ 9/e; equality needs p_k = 1 and every other
    p_j = 0, i.e. a one-hot p. So the best case is e / (e + 9) ≈ 0.232 — reached only by a
    perfectly sure network — and the worst (uniform p) is 1/10. The loss can never fall
    below −log(e / (e + 9)) ≈ 1.461, so its gradients never fade and its probabilities
    get pushed toward one-hot whether or not the network should be that sure.
    NB: pass the exhibit's raw outputs (probabilities), not logits.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[-1:] != (N_CLASSES,):
        raise ValueError(f"probs must have shape (..., {N_CLASSES}), got {probs.shape}")
    return double_softmax(probs).max(axis=-1)
