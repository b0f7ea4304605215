"""A class at once: a teacher starts a class, students join with its code and submit drawings,
and the teacher's view pools them live beside what the models scored on MNIST.

Nothing is stored but what a student submits with one tap on the digit they drew: the 28×28
image, the canvas, that digit, each model's logits (recomputed on the server) and the time.
No names. A student can delete their own drawings; the teacher can delete the class.
"""
from __future__ import annotations

import streamlit as st

from explorer.classroom.api import StoreError
from explorer.errors import ExplainedError
from ui import classroom, safe_text, state, widgets
from ui.pages import class_view as view

CODE_INPUT_KEY = "class_code_input"
CONFIRM_KEY = "class_confirm_delete"
KEY_INPUT_KEY = "class_teacher_key"


def start_class() -> None:
    try:
        st.session_state[classroom.TEACHER_KEY] = classroom.class_store().create_class()
    except StoreError as err:
        st.session_state["_class_start_error"] = safe_text.explain(err)


def delete_class() -> None:
    """Delete the class with the key this browser holds, or the one typed in."""
    info = st.session_state.get(classroom.TEACHER_KEY)
    code = classroom.watched()
    token = info.teacher_token if info is not None else st.session_state.get(KEY_INPUT_KEY)
    try:
        classroom.class_store().delete_class(code, str(token or ""))
    except ExplainedError as err:  # NotAllowed: not this class's key
        st.session_state["_class_delete_error"] = safe_text.explain(err)
        return
    for key in (classroom.TEACHER_KEY, classroom.WATCH_KEY):
        st.session_state[key] = None
    st.query_params.clear()


def teacher(code: str) -> None:
    """The teacher's screen: the invitation, the live view, delete the class."""
    st.query_params["teach"] = code  # NB: a failover to another replica brings the view back
    view.invitation(code)
    info = st.session_state.get(classroom.TEACHER_KEY)
    if info is not None:
        with st.expander("Teacher key (keep it to delete the class from another browser)"):
            st.code(info.teacher_token, language=None)
    st.divider()
    view.live_view(code)
    st.divider()
    if st.toggle("Delete the whole class (every drawing, for good)", key=CONFIRM_KEY):
        if info is None:
            st.text_input("Teacher key", key=KEY_INPUT_KEY, type="password")
        st.button("Delete it now", key="class_delete", type="primary", on_click=delete_class)
    if st.session_state.get("_class_delete_error"):
        st.warning(st.session_state.pop("_class_delete_error"), icon=":material/key_off:")


def student(code: str) -> None:
    """A student's screen: where to draw, what is saved, deleting their own drawings."""
    st.success(f"You are in class `{code}`. Draw on the **Explorer**, then tap the digit you "
               "drew: only then is anything saved, and never your name.",
               icon=":material/school:")
    st.page_link(state.EXPLORER_PAGE, label="Draw on the Explorer", icon=":material/draw:")
    problem = classroom.flush()
    pending = st.session_state.get(classroom.PENDING_KEY) or []
    if pending:
        st.warning(f"{len(pending)} drawing(s) not saved yet: {problem or ''} They are kept "
                   "here and tried again.", icon=":material/cloud_off:")
    mine = st.session_state.get(classroom.SUBMITTED_KEY) or []
    st.caption(f"You have submitted {len(mine)} drawing(s) in this class.")
    left, right = st.columns(2)
    if mine and left.button("Delete my drawings", key="class_delete_mine"):
        removed = classroom.class_store().delete_student(code, classroom.student())
        st.session_state[classroom.SUBMITTED_KEY] = []
        st.toast(f"Deleted {removed} drawing(s).")
    right.button("Leave the class", key="class_leave", on_click=classroom.leave)


def lobby() -> None:
    """Join with a code, or start a class as its teacher."""
    left, right = st.columns(2)
    with left:
        st.subheader("Join a class")
        code = st.text_input("Class code", key=CODE_INPUT_KEY, max_chars=12,
                             placeholder="e.g. K7M2Q")
        if st.button("Join", key="class_join", type="primary") and classroom.join(code):
            st.rerun()
    with right:
        st.subheader("Teach a class")
        st.markdown("Start a class: the code, a link and a QR code appear here, large, and "
                    "the class's drawings pool on this screen as students submit them.")
        st.button("Start a class", key="class_start", on_click=start_class)
        if st.session_state.get("_class_start_error"):
            st.warning(st.session_state.pop("_class_start_error"), icon=":material/cloud_off:")


@widgets.guarded
def main() -> None:
    st.header("Class")
    if classroom.watched():
        teacher(classroom.watched())
    elif classroom.joined():
        student(classroom.joined())
    else:
        lobby()


main()
