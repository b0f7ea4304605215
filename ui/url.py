"""The Explorer's view in the URL (model, T, naive-resize toggle, loaded example): links reopen it.

A link is read once, on a session's first run; afterwards the URL follows the view. A bad
value gets a message and its default, never an error.
"""
from __future__ import annotations

import math

import numpy as np
import streamlit as st

from explorer import registry
from explorer.confidence import T_SLIDER_MAX, T_SLIDER_MIN
from explorer.data import load_test_split
from ui import state

READ_KEY = "_url_read"  # True once this session's link has been read
PROBLEMS_KEY = "_url_problems"  # what was wrong with it, shown once
NAIVE_ON_KEY = "_explorer_show_naive_on"  # the naive-resize toggle's plain mirror
N_TEST = 10_000


def parse(params: dict[str, str], names: tuple[str, ...]) -> tuple[dict, list[str]]:
    """The view a link asks for, and a message per value that can't be used.

    NB: pure: the values are validated here, applied by read_once().
    """
    view, problems = {}, []
    if "model" in params:
        if params["model"] in names:
            view["model"] = params["model"]
        else:
            problems.append(f"model={params['model']!r} is not one of {', '.join(names)}")
    if "t" in params:
        t = _number(params["t"])
        if t is not None and T_SLIDER_MIN <= t <= T_SLIDER_MAX:
            view["t"] = t
        else:
            problems.append(f"t={params['t']!r} is not a temperature from "
                            f"{T_SLIDER_MIN:g} to {T_SLIDER_MAX:g}")
    if "naive" in params:
        if params["naive"] in ("0", "1"):
            view["naive"] = params["naive"] == "1"
        else:
            problems.append(f"naive={params['naive']!r} is not 0 or 1")
    if "example" in params:
        index = params["example"]
        if index.isdigit() and int(index) < N_TEST:
            view["example"] = int(index)
        else:
            problems.append(f"example={index!r} is not an MNIST test index from 0 to 9999")
    return view, problems


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_once() -> None:
    """Apply this session's link (first run only); bad values are kept to be shown."""
    if st.session_state.get(READ_KEY):
        return
    st.session_state[READ_KEY] = True
    params = {key: st.query_params.get(key) for key in st.query_params}
    view, problems = parse(params, registry.names())
    st.session_state[PROBLEMS_KEY] = problems
    if "model" in view:
        st.session_state[state.MODEL_KEY] = view["model"]
    if "t" in view:
        state.set_temperature(view["t"])
    if "naive" in view:
        st.session_state[NAIVE_ON_KEY] = view["naive"]
    if "example" in view:
        images, labels = load_test_split()
        index = view["example"]
        state.send_to_explorer(images[index].astype(np.float32) / 255.0, int(labels[index]),
                               f"MNIST test digit #{index}", index=index)


def show_problems() -> None:
    """A warning naming the link's unusable values (once), with what is used instead."""
    problems = st.session_state.get(PROBLEMS_KEY)
    if problems:
        st.warning("This link has values the app can't use, so their defaults are shown: "
                   + "; ".join(problems) + ".", icon=":material/link_off:")
        st.session_state[PROBLEMS_KEY] = []


def write() -> None:
    """Put the current view in the URL, so copying it shares this view."""
    view = {"model": str(st.session_state.get(state.MODEL_KEY, registry.DEFAULT_MODEL)),
            "t": f"{float(st.session_state.get(state.TEMPERATURE_KEY, 1.0)):.4g}",
            "naive": "1" if st.session_state.get(NAIVE_ON_KEY) else "0"}
    index = st.session_state.get(state.EXAMPLE_INDEX_KEY)
    if index is not None and st.session_state.get(state.EXAMPLE_KEY) is not None:
        view["example"] = str(index)
    if {key: st.query_params.get(key) for key in st.query_params} != view:
        st.query_params.from_dict(view)
