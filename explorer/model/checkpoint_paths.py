"""Where checkpoints live, and how an error names one: the folder, its display path, the fix.

NB: its own module so that checkpoints.py and checkpoint_meta.py both import it, not each other.
"""
from __future__ import annotations

import os
from pathlib import Path

from explorer.errors import PROJECT_ROOT, ExplainedError, display_path
from explorer.model import registry

CHECKPOINT_DIR = PROJECT_ROOT / "checkpoints"
CHECKPOINT_DIR_ENV = "EXPLORER_CHECKPOINT_DIR"  # another folder of checkpoints (tests, latency)


class CheckpointError(ExplainedError):
    """A checkpoint is missing or unusable; the message names the file and the fix."""



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


def train_command(out: Path) -> str:
    """The exact command that (re)makes the checkpoint folder `out` (named after its arch).

    NB: a folder not named after an arch gets the default model's command, a guess.
    """
    arch = out.name if out.name in registry.ARCHS else registry.the(registry.DEFAULT)
    return f"python scripts/train.py --arch {arch} --out {display_path(out)}"


def where(ckpt_dir: Path) -> str:
    """How error messages name a checkpoint: model name and display path."""
    return f"Checkpoint {ckpt_dir.name!r} ({display_path(ckpt_dir)})"

