"""Each checkpoint's outputs on the 10,000 shipped test images, stored beside its weights.

The lab pages (Calibration, Gallery, Compare, Double softmax) need all 10,000 outputs; the
cnn takes seconds to compute them on a CPU, so `scripts/train.py` writes them into
`test_logits.safetensors` next to `model.safetensors`. They are float32, as the model
computes them, so every figure the lab shows equals meta.json's to the last digit:
10,000 × 10 × 4 bytes = 400 kB per model. The file records the sha256 of the weights and
of the test split it was made from; a file that does not match (or does not parse) is
ignored and the outputs are recomputed in memory. The app never writes into checkpoints/.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from explorer.errors import display_path
from explorer.inputs.data import TEST_FILES, load_test_float
from explorer.model.checkpoints import LoadedModel
from explorer.model.inference import predict_logits
from explorer.model.networks import N_CLASSES

log = logging.getLogger(__name__)

TEST_LOGITS = "test_logits.safetensors"
TENSOR = "logits"
N_TEST = 10_000
SHAPE = (N_TEST, N_CLASSES)
DTYPE = "float32"


def shipped_split_sha256() -> str:
    """One id for the shipped test split: sha256 over its files' names and sha256s."""
    text = "".join(f"{name} {sha}\n" for name, sha in sorted(TEST_FILES.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def write_test_logits(ckpt_dir: str | os.PathLike, logits, weights_sha256: str) -> Path:
    """Store (10000, 10) outputs as float32 in ckpt_dir/test_logits.safetensors; its path.

    NB: written to a temporary name and renamed, so a reader never sees half a file.
    """
    logits = np.asarray(logits)
    if logits.shape != SHAPE or not np.isfinite(logits).all():
        raise ValueError(f"test logits must be finite with shape {SHAPE}, got {logits.shape}")
    path = Path(ckpt_dir) / TEST_LOGITS
    metadata = {"weights_sha256": str(weights_sha256).lower(),
                "test_split_sha256": shipped_split_sha256(), "n": str(N_TEST), "dtype": DTYPE}
    partial = path.with_name(path.name + ".partial")
    try:
        save_file({TENSOR: np.ascontiguousarray(logits, dtype=np.float32)}, str(partial),
                  metadata=metadata)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)  # only left over when writing failed
    return path


def _load(path: Path) -> tuple[dict, np.ndarray]:
    """The file's metadata and its one tensor; any parser error propagates."""
    with safe_open(str(path), framework="np") as f:
        return dict(f.metadata() or {}), f.get_tensor(TENSOR)


def _mismatch(metadata: dict, logits: np.ndarray, weights_sha256: str) -> str | None:
    """Why these stored outputs don't belong to these weights and this test split, or None."""
    if metadata.get("weights_sha256") != weights_sha256.lower():
        return "it was made from other weights (weights_sha256 differs)"
    if metadata.get("test_split_sha256") != shipped_split_sha256():
        return "it was made from another test split (test_split_sha256 differs)"
    if logits.shape != SHAPE or logits.dtype != np.float32:
        return f"it holds {logits.dtype} {logits.shape}, expected {DTYPE} {SHAPE}"
    if not np.isfinite(logits).all():
        return "it holds NaN or inf"
    return None


def read_test_logits(loaded: LoadedModel) -> np.ndarray | None:
    """The stored (10000, 10) float32 outputs of this checkpoint, or None (logged at INFO)."""
    path = Path(loaded.path) / TEST_LOGITS
    where = display_path(path)
    if not path.is_file():
        log.info("%s: no stored test-set outputs; computing them", where)
        return None
    try:
        metadata, logits = _load(path)
    except Exception as err:  # noqa: BLE001 - any parser failure: truncated or corrupt
        log.info("%s is unreadable (%s: %s); recomputing", where, type(err).__name__, err)
        return None
    why = _mismatch(metadata, logits, str(loaded.meta.get("weights_sha256", "")))
    if why is not None:
        log.info("%s ignored: %s; recomputing", where, why)
        return None
    return logits


def compute_test_logits(loaded: LoadedModel) -> np.ndarray:
    """(10000, 10) float32 outputs on the shipped test split, computed now."""
    images, _ = load_test_float()  # (10000, 28, 28) float32 in [0, 1]
    return predict_logits(loaded, images)


def testset_logits(loaded: LoadedModel) -> np.ndarray:
    """The checkpoint's (10000, 10) test-set outputs: the stored file if valid, else computed.

    NB: a stale file is only bypassed, never rewritten: the app treats checkpoints/ as
    read-only. `scripts/train.py` writes the file; so does write_test_logits by hand.
    """
    logits = read_test_logits(loaded)
    return compute_test_logits(loaded) if logits is None else logits
