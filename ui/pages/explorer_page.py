"""Explorer page: draw a digit (or load one) and watch logits, softmax, sigmoid and T live.

Flow: canvas -> canvas_to_mnist -> image28 -> cached logits -> confidence maths -> figures.
The live part is one st.fragment, so a stroke or a slider move reruns only that part.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from explorer.figures.explorer import Stroke, explorer_figures
from explorer.inputs.preprocess import canvas_to_mnist, check_image28, is_blob, naive_resize
from explorer.inputs.upload import UploadError, upload_to_mnist
from explorer.maths.confidence import temperature_sweep
from explorer.model.checkpoints import LoadedModel
from ui import canvas, classroom, lab, live, models, safe_text, state, url, widgets
from ui.pages import explorer_view as view
from ui.safe_text import literal

# Page-local keys (the canvas's own are in ui/canvas.py).
EXAMPLE_SEEN_KEY = "_example_seen"  # digest of the example the canvas was last cleared for
EXAMPLE_CLASS_KEY = "explorer_example_class"
BRUSH_KEY = "explorer_brush_width"
NAIVE_KEY = "explorer_show_naive"
NAIVE_ON_KEY = url.NAIVE_ON_KEY  # plain mirror of the toggle: not rendered on a blank canvas
LOAD_KEY, CLEAR_KEY = "explorer_load_example", "explorer_clear_canvas"
UPLOAD_KEY, UPLOAD_ERROR_KEY = "explorer_upload_image", "_upload_error"
PREPROCESSED_KEY = "_preprocessed"  # (canvas digest, image28 or None) of the last canvas
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]


def _digest(image28) -> str | None:
    if image28 is None:
        return None
    return hashlib.sha1(np.ascontiguousarray(image28, dtype=np.float32).tobytes()).hexdigest()


def _forget_example() -> None:
    for key in (state.EXAMPLE_KEY, state.EXAMPLE_LABEL_KEY, state.EXAMPLE_SOURCE_KEY,
                state.EXAMPLE_INDEX_KEY):
        st.session_state[key] = None


def _clear() -> None:
    """Clear button: the canvas is emptied in place (see canvas.clear); the example goes too."""
    canvas.clear()
    _forget_example()
    st.session_state[state.CURRENT_IMAGE_KEY] = None
    st.session_state[UPLOAD_ERROR_KEY] = None


def _load_example() -> None:
    choice = st.session_state.get(EXAMPLE_CLASS_KEY, "any")
    image28, label, index = state.pick_example(None if choice == "any" else int(choice))
    state.send_to_explorer(image28, label, f"MNIST test digit #{index}", index)


def _mirror_naive() -> None:
    st.session_state[NAIVE_ON_KEY] = bool(st.session_state[NAIVE_KEY])


def _upload() -> None:
    """Uploader callback: a picture of a digit goes through the same preprocessing."""
    uploaded = st.session_state.get(UPLOAD_KEY)
    st.session_state[UPLOAD_ERROR_KEY] = None
    if uploaded is None:
        return
    try:
        image28 = upload_to_mnist(uploaded.getvalue())
    except UploadError as err:
        st.session_state[UPLOAD_ERROR_KEY] = (f"{literal(uploaded.name)}: "
                                                f"{safe_text.explain(err)}")
        return
    state.send_to_explorer(image28, None, f"upload {literal(uploaded.name)}")


def _example_arrived() -> bool:
    """True once for a newly arrived example (button or another page): it clears the canvas."""
    digest = _digest(st.session_state.get(state.EXAMPLE_KEY))
    arrived = digest is not None and digest != st.session_state.get(EXAMPLE_SEEN_KEY)
    st.session_state[EXAMPLE_SEEN_KEY] = digest
    return arrived


def draw_column() -> tuple[np.ndarray | None, str, dict | None]:
    """Canvas, brush, Clear, examples and upload; (canvas RGBA or None, canvas key, JSON)."""
    st.markdown("**Draw a digit here**")
    canvas_box = st.container()
    brush_col, clear_col = st.columns([3, 1], vertical_alignment="bottom")
    brush = brush_col.slider("Brush width", 6, 40, 20, key=BRUSH_KEY)
    clear_col.button("Clear", key=CLEAR_KEY, on_click=_clear, width="stretch")
    class_col, load_col = st.columns([0.8, 1.2], vertical_alignment="bottom")
    class_col.selectbox("Example's class", ["any", *range(10)], key=EXAMPLE_CLASS_KEY)
    load_col.button("Load an example", key=LOAD_KEY, on_click=_load_example,
                    help="A random digit from the MNIST test set", width="stretch")
    st.file_uploader("Or upload a picture of a digit", type=UPLOAD_TYPES, key=UPLOAD_KEY,
                     on_change=_upload, help="Any size and background; dark ink on paper works")
    if st.session_state.get(UPLOAD_ERROR_KEY):
        st.warning(st.session_state[UPLOAD_ERROR_KEY], icon=":material/image_not_supported:")
    key = canvas.canvas_key(_example_arrived())
    with canvas_box:
        canvas_rgba, drawing_json = canvas.draw(brush, key)  # (280, 280, 4) uint8 or None
    refused = canvas.rejection()
    if refused:
        st.warning(refused, icon=":material/gpp_bad:")
    return canvas_rgba, key, drawing_json


def _preprocessed(canvas_rgba: np.ndarray) -> np.ndarray | None:
    """canvas_to_mnist, kept for the last canvas: a slider move or toggle reuses it."""
    digest = hashlib.sha1(np.ascontiguousarray(canvas_rgba).tobytes()).hexdigest()
    memo = st.session_state.get(PREPROCESSED_KEY)
    if memo is None or memo[0] != digest:
        memo = st.session_state[PREPROCESSED_KEY] = (digest, canvas_to_mnist(canvas_rgba))
    return memo[1]


def current_input(canvas_rgba, key: str, drawing_json) -> tuple[np.ndarray | None, str]:
    """(image28, source): a drawing wins, then a loaded example, else (None, "blank").

    NB: a canvas remounted with the kept drawing (back from another page) sends nothing
    until the next stroke: its kept 28×28 image stands in for it.
    """
    drawn = None if canvas_rgba is None else _preprocessed(canvas_rgba)  # (28, 28) | None
    if drawn is None and canvas_rgba is None:
        drawn = canvas.kept_image(key)
    canvas.remember(key, drawing_json, drawn)
    if drawn is not None:
        if st.session_state.get(state.EXAMPLE_KEY) is not None:
            _forget_example()  # the user drew: the example gives way
        return drawn, "drawing"
    example = st.session_state.get(state.EXAMPLE_KEY)
    if example is not None:  # NB: sent by code, not checked by preprocessing: check it here
        return check_image28(np.asarray(example, dtype=np.float32).reshape(28, 28)), "example"
    return None, "blank"


@st.fragment
@widgets.guarded
def live_panel(loaded: LoadedModel) -> None:
    """Everything that depends on the drawing or on T: reruns alone on each stroke."""
    released = live.submitted_temperature()  # the T control sits below: read it first
    if released is not None:
        state.set_temperature(released)
    # Equal thirds: at 1400 px each is wider than the 280 px canvas and preview.
    canvas_col, sees_col, pred_col = st.columns(3, gap="medium")
    with canvas_col:
        canvas_rgba, key, drawing_json = draw_column()
    image28, source = current_input(canvas_rgba, key, drawing_json)
    if source == "example":
        where = st.session_state.get(state.EXAMPLE_SOURCE_KEY) or "sent from another page"
        canvas_col.caption(f"Showing an example ({where}) until you draw or clear.")
    st.session_state[state.CURRENT_IMAGE_KEY] = image28
    temperature = float(st.session_state[state.TEMPERATURE_KEY])
    if image28 is None:
        view.invitation(canvas_rgba, sees_col, pred_col)
        st.divider()  # NB: the charts sit where a drawing puts them, so they stay mounted
        view.idle_charts(loaded, temperature)
        url.write()
        return
    logits = models.logits_for(loaded, image28)  # (10,), cached per image and model
    with pred_col:  # first: the answer shows while the figures are still being built
        view.prediction_panel(loaded, logits, temperature, blob=is_blob(image28))
        if classroom.joined():
            view.class_submit(image28, canvas_rgba if source == "drawing" else None)
    stroke = Stroke(logits, temperature, temperature_sweep(logits),
                    lab.usual_logit_range(loaded), models.ovr_logits_for(image28))
    figures = explorer_figures(logits, image28, temperature, stroke.sweep, stroke.usual,
                               stroke.ovr_logits)
    with sees_col:
        view.model_sees(figures, source)
        if st.toggle("Compare with a naive resize", key=NAIVE_KEY, on_change=_mirror_naive,
                     value=bool(st.session_state.get(NAIVE_ON_KEY, False))):
            naive = naive_resize(canvas_rgba) if source == "drawing" else None
            view.naive_comparison(loaded, naive, int(np.argmax(logits)))
    st.divider()
    view.live_charts(loaded, stroke, figures)
    url.write()  # a stroke or a T reruns only this fragment: the link follows here


@widgets.guarded
def main() -> None:
    loaded = models.picked_model()
    if loaded is None:
        return
    view.page_style()
    view.model_card(loaded)
    live_panel(loaded)


main()
