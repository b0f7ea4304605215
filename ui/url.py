"""The Explorer's view in the URL (model, T, naive-resize toggle, loaded example): links reopen it.

A link is read once, on a session's first run; afterwards the URL follows the view. A bad
value gets a message and its default, never an error.
"""
from __future__ import annotations

import re

import numpy as np
import streamlit as st

from explorer.inputs.data import load_test_split
from explorer.maths.confidence import T_SLIDER_MAX, T_SLIDER_MIN
from explorer.model import registry
from ui import classroom, state
from ui.safe_text import literal

READ_KEY = "_url_read"  # True once this session's link has been read
PROBLEMS_KEY = "_url_problems"  # what was wrong with it, shown once
NAIVE_ON_KEY = "_explorer_show_naive_on"  # the naive-resize toggle's plain mirror
N_TEST = 10_000


MAX_VALUE_CHARS = 64  # no good value is longer; a longer one is refused unread
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_INDEX = re.compile(r"[0-9]{1,5}")
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{classroom.TOKEN_CHARS}}}")


def parse(params: dict[str, str], names: tuple[str, ...]) -> tuple[dict, list[str]]:
    """The view a link asks for, and a markdown message per value that can't be used.

    NB: pure: the values are validated here, applied by read_once(). Every value must be
    short printable ASCII before it is looked at; a bad one is echoed only as a cut literal.
    """
    view, problems = {}, []
    for key, check, wanted in _FIELDS:
        if key not in params:
            continue
        raw = params[key]
        value = check(raw, names) if _plain(raw) else None
        if value is None:
            problems.append(f"{key}={literal(raw)} is not {wanted(names)}")
        else:
            view[key] = value
    return view, problems


def _plain(raw) -> bool:
    """Short printable ASCII: what every value of a link this app writes is."""
    return (isinstance(raw, str) and len(raw) <= MAX_VALUE_CHARS and raw.isascii()
            and raw.isprintable())


def _model(raw: str, names) -> str | None:
    return raw if raw in names else None


def _temperature(raw: str, _names) -> float | None:
    """A decimal number in the T control's range, bounds included."""
    if not _NUMBER.fullmatch(raw):
        return None
    t = float(raw)
    return t if T_SLIDER_MIN <= t <= T_SLIDER_MAX else None


def _naive(raw: str, _names) -> bool | None:
    return {"0": False, "1": True}.get(raw)


def _example(raw: str, _names) -> int | None:
    """An MNIST test index: ASCII digits only (int() would take '²' or '٣', or 5,000 digits)."""
    return int(raw) if _INDEX.fullmatch(raw) and int(raw) < N_TEST else None


def _class(raw: str, _names) -> str | None:
    return classroom.valid_code(raw)


def _student(raw: str, _names) -> str | None:
    """An anonymous student token as classroom.student() makes them."""
    return raw if _TOKEN.fullmatch(raw) else None


_FIELDS = (  # key, check (None: unusable), what a usable value is
    ("model", _model, lambda names: "one of " + ", ".join(names)),
    ("t", _temperature, lambda _: f"a temperature from {T_SLIDER_MIN:g} to {T_SLIDER_MAX:g}"),
    ("naive", _naive, lambda _: "0 or 1"),
    ("example", _example, lambda _: f"an MNIST test index from 0 to {N_TEST - 1}"),
    ("class", _class, lambda _: "a class code of five letters and digits"),
    ("me", _student, lambda _: "a student token"),
    ("teach", _class, lambda _: "a class code of five letters and digits"),
)


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
    if "me" in view:  # NB: before joining: a student sent to another replica stays themself
        st.session_state[classroom.STUDENT_KEY] = view["me"]
    if "class" in view:
        classroom.join(view["class"])
    if "teach" in view:
        st.session_state[classroom.WATCH_KEY] = view["teach"]


def show_problems() -> None:
    """A warning naming the link's unusable values (once), with what is used instead."""
    problems = st.session_state.get(PROBLEMS_KEY)
    if problems:
        st.warning("This link has values the app can't use, so their defaults are shown: "
                   + "; ".join(problems) + ".", icon=":material/link_off:")
        st.session_state[PROBLEMS_KEY] = []


def write() -> None:
    """Put the current view in the URL, so copying it shares this view.

    NB: a user's own model is not named in it: no other session has it.
    """
    model = str(st.session_state.get(state.MODEL_KEY) or registry.the(registry.DEFAULT))
    view = {"model": model} if model in registry.names() else {}
    view.update(t=f"{float(st.session_state.get(state.TEMPERATURE_KEY, 1.0)):.4g}",
                naive="1" if st.session_state.get(NAIVE_ON_KEY) else "0")
    index = st.session_state.get(state.EXAMPLE_INDEX_KEY)
    if index is not None and st.session_state.get(state.EXAMPLE_KEY) is not None:
        view["example"] = str(index)
    if classroom.joined():  # the class and who this student is survive a reconnect
        view.update({"class": classroom.joined(), "me": classroom.student()})
    if classroom.watched():
        view["teach"] = classroom.watched()
    if {key: st.query_params.get(key) for key in st.query_params} != view:
        st.query_params.from_dict(view)
