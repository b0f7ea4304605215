"""Tiny user models with one defect each, for the probe, diagnosis and diagnose.py tests.

A small MLP is trained once per test session on a slice of the shipped test split (a few
seconds on a CPU); each defect wraps it in a module that ONNX can export too.
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from explorer.inputs.data import load_test_float
from explorer.model.networks import MNIST_MEAN, MNIST_STD

TRAIN_SLICE = slice(0, 6000)
PERMUTATION = (3, 0, 1, 2, 4, 5, 6, 7, 9, 8)  # output index k means digit PERMUTATION[k]
HEAVY_INK = 0.28  # the NaN model's outputs are NaN above this mean pixel (a few % of digits)


class TinyMLP(nn.Module):
    """784 -> 64 ReLU -> 10 logits, on (N, 1, 28, 28) or (N, 784) pixels in [0, 1]."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


@lru_cache(maxsize=1)
def trained_mlp() -> TinyMLP:
    """TinyMLP trained for 400 Adam steps on 6,000 shipped test images (~92 % on all 10,000)."""
    torch.manual_seed(0)
    images01, labels = load_test_float()
    x = torch.from_numpy(images01[TRAIN_SLICE])
    y = torch.from_numpy(np.array(labels[TRAIN_SLICE]))
    model = TinyMLP()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(400):
        idx = torch.randint(0, len(x), (64,), generator=gen)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


class Wrapped(nn.Module):
    """The trained model with something done to its input (`before`) and outputs (`after`)."""

    def __init__(self, base, before=None, after=None):
        super().__init__()
        self.base, self.before, self.after = base, before, after

    def forward(self, x):
        z = self.base(self.before(x) if self.before else x)
        return self.after(z, x) if self.after else z


def _nan_on_heavy_ink(logits, x):
    heavy = x.flatten(1).mean(1, keepdim=True) > HEAVY_INK
    blank = x.flatten(1).amax(1, keepdim=True) <= 0
    return torch.where(heavy | blank, torch.full_like(logits, float("nan")), logits)


def _is_it_a_seven(logits, x):
    others = torch.cat([logits[:, :7], logits[:, 8:]], 1).logsumexp(1, keepdim=True)
    return torch.cat([others, logits[:, 7:8]], 1)  # two logits: "not a 7", "a 7"


def _expected_digit(logits, x):
    return (logits.softmax(1) * torch.arange(10.0)).sum(1, keepdim=True)


def defect_module(name: str) -> nn.Module:
    """The trained model with the defect `name` (a key of DEFECTS)."""
    base = trained_mlp()
    if name == "untrained":
        torch.manual_seed(1)
        return TinyMLP().eval()
    before, after = DEFECTS[name]
    return Wrapped(base, before, after).eval()


# name: (what the model does to its input, to its outputs); the input rank is INPUT_RANK's
DEFECTS = {
    "clean": (None, None),
    "softmax": (None, lambda z, x: z.softmax(1)),
    "untrained": (None, None),
    "mnist-normalised": (lambda x: x * MNIST_STD + MNIST_MEAN, None),
    "minus-one-to-one": (lambda x: (x + 1) / 2, None),
    "0-255": (lambda x: x / 255, None),
    "inverted": (lambda x: 1 - x, None),
    "flat": (None, None),
    "permuted": (None, lambda z, x: z[:, list(PERMUTATION)]),
    "log-softmax": (None, lambda z, x: z.log_softmax(1)),
    "overconfident": (None, lambda z, x: z * 5),
    "underconfident": (None, lambda z, x: z / 5),
    "nan": (None, _nan_on_heavy_ink),
    "one-output": (None, _expected_digit),
    "two-outputs": (None, _is_it_a_seven),
    "multi-label": (None, lambda z, x: z.sigmoid()),
}
INPUT_RANK = {name: 2 if name == "flat" else 4 for name in DEFECTS}


def torch_run(module: nn.Module, rank: int):
    """`run(x)` over a torch module that, like an ONNX graph, refuses another input rank."""
    def run(x: np.ndarray) -> np.ndarray:
        if x.ndim != rank:
            raise ValueError(f"expected an input of rank {rank}, got shape {x.shape}")
        with torch.no_grad():
            return module(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()
    return run


def defect_run(name: str):
    """(run, input_rank) of the defect model `name`."""
    return torch_run(defect_module(name), INPUT_RANK[name]), INPUT_RANK[name]


def export_onnx(module: nn.Module, example: torch.Tensor, path) -> None:
    """`module` as an ONNX file with a dynamic batch, as the issue's users export theirs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter, on purpose
        torch.onnx.export(module, example, str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)


def export_defect(name: str, path) -> None:
    """The defect model `name` as an ONNX file."""
    example = torch.zeros((1, 784) if INPUT_RANK[name] == 2 else (1, 1, 28, 28))
    export_onnx(defect_module(name), example, path)

IDENTITY = tuple(range(10))
# name: (finding ids, input layout, scale, inverted, outputs, label order) that must be found
EXPECTED = {
    "clean": ((), "nchw", "unit", False, "logits", IDENTITY),
    "softmax": (("softmax-output",), "nchw", "unit", False, "probabilities", IDENTITY),
    "untrained": (("untrained",), "nchw", "unit", False, "logits", IDENTITY),
    "mnist-normalised": (("input-scale",), "nchw", "mnist-normalised", False, "logits", IDENTITY),
    "minus-one-to-one": (("input-scale",), "nchw", "minus-one-to-one", False, "logits", IDENTITY),
    "0-255": (("input-scale",), "nchw", "0-255", False, "logits", IDENTITY),
    "inverted": (("input-scale",), "nchw", "unit", True, "logits", IDENTITY),
    "flat": ((), "flat", "unit", False, "logits", IDENTITY),
    "permuted": (("label-order",), "nchw", "unit", False, "logits", PERMUTATION),
    "log-softmax": (("log-probabilities",), "nchw", "unit", False, "log-probabilities", IDENTITY),
    "overconfident": (("overconfident",), "nchw", "unit", False, "logits", IDENTITY),
    "underconfident": (("underconfident",), "nchw", "unit", False, "logits", IDENTITY),
    "nan": (("non-finite",), "nchw", "unit", False, "logits", IDENTITY),
    "one-output": (("not-ten-way",), "nchw", "unit", False, "logits", IDENTITY),
    "two-outputs": (("not-ten-way",), "nchw", "unit", False, "logits", IDENTITY),
    "multi-label": (("not-ten-way",), "nchw", "unit", False, "probabilities", IDENTITY),
}
