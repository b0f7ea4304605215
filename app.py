"""Digit Confidence Explorer: draw a digit and watch, live, what a classifier makes of it.

    streamlit run app.py
"""
import logging

import streamlit as st

from ui import models, state, url, widgets

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

st.set_page_config(page_title="Digit Confidence Explorer", page_icon="✏️", layout="wide")

PAGES = [
    st.Page("ui/explorer_page.py", title="Explorer", icon=":material/draw:", default=True),
    st.Page("ui/calibration_page.py", title="Calibration", icon=":material/straighten:"),
    st.Page("ui/gallery_page.py", title="Gallery", icon=":material/photo_library:"),
    st.Page("ui/compare_page.py", title="Compare models", icon=":material/compare:"),
    st.Page("ui/exhibit_page.py", title="Double softmax", icon=":material/science:"),
    st.Page("ui/saliency_page.py", title="Where the model looks", icon=":material/visibility:"),
    st.Page("ui/robustness_page.py", title="Robustness", icon=":material/open_with:"),
    st.Page("ui/heads_page.py", title="Softmax, sigmoid or regression?",
            icon=":material/call_split:"),
    st.Page("ui/replay_page.py", title="Watch a model learn", icon=":material/replay:"),
    st.Page("ui/sets_page.py", title="Prediction sets", icon=":material/checklist:"),
    st.Page("ui/checklist_page.py", title="Debug by symptom", icon=":material/bug_report:"),
]


@widgets.guarded
def shell(url_path: str) -> None:
    """Title, shared state, the link's view and the sidebar; an error leaves the pages usable."""
    state.init_state()
    url.read_once()  # before the picker renders: a link may choose the model
    state.note_page(url_path)
    models.preload_default_model()  # so the first stroke does not wait for torch
    widgets.presentation_toggle()
    st.title("Digit Confidence Explorer")
    st.caption("Logits, softmax, per-class sigmoid and temperature for a digit you draw.")
    url.show_problems()
    models.model_picker()


page = st.navigation(PAGES)
shell(page.url_path)
page.run()
models.freeze_the_heap_after(page.url_path)  # NB: a stroke reruns only the fragment: not here
