"""The class store, on SQLite and on a real PostgreSQL: classes, submissions and what is
refused, rate limits, deletes, polling, restarts, and the export as a dataset.

The PostgreSQL half needs $EXPLORER_TEST_PG_URL (.ci/run starts one and requires it).
"""
from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sqlalchemy import select

from explorer.classroom import schema
from explorer.classroom.api import (
    CODE_ALPHABET,
    CODE_LENGTH,
    BadSubmission,
    NoSuchClass,
    NotAllowed,
    RateLimited,
)
from explorer.classroom.checks import Limits, quantized
from explorer.classroom.database import default_url, url_from_secrets
from explorer.classroom.export import MANIFEST, MANIFEST_CSV, export_class
from explorer.classroom.store import open_store
from scripts import export_class as export_script
from tests import class_store_kit as kit
from tests.class_store_kit import digit, fake_logits, png, student
from tests.class_store_kit import submit as send

db_url, clock, store = kit.db_url, kit.clock, kit.store


def test_a_class_gets_a_fresh_code_and_a_token_kept_only_hashed(store):
    first, second = store.create_class(), store.create_class()
    for info in (first, second):
        assert len(info.code) == CODE_LENGTH and set(info.code) <= set(CODE_ALPHABET)
        assert store.class_exists(info.code) and store.class_exists(f" {info.code.lower()} ")
    assert first.code != second.code and first.teacher_token != second.teacher_token
    with store.engine.connect() as conn:
        kept = [tuple(row) for row in conn.execute(select(schema.classes))]
    assert not any(first.teacher_token in map(str, row) for row in kept)
    assert not store.class_exists("ZZZZZ") and not store.class_exists("O0I1!")


def test_a_drawing_comes_back_as_stored_with_the_servers_logits(store, clock):
    info, who = store.create_class(), student("a")
    canvas = png(np.full((280, 280, 4), 200, np.uint8))
    drawing_id = send(store, info.code, who, 7, 0, canvas_png=canvas)
    [drawing] = store.drawings(info.code)
    assert (drawing.id, drawing.code, drawing.student, drawing.label) == (drawing_id, info.code,
                                                                          who, 7)
    assert np.array_equal(drawing.image28, quantized(digit(0)))
    assert np.abs(drawing.image28 - digit(0)).max() <= 0.5 / 255 + 1e-7
    assert drawing.canvas_png == canvas and drawing.created == clock.now
    expected = fake_logits(drawing.image28)
    assert drawing.logits.keys() == expected.keys()
    assert all(drawing.logits[name] == pytest.approx(expected[name]) for name in expected)
    assert store.count(info.code) == 1 and store.latest_id(info.code) == drawing_id


def test_polling_since_an_id_gives_only_newer_drawings_of_that_class(store):
    ours, theirs = store.create_class(), store.create_class()
    assert store.latest_id(ours.code) == 0 and store.drawings(ours.code) == []
    first = send(store, ours.code, student("a"), 1, 1)
    send(store, theirs.code, student("b"), 2, 2)
    seen = store.latest_id(ours.code)
    assert seen == first and store.drawings(ours.code, since_id=seen) == []
    later = [send(store, ours.code, student("c"), k, k) for k in (3, 4)]
    assert [d.id for d in store.drawings(ours.code, since_id=seen)] == later
    assert [d.label for d in store.drawings(ours.code)] == [1, 3, 4]


def _forgeries():
    real = fake_logits(digit(5))
    first = next(iter(real))
    return {
        "one model missing": {k: v for k, v in real.items() if k != first},
        "a model of the browser's own": {**real, "my_model": [0.0] * 10},
        "nine numbers": {**real, first: real[first][:9]},
        "a NaN": {**real, first: [float("nan")] + real[first][1:]},
        "strings": {**real, first: [str(v) for v in real[first]]},
        "true/false": {**real, first: [True] * 10},
        "numbers moved to say 9": {**real, first: [*real[first][:9], 99.0]},
        "another drawing's logits": fake_logits(digit(6)),
        "not a mapping": [real[first]],
    }


@pytest.mark.parametrize("forgery", list(_forgeries()))
def test_forged_logits_are_refused_and_nothing_is_stored(store, forgery):
    info = store.create_class()
    with pytest.raises(BadSubmission, match="logits"):
        send(store, info.code, student(), 5, 5, logits=_forgeries()[forgery])
    assert store.count(info.code) == 0


@pytest.mark.parametrize("label", [10, -1, 7.0, "7", True, None, [7]])
def test_a_forged_label_is_refused(store, label):
    info = store.create_class()
    with pytest.raises(BadSubmission, match="one digit, 0 to 9"):
        send(store, info.code, student(), label, 0)
    assert store.count(info.code) == 0
    assert send(store, info.code, student(), np.int64(7), 0) > 0  # numpy's ints are ints


