"""Self-describing checkpoints: safetensors weights plus a JSON sidecar. Never pickles."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import typing
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from explorer.confidence import as_logits, softmax
from explorer.registry import ARCHS, Arch, build_model, count_params, get_arch

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = PROJECT_ROOT / "checkpoints"
CHECKPOINT_DIR_ENV = "EXPLORER_CHECKPOINT_DIR"  # another folder of checkpoints (tests, latency)
WEIGHTS, META = "model.safetensors", "meta.json"
REQUIRED_KEYS = ("arch", "config", "params", "temperature", "metrics", "weights_sha256")
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


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


def is_bare_name(name_or_path: str | os.PathLike) -> bool:
    """True for a model name like "cnn": no path separator, not a .json/.safetensors file."""
    text = os.fspath(name_or_path)
    separators = [sep for sep in (os.sep, os.altsep, "/") if sep]
    return (isinstance(text, str) and text not in ("", ".", "..")
            and not any(sep in text for sep in separators)
            and not text.endswith((".json", ".safetensors")))


def resolve_dir(name_or_path: str | os.PathLike) -> Path:
    """A model name ("cnn"), a checkpoint folder, or a file inside one -> the folder.

    NB: a bare name is looked up only in checkpoint_root(), never the working directory, so a
    stray ./cnn cannot shadow the shipped model; pass "./cnn" for that folder. Path("./cnn")
    is Path("cnn"), a bare name.
    """
    if is_bare_name(name_or_path):
        return checkpoint_root() / os.fspath(name_or_path)
    path = Path(name_or_path)
    if path.suffix in (".safetensors", ".json"):
        return path.parent
    return path


def display_path(path: str | os.PathLike) -> str:
    """The path relative to the project root, else only its last component: never absolute.

    NB: error messages reach the page, which must not learn the server's directory layout.
    """
    absolute = Path(os.path.abspath(path))  # no resolve(): a symlinked folder keeps its name
    try:
        return absolute.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return absolute.name


def train_command(out: Path) -> str:
    """The exact command that (re)makes the checkpoint folder `out` (named after its arch)."""
    arch = out.name if out.name in ARCHS else "cnn"
    return f"python scripts/train.py --arch {arch} --out {display_path(out)}"


def _where(ckpt_dir: Path) -> str:
    """How error messages name a checkpoint: model name and display path."""
    return f"Checkpoint {ckpt_dir.name!r} ({display_path(ckpt_dir)})"


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


_MISSING = object()


def _meta_error(ckpt_dir: Path, field: str, problem: str, value=_MISSING) -> CheckpointError:
    """A CheckpointError naming the checkpoint, the meta.json field, its value and the problem."""
    shown = "missing" if value is _MISSING else f"= {value!r}"
    if len(shown) > 80:  # a forged value can be megabytes long
        shown = shown[:77] + "..."
    return CheckpointError(f"{_where(ckpt_dir)}: meta.json field {field!r} {shown}: {problem}. "
                           f"Use a checkpoint made by scripts/train.py of this version, or "
                           f"retrain: {train_command(ckpt_dir)}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value) -> bool:
    # NB: math.isfinite overflows on huge JSON ints, which are finite anyway.
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _config_value_problem(field: str, hint, value) -> str | None:
    """Why a config value does not fit its dataclass field's type, or None if it does."""
    if hint is int:
        return None if _is_int(value) and value > 0 else "must be a positive int"
    if hint is float:
        if not _is_finite_number(value):
            return "must be a finite number"
        if field.startswith("dropout") and not 0 <= value < 1:
            return "must be a dropout rate in [0, 1)"
        return None
    if hint in (bool, str):
        return None if type(value) is hint else f"must be a {hint.__name__}"
    return None  # a type this check does not know; building the model will judge it


def _check_config(ckpt_dir: Path, arch: str, config) -> None:
    """Raise CheckpointError unless config has exactly the arch config's fields, well typed."""
    if not isinstance(config, dict):
        raise _meta_error(ckpt_dir, "config", "must be a JSON object", config)
    config_cls = get_arch(arch).config_cls
    hints = typing.get_type_hints(config_cls)  # the annotations are strings (PEP 563)
    names = [f.name for f in fields(config_cls)]
    for key in config:
        if key not in names:
            raise _meta_error(ckpt_dir, f"config.{key}", f"bad config for {arch!r}: not one of "
                              f"its fields ({', '.join(names)})", config[key])
    for name in names:
        if name not in config:
            raise _meta_error(ckpt_dir, f"config.{name}", f"bad config for {arch!r}")
        problem = _config_value_problem(name, hints.get(name), config[name])
        if problem:
            raise _meta_error(ckpt_dir, f"config.{name}", problem, config[name])


def _check_arch(ckpt_dir: Path, arch) -> None:
    """Raise CheckpointError unless arch names a registered architecture that fits the folder."""
    if not isinstance(arch, str):
        raise _meta_error(ckpt_dir, "arch", "must be a string naming an architecture", arch)
    if arch not in ARCHS:
        raise _meta_error(ckpt_dir, "arch", f"unknown arch {arch!r}; known: "
                          f"{', '.join(sorted(ARCHS))}", arch)
    folder = ckpt_dir.name
    if folder in ARCHS and folder != arch:
        # NB: a folder named after a model is taken for that model (the picker, train_command).
        raise CheckpointError(f"{_where(ckpt_dir)}: folder {folder} holds an arch {arch!r} "
                              f"checkpoint, not {folder!r}. Rename the folder or retrain: "
                              f"{train_command(ckpt_dir)}")


