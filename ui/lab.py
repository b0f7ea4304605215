"""Shared helpers of the Confidence lab pages: cached test-set logits and loadable models.

The 10,000 test-set logits are read once per checkpoint from its test_logits.safetensors
(computed instead when that file is missing or stale, see explorer.lab.testset_logits), cached
with st.cache_data keyed by the checkpoint's name, folder and weights_sha256, and reused by
every lab page and session.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures import outputs
from explorer.inputs.data import load_test_float, load_test_split
from explorer.lab.ood import NotADigit, not_a_digit, why_not_a_digit
from explorer.lab.testset_logits import testset_logits as stored_or_computed_logits
from explorer.model.checkpoints import CheckpointError, LoadedModel
from explorer.yours.opened import YourModel
from ui import models, safe_text

REFIT_KEY = "lab_refit"  # plain key: {checkpoint id: refit result dict}


# --- Test-set logits ----------------------------------------------------------------------
@st.cache_data(show_spinner="The model's outputs on the 10,000 test images…",
               max_entries=8)
def _cached_testset_logits(name: str, folder: str, weights_sha256: str,
                           _loaded: LoadedModel) -> np.ndarray:
    # NB: the model itself is not hashed (leading underscore): the checkpoint id is the key.
    return stored_or_computed_logits(_loaded)


def testset_logits(loaded: LoadedModel) -> np.ndarray:
    """The model's (10000, 10) test-set outputs, cached per checkpoint across sessions.

    NB: a user's model brings its own, from its diagnosis, and shares no cache.
    """
    if isinstance(loaded, YourModel):
        return loaded.test_outputs
    return _cached_testset_logits(loaded.name, str(loaded.path),
                                  str(loaded.meta.get("weights_sha256", "")), loaded)


@st.cache_data(show_spinner=False, max_entries=16)
def _usual_logit_range(name: str, folder: str, weights_sha256: str,
                       _loaded: LoadedModel) -> list[float]:
    return outputs.usual_logit_range(testset_logits(_loaded))


def usual_logit_range(loaded: LoadedModel) -> list[float]:
    """The model's logit axis for the Explorer (figures.outputs.usual_logit_range), cached."""
    if isinstance(loaded, YourModel):  # per session: another session may not see its figures
        memo = st.session_state.setdefault("_yours_usual_range", {})
        key = loaded.meta["weights_sha256"]
        if key not in memo:
            memo.clear()
            memo[key] = outputs.usual_logit_range(loaded.test_outputs)  # raw, as the shipped
        return memo[key]
    return _usual_logit_range(loaded.name, str(loaded.path),
                              str(loaded.meta.get("weights_sha256", "")), loaded)


def testset_labels() -> np.ndarray:
    """(10000,) int64 labels of the shipped test split."""
    return load_test_split()[1]


def checkpoint_id(loaded: LoadedModel) -> str:
    return f"{loaded.path}:{loaded.meta.get('weights_sha256', '')}"


def load_models(names=None) -> tuple[dict[str, LoadedModel], dict[str, str]]:
    """The loadable models by name (default: every picker model, yours too), and each one's
    error."""
    loaded, errors = {}, {}
    for name in models.picker_names() if names is None else names:
        try:
            loaded[name] = models.get_model(name)
        except CheckpointError as err:
            errors[name] = safe_text.explain(err)
    return loaded, errors


# --- The "not a digit" verdict ---------------------------------------------------------------
def not_a_digit_reason(model_name: str, image28) -> NotADigit | None:
    """The verdict's reading of one image (explorer.lab.ood.why_not_a_digit), or None with a
    warning when the detector is missing or broken: the page falls back to the energy cut."""
    try:
        return why_not_a_digit(model_name, np.asarray(image28)[None])[0]
    except (FileNotFoundError, ValueError) as err:  # a broken install: say so, keep going
        st.warning(f"The not-a-digit detector is unavailable ({safe_text.literal(str(err), 200)});"
                   f" the verdict falls back to the model's energy cut.")
        return None


@st.cache_data(show_spinner="The not-a-digit verdict on the 10,000 test images…", max_entries=8)
def testset_not_a_digit(model_name: str) -> np.ndarray | None:
    """(10000,) bools: the verdict's "not a digit" on the shipped test split; None without a
    detector."""
    try:
        return not_a_digit(model_name, load_test_float()[0])
    except (FileNotFoundError, ValueError):
        return None
