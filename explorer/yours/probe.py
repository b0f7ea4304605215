"""Work out a user's model's contract by running it on MNIST test digits, and keep the evidence.

The model is a plain callable `run(x) -> outputs` on its raw input (float32, batch first), so
the same code probes an in-process torch module and the ONNX worker. It finds the input layout
the model accepts, the input scale (of 8 candidates) under which it reads digits best, what its
outputs are, the digit each output index means, and where its outputs are not finite.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from explorer.errors import ExplainedError
from explorer.maths.calibration import nll
from explorer.maths.confidence import logsumexp
from explorer.model.networks import N_CLASSES
from explorer.yours.contract import SCALES, Contract

Run = Callable[[np.ndarray], np.ndarray]  # the model's raw input (float32) -> its raw outputs
SEARCH_SIZE = 500  # test images for the input-scale search: ~50 of each digit
RESCORE_SIZE = 2000  # further test images that settle a near tie between scales
NEAR_TIE = 0.02  # scales within this accuracy of the best on the search images are re-scored
BATCH = 500
CREDIBLE = 0.5  # below this accuracy (chance: 0.1) no scale or label order is believed
LABEL_ORDER_GAIN = 0.05  # a permutation must beat "index k is digit k" by this to be believed
SUM_TOL = 1e-3  # probabilities' rows sum to 1 within this (a float32 softmax: ~1e-6)
CANDIDATES = tuple((scale, inverted) for inverted in (False, True) for scale in SCALES)
LAYOUT_RANKS = {"nchw": 4, "flat": 2}  # (N, 1, 28, 28) and (N, 784)


class ProbeError(ExplainedError):
    """The model can't be probed; the message says what it did instead."""


class LayoutError(ProbeError):
    """The model accepts neither (N, 1, 28, 28) nor (N, 784)."""


class OutputShapeError(ProbeError):
    """The model's outputs don't have one row per input image."""


@dataclass(frozen=True)
class ScaleTrial:
    """What one candidate input scale gave on the search images."""

    scale: str
    inverted: bool
    accuracy: float  # after the best label-order matching; a non-finite row counts wrong
    nll: float  # NLL of the labels under the model's own softmax (finite rows), nats
    non_finite: int  # rows with a NaN or an inf
    rescored: tuple[float, float] | None = None  # (accuracy, nll) on more images, if near a tie

    @property
    def name(self) -> str:
        return f"{self.scale} inverted" if self.inverted else self.scale


@dataclass(frozen=True)
class Probe:
    """A model's contract as probing found it, and the evidence for each choice."""

    contract: Contract
    output_shape: tuple[int, ...]  # (k,): k numbers per image, (10,) for ten scores
    output_kind: str  # "logits", "probabilities", "log-probabilities" or "sigmoids"
    trials: tuple[ScaleTrial, ...]  # every candidate scale, on the search images
    accuracy: float | None  # test set, under the contract; None when not 10 scores
    identity_accuracy: float | None  # the same with output index k read as digit k
    non_finite: dict = field(compare=False)  # {"test set": rows, "blank image": bool, ...}
    layout_errors: dict = field(compare=False)  # {layout: what the model raised on it}
    outputs: np.ndarray = field(repr=False, compare=False)  # (N, k) test-set raw outputs

    @property
    def ten_scores(self) -> bool:
        """Ten outputs per image (a ten-way classifier, or ten multi-label sigmoids)."""
        return self.output_shape == (N_CLASSES,)


