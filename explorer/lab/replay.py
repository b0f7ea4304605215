"""Training replay: a model's weights at a few epochs, from untrained (epoch 0) to the end.

`scripts/train.py --snapshots` records them; they ship as float16 safetensors (half the
bytes; the logits they give differ from float32 weights by ~1e-3) beside a replay.json with
each snapshot's test-set accuracy, NLL and ECE at T = 1. The replay page runs the current
drawing through every snapshot in one go.
NB: a replay is its own training run with the shipped recipe, not the shipped weights'.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from explorer.errors import ExplainedError, display_path
from explorer.maths.calibration import ece
from explorer.maths.confidence import as_logits, log_softmax, softmax
from explorer.model.inference import model_logits
from explorer.model.registry import ARCHS, build_model, config_dict, get_arch

SNAPSHOTS, REPLAY_META = "snapshots.safetensors", "replay.json"


def snapshot_epochs(total: int, most: int = 12) -> list[int]:
    """Epoch 0 and up to most - 1 epochs spread geometrically from 1 to `total` (its end)."""
    spread = np.geomspace(1, max(total, 1), max(most - 1, 1))
    return sorted({0, total, *(int(e) for e in np.round(spread))})


def half_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights in float16, on the CPU (what a snapshot keeps)."""
    return {k: v.detach().to("cpu", torch.float16).clone() for k, v in model.state_dict().items()}


def figures(outputs: np.ndarray, labels: np.ndarray, outputs_logits: bool) -> dict:
    """Test-set accuracy, NLL and ECE at T = 1 of one snapshot, and its loss as trained.

    NB: "loss" is cross-entropy of the raw outputs, what training minimised; for the
    double-softmax exhibit that is not its NLL and it cannot go below log(1 + 9/e).
    """
    z, labels = as_logits(outputs, outputs_logits), np.asarray(labels)
    rows = np.arange(len(labels))
    return {"accuracy": float((z.argmax(1) == labels).mean()),
            "nll": float(-log_softmax(z)[rows, labels].mean()),
            "ece": float(ece(softmax(z), labels)),
            "loss": float(-log_softmax(np.asarray(outputs, np.float64))[rows, labels].mean())}


def write_replay(folder: str | os.PathLike, arch: str, config: dict,
                 states: dict[int, dict[str, torch.Tensor]], per_epoch: dict[int, dict]) -> Path:
    """Write the snapshots and their figures; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({f"e{epoch}.{name}": t for epoch, state in states.items()
               for name, t in state.items()}, str(folder / SNAPSHOTS))
    meta = {"arch": arch, "config": config, "dtype": "float16",
            "epochs": sorted(states), "figures": {str(e): per_epoch[e] for e in sorted(states)}}
    (folder / REPLAY_META).write_text(json.dumps(meta, indent=1))
    return folder


def record_replay(folder: str | os.PathLike, arch: str, states: dict, images, labels,
                  device="cpu") -> Path:
    """Measure every snapshot on (N, 28, 28) float test images, then write_replay."""
    model, per_epoch = build_model(arch).to(device).eval(), {}
    for epoch, state in states.items():
        model.load_state_dict({k: v.float() for k, v in state.items()})
        outputs = model_logits(model, images, device)
        per_epoch[epoch] = figures(outputs, labels, get_arch(arch).outputs_logits)
    return write_replay(folder, arch, config_dict(arch), states, per_epoch)


@dataclass(frozen=True)
class Replay:
    arch: str
    epochs: list[int]
    figures: dict[int, dict]
    models: list[torch.nn.Module]  # one per epoch, float32, eval mode

    def outputs(self, image28) -> np.ndarray:
        """(S, 10) raw outputs of every snapshot for one (28, 28) image."""
        x = torch.from_numpy(np.asarray(image28, np.float32).reshape(1, 1, 28, 28))
        with torch.inference_mode():
            return np.concatenate([m(x).float().numpy() for m in self.models])


class ReplayError(ExplainedError):
    """A replay folder lacks a file or holds a broken one; the message says how to remake it."""


def remake_command(folder: Path, arch: str) -> str:
    """The command that records this replay folder again."""
    return (f"python scripts/train.py --arch {arch} --snapshots {display_path(folder)} "
            f"--out /tmp/replay-{arch}")


def read_replay(folder: str | os.PathLike) -> Replay:
    """Load a replay folder; ReplayError (naming the file and the fix) when it is unusable.

    NB: the details of what a parser said go to the server log, not into the message.
    """
    folder = Path(folder)
    arch = folder.name
    try:
        meta = json.loads((folder / REPLAY_META).read_text())
        arch = meta["arch"] if meta.get("arch") in ARCHS else arch
        get_arch(meta["arch"])  # KeyError: an unknown arch
        return _build_replay(meta, load_file(str(folder / SNAPSHOTS)))
    except Exception as err:  # any failure means the same to the user: remake the folder
        raise ReplayError(f"Replay {display_path(folder)}: {_what_failed(folder, err)}. "
                          f"Remake it with: {remake_command(folder, arch)}") from err


def _what_failed(folder: Path, err: Exception) -> str:
    """One phrase naming the file at fault and what is wrong with it."""
    for name in (REPLAY_META, SNAPSHOTS):
        if not (folder / name).is_file():
            return f"{name} is missing"
    if isinstance(err, (json.JSONDecodeError, UnicodeDecodeError)):
        return f"{REPLAY_META} is not valid JSON"
    if isinstance(err, SafetensorError):
        return f"{SNAPSHOTS} is truncated or corrupt"
    if isinstance(err, (KeyError, TypeError, AttributeError)):
        return f"{REPLAY_META} does not describe a replay of a registered model"
    return f"{SNAPSHOTS} does not fit the model {REPLAY_META} describes"


def _build_replay(meta: dict, tensors: dict[str, torch.Tensor]) -> Replay:
    """The float32 models of every snapshot epoch from the file's float16 tensors."""
    models = []
    for epoch in meta["epochs"]:
        prefix = f"e{epoch}."
        state = {k[len(prefix):]: v.float() for k, v in tensors.items() if k.startswith(prefix)}
        model = build_model(meta["arch"], meta["config"])
        model.load_state_dict(state)
        models.append(model.eval().requires_grad_(False))
    return Replay(meta["arch"], list(meta["epochs"]),
                  {int(e): f for e, f in meta["figures"].items()}, models)
