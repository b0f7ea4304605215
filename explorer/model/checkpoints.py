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
from safetensors.torch import load_file, save_file
from torch import nn

from explorer.maths.confidence import as_logits, softmax
from explorer.model.checkpoint_meta import check_meta_values, check_params
from explorer.model.checkpoint_paths import (  # noqa: F401 - the checkpoint API in one import
    CHECKPOINT_DIR,
    CHECKPOINT_DIR_ENV,
    CheckpointError,
    checkpoint_root,
    is_bare_name,
    resolve_dir,
    train_command,
    where,
)
from explorer.model.registry import DEFAULT, Arch, build_model, count_params, get_arch, the

WEIGHTS, META = "model.safetensors", "meta.json"
REQUIRED_KEYS = ("arch", "config", "params", "temperature", "metrics", "weights_sha256")


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
    """Parse and validate meta.json (every required value); CheckpointError on anything wrong."""
    for file in (WEIGHTS, META):
        if not (ckpt_dir / file).is_file():
            raise CheckpointError(f"{where(ckpt_dir)}: file {file} is missing. Make it with: "
                                  f"{train_command(ckpt_dir)}")
    try:
        meta = json.loads((ckpt_dir / META).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{where(ckpt_dir)}: {META} is not valid JSON ({err}). "
                              f"Retrain with: {train_command(ckpt_dir)}") from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where(ckpt_dir)}: {META} is not a JSON object. "
                              f"Retrain with: {train_command(ckpt_dir)}")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"{where(ckpt_dir)}: {META} lacks the keys {missing}. "
                              f"Retrain with: {train_command(ckpt_dir)}")
    check_meta_values(ckpt_dir, meta)
    return meta


def _load_state(ckpt_dir: Path, meta: dict) -> dict[str, torch.Tensor]:
    """The weights file's tensors, after checking its sha256 against meta.json."""
    weights = ckpt_dir / WEIGHTS
    if sha256_file(weights) != meta["weights_sha256"].lower():
        raise CheckpointError(
            f"{where(ckpt_dir)}: {WEIGHTS} does not match the sha256 in its meta.json: the "
            f"file was changed or partly copied. Restore it (git checkout / copy again) or "
            f"retrain.")
    try:
        return load_file(str(weights))
    except Exception as err:  # any parser failure means the same thing to the user
        raise CheckpointError(f"{where(ckpt_dir)}: {WEIGHTS} is truncated or corrupt "
                              f"({type(err).__name__}: {err}). Restore it or retrain.") from err


def _build(ckpt_dir: Path, meta: dict, device: torch.device | None = None) -> nn.Module:
    """The model meta.json describes, untrained; on the meta device it allocates nothing."""
    try:
        with torch.device(device or "cpu"):
            return build_model(meta["arch"], meta["config"])
    except Exception as err:  # an arch's build may fail in any way on odd-but-typed config
        raise CheckpointError(f"{where(ckpt_dir)}: bad config for {meta['arch']!r}, the "
                              f"model cannot be built ({type(err).__name__}: {err}).") from err


def _check_fits(model: nn.Module, state: dict[str, torch.Tensor], ckpt_dir: Path, arch: str):
    """Raise CheckpointError naming the first tensor whose name or shape does not fit."""
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
        raise CheckpointError(f"{where(ckpt_dir)}: {WEIGHTS}: tensor {key!r} {problem}. The "
                              f"weights do not fit the declared architecture; retrain or fix "
                              f"meta.json.")


def load_model(name_or_path: str | os.PathLike | None = None,
               device: str | torch.device | None = None) -> LoadedModel:
    """Rebuild a model from its meta.json and load its safetensors weights, in eval mode.

    None loads the registry's default model (the role DEFAULT).
    NB: the config is first built on the meta device and checked against params and the
    weights' shapes, so a forged huge config never allocates real memory.
    """
    ckpt_dir = resolve_dir(the(DEFAULT) if name_or_path is None else name_or_path)
    meta = read_meta(ckpt_dir)
    skeleton = _build(ckpt_dir, meta, torch.device("meta"))
    check_params(ckpt_dir, meta, skeleton)
    state = _load_state(ckpt_dir, meta)
    _check_fits(skeleton, state, ckpt_dir, meta["arch"])
    model = _build(ckpt_dir, meta)
    try:
        model.load_state_dict(state)
    except Exception as err:  # e.g. dtypes that cannot be copied into the parameters
        raise CheckpointError(f"{where(ckpt_dir)}: {WEIGHTS} does not load into arch "
                              f"{meta['arch']!r} ({type(err).__name__}: {err}).") from err
    dev = choose_device(device)
    model = model.to(dev).eval().requires_grad_(False)
    return LoadedModel(ckpt_dir.name, ckpt_dir, model, meta, dev)
