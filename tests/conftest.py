"""Shared fixtures: the shipped test split and small fake MNIST roots."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer.data import TRAIN_FILES, load_test_split, resolve_root


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an uint8 array in MNIST's idx format (magic 0x0800 | ndim)."""
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="session")
def fake_mnist_root(tmp_path_factory) -> Path:
    """A torchvision-layout MNIST root whose "training" split is 1,200 shipped test images."""
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images, labels = load_test_split()
    write_idx(raw / "train-images-idx3-ubyte", images[:1200])
    write_idx(raw / "train-labels-idx1-ubyte", labels[:1200])
    write_idx(raw / "t10k-images-idx3-ubyte", images[1200:1400])
    write_idx(raw / "t10k-labels-idx1-ubyte", labels[1200:1400])
    return root


@pytest.fixture(scope="session")
def train_root() -> Path:
    """The real MNIST root, found as scripts/train.py finds it ($MNIST_ROOT, then data/),
    or skip: tests marked train_set need the 60,000 images."""
    root = resolve_root()
    raw = root / "MNIST" / "raw"
    if not all((raw / name).exists() or (raw / f"{name}.gz").exists() for name in TRAIN_FILES):
        pytest.skip(f"MNIST training split not found under {root}: set MNIST_ROOT to the "
                    f"folder that holds MNIST/raw/ (CI: ../shared/data)")
    return root


@pytest.fixture
def canvas(monkeypatch):
    """A stand-in canvas component (tests.apptest.FakeCanvas): set .image to 'draw'."""
    from tests.apptest import FakeCanvas, install_canvas

    fake = FakeCanvas()
    install_canvas(monkeypatch, fake.st_canvas)
    return fake
