"""Self-describing checkpoints: safetensors weights plus a JSON sidecar. Never pickles."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from explorer.confidence import as_logits, softmax
from explorer.registry import ARCHS, Arch, build_model, count_params, get_arch

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
CHECKPOINT_DIR_ENV = "EXPLORER_CHECKPOINT_DIR"  # another folder of checkpoints (tests, latency)
WEIGHTS, META = "model.safetensors", "meta.json"
REQUIRED_KEYS = ("arch", "config", "params", "temperature", "metrics", "weights_sha256")


class CheckpointError(RuntimeError):
    """A checkpoint is missing or unusable; the message names the file and the fix."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    path: Path
    model: nn.Module  # eval mode; its raw outputs are what its registry entry says
    meta: dict
    device: torch.device

    @property
    def arch(self) -> Arch:
        """The registry entry of this checkpoint's architecture."""
        return get_arch(self.meta["arch"])

    @property
    def outputs_logits(self) -> bool:
        """False for the mlp_softmax exhibit, whose outputs already are probabilities."""
        return self.arch.outputs_logits

    def ranking_logits(self, outputs) -> np.ndarray:
        """Raw outputs (..., 10) as logits fit for ranking: the exhibit's become log p.

        NB: the one place that decides what a model's outputs are; softmax of these is the
        model's own class probabilities.
        """
        return as_logits(outputs, self.outputs_logits)

    def class_probs(self, outputs, temperature: float = 1.0) -> np.ndarray:
        """The model's own class probabilities (..., 10) from its raw outputs, at T."""
        return softmax(self.ranking_logits(outputs), temperature)


def choose_device(device: str | torch.device | None = None) -> torch.device:
    """Explicit device, then $EXPLORER_DEVICE, then CUDA, then MPS, then CPU."""
    device = device or os.environ.get("EXPLORER_DEVICE")
    if device:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def checkpoint_root() -> Path:
    """Where bare model names live: $EXPLORER_CHECKPOINT_DIR, else the project's checkpoints/."""
    return Path(os.environ.get(CHECKPOINT_DIR_ENV) or CHECKPOINT_DIR)


def resolve_dir(name_or_path: str | os.PathLike) -> Path:
    """A shipped name ("cnn"), a checkpoint folder, or a file inside one -> the folder."""
    path = Path(name_or_path)
    if path.suffix in (".safetensors", ".json"):
        return path.parent
    if path.parent == Path(".") and not path.exists():
        return checkpoint_root() / str(name_or_path)
    return path


def train_command(out: Path) -> str:
    """The exact command that (re)makes the checkpoint folder `out` (named after its arch)."""
    arch = out.name if out.name in ARCHS else "cnn"
    return f"python scripts/train.py --arch {arch} --out {out}"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_checkpoint(out_dir: str | os.PathLike, model: nn.Module, meta: dict) -> dict:
    """Write model.safetensors and meta.json (with versions, time and sha256) to out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS))
    import torchvision

    meta = {
        **meta,
        "params": count_params(model),
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "weights_sha256": sha256_file(out / WEIGHTS),
    }
    text = json.dumps(meta, indent=2, sort_keys=True)
    (out / META).write_text(text + "\n")
    return json.loads(text)  # exactly what a later load sees (tuples become lists)


def read_meta(ckpt_dir: Path) -> dict:
    """Parse and validate meta.json; CheckpointError on anything wrong."""
    weights, meta_path = ckpt_dir / WEIGHTS, ckpt_dir / META
    for path in (weights, meta_path):
        if not path.is_file():
            raise CheckpointError(
                f"Checkpoint file {path} is missing. Make it with: "
                f"{train_command(ckpt_dir)}")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{meta_path} is not valid JSON ({err}). Retrain with: "
                              f"{train_command(ckpt_dir)}") from err
    missing = [k for k in REQUIRED_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise CheckpointError(f"{meta_path} lacks the keys {missing}. Retrain with: "
                              f"{train_command(ckpt_dir)}")
    try:
        get_arch(meta["arch"])
    except KeyError as err:
        raise CheckpointError(f"{meta_path} declares an {err.args[0]}. Use a checkpoint "
                              f"made by scripts/train.py of this version.") from err
    return meta


def _load_state(weights: Path, meta: dict) -> dict[str, torch.Tensor]:
    if sha256_file(weights) != meta["weights_sha256"]:
        raise CheckpointError(
            f"{weights} does not match the sha256 in its meta.json: the file was changed "
            f"or partly copied. Restore it (git checkout / copy again) or retrain.")
    try:
        return load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights} is truncated or corrupt ({err}). "
                              f"Restore it or retrain.") from err


def _check_fits(model: nn.Module, state: dict[str, torch.Tensor], weights: Path, arch: str):
    expected = model.state_dict()
    for key in sorted(set(expected) | set(state)):
        if key not in state:
            problem = "is missing from the file"
        elif key not in expected:
            problem = f"is not part of arch {arch!r}"
        elif state[key].shape != expected[key].shape:
            problem = (f"has shape {tuple(state[key].shape)}, arch {arch!r} expects "
                       f"{tuple(expected[key].shape)}")
        else:
            continue
        raise CheckpointError(f"{weights}: tensor {key!r} {problem}. The weights do not "
                              f"fit the declared architecture; retrain or fix meta.json.")


def load_model(name_or_path: str | os.PathLike = "cnn",
               device: str | torch.device | None = None) -> LoadedModel:
    """Rebuild a model from its meta.json and load its safetensors weights, in eval mode."""
    ckpt_dir = resolve_dir(name_or_path)
    meta = read_meta(ckpt_dir)
    state = _load_state(ckpt_dir / WEIGHTS, meta)
    try:
        model = build_model(meta["arch"], meta["config"])
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{ckpt_dir / META}: bad config for {meta['arch']!r}: "
                              f"{err}") from err
    _check_fits(model, state, ckpt_dir / WEIGHTS, meta["arch"])
    model.load_state_dict(state)
    dev = choose_device(device)
    model = model.to(dev).eval().requires_grad_(False)
    return LoadedModel(ckpt_dir.name, ckpt_dir, model, meta, dev)
