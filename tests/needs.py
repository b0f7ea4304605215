"""What a test needs from its machine: skip without it, or fail where CI requires it.

Each "EXPLORER_REQUIRE_*" variable set to "1" (.ci/run sets them all) turns the skip for
a missing thing into a failure, so a lost checkpoint or browser cannot leave CI green.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from explorer.inputs.data import TRAIN_FILES, resolve_root
from scripts.bench.browser import REQUIRE_BROWSER_ENV

REQUIRE_CHECKPOINTS_ENV = "EXPLORER_REQUIRE_CHECKPOINTS"  # a shipped checkpoint
REQUIRE_TRAIN_SET_ENV = "EXPLORER_REQUIRE_TRAIN_SET"  # MNIST's 60,000 training images
REQUIRE_NODE_ENV = "EXPLORER_REQUIRE_NODE"  # node, for the browser's maths
__all__ = ["REQUIRE_BROWSER_ENV", "REQUIRE_CHECKPOINTS_ENV", "REQUIRE_NODE_ENV",
           "REQUIRE_TRAIN_SET_ENV", "need_train_set", "skip_or_fail"]


def skip_or_fail(reason: str, require_env: str) -> NoReturn:
    """Skip with `reason`; fail with it instead while $`require_env` is "1"."""
    if os.environ.get(require_env) == "1":
        pytest.fail(f"{reason} ({require_env}=1)")
    pytest.skip(reason)


def need_train_set() -> Path:
    """The MNIST root with the training split ($MNIST_ROOT, then data/, as train.py); or skip."""
    root = resolve_root()
    raw = root / "MNIST" / "raw"
    if not all((raw / name).exists() or (raw / f"{name}.gz").exists() for name in TRAIN_FILES):
        skip_or_fail(f"MNIST training split not found under {root}: set MNIST_ROOT to the "
                     f"folder that holds MNIST/raw/ (CI: ../shared/data)", REQUIRE_TRAIN_SET_ENV)
    return root
