"""Session state shared by every page: its keys, the shared temperature and the hand-off.

Cross-page values live in plain (non-widget) session-state keys, because Streamlit
deletes a widget's key when a page that does not render the widget runs.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.inputs.data import load_test_split
from explorer.lab import gallery
from explorer.maths.confidence import T_SLIDER_MAX, T_SLIDER_MIN
from explorer.model import registry

# --- Session-state keys shared by every page -------------------------------------------
TEMPERATURE_KEY = "temperature"  # float: the T every page uses (plain key)
MODEL_KEY = "model_name"  # str: the sidebar picker's key; streamlit_app.py renders it
CURRENT_IMAGE_KEY = "current_image28"  # (28, 28) float32 the explorer shows, or None
EXAMPLE_KEY = "example_image28"  # (28, 28) float32 sent to the explorer, or None
EXAMPLE_LABEL_KEY = "example_label"  # its true label (int) or None
# Where it came from, e.g. "MNIST test #123", or None. NB: markdown: escape user text in it.
EXAMPLE_SOURCE_KEY = "example_source"
EXAMPLE_INDEX_KEY = "example_index"  # its MNIST test index (int) when it is one, for links
PRESENTATION_KEY = "presentation"  # bool: the sidebar's presentation-mode toggle
PREVIOUS_PAGE_KEY, CURRENT_PAGE_KEY = "_previous_page", "_current_page"  # set by streamlit_app.py
EXPLORER_PAGE = "ui/pages/explorer_page.py"


def note_page(url_path: str) -> None:
    """Record which page this full run shows and which one the last run showed."""
    st.session_state[PREVIOUS_PAGE_KEY] = st.session_state.get(CURRENT_PAGE_KEY)
    st.session_state[CURRENT_PAGE_KEY] = url_path


def init_state() -> None:
    """Give every shared plain key its default once per session."""
    st.session_state.setdefault(TEMPERATURE_KEY, 1.0)
    if MODEL_KEY not in st.session_state:
        st.session_state[MODEL_KEY] = registry.the(registry.DEFAULT)
    for key in (CURRENT_IMAGE_KEY, EXAMPLE_KEY, EXAMPLE_LABEL_KEY, EXAMPLE_SOURCE_KEY,
                EXAMPLE_INDEX_KEY):
        st.session_state.setdefault(key, None)


# --- Temperature ---------------------------------------------------------------------
def set_temperature(temperature: float) -> None:
    """Set the shared T, clipped to the T control's range; the Explorer's control follows."""
    st.session_state[TEMPERATURE_KEY] = float(np.clip(temperature, T_SLIDER_MIN, T_SLIDER_MAX))


# --- Examples and the cross-page hand-off ---------------------------------------------------
def send_to_explorer(image28: np.ndarray, label: int | None = None,
                     source: str | None = None, index: int | None = None) -> None:
    """Queue a (28, 28) image in [0, 1] for the explorer; then st.switch_page(EXPLORER_PAGE).

    NB: `index` is its MNIST test index, when it is one: a link can then reopen it.
    """
    st.session_state[EXAMPLE_KEY] = np.asarray(image28, dtype=np.float32).reshape(28, 28)
    st.session_state[EXAMPLE_LABEL_KEY] = None if label is None else int(label)
    st.session_state[EXAMPLE_SOURCE_KEY] = source
    st.session_state[EXAMPLE_INDEX_KEY] = None if index is None else int(index)


def example_rng() -> np.random.Generator:
    """Randomness for picking examples (tests monkeypatch this to make it deterministic)."""
    return np.random.default_rng()


def pick_example(digit: int | None = None) -> tuple[np.ndarray, int, int]:
    """A random MNIST test digit (of class `digit` if given): (image28 in [0, 1], label, index)."""
    images, labels = load_test_split()  # uint8 (10000, 28, 28), (10000,)
    index = gallery.random_example(labels, example_rng(), digit)
    return images[index].astype(np.float32) / 255.0, int(labels[index]), index
