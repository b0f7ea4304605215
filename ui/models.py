"""Models in the UI: one cached, shared, read-only model per checkpoint; the sidebar picker.

NB: the cached model is shared by every session: eval mode, no grad, never mutated.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import logging
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer.errors import ExplainedError
from explorer.maths.summary import layer_table
from explorer.model import registry
from explorer.model.checkpoints import CheckpointError, LoadedModel, checkpoint_root, load_model
from explorer.model.heads import TASKS
from explorer.model.inference import model_outputs, predict_logits
from explorer.yours.opened import YourModel
from ui import safe_text
from ui.state import MODEL_KEY

log = logging.getLogger("digit_explorer")
_LOGITS_CACHE_KEY = "_logits_cache"
# NB: the server runs one small forward pass per stroke: torch's intra-op threads would only
# spin against the browser and the other sessions for the same cores (beside a busy
# chromium on 2 cores, a 1 ms forward pass took 50-70 ms with 2 threads).
torch.set_num_threads(1)


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _load_cached(name: str, folder: str, weights_mtime_ns: int) -> LoadedModel:
    # NB: shared by every session; read-only (eval mode, no grad). Errors are not cached,
    # so a checkpoint that appears later is picked up on the next rerun; the mtime in the
    # key picks up a retrained one.
    loaded = load_model(Path(folder) / name)
    width = TASKS[loaded.arch.task].width  # 56 for a two-digit model
    model_outputs(loaded.model, np.zeros((1, 28, width), np.float32), loaded.device, width)
    return loaded  # NB: after a warm-up forward pass, so the first stroke is fast


YOURS_KEY = "_your_model"  # plain key: this session's uploaded model (a YourModel), or None


def your_model() -> YourModel | None:
    """This session's own model (the "Your model" page), or None; no other session sees it."""
    return st.session_state.get(YOURS_KEY)


def picker_names() -> tuple[str, ...]:
    """The picker's models: the registry's ten-way classifiers, then this session's own."""
    yours = your_model()
    return registry.names() + ((yours.name,) if yours is not None else ())


def get_model(name: str) -> LoadedModel:
    """The cached model for a name; raises CheckpointError with the fix in its message."""
    yours = your_model()
    if yours is not None and name == yours.name:
        return yours
    if name not in registry.names(None):
        raise CheckpointError(f"Unknown model {name!r}; choose one of "
                              f"{', '.join(registry.names())}.")
    weights = checkpoint_root() / name / "model.safetensors"
    mtime = weights.stat().st_mtime_ns if weights.is_file() else 0
    return _load_cached(name, str(checkpoint_root()), mtime)


def picked_model(yours_here: str | None = None) -> LoadedModel | None:
    """The sidebar's model, or None after showing why it can't load and what to do.

    A page where a user's model does not apply passes `yours_here`, the reason: the page then
    says so and shows the default model. NB: where it applies, its diagnosis comes first.
    """
    name = st.session_state.get(MODEL_KEY) or registry.the(registry.DEFAULT)
    yours = your_model()
    if yours is not None and name == yours.name:
        if yours_here is None:
            diagnosis_banner(yours)
            return yours
        st.info(f"Your model isn't on this page: {yours_here}. Showing the default model.",
                icon=":material/info:")
        name = registry.the(registry.DEFAULT)
    try:
        return get_model(name)
    except CheckpointError as err:
        st.error(f"Model {safe_text.literal(name)} cannot be loaded. {safe_text.explain(err)}")
        st.info("Pick another model in the sidebar while this one is missing.")
        return None


def diagnosis_banner(yours: YourModel) -> None:
    """One line on top of a page: what the diagnosis found, and where to read it whole."""
    findings = yours.diagnosis.findings
    worst = findings[0].severity if findings else "info"
    what = "; ".join(f"`{f.id}`" for f in findings) or "no findings"
    text = (f"{safe_text.literal(yours.name)}: {what} (accuracy {yours.diagnosis.accuracy:.2%} "
            f"on the MNIST test set). The **Your model** page has the evidence and the fixes.")
    {"error": st.error, "warning": st.warning}.get(worst, st.info)(
        text, icon=":material/stethoscope:")


