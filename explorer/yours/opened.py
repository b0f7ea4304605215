"""A user's model file opened for probing, and, once diagnosed, one of the app's models.

One path for the app and scripts/diagnose.py: identify the file (formats), run an ONNX model
in its sandboxed worker, or build a state dict's chosen variant from our own code
(statedict); then `as_loaded` makes a diagnosed ten-way model a LoadedModel every page takes.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from explorer.errors import ExplainedError
from explorer.model import registry
from explorer.model.checkpoints import LoadedModel
from explorer.yours import formats, statedict
from explorer.yours.contract import Contract
from explorer.yours.diagnose import Diagnosis
from explorer.yours.sandbox import OnnxWorker
from explorer.yours.statedict import Variant

YOURS_COLOUR = "#e7298a"  # its line in charts that compare models: no shipped model's


class NonFiniteOutputError(ExplainedError):
    """The user's model returned NaN or inf for an image the app gave it."""


@dataclass(frozen=True)
class Opened:
    """A model file ready to run: raw input (its layout and scale) in, raw outputs out."""

    name: str  # the file's name as the user gave it
    kind: str  # formats.READABLE: "onnx", "state-dict" or "safetensors"
    run: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    input_rank: int | None  # 4 (N, 1, 28, 28) or 2 (N, 784) when the file says; else None
    sha256: str
    variants: tuple[Variant, ...] = ()  # a state dict's: every network it fits
    variant: Variant | None = None  # the one built
    close: Callable[[], None] = field(default=lambda: None, repr=False)


def variant_named(found: tuple[Variant, ...], label: str | None) -> Variant:
    """The variant with this label (Variant.label or its short form); the first if None."""
    if label is None:
        return found[0]
    for variant in found:
        if label in (variant.label, short_label(variant)):
            return variant
    raise ExplainedError(f"No variant {label!r} fits these weights; the ones that do: "
                         + "; ".join(short_label(v) for v in found) + ".")


def short_label(variant: Variant) -> str:
    """A variant as the command line names it: "tanh,sigmoid,softmax" or "cnn,logits"."""
    parts = list(variant.activations) or [variant.family]
    return ",".join([*parts, "softmax" if variant.final_softmax else "logits"])


def open_bytes(data: bytes, name: str, variant: str | None = None) -> Opened:
    """Open an uploaded file; ModelFileError (a refusal, a bad file) says what and the fix."""
    kind = formats.readable_kind(data, name)
    sha = hashlib.sha256(data).hexdigest()
    if kind == "onnx":
        worker = OnnxWorker(data, name=name)
        rank = 4 if "nchw" in worker.info.layouts else 2 if worker.info.layouts else None
        return Opened(name, kind, worker.run_rows, rank, sha, close=worker.close)
    tensors = formats.load_state_dict_tensors(data, name)
    found = tuple(statedict.variants(tensors))
    chosen = variant_named(found, variant)
    module = statedict.build(tensors, chosen)
    rank = 2 if chosen.family == "linear stack" else 4
    return Opened(name, kind, _numpy_run(module), rank, sha, found, chosen)


def open_path(path: str | Path, variant: str | None = None) -> Opened:
    """open_bytes() of a file on disk (the command line's path)."""
    path = Path(path)
    if not path.is_file():
        raise formats.ModelFileError(f"{formats.shown(path.name)}: no such file")
    return open_bytes(path.read_bytes(), path.name, variant)


def _numpy_run(module: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """A torch module as the probe runs models: float32 numpy in and out, no gradients."""
    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(np.ascontiguousarray(x, np.float32))).numpy()
    return run


class ContractModule(nn.Module):
    """The user's model behind its contract: app images (N, 1, 28, 28) in [0, 1] in, its
    outputs in digit order out (logits, or probabilities as its Arch says)."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], contract: Contract):
        super().__init__()
        self.run, self.contract = run, contract

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        images01 = x.detach().to("cpu", torch.float32).numpy().reshape(len(x), 28, 28)
        outputs = self.contract.in_digit_order(self.run(self.contract.prepare(images01)))
        if not np.isfinite(outputs).all():
            raise NonFiniteOutputError("Your model returned NaN or inf for this image, so "
                                       "there is nothing to show: see its non-finite finding.")
        return torch.from_numpy(outputs.astype(np.float32))  # (N, 10)


@dataclass(frozen=True)
class YourModel(LoadedModel):
    """A diagnosed user model as the pages take a model: its own registry entry, never
    registered (no other session sees it), and its test-set outputs from the diagnosis."""

    your_arch: registry.Arch | None = None
    diagnosis: Diagnosis | None = field(default=None, repr=False)
    opened: Opened | None = field(default=None, repr=False)

    @property
    def arch(self) -> registry.Arch:
        return self.your_arch

    @property
    def test_outputs(self) -> np.ndarray:
        """(10000, 10) raw outputs on the shipped test split, in digit order."""
        return self.diagnosis.probe.contract.in_digit_order(self.diagnosis.probe.outputs)


def display_name(file_name: str) -> str:
    """The picker's name for a user's model: "yours: <file stem>", short and safe to show."""
    stem = file_name.rsplit(".", 1)[0][:24] or "model"  # NB: not Path: a name may hold "/"
    return "yours: " + "".join(c if c.isprintable() else "?" for c in stem)


def as_loaded(opened: Opened, diagnosis: Diagnosis) -> YourModel:
    """The app's model for a diagnosed user model with ten scores; ExplainedError otherwise."""
    p = diagnosis.probe
    if not p.ten_scores or p.output_kind == "sigmoids":
        raise ExplainedError("Only a ten-way classifier joins the app's pages; the findings "
                             "above say what this model's outputs are instead.")
    name = display_name(opened.name)
    kind = registry.PROBABILITIES if p.contract.outputs == "probabilities" else registry.LOGITS
    described = opened.variant.label if opened.variant else f"ONNX ({opened.name})"
    arch = registry.Arch(name, dict, lambda cfg: None, described, "your model", YOURS_COLOUR,
                         outputs=kind)
    meta = {"arch": name, "config": {}, "temperature": float(diagnosis.fitted_temperature or 1),
            "metrics": {"test": {"accuracy": diagnosis.accuracy, "ece": diagnosis.ece}},
            "weights_sha256": opened.sha256, "description": described, "params": 0}
    module = ContractModule(opened.run, p.contract).eval()
    return YourModel(name, Path("yours") / opened.sha256[:12], module, meta,
                     torch.device("cpu"), arch, diagnosis, opened)
