"""A user's model's contract: how to feed it and what its outputs are, as probing found them.

The app's images are (N, 28, 28) float32 in [0, 1], white ink on black, like MNIST. A user's
model may want them flat, normalised, in -1..1 or 0..255, or inverted; it may output logits,
probabilities or log-probabilities, in its own label order. `Contract.prepare` turns the app's
images into the model's input, and `Contract.ranking_logits` turns its raw outputs into the
app's (N, 10) logits in digit order, so every page treats it like a shipped model.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from explorer.model.networks import MNIST_MEAN, MNIST_STD, N_CLASSES

LAYOUTS = ("nchw", "flat")  # (N, 1, 28, 28) or (N, 784)
SCALES = ("unit", "mnist-normalised", "minus-one-to-one", "0-255")
OUTPUTS = ("logits", "probabilities", "log-probabilities")
TINY = 1e-12  # log of a probability of 0 (an output the model rounds to 0) stays finite


def scaled(images01: np.ndarray, scale: str, inverted: bool) -> np.ndarray:
    """(N, 28, 28) in [0, 1] on the model's input scale (and inverted: black ink on white)."""
    x = np.asarray(images01, dtype=np.float32)
    if inverted:
        x = 1.0 - x
    if scale == "unit":
        return x
    if scale == "mnist-normalised":
        return (x - MNIST_MEAN) / MNIST_STD
    if scale == "minus-one-to-one":
        return 2.0 * x - 1.0
    if scale == "0-255":
        return 255.0 * x
    raise ValueError(f"unknown input scale {scale!r}; one of {SCALES}")


@dataclass(frozen=True)
class Contract:
    """How to feed a user's model and read its outputs (what diagnose.py reports as JSON)."""

    layout: str = "nchw"  # one of LAYOUTS
    scale: str = "unit"  # one of SCALES
    inverted: bool = False  # the model wants black ink on white paper
    outputs: str = "logits"  # one of OUTPUTS
    label_order: tuple[int, ...] = tuple(range(N_CLASSES))  # the digit output index k means

    def __post_init__(self):
        if self.layout not in LAYOUTS or self.scale not in SCALES or self.outputs not in OUTPUTS:
            raise ValueError(f"bad contract {self}")
        if sorted(self.label_order) != list(range(N_CLASSES)):
            raise ValueError(f"label_order must be a permutation of 0..9, got {self.label_order}")

    def prepare(self, images01: np.ndarray) -> np.ndarray:
        """(N, 28, 28) app images -> the model's input: (N, 1, 28, 28) or (N, 784) float32."""
        x = scaled(images01, self.scale, self.inverted)
        return x.reshape(len(x), -1) if self.layout == "flat" else x[:, None]

    def in_digit_order(self, outputs: np.ndarray) -> np.ndarray:
        """(N, 10) raw outputs with column d holding the output that means digit d."""
        outputs = np.asarray(outputs, dtype=np.float64)
        ordered = np.empty_like(outputs)
        ordered[:, list(self.label_order)] = outputs
        return ordered

    def ranking_logits(self, outputs: np.ndarray) -> np.ndarray:
        """(N, 10) raw outputs -> logits in digit order, whose softmax is the model's own.

        NB: probabilities become log p (a logit up to a shift, which softmax ignores), as
        the shipped exhibit's do; log-probabilities already are such logits.
        """
        ordered = self.in_digit_order(outputs)
        return np.log(np.clip(ordered, TINY, None)) if self.outputs == "probabilities" else ordered

    def to_json(self) -> dict:
        """The contract as diagnose.py's JSON writes it ("input", "outputs", "label_order")."""
        fields = asdict(self)
        return {"input": {key: fields[key] for key in ("layout", "scale", "inverted")},
                "outputs": self.outputs, "label_order": list(self.label_order)}
