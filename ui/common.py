"""Shared UI helpers: session-state keys, cached model loading, the model picker, guards.

Cross-page values live in plain (non-widget) session-state keys, because Streamlit
deletes a widget's key when a page that does not render the widget runs.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import re
from pathlib import Path

import numpy as np
import streamlit as st

from explorer import gallery, registry
from explorer.checkpoints import CheckpointError, LoadedModel, checkpoint_root, load_model
from explorer.confidence import temperature_grid
from explorer.data import load_test_split
from explorer.inference import predict_logits
from explorer.summary import layer_table

log = logging.getLogger("digit_explorer")

# --- Session-state keys shared by every page -------------------------------------------
TEMPERATURE_KEY = "temperature"  # float: the T every page uses (plain key)
MODEL_KEY = "model_name"  # str: the sidebar picker's key; rendered by app.py on every page
CURRENT_IMAGE_KEY = "current_image28"  # (28, 28) float32 the explorer shows, or None
EXAMPLE_KEY = "example_image28"  # (28, 28) float32 sent to the explorer, or None
EXAMPLE_LABEL_KEY = "example_label"  # its true label (int) or None
# Where it came from, e.g. "MNIST test #123", or None. NB: markdown: escape user text in it.
EXAMPLE_SOURCE_KEY = "example_source"
# Widget key of the explorer's temperature slider; pages read TEMPERATURE_KEY instead.
TEMPERATURE_WIDGET_KEY = "temperature_slider"
_LOGITS_CACHE_KEY = "_logits_cache"

DEFAULT_MODEL = registry.DEFAULT_MODEL
T_GRID = tuple(float(t) for t in temperature_grid())  # the slider's log-spaced stops


PREVIOUS_PAGE_KEY, CURRENT_PAGE_KEY = "_previous_page", "_current_page"


def note_page(url_path: str) -> None:
    """Record which page this full run shows and which one the last run showed."""
    st.session_state[PREVIOUS_PAGE_KEY] = st.session_state.get(CURRENT_PAGE_KEY)
    st.session_state[CURRENT_PAGE_KEY] = url_path


def init_state() -> None:
    """Give every shared plain key its default once per session."""
    st.session_state.setdefault(TEMPERATURE_KEY, 1.0)
    st.session_state.setdefault(MODEL_KEY, DEFAULT_MODEL)
    for key in (CURRENT_IMAGE_KEY, EXAMPLE_KEY, EXAMPLE_LABEL_KEY, EXAMPLE_SOURCE_KEY):
        st.session_state.setdefault(key, None)


# --- Models -----------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _load_cached(name: str, folder: str, weights_mtime_ns: int) -> LoadedModel:
    # NB: shared by every session; read-only (eval mode, no grad). Errors are not cached,
    # so a checkpoint that appears later is picked up on the next rerun; the mtime in the
    # key picks up a retrained one.
    loaded = load_model(Path(folder) / name)
    predict_logits(loaded, np.zeros((1, 28, 28), np.float32))  # warm-up: first stroke is fast
    return loaded


def get_model(name: str) -> LoadedModel:
    """The cached model for a name; raises CheckpointError with the fix in its message."""
    if name not in registry.names():
        raise CheckpointError(f"Unknown model {name!r}; choose one of "
                              f"{', '.join(registry.names())}.")
    weights = checkpoint_root() / name / "model.safetensors"
    mtime = weights.stat().st_mtime_ns if weights.is_file() else 0
    return _load_cached(name, str(checkpoint_root()), mtime)


def picked_model() -> LoadedModel | None:
    """The sidebar's model, or None after showing why it can't load and what to do."""
    name = st.session_state.get(MODEL_KEY, DEFAULT_MODEL)
    try:
        return get_model(name)
    except CheckpointError as err:
        st.error(f"Model **{name}** cannot be loaded. {err}")
        st.info("Pick another model in the sidebar while this one is missing.")
        return None


def preload_default_model() -> None:
    """Load the default model at app start so the first stroke does not wait for it.

    NB: any failure is only logged: the page that needs the model says why, and the
    other models stay reachable from the sidebar.
    """
    try:
        get_model(DEFAULT_MODEL)
    except Exception as err:  # noqa: BLE001 - a bad default model must not take the app down
        log.warning("default model not preloaded: %s", err)


@st.cache_data(show_spinner=False, max_entries=16)
def layer_rows(arch: str, config: dict) -> list[dict]:
    """The layer table of an architecture, from a private fresh build (never the cached model)."""
    return layer_table(registry.build_model(arch, config).eval())


def model_picker() -> str:
    """The sidebar model selectbox (key MODEL_KEY); returns the chosen name."""
    names = registry.names()
    if st.session_state.get(MODEL_KEY) not in names:
        st.session_state[MODEL_KEY] = DEFAULT_MODEL
    return st.sidebar.selectbox(
        "Model", names, key=MODEL_KEY,
        help=" · ".join(f"{name}: {registry.get_arch(name).blurb}" for name in names))


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


def logits_for(loaded: LoadedModel, image28: np.ndarray) -> np.ndarray:
    """(10,) model outputs for one image, memoised per session by model and image bytes."""
    image28 = np.ascontiguousarray(image28, dtype=np.float32)  # (28, 28)
    return session_memo(_LOGITS_CACHE_KEY, loaded, image28, (),
                        lambda: predict_logits(loaded, image28[None])[0])  # (10,)


# --- Temperature ------------------------------------------------------------------------
def snap_temperature(temperature: float) -> float:
    """The slider stop nearest to T on the log scale."""
    grid = np.asarray(T_GRID)
    return T_GRID[int(np.argmin(np.abs(np.log(grid / max(float(temperature), 1e-6)))))]


def set_temperature(temperature: float) -> None:
    """Set the shared T (exact) and move the slider to its nearest stop. NB: callback only."""
    st.session_state[TEMPERATURE_KEY] = float(temperature)
    st.session_state[TEMPERATURE_WIDGET_KEY] = snap_temperature(temperature)


def _slider_moved() -> None:
    st.session_state[TEMPERATURE_KEY] = float(st.session_state[TEMPERATURE_WIDGET_KEY])


def temperature_slider(label: str = "Temperature T (log scale)") -> float:
    """A log-scale T slider synced with TEMPERATURE_KEY; returns the exact shared T."""
    temperature = float(st.session_state.get(TEMPERATURE_KEY, 1.0))
    if st.session_state.get(TEMPERATURE_WIDGET_KEY) != snap_temperature(temperature):
        # Another page (or a fresh visit) set T: show it on the slider.
        st.session_state[TEMPERATURE_WIDGET_KEY] = snap_temperature(temperature)
    st.select_slider(label, options=T_GRID, key=TEMPERATURE_WIDGET_KEY,
                     format_func=lambda t: f"{t:.3g}", on_change=_slider_moved)
    return float(st.session_state[TEMPERATURE_KEY])


# --- Examples and the cross-page hand-off ---------------------------------------------------
EXPLORER_PAGE = "ui/explorer_page.py"


def send_to_explorer(image28: np.ndarray, label: int | None = None,
                     source: str | None = None) -> None:
    """Queue a (28, 28) image in [0, 1] for the explorer; then st.switch_page(EXPLORER_PAGE)."""
    st.session_state[EXAMPLE_KEY] = np.asarray(image28, dtype=np.float32).reshape(28, 28)
    st.session_state[EXAMPLE_LABEL_KEY] = None if label is None else int(label)
    st.session_state[EXAMPLE_SOURCE_KEY] = source


def example_rng() -> np.random.Generator:
    """Randomness for picking examples (tests monkeypatch this to make it deterministic)."""
    return np.random.default_rng()


def pick_example(digit: int | None = None) -> tuple[np.ndarray, int, int]:
    """A random MNIST test digit (of class `digit` if given): (image28 in [0, 1], label, index)."""
    images, labels = load_test_split()  # uint8 (10000, 28, 28), (10000,)
    index = gallery.random_example(labels, example_rng(), digit)
    return images[index].astype(np.float32) / 255.0, int(labels[index]), index


def _load_example_here() -> None:
    """'Load an example' on another page: queue it for the explorer and use it right here."""
    image28, label, index = pick_example()
    send_to_explorer(image28, label, f"MNIST test digit #{index}")
    st.session_state[CURRENT_IMAGE_KEY] = st.session_state[EXAMPLE_KEY]


def current_image_or_invite(button_key: str) -> np.ndarray | None:
    """The explorer's current (28, 28) image with a caption; else an invitation and None.

    NB: with CURRENT_IMAGE_KEY unset it falls back to EXAMPLE_KEY, as the explorer's blank
    canvas does.
    """
    image28 = st.session_state.get(CURRENT_IMAGE_KEY)
    if image28 is None:
        image28 = st.session_state.get(EXAMPLE_KEY)
    if image28 is not None:
        image28 = np.asarray(image28, dtype=np.float32).reshape(28, 28)
        example = st.session_state.get(EXAMPLE_KEY)
        if example is not None and np.array_equal(np.asarray(example).reshape(28, 28), image28):
            where = st.session_state.get(EXAMPLE_SOURCE_KEY) or "an example"
            st.caption(f"Using the Explorer's current image: {where}.")
        else:
            st.caption("Using your current drawing from the Explorer page.")
        return image28
    st.info("✏️ No drawing yet: draw a digit on the **Explorer** page, or load an example here.")
    st.button("Load an example", key=button_key, on_click=_load_example_here,
              help="A random digit from the MNIST test set (the Explorer shows it too)")
    return None


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape_markdown(text: str) -> str:
    """User-supplied text (a file name) shown literally by st.markdown, never as markup.

    NB: a name like ![x](http://host/) would otherwise make the browser fetch that URL;
    ':' goes too, or ':red[...]' and ':material/...:' would style or draw icons.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def guarded(fn):
    """Run a page body or fragment so errors become st.error, never a traceback in the page.

    NB: Streamlit's rerun/stop signals are BaseExceptions and pass through untouched.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CheckpointError as err:
            st.error(str(err))
        except Exception as err:  # noqa: BLE001 - the page must survive anything
            log.exception("page error in %s", fn.__name__)
            st.error(f"Something went wrong ({type(err).__name__}: {err}). "
                     "The details are in the server log.")
    return wrapper
