"""Shared fixtures: the shipped test split and small fake MNIST roots."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from explorer.data import load_test_split

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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
    """The real MNIST root, or skip: tests marked train_set need the 60,000 images."""
    root = Path(os.environ.get("MNIST_ROOT") or SHARED_DATA)
    if not (root / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.skip(f"MNIST training split not found under {root} (set MNIST_ROOT)")
    return root
