"""Shared helpers of the Confidence lab pages: cached test-set logits, picks, thumbnails.

The 10,000 test-set logits are computed once per checkpoint (st.cache_data keyed by the
checkpoint's name, folder and weights_sha256) and reused by every lab page and session.
"""
from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from explorer import gallery
from explorer.calibration import calibration_report, fit_temperature
from explorer.checkpoints import CheckpointError, LoadedModel
from explorer.confidence import as_logits
from explorer.data import load_test_float, load_test_split
from explorer.inference import predict_logits
from ui import common

REFIT_KEY = "lab_refit"  # plain key: {checkpoint id: refit result dict}
VIEWS = ("Most confident mistakes", "Most uncertain (highest entropy)",
         "Most uncertain (smallest margin)", "All, in test-set order")
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


def ranking_logits(loaded: LoadedModel, outputs: np.ndarray) -> np.ndarray:
    """Outputs fit for ranking and confidences: the exhibit's probabilities go in as their log.

    NB: mlp_softmax outputs probabilities; see explorer.gallery's docstring.
    """
    return as_logits(outputs, loaded.outputs_logits)


def checkpoint_id(loaded: LoadedModel) -> str:
    return f"{loaded.path}:{loaded.meta.get('weights_sha256', '')}"


def load_models(names=common.MODEL_NAMES) -> tuple[dict[str, LoadedModel], dict[str, str]]:
    """The loadable models by name, and the error message of each one that is not."""
    loaded, errors = {}, {}
    for name in names:
        try:
            loaded[name] = common.get_model(name)
        except CheckpointError as err:
            errors[name] = str(err)
    return loaded, errors


# --- Picks --------------------------------------------------------------------------------
def select_examples(logits, labels, view: str, true_class: int | None,
                    predicted_class: int | None, k: int) -> tuple[np.ndarray, int]:
    """Up to k test indices for a gallery view within a true/predicted filter, and the matches."""
    candidates = gallery.filter_indices(logits, labels, true_class, predicted_class)
    sub_logits, sub_labels = np.asarray(logits)[candidates], np.asarray(labels)[candidates]
    if view == VIEWS[0]:
        wrong = int((sub_logits.argmax(axis=1) != sub_labels).sum())
        return candidates[gallery.most_confident_mistakes(sub_logits, sub_labels, k)], wrong
    if view == VIEWS[1]:
        return candidates[gallery.most_uncertain(sub_logits, k, by="entropy")], len(candidates)
    if view == VIEWS[2]:
        return candidates[gallery.most_uncertain(sub_logits, k, by="margin")], len(candidates)
    if view == VIEWS[3]:
        return candidates[:k], len(candidates)
    raise ValueError(f"unknown gallery view {view!r}; choose one of {VIEWS}")


def refit_on_half(logits, labels, checkpoint_t: float) -> dict:
    """Fit T on the even-indexed test images; NLL/ECE on the odd-indexed half at three T's.

    NB: a demonstration only; the checkpoint's T comes from a validation split of the
    training images, and fitting on test images would leak if it were kept.
    """
    logits, labels = np.asarray(logits), np.asarray(labels)
    fit_idx, eval_idx = np.arange(0, len(labels), 2), np.arange(1, len(labels), 2)
    refit_t = fit_temperature(logits[fit_idx], labels[fit_idx])
    rows = []
    for setting, t in (("T = 1", 1.0), ("checkpoint T", float(checkpoint_t)),
                       ("refit T", refit_t)):
        report = calibration_report(logits[eval_idx], labels[eval_idx], t)
        rows.append({"setting": setting, "T": t, "NLL (nats)": report["nll"],
                     "ECE": report["ece"], "accuracy": report["accuracy"]})
    return {"temperature": refit_t, "rows": rows, "n_fit": len(fit_idx),
            "n_eval": len(eval_idx)}


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
