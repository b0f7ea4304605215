"""Digit Confidence Explorer's pages: what every session runs (app.py serves it, warmed up).

    streamlit run app.py            # the app (this script, after the start-up warm-up)
    streamlit run streamlit_app.py  # the same pages, no warm-up: first visits pay the imports
"""
import logging

import streamlit as st

from ui import models, navigation, state, url, widgets

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

st.set_page_config(page_title="Digit Confidence Explorer", page_icon="✏️", layout="wide")

PAGES = [st.Page(spec.script, title=spec.title, icon=spec.icon, default=index == 0)
         for index, spec in enumerate(navigation.PAGES)]


@widgets.guarded
def shell(url_path: str) -> None:
    """Title, shared state, the link's view and the sidebar; an error leaves the pages usable."""
    state.init_state()
    widgets.guarded(url.read_once)()  # before the picker: a link may choose the model; a
    # failure here costs the link only, never the picker below
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
