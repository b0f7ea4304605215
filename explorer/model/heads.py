"""Output heads: what a model's raw outputs mean, the loss it trains with and how it is scored.

One `Task` per kind of head. The registry says which task each architecture has; train.py
asks the task for its batches, loss and "correct"; the heads page reads the outputs through
`read_outputs`. Labels are (N,) digits, or (N, 2) digits of a two-digit image's left and
right halves with -1 for an empty half.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from explorer.model.networks import N_CLASSES

SEVEN = 7  # the binary pair's question: "is it a 7?"
EMPTY = -1  # an empty half of a two-digit image


def multi_hot(pairs: torch.Tensor) -> torch.Tensor:
    """(N, 2) digits (-1: none) -> (N, 10) float targets, 1 for each digit present."""
    target = torch.zeros(len(pairs), N_CLASSES, device=pairs.device)
    for side in range(pairs.shape[1]):
        present = pairs[:, side] >= 0
        target[present, pairs[present, side]] = 1.0
    return target


def _soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a distribution: the multi-hot target normalised to sum 1."""
    target = target / target.sum(1, keepdim=True).clamp_min(1.0)
    return -(target * F.log_softmax(logits, 1)).sum(1).mean()


def _set_correct(chosen: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """(N,) bool: the (N, 10) chosen classes are exactly the digits present."""
    return (chosen.bool() == multi_hot(pairs).bool()).all(1)


def _top_k_set(logits: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """(N, 10) bool: the k highest classes, k = how many different digits there are."""
    k = multi_hot(pairs).sum(1).long().clamp_min(1)  # (N,)
    order = logits.argsort(1, descending=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(N_CLASSES, device=logits.device).expand_as(order))
    return rank < k[:, None]


@dataclass(frozen=True)
class Task:
    """A kind of output head."""

    name: str
    outputs: int  # raw numbers per image
    width: int  # input width: 28, or 56 for two digits side by side
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (outputs, labels) -> scalar
    correct: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # -> (N,) bool
    reading: str  # how outputs become answers, for people

    @property
    def pairs(self) -> bool:
        return self.width == 56


def _argmax_is(labels_of: Callable) -> Callable:
    return lambda out, y: out.argmax(1) == labels_of(y)


CLASSIFY = Task("classify", N_CLASSES, 28, lambda out, y: F.cross_entropy(out, y),
                _argmax_is(lambda y: y), "softmax over 10 logits, sums to 1")
ONE_VS_REST = Task(
    "one-vs-rest", N_CLASSES, 28,
    lambda out, y: F.binary_cross_entropy_with_logits(out, F.one_hot(y, N_CLASSES).float()),
    _argmax_is(lambda y: y), "a sigmoid per class, each on its own: the sum is free")
REGRESS = Task("regress", 1, 28, lambda out, y: F.mse_loss(out[:, 0], y.float()),
               lambda out, y: out[:, 0].round().clamp(0, 9).long() == y,
               "one number on the 0-9 line")
BINARY_SIGMOID = Task(
    "binary sigmoid", 1, 28,
    lambda out, y: F.binary_cross_entropy_with_logits(out[:, 0], (y == SEVEN).float()),
    lambda out, y: (out[:, 0] > 0) == (y == SEVEN), "sigmoid of 1 logit: p(7)")
BINARY_SOFTMAX = Task(
    "binary softmax", 2, 28, lambda out, y: F.cross_entropy(out, (y == SEVEN).long()),
    _argmax_is(lambda y: (y == SEVEN).long()), "softmax over 2 logits: [p(not 7), p(7)]")
PAIR_SIGMOID = Task(
    "two digits, sigmoid", N_CLASSES, 56,
    lambda out, pairs: F.binary_cross_entropy_with_logits(out, multi_hot(pairs)),
    lambda out, pairs: _set_correct(out > 0, pairs),
    "a sigmoid per class; every one above 0.5 is there")
PAIR_SOFTMAX = Task(
    "two digits, softmax", N_CLASSES, 56,
    lambda out, pairs: _soft_cross_entropy(out, multi_hot(pairs)),
    lambda out, pairs: _set_correct(_top_k_set(out, pairs), pairs),
    "softmax over 10 logits: two digits must share the mass")
TASKS = {task.name: task for task in (CLASSIFY, ONE_VS_REST, REGRESS, BINARY_SIGMOID,
                                      BINARY_SOFTMAX, PAIR_SIGMOID, PAIR_SOFTMAX)}


def compose_pairs(left: torch.Tensor, right: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) halves -> (N, 1, 28, 56); a half whose digit is EMPTY is blanked."""
    keep_left = (pairs[:, 0] >= 0).float()[:, None, None, None]
    keep_right = (pairs[:, 1] >= 0).float()[:, None, None, None]
    return torch.cat([left * keep_left, right * keep_right], dim=3)


def random_pairs(y: torch.Tensor, gen: torch.Generator, p_single: float = 0.15):
    """Partners and labels for a batch: (partner index into the batch (N,), pairs (N, 2)).

    NB: partners are a random permutation, so the same digit twice comes up as often as
    chance makes it (1 in 10); a share p_single of images keep one digit, either side.
    """
    n, dev = len(y), y.device
    partner = torch.randperm(n, generator=gen, device=dev)
    pairs = torch.stack([y, y[partner]], 1).clone()  # (N, 2)
    single = torch.rand(n, generator=gen, device=dev) < p_single
    side = (torch.rand(n, generator=gen, device=dev) < 0.5).long()
    pairs[single, side[single]] = EMPTY
    return partner, pairs


def pair_test_set(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0):
    """(N, 28, 56) float32 composites of the given uint8 digits and their (N, 2) labels.

    Held-out composites: digits from `images` (the MNIST test split), paired at random,
    with one-digit images (15 %) and the same digit twice as chance gives.
    """
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randint(len(images), (n,), generator=gen)
    x = torch.from_numpy(images[pick.numpy()]).float().div(255)[:, None]  # (n, 1, 28, 28)
    y = torch.from_numpy(labels[pick.numpy()]).long()
    partner, pairs = random_pairs(y, gen)
    return compose_pairs(x, x[partner], pairs)[:, 0].numpy(), pairs.numpy()


def _binary_ece(probs: np.ndarray, hits: np.ndarray, n_bins: int = 15) -> float:
    """ECE of one yes/no probability: Σ_b (n_b / N)·|rate of yes_b − mean p_b|."""
    bins = np.minimum((probs * n_bins).astype(int), n_bins - 1)
    gaps = [abs(hits[bins == b].mean() - probs[bins == b].mean()) * (bins == b).sum()
            for b in range(n_bins) if (bins == b).any()]
    return float(sum(gaps) / max(len(probs), 1))


def head_metrics(task: Task, outputs: np.ndarray, labels: np.ndarray) -> dict:
    """The test-set figures that fit each head (see the README's heads table)."""
    out = torch.from_numpy(np.asarray(outputs, np.float32))
    y = torch.from_numpy(np.array(labels)).long()
    figures = {"accuracy": float(task.correct(out, y).float().mean()), "n": len(y)}
    if task is ONE_VS_REST:
        probs, hot = torch.sigmoid(out).numpy(), F.one_hot(y, N_CLASSES).numpy()
        figures["ece_per_class"] = float(np.mean([_binary_ece(probs[:, k], hot[:, k])
                                                  for k in range(N_CLASSES)]))
        # NB: "above" is strict, as the page reads it and as logit > 0 means sigmoid > 0.5
        figures["none_above_half"] = float((probs.max(1) <= 0.5).mean())
        figures["mean_sum"] = float(probs.sum(1).mean())
    elif task is REGRESS:
        figures["mae"] = float((out[:, 0] - y.float()).abs().mean())
    elif task.pairs:
        kinds = {"one digit": (y < 0).any(1), "same digit twice": y[:, 0] == y[:, 1],
                 "two different": (y >= 0).all(1) & (y[:, 0] != y[:, 1])}
        hits = task.correct(out, y)
        figures["by_kind"] = {kind: float(hits[mask].float().mean()) for kind, mask in
                              kinds.items() if mask.any()}
    return figures


def seven_probability(task: Task, outputs) -> np.ndarray:
    """(N,) p(7) from either binary head: sigmoid(z), or softmax([z0, z1])[1]."""
    out = torch.from_numpy(np.asarray(outputs, np.float32))
    if task is BINARY_SIGMOID:
        return torch.sigmoid(out[:, 0]).numpy()
    return torch.softmax(out, 1)[:, 1].numpy()


def scoring_set(task: Task, images_u8: np.ndarray, labels: np.ndarray, seed: int = 0):
    """(float images (N, 28, width), labels) a task is scored on: composites for pairs."""
    if task.pairs:
        return pair_test_set(images_u8, labels, len(images_u8), seed)
    return images_u8.astype(np.float32) / 255, labels


def two_digit_image(canvas_rgba) -> np.ndarray | None:
    """A wide canvas -> the (28, 56) two-digit input, or None when both halves are blank.

    NB: each half is preprocessed on its own like MNIST (crop, 20 px, centred in 28×28) and
    the two are put side by side, as the composites the models were trained on; a digit
    drawn across the middle is cut in two.
    """
    from explorer.inputs.preprocess import canvas_to_mnist  # preprocess imports nothing from here

    canvas = np.asarray(canvas_rgba)
    middle = canvas.shape[1] // 2
    halves = [canvas_to_mnist(canvas[:, :middle]), canvas_to_mnist(canvas[:, middle:])]
    if all(half is None for half in halves):
        return None
    return np.concatenate([np.zeros((28, 28), np.float32) if half is None else half
                           for half in halves], axis=1)  # (28, 56)


def example_pair(images: np.ndarray, labels: np.ndarray, kind: str,
                 rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """A (28, 56) composite of two test digits: "two different", "same digit twice", "one digit"."""
    i = int(rng.integers(len(images)))
    if kind == "one digit":
        j, pair = i, (int(labels[i]), EMPTY)
    else:
        same = labels == labels[i] if kind == "same digit twice" else labels != labels[i]
        j = int(rng.choice(np.flatnonzero(same & (np.arange(len(labels)) != i))))
        pair = (int(labels[i]), int(labels[j]))
    left, right = images[i] / 255.0, images[j] / 255.0 if pair[1] != EMPTY else 0 * images[j]
    return np.concatenate([left, right], axis=1).astype(np.float32), pair
