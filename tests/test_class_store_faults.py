"""The class store when things go wrong, on SQLite and on a real PostgreSQL: old schemas
migrated, a failed migration undone, a full disk, a locked file, a database that goes away
and comes back, many writers at once, and logits forged against the real models.

Each fault must give a StoreError the student can read and lose nothing already saved.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pytest
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    text,
)

from explorer.classroom import database, schema
from explorer.classroom.api import BadSubmission, StoreError
from explorer.classroom.checks import image_bytes
from explorer.classroom.store import open_store
from explorer.errors import PROJECT_ROOT
from explorer.model.registry import names
from tests import class_store_kit as kit
from tests.apptest import need_checkpoints
from tests.class_store_kit import (
    Clock,
    Proxy,
    backend_url,
    digit,
    fake_logits,
    png,
    student,
)
from tests.class_store_kit import submit as send

db_url, clock, store = kit.db_url, kit.clock, kit.store


def versions(engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(select(schema.schema_version.c.version)
                                  .order_by(schema.schema_version.c.version)))


def build_version_1(url: str) -> None:
    """A database as version 1 of the store made it (written out here, not imported), with
    one class (teacher token "teacher-token") and two drawings."""
    v1 = MetaData()
    Table("classes", v1, Column("code", String(16), primary_key=True),
          Column("teacher_token_sha256", String(64), nullable=False),
          Column("created", DateTime, nullable=False))
    Table("drawings", v1, Column("id", Integer, primary_key=True),
          Column("code", String(16), ForeignKey("classes.code", ondelete="CASCADE"),
                 nullable=False),
          *(Column(name, kind, nullable=False) for name, kind in [
              ("student", String(64)), ("label", Integer), ("image28", LargeBinary),
              ("canvas_png", LargeBinary), ("logits", Text), ("created", DateTime)]))
    Table("schema_version", v1, Column("version", Integer, primary_key=True),
          Column("applied", DateTime, nullable=False), Column("what", Text, nullable=False))
    engine, then = create_engine(url), dt.datetime(2026, 11, 30, 8, 0)
    with engine.begin() as conn:
        v1.create_all(conn)
        conn.execute(text("CREATE INDEX drawings_code_id ON drawings (code, id)"))
        conn.execute(v1.tables["schema_version"].insert(), [dict(version=1, applied=then,
                                                                 what="v1")])
        conn.execute(v1.tables["classes"].insert(), [dict(
            code="TERM2", teacher_token_sha256=hashlib.sha256(b"teacher-token").hexdigest(),
            created=then)])
        conn.execute(v1.tables["drawings"].insert(), [dict(
            code="TERM2", student="old-student", label=k, image28=image_bytes(digit(k)),
            canvas_png=png(), logits=json.dumps(fake_logits(digit(k))), created=then)
            for k in (3, 4)])
    engine.dispose()


def test_an_old_version_1_database_is_migrated_and_keeps_its_rows(db_url):
    build_version_1(db_url)
    store = open_store(db_url, scorer=fake_logits, clock=Clock())
    assert versions(store.engine) == [1, 2]
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("drawings")}
    assert {"drawings_code_id", "drawings_code_student_created"} <= indexes
    old = store.drawings("TERM2")
    assert [d.label for d in old] == [3, 4] and old[0].student == "old-student"
    assert old[0].created == dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    assert np.abs(old[1].image28 - digit(4)).max() <= 0.5 / 255 + 1e-7
    new = send(store, "TERM2", student(), 5, 5)
    assert [d.id for d in store.drawings("TERM2")][-1] == new
    store.close()
    again = open_store(db_url, scorer=fake_logits)  # nothing left to do the second time
    assert versions(again.engine) == [1, 2]
    assert again.delete_class("TERM2", "teacher-token") == 3
    again.close()


def test_a_failing_migration_is_undone_and_the_database_stays_at_its_version(store):
    def half_done(conn):
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("a migration that fails half way")

    steps = [*schema.MIGRATIONS, schema.Migration("fails half way", half_done)]
    with pytest.raises(RuntimeError, match="half way"):
        schema.migrate(store.engine.execution_options(write=True), Clock(), steps)
    assert versions(store.engine) == [1, 2]
    assert not inspect(store.engine).has_table("half_done")


def test_a_database_newer_than_the_app_is_refused(store, db_url):
    with store.engine.begin() as conn:
        conn.execute(schema.schema_version.insert().values(
            version=len(schema.MIGRATIONS) + 1, applied=Clock().now, what="from the future"))
    with pytest.raises(StoreError, match="newer than this app knows"):
        open_store(db_url, scorer=fake_logits)


def test_threads_submitting_at_once_lose_nothing(store):
    info = store.create_class()

    def one_student(t: int) -> list[int]:
        who = student(f"t{t}")
        return [send(store, info.code, who, k % 10, 10 * t + k) for k in range(12)]

    with ThreadPoolExecutor(8) as pool:
        ids = [i for batch in pool.map(one_student, range(8)) for i in batch]
    assert len(set(ids)) == 96 == store.count(info.code)
    assert [d.id for d in store.drawings(info.code)] == sorted(ids)


def test_processes_migrating_and_submitting_at_once_lose_nothing(db_url):
    writers = [subprocess.Popen([sys.executable, "-m", "tests.class_store_writer", db_url,
                                 "10", f"p{n}"], cwd=PROJECT_ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for n in range(3)]
    store = open_store(db_url, scorer=fake_logits)  # migrating beside them, on a new database
    info = store.create_class()
    for writer in writers:
        assert writer.stdout.readline().strip() == "ready"
    outputs = [writer.communicate(info.code + "\n", timeout=300)[0] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0]
    ids = [i for out in outputs for i in json.loads(out)]
    assert len(set(ids)) == 30 == store.count(info.code)
    assert versions(store.engine) == [1, 2]
    store.close()


def _inject(store, error: Exception):
    """Make every INSERT into drawings fail with the driver's own `error`; the remover."""
    def fail(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO DRAWINGS"):
            raise error
    event.listen(store.engine, "before_cursor_execute", fail)
    return lambda: event.remove(store.engine, "before_cursor_execute", fail)


def test_a_full_disk_is_not_saved_yet_and_loses_nothing(store):
    info = store.create_class()
    kept = [send(store, info.code, student(), k, k) for k in range(3)]
    full = (sqlite3.OperationalError("database or disk is full")
            if store.engine.dialect.name == "sqlite" else
            psycopg.errors.DiskFull("could not extend file: No space left on device"))
    remove = _inject(store, full)
    with pytest.raises(StoreError, match="^Not saved yet: the server's disk is full.$"):
        send(store, info.code, student(), 7, 7)
    assert [d.id for d in store.drawings(info.code)] == kept
    remove()
    assert send(store, info.code, student(), 7, 7) > kept[-1]


def test_a_full_sqlite_file_is_not_saved_yet_and_loses_nothing(tmp_path):
    """SQLite's own SQLITE_FULL: the file may grow no more (PRAGMA max_page_count)."""
    store = open_store(f"sqlite:///{tmp_path / 'full.sqlite3'}", scorer=fake_logits)
    info = store.create_class()
    kept = [send(store, info.code, student(), k, k) for k in range(3)]

    def no_growth(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA max_page_count = 1")  # NB: clamps to its size now
    event.listen(store.engine, "connect", no_growth)
    store.engine.dispose()  # new connections, with the limit
    noise = np.random.default_rng(0).integers(0, 255, (300, 300, 4), np.uint8)
    with pytest.raises(StoreError, match="^Not saved yet: the server's disk is full.$"):
        send(store, info.code, student(), 7, 7, canvas_png=png(noise))
    assert [d.id for d in store.drawings(info.code)] == kept
    event.remove(store.engine, "connect", no_growth)
    store.engine.dispose()
    assert send(store, info.code, student(), 7, 7, canvas_png=png(noise)) > kept[-1]
    store.close()


def test_a_locked_sqlite_file_is_busy_not_saved_yet_and_readers_go_on(tmp_path, monkeypatch):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "locked.sqlite3"
    store = open_store(f"sqlite:///{path}", scorer=fake_logits)
    info = store.create_class()
    kept = send(store, info.code, student(), 1, 1)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    with pytest.raises(StoreError, match="^Not saved yet: the class database is busy.$"):
        send(store, info.code, student(), 2, 2)
    assert [d.id for d in store.drawings(info.code)] == [kept]  # WAL: reading goes on
    other.execute("COMMIT")
    other.close()
    assert send(store, info.code, student(), 2, 2) > kept
    store.close()


def test_a_database_that_goes_away_mid_class_comes_back_and_loses_nothing(tmp_path):
    with backend_url("postgresql", tmp_path) as url:
        real = make_url(url)
        proxy = Proxy(real.host, real.port)
        proxy.start()
        store = open_store(real.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False), scorer=fake_logits)
        info = store.create_class()
        kept = [send(store, info.code, student(), k, k) for k in range(2)]
        proxy.stop()  # the database server goes away: connections cut, no new ones
        with pytest.raises(StoreError, match="^Not saved yet: the class database can't be "
                                             "reached.$"):
            send(store, info.code, student(), 2, 2)
        with pytest.raises(StoreError, match="^The class can't be read just now"):
            store.drawings(info.code)
        proxy.start()  # back, on the same address
        again = send(store, info.code, student(), 2, 2)
        assert [d.id for d in store.drawings(info.code)] == [*kept, again]
        store.close()
        proxy.stop()


def test_forged_logits_cant_be_stored_against_the_real_models(tmp_path):
    from explorer.classroom.scoring import logits_for_all

    need_checkpoints(*names())
    store = open_store(f"sqlite:///{tmp_path / 'real.sqlite3'}")  # the shipped models score
    info = store.create_class()
    honest = logits_for_all(digit(0))
    assert set(honest) == set(names()) and all(len(v) == 10 for v in honest.values())
    drawing_id = store.submit(info.code, student(), 7, digit(0), png(), honest)
    assert store.drawings(info.code)[0].logits == honest and drawing_id > 0
    for forged in (logits_for_all(digit(1)), {k: [*v[:9], v[9] + 0.5] for k, v in
                                              honest.items()}):
        with pytest.raises(BadSubmission, match="not what the server computes"):
            store.submit(info.code, student(), 7, digit(0), png(), forged)
    assert store.count(info.code) == 1
    store.close()