@pytest.mark.parametrize("image", [np.zeros((28, 27)), np.zeros((1, 28, 28)),
                                   np.full((28, 28), np.nan), np.full((28, 28), 1.5),
                                   np.full((28, 28), -0.1), np.full((28, 28), "a")])
def test_the_image_must_be_28_by_28_finite_in_0_1(store, image):
    info = store.create_class()
    with pytest.raises(BadSubmission):
        send(store, info.code, student(), 1, 0, image28=image, logits=fake_logits(digit(0)))
    assert store.count(info.code) == 0


def _truncated_png() -> bytes:
    noise = np.random.default_rng(0).integers(0, 255, (280, 280, 4), np.uint8)
    whole = png(noise)
    return whole[:len(whole) // 2]


@pytest.mark.parametrize("canvas, problem", [
    (b"GIF89a" + bytes(100), "not a PNG"),
    ("data:image/png;base64,iVBORw0KGgo=", "PNG of at most"),
    (lambda: _truncated_png(), "damaged"),
    (lambda: png(size=(2100, 2100)), "2100×2100 pixels"),
    (lambda: png(size=(300, 300)) + bytes(2_000_000), "PNG of at most 2 MB"),
])
def test_the_canvas_must_be_a_real_png_under_the_limits(store, canvas, problem):
    info = store.create_class()
    with pytest.raises(BadSubmission, match=problem):
        send(store, info.code, student(), 3, 0, canvas_png=canvas() if callable(canvas)
             else canvas)
    assert store.count(info.code) == 0


@pytest.mark.parametrize("who", ["", "Ada Lovelace", "x" * 65, None])
def test_a_student_is_an_anonymous_token_never_a_name(store, who):
    info = store.create_class()
    with pytest.raises(BadSubmission, match="student token"):
        send(store, info.code, who, 3, 0)


def test_a_wrong_class_code_is_answered_clearly(store):
    with pytest.raises(NoSuchClass, match="no class with the code ABCDE"):
        send(store, "abcde", student(), 3, 0)
    with pytest.raises(NoSuchClass, match="5 letters and digits"):
        store.drawings("not a code")
    for ask in (store.count, store.latest_id):
        with pytest.raises(NoSuchClass):
            ask("ABCDE")


def test_a_student_sending_fast_is_rate_limited_and_may_send_again_a_minute_later(
        db_url, clock):
    store = open_store(db_url, scorer=fake_logits, clock=clock,
                       limits=Limits(per_student_per_minute=3, per_class_per_minute=5, per_class=7))
    info, fast, other = store.create_class(), student("fast"), student("other")
    for k in range(3):
        send(store, info.code, fast, k, k)
    with pytest.raises(RateLimited, match="sent 3 drawings in the last minute"):
        send(store, info.code, fast, 3, 3)
    send(store, info.code, other, 4, 4)
    send(store, info.code, other, 5, 5)
    with pytest.raises(RateLimited, match="class has received 5"):
        send(store, info.code, student("third"), 6, 6)
    clock.advance(61)
    send(store, info.code, fast, 6, 6)
    send(store, info.code, other, 7, 7)
    with pytest.raises(RateLimited, match="class is full: it holds 7"):
        send(store, info.code, student("late"), 8, 8)
    assert store.count(info.code) == 7
    store.close()


def test_a_thousand_submissions_in_a_minute_from_one_client_keep_thirty(store):
    info, flood = store.create_class(), student("flood")
    outcomes = []
    for k in range(1000):
        try:
            outcomes.append(send(store, info.code, flood, k % 10, k % 50))
        except RateLimited:
            outcomes.append(None)
    # NB: image k % 50 comes back every 50: its repeat is the stored drawing (idempotent)
    assert len({o for o in outcomes if o is not None}) == Limits().per_student_per_minute == 30
    assert store.count(info.code) == 30
    assert send(store, info.code, student("calm"), 1, 1) > 0  # the class goes on


def test_students_delete_only_their_own_drawings(store):
    info, ada, bo = store.create_class(), student("ada"), student("bo")
    ada_ids = [send(store, info.code, ada, k, k) for k in range(3)]
    bo_id = send(store, info.code, bo, 9, 9)
    assert store.delete_drawing(info.code, ada, bo_id) is False
    assert store.delete_drawing(info.code, ada, ada_ids[0]) is True
    assert store.delete_drawing(info.code, ada, ada_ids[0]) is False  # already gone
    assert store.delete_student(info.code, ada) == 2
    assert [d.id for d in store.drawings(info.code)] == [bo_id]


def test_only_the_teachers_token_deletes_the_class(store):
    info, other = store.create_class(), store.create_class()
    for k in range(3):
        send(store, info.code, student(), k, k)
    send(store, other.code, student(), 1, 1)
    for wrong in ("", other.teacher_token, None, info.teacher_token + "x"):
        with pytest.raises(NotAllowed):
            store.delete_class(info.code, wrong)
    assert store.count(info.code) == 3
    assert store.delete_class(info.code, info.teacher_token) == 3
    assert not store.class_exists(info.code)
    with pytest.raises(NoSuchClass):
        send(store, info.code, student(), 1, 1)
    assert store.count(other.code) == 1


def test_the_class_survives_a_server_restart(db_url, clock):
    first = open_store(db_url, scorer=fake_logits, clock=clock)
    info = first.create_class()
    ids = [send(first, info.code, student(), k, k) for k in range(3)]
    first.close()
    again = open_store(db_url, scorer=fake_logits, clock=clock)
    assert [d.id for d in again.drawings(info.code)] == ids
    assert again.delete_class(info.code, info.teacher_token) == 3
    again.close()


def test_sqlite_is_in_wal_mode_in_the_data_folder_unless_told(tmp_path, monkeypatch):
    monkeypatch.delenv("EXPLORER_CLASS_DB", raising=False)
    assert default_url().endswith("/data/class.sqlite3")
    monkeypatch.setenv("EXPLORER_CLASS_DB", str(tmp_path / "here" / "c.db"))
    assert default_url() == f"sqlite:///{tmp_path / 'here' / 'c.db'}"
    open_store(scorer=fake_logits).close()
    with sqlite3.connect(tmp_path / "here" / "c.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    monkeypatch.setenv("EXPLORER_CLASS_DB", "postgresql+psycopg://u@h/db")
    assert default_url() == "postgresql+psycopg://u@h/db"


def test_the_url_comes_from_streamlits_connections_sql_secret():
    assert url_from_secrets({"connections": {"sql": {"url": "sqlite:///x.db"}}}) == \
        "sqlite:///x.db"
    parts = {"dialect": "postgresql", "driver": "psycopg", "host": "db", "port": 5432,
             "database": "class", "username": "app", "password": "p@ss"}
    assert url_from_secrets({"connections": {"sql": parts}}) == \
        "postgresql+psycopg://app:p%40ss@db:5432/class"
    assert url_from_secrets({}) is None and url_from_secrets({"connections": {}}) is None


def test_an_export_is_a_dataset_pandas_reads_in_one_line(store, tmp_path):
    info = store.create_class()
    who = [student("a"), student("b"), student("c")]
    canvases = {k: png(np.full((280, 280, 4), 10 * k, np.uint8)) for k in range(6)}
    ids = [send(store, info.code, who[k % 3], int(k), k, canvas_png=canvases[k])
           for k in range(6)]
    folder = export_class(store, info.code, tmp_path / "export")
    manifest = pd.read_parquet(folder / MANIFEST)
    assert list(manifest["id"]) == ids and list(manifest["label"]) == list(range(6))
    assert list(manifest["student"]) == [who[k % 3] for k in range(6)]
    for drawing, row in zip(store.drawings(info.code), manifest.itertuples(), strict=True):
        pixels = np.asarray(Image.open(folder / row.png))
        assert pixels.dtype == np.uint8
        assert np.array_equal(pixels.astype(np.float32) / 255, drawing.image28)
        assert (folder / row.canvas).read_bytes() == drawing.canvas_png
        for name, logits in drawing.logits.items():
            columns = [f"{name}_logit_{k}" for k in range(10)]
            assert np.allclose(manifest.loc[row.Index, columns].astype(float), logits)
            assert manifest.loc[row.Index, f"{name}_pred"] == int(np.argmax(logits))
    assert manifest["created"].dt.tz is not None
    csv = pd.read_csv(folder / MANIFEST_CSV)
    assert csv.drop(columns="created").equals(manifest.drop(columns="created"))


def test_the_export_script_writes_a_class_from_a_database_url(store, db_url, tmp_path, capsys):
    info = store.create_class()
    send(store, info.code, student(), 4, 4)
    assert export_script.main([info.code.lower(), "--out", str(tmp_path / "e"),
                               "--db", db_url]) == 0
    assert "1 drawing" in capsys.readouterr().out
    assert len(pd.read_parquet(tmp_path / "e" / MANIFEST)) == 1
    with pytest.raises(SystemExit) as refused:
        export_script.main(["ZZZZZ", "--out", str(tmp_path / "f"), "--db", db_url])
    assert refused.value.code == 2 and "no class" in capsys.readouterr().err


def test_the_same_drawing_sent_twice_is_stored_once(store):
    """A tap in flight when its replica died, tapped again on another: one drawing."""
    info, ada = store.create_class(), student("ada")
    first = send(store, info.code, ada, 4, 3)
    assert send(store, info.code, ada, 4, 3) == first and store.count(info.code) == 1
    assert send(store, info.code, student("bo"), 4, 3) != first  # another student's: its own
    assert send(store, info.code, ada, 4, 5) != first and store.count(info.code) == 3