def preload_default_model() -> None:
    """Load the default model at app start so the first stroke does not wait for it.

    NB: any failure is only logged: the page that needs the model says why, and the
    other models stay reachable from the sidebar.
    """
    try:
        get_model(registry.the(registry.DEFAULT))
    except Exception as err:  # noqa: BLE001 - a bad default model must not take the app down
        log.warning("default model not preloaded: %s", err)


@functools.cache
def freeze_the_heap_after(page: str) -> None:
    """Once per page and process, after its first run: move what is alive out of GC's sight.

    NB: Streamlit runs gc.collect(2) after every script run; with torch, plotly and the
    model in the heap that full collection took 150 ms, most of the server's CPU per stroke
    (py-spy). Frozen, the ~270,000 long-lived objects (and each page's modules, imported on
    its first run) are never scanned again: the collection after a run costs ~0 ms and still
    frees the sessions' own garbage. Garbage is collected before each freeze, so nothing
    dead is kept; what a first run leaves alive (its session) is kept for good: a few kB.
    """
    freeze_the_heap(f"{page or 'the default page'}'s first run")


def freeze_the_heap(after: str) -> None:
    """Collect, then freeze what is left alive (see freeze_the_heap_after); log the count."""
    gc.collect()
    gc.freeze()
    log.info("after %s, %d objects are out of the post-run GC", after, gc.get_freeze_count())


@st.cache_data(show_spinner=False, max_entries=16)
def layer_rows(arch: str, config: dict) -> list[dict]:
    """The layer table of an architecture, from a private fresh build (never the cached model)."""
    return layer_table(registry.build_model(arch, config).eval())


def model_picker() -> str:
    """The sidebar model selectbox (key MODEL_KEY); returns the chosen name."""
    names = picker_names()
    if st.session_state.get(MODEL_KEY) not in names:
        st.session_state[MODEL_KEY] = registry.the(registry.DEFAULT)
    return st.sidebar.selectbox(
        "Model", names, key=MODEL_KEY,
        help=" · ".join(f"{name}: {_blurb(name)}" for name in names))


def _blurb(name: str) -> str:
    """A picker model's one line: the registry's, or "your model"."""
    return registry.get_arch(name).blurb if name in registry.ARCHS else "your model"


def session_memo(store: str, loaded: LoadedModel, image28, extra: tuple, compute,
                 max_entries: int = 64):
    """compute() memoised in this session by checkpoint, image bytes and `extra`.

    NB: widget moves rerun the page; this keeps them from rerunning the model. Oldest first out.
    """
    image28 = np.ascontiguousarray(image28, dtype=np.float32)  # (28, 28)
    key = (str(loaded.path), loaded.meta.get("weights_sha256"), *extra,
           hashlib.sha1(image28.tobytes()).hexdigest())
    memo: dict = st.session_state.setdefault(store, {})
    if key not in memo:
        if len(memo) >= max_entries:
            memo.pop(next(iter(memo)))
        memo[key] = compute()
    return memo[key]


def ovr_model() -> LoadedModel | None:
    """The one-vs-rest model (the registry's ONE_VS_REST, cached), or None when it cannot load."""
    try:
        return get_model(registry.the(registry.ONE_VS_REST))
    except ExplainedError as err:  # a missing checkpoint, or no model with the role
        log.warning("no one-vs-rest sigmoids: %s", err)
        return None


def ovr_logits_for(image28: np.ndarray) -> np.ndarray | None:
    """(10,) logits of the one-vs-rest model for an image, or None when it cannot load."""
    loaded = ovr_model()
    return None if loaded is None else logits_for(loaded, image28)


def logits_for(loaded: LoadedModel, image28: np.ndarray) -> np.ndarray:
    """(10,) model outputs for one image, memoised per session by model and image bytes."""
    image28 = np.ascontiguousarray(image28, dtype=np.float32)  # (28, 28)
    return session_memo(_LOGITS_CACHE_KEY, loaded, image28, (),
                        lambda: predict_logits(loaded, image28[None])[0])  # (10,)
