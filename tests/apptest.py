"""Helpers shared by the AppTest suites: checkpoint skips and a stand-in canvas."""
from __future__ import annotations

import sys
import types

import pytest

from explorer.checkpoints import CHECKPOINT_DIR
from ui import common


def need_checkpoints(*names: str) -> None:
    """Skip, naming the train command, while a shipped checkpoint is missing."""
    for name in names:
        if not (CHECKPOINT_DIR / name / "model.safetensors").is_file():
            pytest.skip(f"checkpoints/{name} missing: python scripts/train.py --arch {name}")


def install_canvas(monkeypatch, st_canvas) -> None:
    """Replace the canvas component by `st_canvas` and use the project's own checkpoints."""
    module = types.ModuleType("streamlit_drawable_canvas")
    module.st_canvas = st_canvas
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", module)
    monkeypatch.delenv(common.CHECKPOINT_DIR_ENV, raising=False)


def blank_canvas(**_kwargs) -> types.SimpleNamespace:
    """What the canvas returns before anything is drawn."""
    return types.SimpleNamespace(image_data=None)
