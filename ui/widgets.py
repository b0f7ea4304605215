"""Shared widgets: error guard, verdict badge, "no drawing yet" invitation, example grid."""
from __future__ import annotations

import functools
import io
import logging

import numpy as np
import streamlit as st
from PIL import Image

from explorer.errors import ExplainedError
from explorer.inputs.data import load_test_split
from ui import live, safe_text, state
from ui.state import (
    CURRENT_IMAGE_KEY,
    EXAMPLE_KEY,
    EXAMPLE_SOURCE_KEY,
    pick_example,
    send_to_explorer,
)

log = logging.getLogger("digit_explorer")


def _load_example_here() -> None:
    """'Load an example' on another page: queue it for the explorer and use it right here."""
    image28, label, index = pick_example()
    send_to_explorer(image28, label, f"MNIST test digit #{index}", index)
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


def markdown_table(rows: list[dict]) -> str:
    """A small table as markdown (no dataframe machinery for a few rows); cells escaped."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    escape = safe_text.escape_markdown
    lines += ["| " + " | ".join(escape(str(row.get(c, ""))) for c in columns) + " |"
              for row in rows]
    return "\n".join(lines)


def guarded(fn):
    """Run a page body or fragment so errors become st.error, never a traceback in the page.

    NB: only an ExplainedError's message reaches the page (safe_text.explain); any other
    exception's text stays in the server log. Streamlit's rerun/stop signals are
    BaseExceptions and pass through untouched.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - the page must survive anything
            log.log(logging.INFO if isinstance(err, ExplainedError) else logging.ERROR,
                    "page error in %s", fn.__name__, exc_info=err)
            st.error(safe_text.explain(err), icon=":material/error:")
    return wrapper


VERDICT_BADGES = {"confident": ("green", ":material/check_circle:"),
                  "uncertain": ("orange", ":material/help:"),
                  "probably not a digit": ("red", ":material/block:")}


def verdict_badge(verdict: str) -> str:
    """Markdown for a coloured verdict badge with its icon."""
    colour, icon = VERDICT_BADGES[verdict]
    return f":{colour}-badge[{icon} {verdict}]"


THUMB_SIDE = 84  # 3× the 28 px digit, nearest-neighbour


def thumbnail(image28: np.ndarray, side: int = THUMB_SIDE) -> bytes:
    """A (28, 28) image in [0, 1] as an upscaled greyscale PNG (nearest neighbour)."""
    grey = (np.clip(np.asarray(image28, dtype=np.float32), 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey, "L").resize((side, side), Image.Resampling.NEAREST).save(buffer, "PNG")
    return buffer.getvalue()


def example_grid(indices, captions: list[str], key_prefix: str, per_row: int = 8) -> None:
    """Test images in rows of `per_row`, each captioned, each with a button to the explorer."""
    images, labels = load_test_split()  # uint8 (10000, 28, 28), (10000,)
    for start in range(0, len(indices), per_row):
        cols = st.columns(per_row)
        for col, index, caption in zip(cols, indices[start:start + per_row],
                                       captions[start:start + per_row]):
            index = int(index)
            image28 = images[index].astype(np.float32) / 255.0
            with col:
                st.image(thumbnail(image28), width=THUMB_SIDE)
                st.caption(caption)
                if st.button("Explore", key=f"{key_prefix}_{index}",
                             help=f"Open MNIST test #{index} on the Explorer page"):
                    send_to_explorer(image28, int(labels[index]), f"MNIST test #{index}",
                                     index)
                    st.switch_page(state.EXPLORER_PAGE)


EXPORT_SCALE = 3  # a 700 px chart becomes 2,100 px: sharp on a slide


def export_config(name: str) -> dict:
    """Plotly config of every chart: one camera button, a PNG for slides named after it."""
    filename = "digit-explorer-" + name.removeprefix("explorer_").replace("_", "-")
    return {"displaylogo": False, "modeBarButtons": [["toImage"]],
            "toImageButtonOptions": {"format": "png", "filename": filename,
                                     "scale": EXPORT_SCALE}}


def chart(fig, key: str, width: str = "stretch", where=None) -> None:
    """A plotly chart as every page draws it (in `where`, a column), its PNG named after `key`.

    NB: through the live component's plotly.js, the cartesian bundle: a page's first visit
    compiles it in a third of the time Streamlit's full plotly takes. A trace type outside
    that bundle falls back to st.plotly_chart.
    """
    if where is not None:
        with where:
            return chart(fig, key, width)
    if live.draws(fig):
        live.figure(fig, key, export_config(key), width)
    else:
        st.plotly_chart(fig, key=key, width=width, config=export_config(key))


# Presentation mode: text and charts large enough to read from the back of a room.
PRESENTATION_CSS = """<style>
html { font-size: 22px; }
[data-testid="stMetricValue"] { font-size: 2.2rem; }
.stMainBlockContainer { max-width: 100%; padding-left: 2rem; padding-right: 2rem; }
</style>"""


def presentation_toggle() -> bool:
    """The sidebar switch; when on, bigger type everywhere (the live charts follow it)."""
    on = st.sidebar.toggle("Presentation mode", key=state.PRESENTATION_KEY,
                           help="Large text and charts for a projector; every chart's "
                                "camera button saves a PNG at 3× for slides")
    if on:
        st.html(PRESENTATION_CSS)
    return bool(on)
