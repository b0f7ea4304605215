"""A class in the app (AppTest): a teacher starts it, students join and submit, the view fills.

The store here is an in-memory stand-in with the real one's interface (explorer.classroom.api),
which can be told to fail like a lost database; tests/test_class_store.py tests the real one.
"""
from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from explorer import load_model, predict_logits
from explorer.classroom.api import (
    ClassInfo,
    Drawing,
    NoSuchClass,
    NotAllowed,
    RateLimited,
    StoreError,
)
from explorer.classroom.checks import quantized
from explorer.model import registry
from tests.apptest import (
    app,
    assert_clean,
    canvas_from_digit,
    chart_keys,
    metric,
    need_checkpoints,
    open_page,
)
from ui import classroom, state

PAGE = "ui/pages/class_page.py"


class FakeStore:
    """The ClassStore interface in memory; `down` makes every call fail like a lost database."""

    def __init__(self):
        self.classes: dict[str, str] = {}
        self.rows: list[Drawing] = []
        self.ids = itertools.count(1)
        self.down = False
        self.limit = None  # submissions a student may make before RateLimited

    def _check(self):
        if self.down:
            raise StoreError("not saved yet: the class store is not answering")

    def create_class(self) -> ClassInfo:
        self._check()
        code = f"K7M{len(self.classes):02d}".replace("0", "Q").replace("1", "R")
        self.classes[code] = f"teacher-{code}"
        return ClassInfo(code, self.classes[code], dt.datetime.now(dt.UTC))

    def class_exists(self, code):
        self._check()
        return code in self.classes

    def submit(self, code, student, label, image28, canvas_png, logits):
        self._check()
        if code not in self.classes:
            raise NoSuchClass("no such class")
        if self.limit is not None and sum(d.student == student for d in self.rows) >= self.limit:
            raise RateLimited("Too many drawings at once: wait a minute.")
        row = Drawing(next(self.ids), code, student, label, np.asarray(image28), canvas_png,
                      logits, dt.datetime.now(dt.UTC))
        self.rows.append(row)
        return row.id

    def drawings(self, code, since_id=0):
        self._check()
        return [d for d in self.rows if d.code == code and d.id > since_id]

    def count(self, code):
        return len(self.drawings(code))

    def latest_id(self, code):
        return max((d.id for d in self.drawings(code)), default=0)

    def delete_drawing(self, code, student, drawing_id):
        before = len(self.rows)
        self.rows = [d for d in self.rows if not (d.id == drawing_id and d.student == student)]
        return len(self.rows) < before

    def delete_student(self, code, student):
        before = len(self.rows)
        self.rows = [d for d in self.rows if not (d.code == code and d.student == student)]
        return before - len(self.rows)

    def delete_class(self, code, teacher_token):
        if self.classes.get(code) != teacher_token:
            raise NotAllowed("That is not this class's teacher key.")
        self.classes.pop(code)
        gone = [d for d in self.rows if d.code == code]
        self.rows = [d for d in self.rows if d.code != code]
        return len(gone)


@pytest.fixture
def store(monkeypatch):
    fake = FakeStore()
    monkeypatch.setattr(classroom, "class_store", lambda: fake)
    return fake


def teacher_starts(store) -> tuple:
    at = open_page(PAGE)
    at.button(key="class_start").click().run()
    assert_clean(at)
    info = at.session_state[classroom.TEACHER_KEY]
    return at, info


def student_submits(code: str, digit: int, canvas) -> object:
    """A student joins with the code, draws `digit` on the Explorer, taps it."""
    at = open_page(PAGE)
    at.text_input(key="class_code_input").input(code.lower()).run()
    at.button(key="class_join").click().run()
    assert_clean(at)
    canvas.image, _ = canvas_from_digit(digit)
    at.switch_page(state.EXPLORER_PAGE).run()
    at.button(key=f"class_drew_{digit}").click().run()
    assert_clean(at)
    return at


def test_a_teacher_starts_a_class_with_a_code_a_link_and_a_qr_code(canvas, store):
    at, info = teacher_starts(store)
    assert any(info.code in str(h.proto) for h in at.get("html"))  # the code, large
    assert any(f"?class={info.code}" in m.value for m in at.markdown)
    assert len(at.get("image")) >= 1  # the QR code
    assert metric(at, "Drawings") == "0"


def test_a_student_submits_with_one_tap_and_the_server_computes_every_models_logits(
        canvas, store):
    need_checkpoints("cnn", "mlp", "mlp_softmax")
    _, info = teacher_starts(store)
    at = student_submits(info.code, 3, canvas)
    assert any("Saved: your 3" in s.value for s in at.success)
    (drawing,) = store.rows
    assert drawing.label == 3 and drawing.code == info.code and len(drawing.student) == 12
    assert set(drawing.logits) == set(registry.names())  # every ten-way model, server-side
    image = quantized(at.session_state[state.CURRENT_IMAGE_KEY])[None]  # as the store keeps it
    cnn = predict_logits(load_model("cnn", device="cpu"), image)[0]
    np.testing.assert_allclose(drawing.logits["cnn"], cnn, rtol=1e-5, atol=1e-5)
    at.button(key="class_drew_3").click().run()
    assert len(store.rows) == 1  # the same drawing twice is refused
    assert any("already in the class" in i.value for i in at.info)


