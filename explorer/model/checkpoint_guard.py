"""Where train.py may write: never over a checkpoint unasked, a dry run never in checkpoints/."""
from __future__ import annotations

import json
from pathlib import Path

from explorer.model import checkpoint_paths
from explorer.model.checkpoints import META, WEIGHTS


def holds_checkpoint(folder: Path) -> bool:
    return (folder / WEIGHTS).exists() or (folder / META).exists()


def describe_checkpoint(folder: Path) -> str:
    """"a checkpoint (test accuracy 99.40%)" from its meta.json, as far as that reads."""
    try:
        meta = json.loads((folder / META).read_text())
        accuracy = f"test accuracy {float(meta['metrics']['test']['accuracy']):.2%}"
    except (OSError, ValueError, TypeError, KeyError):
        accuracy = "unknown accuracy"
    return f"a checkpoint ({accuracy})"


def is_inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def refusal(out: Path | None, dry_run: bool, force: bool) -> str | None:
    """Why writing `out` could lose a model (None: go ahead; `out` None is a fresh temp dir)."""
    if out is None:
        return None
    if dry_run and is_inside(out, checkpoint_paths.CHECKPOINT_DIR):
        return (f"--dry-run never writes into the shipped checkpoints folder "
                f"{checkpoint_paths.CHECKPOINT_DIR}, and --out {out} is inside it; drop --out (a "
                f"fresh temporary folder is used) or pass --out NEW_FOLDER outside it.")
    if not holds_checkpoint(out):
        return None
    what = describe_checkpoint(out)
    if dry_run:
        return (f"{out} already holds {what}; --dry-run never overwrites a checkpoint: drop "
                f"--out (a fresh temporary folder is used) or pass --out NEW_FOLDER.")
    if not force:
        return (f"{out} already holds {what}; not overwriting it. Pass --force to replace it, "
                f"or --out NEW_FOLDER to keep it.")
    return None
