"""Digit Confidence Explorer: draw a digit and watch, live, what a classifier makes of it.

    streamlit run app.py

The server: it runs every page once at start-up (ui.warmup), then serves streamlit_app.py,
the pages each session runs. `streamlit run` finds `app` below and serves it with uvicorn.
"""
import streamlit as st

from ui import warmup

app = st.App("streamlit_app.py", lifespan=warmup.lifespan)
