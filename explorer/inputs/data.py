"""MNIST: the training split through torchvision, the test split shipped in the package."""
from __future__ import annotations

import gzip
import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from explorer.errors import PROJECT_ROOT, ExplainedError, display_path

ASSETS = Path(__file__).parent / "assets"
TEST_FILES = {
    # name: sha256 of the uncompressed idx file (the originals from LeCun et al.)
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
DEFAULT_ROOT = PROJECT_ROOT / "data"


class DataError(ExplainedError):
    """MNIST could not be found or read; the message says where the files go."""


def resolve_root(data_dir: str | os.PathLike | None = None) -> Path:
    """Data root: --data-dir, then $MNIST_ROOT, then ./data (gitignored)."""
    return Path(data_dir or os.environ.get("MNIST_ROOT") or DEFAULT_ROOT)


TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


def _missing_message(root: Path, err: Exception) -> str:
    """One line: what failed, where the four files go, and how to choose the root."""
    reason = " ".join(str(err).split()) or type(err).__name__  # torchvision's are multi-line
    return (
        f"MNIST could not be loaded from {root} ({reason}). With no network, put the four "
        f"MNIST files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        f"t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz) in "
        f"{root / 'MNIST' / 'raw'}{os.sep}, or pass --data-dir / set MNIST_ROOT to a folder "
        f"that has MNIST/raw/ inside."
    )


def _missing_dirs(path: Path) -> list[Path]:
    """`path` and those of its ancestors that do not exist yet, deepest first."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """rmdir each folder (deepest first) that exists and is empty; leave anything else."""
    for folder in folders:
        try:
            folder.rmdir()  # only ever removes an empty folder
        except OSError:
            pass


def load_mnist(train: bool, data_dir: str | os.PathLike | None = None):
    """(images uint8 (N, 28, 28), labels int64 (N,)) via torchvision, downloading if needed.

    If that fails, the folders torchvision made on the way (`<root>/MNIST/raw` and any
    missing parents) are removed again when empty: a failed load leaves no trace.
    """
    from torchvision.datasets import MNIST

    root = resolve_root(data_dir)
    created = _missing_dirs(root / "MNIST" / "raw")  # what torchvision's download would make
    try:
        ds = MNIST(str(root), train=train, download=True)
    except (RuntimeError, OSError, ValueError) as err:
        _remove_empty(created)
        raise DataError(_missing_message(root, err)) from err
    except BaseException:  # KeyboardInterrupt during a download, say
        _remove_empty(created)
        raise
    return ds.data.numpy(), ds.targets.numpy().astype(np.int64)


def _read_idx(name: str) -> np.ndarray:
    path = ASSETS / f"{name}.gz"
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"shipped test split {display_path(path)} is missing or unreadable "
                        f"({type(err).__name__}). "
                        f"Restore it with `git checkout -- {display_path(path)}`.") from err
    if hashlib.sha256(raw).hexdigest() != TEST_FILES[name]:
        raise DataError(f"shipped test split {display_path(path)} fails its sha256 check; "
                        f"restore it from git.")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@lru_cache(maxsize=1)
def load_test_split() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test images (uint8 (10000, 28, 28)) and labels, from the package.

    NB: arrays are read-only and shared; copy before changing them.
    """
    images = _read_idx("t10k-images-idx3-ubyte")
    labels = _read_idx("t10k-labels-idx1-ubyte").astype(np.int64)
    if images.shape != (10000, 28, 28) or labels.shape != (10000,):
        raise DataError(f"shipped test split has shape {images.shape}/{labels.shape}, "
                        "expected (10000, 28, 28)/(10000,)")
    labels.setflags(write=False)
    return images, labels


def load_test_float() -> tuple[np.ndarray, np.ndarray]:
    """Shipped test images as float32 (10000, 28, 28) in [0, 1], and labels."""
    images, labels = load_test_split()
    return images.astype(np.float32) / 255.0, labels


def split_train_val(n: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic shuffled (train_idx, val_idx) split of range(n)."""
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
