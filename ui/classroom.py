"""A class in the UI: the store, this browser's class and student token, and submitting.

A student joins with a code (typed, or a link's `?class=CODE`); their anonymous token rides in
the link too (`&me=TOKEN`), so a student sent to another replica is still the same student.
A drawing is submitted with one tap on its digit; the server recomputes every model's logits.
If the store can't take it now, the drawing is kept in the session ("not saved yet") and tried
again on every run until it is saved: nothing a student submitted is lost.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import time

import numpy as np
import streamlit as st
from PIL import Image

from explorer.classroom.api import (
    CODE_ALPHABET,
    CODE_LENGTH,
    BadSubmission,
    NotAllowed,
    StoreError,
)
from explorer.errors import ExplainedError
from ui import safe_text

log = logging.getLogger("digit_explorer")
CLASS_KEY, STUDENT_KEY = "_class_code", "_class_student"  # plain keys: this browser's class
PENDING_KEY = "_class_pending"  # plain key: submissions not saved yet, oldest first
TEACHER_KEY = "_class_teacher"  # plain key: the ClassInfo of the class this browser started
WATCH_KEY = "_class_watch"  # plain key: a class whose view this browser shows (link ?teach=)
SUBMITTED_KEY = "_class_submitted"  # plain key: ids this student's drawings got, newest last
DIGESTS_KEY = "_class_digests"  # plain key: digests of the drawings submitted or pending
TOKEN_CHARS = 12


def store_url() -> str | None:
    """The class store's URL: st.connection("sql")'s secret, then $EXPLORER_CLASS_DB, else
    None (the store's SQLite default)."""
    try:
        url = st.secrets.get("connections", {}).get("sql", {}).get("url")
    except (FileNotFoundError, KeyError, AttributeError):  # no secrets.toml: no secret
        url = None
    return url or os.environ.get("EXPLORER_CLASS_DB") or None


@st.cache_resource(show_spinner=False)
def _store(url: str | None):
    from explorer.classroom.store import open_store  # NB: SQLAlchemy only when a class runs

    return open_store(url)


def class_store():
    """The process's one class store (cached, shared by every session)."""
    return _store(store_url())


def valid_code(text) -> str | None:
    """A class code as typed or linked (case-insensitive), or None when it can't be one."""
    code = str(text or "").strip().upper()
    ok = len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)
    return code if ok else None


def student() -> str:
    """This browser's anonymous student token (made once, kept in the link)."""
    token = st.session_state.get(STUDENT_KEY)
    if not token:
        token = st.session_state[STUDENT_KEY] = secrets.token_urlsafe(TOKEN_CHARS)[:TOKEN_CHARS]
    return token


def join(code_text) -> str | None:
    """Join the class with this code; None, after saying why in the page, when there is none."""
    code = valid_code(code_text)
    try:
        exists = code is not None and class_store().class_exists(code)
    except StoreError as err:
        st.warning(safe_text.explain(err), icon=":material/cloud_off:")
        return None
    if not exists:
        st.warning(f"There is no class with the code {safe_text.literal(code_text, 12)}. "
                   "Check the code on the teacher's screen: five letters and digits.",
                   icon=":material/search_off:")
        return None
    st.session_state[CLASS_KEY] = code
    student()
    return code


def leave() -> None:
    """Leave the class (what is pending is dropped with it: the page said it was unsaved)."""
    for key in (CLASS_KEY, PENDING_KEY, SUBMITTED_KEY, DIGESTS_KEY):
        st.session_state[key] = None


def joined() -> str | None:
    return st.session_state.get(CLASS_KEY)


def canvas_png(canvas_rgba: np.ndarray | None, image28: np.ndarray) -> bytes:
    """The canvas as drawn, as PNG (the 28×28 image blown up when there is no canvas)."""
    if canvas_rgba is None:
        canvas_rgba = np.repeat((np.asarray(image28) * 255).astype(np.uint8)[..., None], 4, 2)
        canvas_rgba[..., 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(canvas_rgba, np.uint8), "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def _digest(image28: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image28, np.float32).tobytes()).hexdigest()


def already_submitted(image28: np.ndarray) -> bool:
    """Whether this very drawing was submitted (or is pending) in this session."""
    return _digest(image28) in (st.session_state.get(DIGESTS_KEY) or set())


def submit(label: int, image28: np.ndarray, canvas_rgba: np.ndarray | None) -> None:
    """Queue this drawing with the digit the student says it is; then try to save the queue.

    NB: the logits are recomputed here, on the server, never taken from the browser.
    """
    from explorer.classroom.scoring import logits_for_all

    item = {"label": int(label), "image28": np.asarray(image28, np.float32).copy(),
            "png": canvas_png(canvas_rgba, image28), "logits": logits_for_all(image28),
            "at": time.time()}
    st.session_state.setdefault(PENDING_KEY, []).append(item)
    st.session_state.setdefault(DIGESTS_KEY, set()).add(_digest(image28))


def flush() -> str | None:
    """Save what is pending, oldest first; what could not be saved stays. Why not, or None."""
    pending, code = st.session_state.get(PENDING_KEY) or [], joined()
    while pending and code:
        item = pending[0]
        try:
            drawing_id = class_store().submit(code, student(), item["label"], item["image28"],
                                              item["png"], item["logits"])
        except (BadSubmission, NotAllowed) as err:  # refused for good: trying again can't help
            log.warning("class %s: a drawing was refused: %s", code, err)
            pending.pop(0)
            return safe_text.explain(err)
        except ExplainedError as err:  # StoreError, RateLimited, NoSuchClass: kept, told
            log.info("class %s: a drawing is not saved yet: %s", code, err)
            return safe_text.explain(err)
        st.session_state.setdefault(SUBMITTED_KEY, []).append(drawing_id)
        pending.pop(0)
    return None


def watched() -> str | None:
    """The class whose view this browser shows: the one it started, or the link's ?teach=.

    NB: the link brings a teacher back to the view after a failover to another replica; it
    shows the class, and deleting it still needs the teacher's key.
    """
    info = st.session_state.get(TEACHER_KEY)
    return info.code if info is not None else st.session_state.get(WATCH_KEY)
