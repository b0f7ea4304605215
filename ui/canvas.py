"""The Explorer's drawing canvas: its key, Clear, the size check, and the drawing kept across pages.

NB: Streamlit drops a widget's state on a run of a page that does not render it, so coming
back to the Explorer would mount a blank canvas. The last drawing (Fabric JSON and its
28×28 image) is kept in plain keys and handed back as `initial_drawing` on a fresh key.
"""
from __future__ import annotations

import hashlib
import logging

import numpy as np
import streamlit as st

from explorer.inputs.preprocess import CANVAS_SIDE, png_data_url_size
from ui import state

log = logging.getLogger("digit_explorer")

COUNTER_KEY = "canvas_counter"  # part of the canvas key: bumping it remounts the canvas
SAVED_KEY = "_canvas_saved"  # {"key", "json", "image28"}: the last drawing and its canvas
INITIAL_KEY = "_canvas_initial"  # (canvas key, Fabric JSON) a remounted canvas starts from
REJECTED_KEY = "_canvas_rejected"  # why the last canvas value was refused, for the page
CLEARED_KEY = "_canvas_cleared"  # (Clears so far, digest of the value Clear threw away | None)


def _key(counter: int) -> str:
    return f"explorer_canvas_{counter}"


def _value_digest(value) -> str | None:
    """A digest of a canvas value's PNG, or None when it holds none."""
    try:
        url = value["drawing"]["data"]
    except (KeyError, TypeError):
        return None
    return None if url is None else hashlib.sha1(url.encode()).hexdigest()


def clear() -> None:
    """Empty the canvas in place and forget the kept drawing (the Clear button's callback).

    NB: not by a new key. A remounted canvas loses strokes: one drawn on the old canvas is
    cancelled or sent under the old key, and the new one arrives unstyled (its black
    background canvas where the drawing surface belongs) for up to ~1.5 s under load. A new
    `initial_drawing` on the same key makes the page reload it, empty, and send that; until
    then the canvas still sends the drawing Clear threw away, which draw() ignores.
    """
    count, _ = st.session_state.get(CLEARED_KEY) or (0, None)
    key = _key(st.session_state.get(COUNTER_KEY, 0))
    st.session_state[CLEARED_KEY] = (count + 1, _value_digest(st.session_state.get(key)))
    for key in (SAVED_KEY, INITIAL_KEY, REJECTED_KEY):
        st.session_state[key] = None


def _remount(counter: int) -> int:
    """A fresh canvas key, starting from the kept drawing when there is one."""
    counter += 1
    st.session_state[COUNTER_KEY] = counter
    saved = st.session_state.get(SAVED_KEY)
    if saved and saved.get("json"):
        st.session_state[INITIAL_KEY] = (_key(counter), saved["json"])
        st.session_state[SAVED_KEY] = {**saved, "key": _key(counter)}
    return counter


def came_back() -> bool:
    """True on the first run of this page after another page ran; it says so once.

    NB: a stroke reruns only the Explorer's fragment, not streamlit_app.py, so the page keys
    would still say "came back" on every stroke; answering once marks the arrival handled.
    """
    previous = st.session_state.get(state.PREVIOUS_PAGE_KEY)
    current = st.session_state.get(state.CURRENT_PAGE_KEY)
    st.session_state[state.PREVIOUS_PAGE_KEY] = current
    return previous is not None and previous != current


def canvas_key(example_changed: bool) -> str:
    """The canvas key: new for a newly arrived example (blank) or after another page (kept)."""
    counter = st.session_state.setdefault(COUNTER_KEY, 0)
    returning = came_back()  # asked on every run: it answers once per arrival
    if example_changed:
        counter = st.session_state[COUNTER_KEY] = counter + 1
        st.session_state[SAVED_KEY] = st.session_state[INITIAL_KEY] = None
    elif returning and st.session_state.get(SAVED_KEY):
        counter = _remount(counter)
    key = _key(counter)
    if _forged_size(key):
        counter = st.session_state[COUNTER_KEY] = counter + 1
        key = _key(counter)
    return key


def _forged_size(key: str) -> bool:
    """True (and a message kept for the page) when the canvas value is not 280×280.

    NB: read from the PNG header before anything decodes it: a forged 9000×9000 value
    would otherwise cost gigabytes of server memory in the component's decoder.
    """
    value = st.session_state.get(key)
    try:
        url = value["drawing"]["data"]
    except (KeyError, TypeError):
        return False
    if url is None:
        return False
    size = png_data_url_size(url)
    if size == (CANVAS_SIDE, CANVAS_SIDE):
        return False
    shown = "not a PNG image" if size is None else f"{size[0]}×{size[1]} px"
    _reject(f"The canvas sent {shown}; this page draws on {CANVAS_SIDE}×{CANVAS_SIDE} px. "
            "It was ignored and the canvas was reset.")
    return True


def _reject(message: str) -> None:
    log.warning("canvas value refused: %s", message)
    st.session_state[REJECTED_KEY] = message


def checked(canvas_rgba) -> np.ndarray | None:
    """The canvas image if it is the size this page asked for, else None (and a message)."""
    if canvas_rgba is None:
        return None
    shape = np.shape(canvas_rgba)
    if len(shape) != 3 or shape[:2] != (CANVAS_SIDE, CANVAS_SIDE):
        _reject(f"The canvas sent an image of shape {shape}; this page draws on "
                f"{CANVAS_SIDE}×{CANVAS_SIDE} px. It was ignored.")
        return None
    return canvas_rgba


def draw(brush: int, key: str):
    """The canvas itself; returns (canvas_rgba or None, Fabric JSON or None)."""
    from streamlit_drawable_canvas import st_canvas  # by name at run time: tests patch it

    initial = st.session_state.get(INITIAL_KEY)
    count, thrown = st.session_state.get(CLEARED_KEY) or (0, None)
    # NB: the same JSON on every run until the next Clear: a change reloads the page's canvas.
    blank = {"objects": [], "cleared": count}
    result = st_canvas(
        stroke_width=brush, stroke_color="#FFFFFF", background_color="#000000",
        update_streamlit=True, height=CANVAS_SIDE, width=CANVAS_SIDE,
        drawing_mode="freedraw", return_image_data=True, key=key,
        initial_drawing=initial[1] if initial and initial[0] == key else blank)
    if thrown is not None:
        if _value_digest(st.session_state.get(key)) == thrown:
            return None, None  # the page has not emptied its canvas yet
        st.session_state[CLEARED_KEY] = (count, None)
    return checked(result.image_data), getattr(result, "json_data", None)


def remember(key: str, drawing_json, image28) -> None:
    """Keep the current drawing so a visit to another page does not lose it."""
    if image28 is None:
        return
    st.session_state[SAVED_KEY] = {"key": key, "json": drawing_json,
                                   "image28": np.asarray(image28, np.float32)}


def kept_image(key: str) -> np.ndarray | None:
    """The kept drawing's 28×28 image when the canvas was remounted with it, else None.

    NB: a remounted canvas shows the drawing but sends nothing until the next stroke.
    """
    saved = st.session_state.get(SAVED_KEY)
    initial = st.session_state.get(INITIAL_KEY)
    if saved and initial and initial[0] == key == saved.get("key"):
        return saved["image28"]
    return None


def rejection() -> str | None:
    """The message for a refused canvas value, once."""
    message = st.session_state.get(REJECTED_KEY)
    st.session_state[REJECTED_KEY] = None
    return message

