"""Latency baseline: the explorer's canvas alone, answered with no model.

    streamlit run scripts/bench/bare_canvas_app.py

Same st_canvas arguments as the explorer (280×280, white on black, freedraw, image data,
live updates) and a "Prediction" metric that is just the ink-pixel count mod 10, so
scripts/bench/browser_latency.py can time what a stroke costs before any model runs. Like the
explorer, the metric shows only while there is ink, and "Clear" remounts a blank canvas.
NB: a Streamlit script run by `streamlit run`, never imported (the canvas package raises
at import time outside a running Streamlit script).
"""
from __future__ import annotations

import numpy as np
import streamlit as st

CANVAS_SIDE = 280
BRUSH_WIDTH = 20  # the explorer's default brush
COUNTER_KEY = "bare_canvas_counter"  # part of the canvas key: bumping it remounts the canvas


def _clear() -> None:
    st.session_state[COUNTER_KEY] = st.session_state.get(COUNTER_KEY, 0) + 1


def ink_pixels(canvas_rgba) -> int:
    """Bright, opaque pixels of an (H, W, 4) uint8 canvas; 0 for None."""
    if canvas_rgba is None:
        return 0
    rgba = np.asarray(canvas_rgba)
    return int(((rgba[..., :3].max(axis=-1) > 127) & (rgba[..., 3] > 0)).sum())


def main() -> None:
    from streamlit_drawable_canvas import st_canvas  # only inside a running Streamlit script

    st.set_page_config(page_title="Bare canvas (latency baseline)", layout="wide")
    counter = st.session_state.setdefault(COUNTER_KEY, 0)
    result = st_canvas(
        stroke_width=BRUSH_WIDTH, stroke_color="#FFFFFF", background_color="#000000",
        update_streamlit=True, height=CANVAS_SIDE, width=CANVAS_SIDE,
        drawing_mode="freedraw", return_image_data=True, key=f"bare_canvas_{counter}")
    st.button("Clear", key="bare_clear", on_click=_clear)
    ink = ink_pixels(result.image_data)
    if ink:
        st.metric("Prediction", ink % 10)
        st.caption(f"{ink} ink pixels (the 'prediction' is that count mod 10; no model).")
    else:
        st.info("Draw on the canvas.")


main()
