"""meta.json's values, field by field: types, ranges, the arch's config fields, params, sha256."""
from __future__ import annotations

import math
import re
import typing
from dataclasses import fields
from pathlib import Path

from torch import nn

from explorer.model.checkpoint_paths import CheckpointError, train_command, where
from explorer.model.registry import ARCHS, count_params, get_arch

SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")

_MISSING = object()


def _meta_error(ckpt_dir: Path, field: str, problem: str, value=_MISSING) -> CheckpointError:
    """A CheckpointError naming the checkpoint, the meta.json field, its value and the problem."""
    shown = "missing" if value is _MISSING else f"= {value!r}"
    if len(shown) > 80:  # a forged value can be megabytes long
        shown = shown[:77] + "..."
    return CheckpointError(f"{where(ckpt_dir)}: meta.json field {field!r} {shown}: {problem}. "
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
        raise CheckpointError(f"{where(ckpt_dir)}: folder {folder} holds an arch {arch!r} "
                              f"checkpoint, not {folder!r}. Rename the folder or retrain: "
                              f"{train_command(ckpt_dir)}")


def check_meta_values(ckpt_dir: Path, meta: dict) -> None:
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


def check_params(ckpt_dir: Path, meta: dict, model: nn.Module) -> None:
    """Raise CheckpointError unless meta.json's params is the built model's count."""
    if count_params(model) != meta["params"]:
        raise _meta_error(ckpt_dir, "params", f"the config builds a model with "
                          f"{count_params(model):,} parameters", meta["params"])