def _check_meta_values(ckpt_dir: Path, meta: dict) -> None:
    """Raise CheckpointError naming the first meta.json field whose value is unusable."""
    _check_arch(ckpt_dir, meta["arch"])
    _check_config(ckpt_dir, meta["arch"], meta["config"])
    temperature, params = meta["temperature"], meta["params"]
    if not (_is_finite_number(temperature) and temperature > 0):
        raise _meta_error(ckpt_dir, "temperature", "must be a finite number > 0", temperature)
    if not (_is_int(params) and params >= 0):
        raise _meta_error(ckpt_dir, "params", "must be an int >= 0", params)
    if not isinstance(meta["metrics"], dict):
        raise _meta_error(ckpt_dir, "metrics", "must be a JSON object", meta["metrics"])
    sha = meta["weights_sha256"]
    if not (isinstance(sha, str) and SHA256_HEX.fullmatch(sha)):
        raise _meta_error(ckpt_dir, "weights_sha256", "must be 64 hex digits", sha)


def read_meta(ckpt_dir: Path) -> dict:
    """Parse and validate meta.json (every required value); CheckpointError on anything wrong."""
    for file in (WEIGHTS, META):
        if not (ckpt_dir / file).is_file():
            raise CheckpointError(f"{_where(ckpt_dir)}: file {file} is missing. Make it with: "
                                  f"{train_command(ckpt_dir)}")
    try:
        meta = json.loads((ckpt_dir / META).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{_where(ckpt_dir)}: {META} is not valid JSON ({err}). "
                              f"Retrain with: {train_command(ckpt_dir)}") from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"{_where(ckpt_dir)}: {META} is not a JSON object. "
                              f"Retrain with: {train_command(ckpt_dir)}")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"{_where(ckpt_dir)}: {META} lacks the keys {missing}. "
                              f"Retrain with: {train_command(ckpt_dir)}")
    _check_meta_values(ckpt_dir, meta)
    return meta


def _load_state(ckpt_dir: Path, meta: dict) -> dict[str, torch.Tensor]:
    """The weights file's tensors, after checking its sha256 against meta.json."""
    weights = ckpt_dir / WEIGHTS
    if sha256_file(weights) != meta["weights_sha256"].lower():
        raise CheckpointError(
            f"{_where(ckpt_dir)}: {WEIGHTS} does not match the sha256 in its meta.json: the "
            f"file was changed or partly copied. Restore it (git checkout / copy again) or "
            f"retrain.")
    try:
        return load_file(str(weights))
    except Exception as err:  # any parser failure means the same thing to the user
        raise CheckpointError(f"{_where(ckpt_dir)}: {WEIGHTS} is truncated or corrupt "
                              f"({type(err).__name__}: {err}). Restore it or retrain.") from err


def _build(ckpt_dir: Path, meta: dict, device: torch.device | None = None) -> nn.Module:
    """The model meta.json describes, untrained; on the meta device it allocates nothing."""
    try:
        with torch.device(device or "cpu"):
            return build_model(meta["arch"], meta["config"])
    except Exception as err:  # an arch's build may fail in any way on odd-but-typed config
        raise CheckpointError(f"{_where(ckpt_dir)}: bad config for {meta['arch']!r}, the "
                              f"model cannot be built ({type(err).__name__}: {err}).") from err


def _check_params(ckpt_dir: Path, meta: dict, model: nn.Module) -> None:
    """Raise CheckpointError unless meta.json's params is the built model's count."""
    if count_params(model) != meta["params"]:
        raise _meta_error(ckpt_dir, "params", f"the config builds a model with "
                          f"{count_params(model):,} parameters", meta["params"])


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
        raise CheckpointError(f"{_where(ckpt_dir)}: {WEIGHTS}: tensor {key!r} {problem}. The "
                              f"weights do not fit the declared architecture; retrain or fix "
                              f"meta.json.")


def load_model(name_or_path: str | os.PathLike = "cnn",
               device: str | torch.device | None = None) -> LoadedModel:
    """Rebuild a model from its meta.json and load its safetensors weights, in eval mode.

    NB: the config is first built on the meta device and checked against params and the
    weights' shapes, so a forged huge config never allocates real memory.
    """
    ckpt_dir = resolve_dir(name_or_path)
    meta = read_meta(ckpt_dir)
    skeleton = _build(ckpt_dir, meta, torch.device("meta"))
    _check_params(ckpt_dir, meta, skeleton)
    state = _load_state(ckpt_dir, meta)
    _check_fits(skeleton, state, ckpt_dir, meta["arch"])
    model = _build(ckpt_dir, meta)
    try:
        model.load_state_dict(state)
    except Exception as err:  # e.g. dtypes that cannot be copied into the parameters
        raise CheckpointError(f"{_where(ckpt_dir)}: {WEIGHTS} does not load into arch "
                              f"{meta['arch']!r} ({type(err).__name__}: {err}).") from err
    dev = choose_device(device)
    model = model.to(dev).eval().requires_grad_(False)
    return LoadedModel(ckpt_dir.name, ckpt_dir, model, meta, dev)