def test_nothing_is_stored_before_the_tap(canvas, store):
    _, info = teacher_starts(store)
    at = open_page(PAGE)
    at.text_input(key="class_code_input").input(info.code).run()
    at.button(key="class_join").click().run()
    canvas.image, _ = canvas_from_digit(5)
    at.switch_page(state.EXPLORER_PAGE).run()
    assert_clean(at)
    assert metric(at, "Prediction") == "5" and store.rows == []


def test_a_wrong_code_says_so_and_joins_nothing(canvas, store):
    teacher_starts(store)
    at = open_page(PAGE)
    at.text_input(key="class_code_input").input("ZZZZZ").run()
    at.button(key="class_join").click().run()
    assert not at.exception
    assert any("no class with the code" in w.value for w in at.warning)
    assert classroom.CLASS_KEY not in at.session_state


def test_a_lost_database_keeps_the_drawing_and_saves_it_when_back(canvas, store):
    _, info = teacher_starts(store)
    at = open_page(PAGE)
    at.text_input(key="class_code_input").input(info.code).run()
    at.button(key="class_join").click().run()
    store.down = True
    canvas.image, _ = canvas_from_digit(7)
    at.switch_page(state.EXPLORER_PAGE).run()
    at.button(key="class_drew_7").click().run()
    assert not at.exception
    assert any("Not saved yet" in w.value for w in at.warning) and store.rows == []
    store.down = False
    at.run()  # the next stroke (any rerun) tries again
    assert [d.label for d in store.rows] == [7]
    assert not any("Not saved yet" in w.value for w in at.warning)


def test_the_teachers_view_fills_as_students_submit(canvas, store):
    need_checkpoints("cnn", "mlp", "mlp_softmax")
    teacher, info = teacher_starts(store)
    for digit in (1, 4, 4):
        student_submits(info.code, digit, canvas)
    teacher.run()  # what the view's 1.5 s refresh does
    assert_clean(teacher)
    assert metric(teacher, "Drawings") == "3"
    assert {"class_confusion", "class_reliability"} <= chart_keys(teacher)


def test_a_student_over_the_rate_limit_is_told(canvas, store):
    _, info = teacher_starts(store)
    store.limit = 0
    at = student_submits(info.code, 2, canvas)
    assert any("Too many" in w.value for w in at.warning) and store.rows == []


def test_a_student_deletes_their_drawings_and_the_teacher_the_class(canvas, store):
    teacher, info = teacher_starts(store)
    at = student_submits(info.code, 6, canvas)
    at.switch_page(PAGE).run()
    at.button(key="class_delete_mine").click().run()
    assert_clean(at)
    assert store.rows == []
    teacher.toggle(key="class_confirm_delete").set_value(True).run()
    teacher.button(key="class_delete").click().run()
    assert_clean(teacher)
    assert info.code not in store.classes


def test_the_real_sqlite_store_behind_the_pages(canvas, monkeypatch, tmp_path):
    """The same flow with explorer.classroom.store's SQLite store: the drawing survives."""
    need_checkpoints("cnn", "mlp", "mlp_softmax")
    from explorer.classroom.store import open_store

    url = f"sqlite:///{tmp_path / 'class.sqlite3'}"
    monkeypatch.setenv("EXPLORER_CLASS_DB", url)
    teacher = open_page(PAGE)
    teacher.button(key="class_start").click().run()
    info = teacher.session_state[classroom.TEACHER_KEY]
    student_submits(info.code, 8, canvas)
    teacher.run()
    assert_clean(teacher)
    assert metric(teacher, "Drawings") == "1"
    (drawing,) = open_store(url).drawings(info.code)  # a fresh connection: it is on disk
    assert drawing.label == 8 and set(drawing.logits) == set(registry.names())


def test_a_teacher_sent_to_another_replica_gets_the_view_back_by_the_link(canvas, store):
    teacher, info = teacher_starts(store)
    assert teacher.query_params["teach"] in (info.code, [info.code])
    again = app()  # a new session: what a failover to another replica starts
    again.query_params["teach"] = info.code
    again.run()
    again.switch_page(PAGE).run()
    assert_clean(again)
    assert metric(again, "Drawings") == "0" and any(f"?class={info.code}" in m.value
                                                    for m in again.markdown)
    again.toggle(key="class_confirm_delete").set_value(True).run()
    again.text_input(key="class_teacher_key").input("not the key").run()
    again.button(key="class_delete").click().run()
    assert info.code in store.classes and again.warning  # the link alone can't delete
    again.text_input(key="class_teacher_key").input(info.teacher_token).run()
    again.button(key="class_delete").click().run()
    assert info.code not in store.classes
