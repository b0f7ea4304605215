"""Shared helpers of the Confidence lab pages: cached test-set logits, picks, thumbnails.

The 10,000 test-set logits are computed once per checkpoint (st.cache_data keyed by the
checkpoint's name, folder and weights_sha256) and reused by every lab page and session.
"""
from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from explorer import registry
from explorer.checkpoints import CheckpointError, LoadedModel
from explorer.data import load_test_float, load_test_split
from explorer.inference import predict_logits
from ui import common

REFIT_KEY = "lab_refit"  # plain key: {checkpoint id: refit result dict}
THUMB_SIDE = 84  # 3× the 28 px digit, nearest-neighbour


# --- Test-set logits ----------------------------------------------------------------------
def compute_test_logits(loaded: LoadedModel) -> np.ndarray:
    """(10000, 10) float32 model outputs on the shipped test split (uncached)."""
    images, _ = load_test_float()  # (10000, 28, 28) float32 in [0, 1]
    return predict_logits(loaded, images)


@st.cache_data(show_spinner="Running the model over the 10,000 test images…", max_entries=8)
def _cached_testset_logits(name: str, folder: str, weights_sha256: str,
                        _loaded: LoadedModel) -> np.ndarray:
    # NB: the model itself is not hashed (leading underscore): the checkpoint id is the key.
    return compute_test_logits(_loaded)


def testset_logits(loaded: LoadedModel) -> np.ndarray:
    """The model's (10000, 10) test-set outputs, cached per checkpoint across sessions."""
    return _cached_testset_logits(loaded.name, str(loaded.path),
                               str(loaded.meta.get("weights_sha256", "")), loaded)


def testset_labels() -> np.ndarray:
    """(10000,) int64 labels of the shipped test split."""
    return load_test_split()[1]


def testset_image(index: int) -> np.ndarray:
    """One shipped test image as (28, 28) float32 in [0, 1]."""
    return load_test_split()[0][int(index)].astype(np.float32) / 255.0


def checkpoint_id(loaded: LoadedModel) -> str:
    return f"{loaded.path}:{loaded.meta.get('weights_sha256', '')}"


def load_models(names=None) -> tuple[dict[str, LoadedModel], dict[str, str]]:
    """The loadable models by name (default: every registered one), and each one's error."""
    loaded, errors = {}, {}
    for name in registry.names() if names is None else names:
        try:
            loaded[name] = common.get_model(name)
        except CheckpointError as err:
            errors[name] = str(err)
    return loaded, errors


# --- Thumbnails and the example grid -------------------------------------------------------
def thumbnail(image28: np.ndarray, side: int = THUMB_SIDE) -> bytes:
    """A (28, 28) image in [0, 1] as an upscaled greyscale PNG (nearest neighbour)."""
    grey = (np.clip(np.asarray(image28, dtype=np.float32), 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey, "L").resize((side, side), Image.Resampling.NEAREST).save(buffer, "PNG")
    return buffer.getvalue()


def example_grid(indices, captions: list[str], key_prefix: str, per_row: int = 8) -> None:
    """Test images in rows of `per_row`, each captioned, each with a button to the explorer."""
    labels = testset_labels()
    for start in range(0, len(indices), per_row):
        cols = st.columns(per_row)
        for col, index, caption in zip(cols, indices[start:start + per_row],
                                       captions[start:start + per_row]):
            index = int(index)
            with col:
                st.image(thumbnail(testset_image(index)), width=THUMB_SIDE)
                st.caption(caption)
                if st.button("Explore", key=f"{key_prefix}_{index}",
                             help=f"Open MNIST test #{index} on the Explorer page"):
                    common.send_to_explorer(testset_image(index), int(labels[index]),
                                            f"MNIST test #{index}")
                    st.switch_page(common.EXPLORER_PAGE)