def call(run: Run, x: np.ndarray) -> np.ndarray:
    """(N, k) float64 outputs of one call; NB: a model that raises becomes a ProbeError."""
    try:
        out = np.asarray(run(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float64)
    except ExplainedError:
        raise  # the worker's own limits (memory, time) explain themselves
    except Exception as err:  # noqa: BLE001 - any failure of a user's model is its message
        raise ProbeError(f"the model failed on input {tuple(x.shape)}: {_first_line(err)}") from err
    if out.ndim == 0 or out.shape[0] != len(x):
        raise OutputShapeError(f"the model returned shape {out.shape} for {len(x)} images: "
                               "its outputs must have the batch first, one row per image")
    return out.reshape(len(x), -1)


def run_batched(run: Run, x: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """call() over batches of `batch` rows, concatenated."""
    return np.concatenate([call(run, x[i:i + batch]) for i in range(0, len(x), batch)])


def _first_line(err: Exception) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:300]


def find_layout(run: Run, images01: np.ndarray,
                input_rank: int | None) -> tuple[str, Run, dict]:
    """The layout the model accepts, a run that fits its batch size, and what each other raised.

    NB: a model exported with a fixed batch of 1 fails on 2 images; it is then run one
    image at a time. If no layout works, the most telling error is raised: outputs without
    the batch first (it took the input), then the runner's own explained error (the worker's
    memory or time limit: not worth a retry at batch 1), then LayoutError.
    """
    errors, telling = {}, []
    for layout, rank in LAYOUT_RANKS.items():
        if input_rank is not None and input_rank != rank:
            errors[layout] = f"its input has rank {input_rank}, this layout {rank}"
            continue
        prepare = Contract(layout=layout).prepare
        for fitted in (run, _one_at_a_time(run)):
            try:
                call(fitted, prepare(images01[:2]))
                return layout, fitted, errors
            except ExplainedError as err:
                errors[layout] = _first_line(err)
                if isinstance(err, OutputShapeError) or not isinstance(err, ProbeError):
                    telling.append(err)
                    break
    telling.sort(key=lambda err: not isinstance(err, OutputShapeError))
    if telling:
        raise telling[0]
    raise LayoutError("the model accepts neither (N, 1, 28, 28) nor (N, 784) float32 input: "
                      + "; ".join(f"{k}: {v}" for k, v in errors.items()))


def _one_at_a_time(run: Run) -> Run:
    return lambda x: np.concatenate([np.asarray(run(x[i:i + 1])) for i in range(len(x))])


def predicted(outputs: np.ndarray) -> np.ndarray:
    """(N,) argmax of each row; -1 for a row with a NaN or an inf (never right)."""
    finite = np.isfinite(outputs).all(axis=1)
    return np.where(finite, np.nan_to_num(outputs).argmax(axis=1), -1)


def confusion(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(10, 10) counts: [d, k] = images of digit d whose top output is index k."""
    guess = predicted(outputs)
    ok = guess >= 0
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels)[ok], guess[ok]), 1)
    return counts


def best_assignment(scores: np.ndarray) -> tuple[int, ...]:
    """The permutation `order` maximising Σ_k scores[order[k], k], exactly (DP over subsets).

    NB: integer counts; a bonus of 0.5/n on the diagonal breaks ties toward the identity
    without ever outweighing one count.
    """
    n = len(scores)
    gain = np.asarray(scores, dtype=np.float64) + np.eye(n) * (0.5 / n)
    best = np.full(1 << n, -np.inf)
    best[0] = 0.0
    chosen = np.zeros(1 << n, dtype=np.int64)  # the row given to the last column filled
    for mask in range(1 << n):
        k = bin(mask).count("1")  # the column this mask fills next
        if k == n or best[mask] == -np.inf:
            continue
        for d in range(n):
            if not mask >> d & 1 and best[mask] + gain[d, k] > best[mask | 1 << d]:
                best[mask | 1 << d] = best[mask] + gain[d, k]
                chosen[mask | 1 << d] = d
    order, mask = [0] * n, (1 << n) - 1
    for k in reversed(range(n)):
        order[k] = int(chosen[mask])
        mask ^= 1 << order[k]
    return tuple(order)


def matched_accuracy(outputs: np.ndarray, labels: np.ndarray) -> tuple[float, tuple[int, ...]]:
    """Accuracy with each output index read as the digit the best assignment gives it."""
    counts = confusion(outputs, labels)
    order = best_assignment(counts)
    return float(sum(counts[d, k] for k, d in enumerate(order)) / len(labels)), order


def contract_outputs(kind: str) -> str:
    """The Contract's outputs for an output kind: sigmoids are read as probabilities."""
    return "probabilities" if kind == "sigmoids" else kind


def score(outputs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy after label-order matching, NLL of the labels under the model's own softmax).

    NB: the NLL is on finite rows only (inf when there are none); accuracy counts a
    non-finite row wrong.
    """
    accuracy, order = matched_accuracy(outputs, labels)
    finite = np.isfinite(outputs).all(axis=1)
    if not finite.any():
        return accuracy, float("inf")
    contract = Contract(outputs=contract_outputs(output_kind(outputs)), label_order=order)
    return accuracy, nll(contract.ranking_logits(outputs[finite]), labels[finite])


def _trial(run: Run, layout: str, scale: str, inverted: bool, images01, labels) -> ScaleTrial:
    outputs = run_batched(run, Contract(layout, scale, inverted).prepare(images01))
    bad = int((~np.isfinite(outputs).all(axis=1)).sum())
    return ScaleTrial(scale, inverted, *score(outputs, labels), bad)


def search_scale(run: Run, layout: str, images01, labels) -> tuple[tuple[ScaleTrial, ...], int]:
    """Every candidate scale on the search images, and the index of the one chosen.

    Accuracy first; candidates within NEAR_TIE of the best are scored again on RESCORE_SIZE
    more images, and of those still near the best the likeliest (lowest NLL) wins.
    NB: a ReLU network is nearly scale-free, so 255·x often reads digits as well as x does
    for a model that wants x; only its likelihood (wildly overconfident) tells them apart.
    Under CREDIBLE accuracy nothing is believed and plain 0–1 pixels (index 0) stay.
    """
    head = slice(0, SEARCH_SIZE)
    trials = tuple(_trial(run, layout, s, inv, images01[head], labels[head])
                   for s, inv in CANDIDATES)
    top = max(t.accuracy for t in trials)
    if top < CREDIBLE:
        return trials, 0
    near = [i for i, t in enumerate(trials) if t.accuracy >= top - NEAR_TIE]
    if len(near) == 1:
        return trials, near[0]
    more = slice(SEARCH_SIZE, SEARCH_SIZE + RESCORE_SIZE)
    if len(images01[more]) == 0:
        more = head  # a small test set: no further images to settle it with
    again = {i: _trial(run, layout, *CANDIDATES[i], images01[more], labels[more]) for i in near}
    trials = tuple(replace(t, rescored=(again[i].accuracy, again[i].nll)) if i in again else t
                   for i, t in enumerate(trials))
    best = max(t.accuracy for t in again.values())
    return trials, min((i for i in near if again[i].accuracy >= best - NEAR_TIE),
                       key=lambda i: again[i].nll)


def output_kind(outputs: np.ndarray) -> str:
    """"probabilities" (rows in [0, 1] summing to 1), "log-probabilities" (rows ≤ 0 with
    logsumexp 0), "sigmoids" (in [0, 1], rows not summing to 1) or "logits"; finite rows only.
    """
    rows = outputs[np.isfinite(outputs).all(axis=1)]
    if len(rows) == 0:
        return "logits"
    in_unit = rows.min() >= 0.0 and rows.max() <= 1.0
    if in_unit and np.abs(rows.sum(axis=1) - 1.0).max() <= SUM_TOL:
        return "probabilities"
    if in_unit:
        return "sigmoids"
    if rows.max() <= SUM_TOL and np.abs(logsumexp(rows)).max() <= SUM_TOL:
        return "log-probabilities"
    return "logits"


def non_finite_evidence(run: Run, contract: Contract, outputs: np.ndarray,
                        trials) -> dict:
    """Where outputs were NaN or inf: the test set, a blank and an all-white image, each scale."""
    bad = ~np.isfinite(outputs).all(axis=1)
    edges = call(run, contract.prepare(np.stack([np.zeros((28, 28)), np.ones((28, 28))])))
    blank, white = (not np.isfinite(row).all() for row in edges)
    return {"test set": int(bad.sum()), "blank image": bool(blank), "white image": bool(white),
            "scales": {t.name: t.non_finite for t in trials if t.non_finite}}


def probe(run: Run, images01: np.ndarray, labels: np.ndarray,
          input_rank: int | None = None) -> Probe:
    """Probe `run` on (N, 28, 28) test images in [0, 1] with their labels: its Contract."""
    images01, labels = np.asarray(images01, dtype=np.float32), np.asarray(labels)
    layout, run, layout_errors = find_layout(run, images01, input_rank)
    shape = call(run, Contract(layout).prepare(images01[:1])).shape[1:]  # (k,): k per image
    ten = shape == (N_CLASSES,)
    trials, pick = (), 0
    if ten:
        trials, pick = search_scale(run, layout, images01, labels)
    scale, inverted = CANDIDATES[pick]
    outputs = run_batched(run, Contract(layout, scale, inverted).prepare(images01))
    kind = output_kind(outputs)
    contract = Contract(layout, scale, inverted, contract_outputs(kind))
    accuracy = identity = None
    if ten:
        identity = float((predicted(outputs) == labels).mean())
        accuracy, order = matched_accuracy(outputs, labels)
        if accuracy >= CREDIBLE and accuracy - identity > LABEL_ORDER_GAIN:
            contract = Contract(layout, scale, inverted, contract.outputs, order)
        else:
            accuracy = identity
    return Probe(contract, shape, kind, trials, accuracy, identity,
                 non_finite_evidence(run, contract, outputs, trials), layout_errors, outputs)
