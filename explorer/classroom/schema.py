"""The class store's tables, and the migrations that build them: each run once, in its own
transaction, and recorded in schema_version.

A new version is one function appended to MIGRATIONS; never edit one that has shipped (a
database out there is at that version). The Table objects below are the latest shape.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from explorer.classroom.api import StoreError


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime, stored without its zone (SQLite keeps none)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=dt.UTC)


def _tables(metadata: MetaData) -> tuple[Table, Table]:
    """classes and drawings as version 1 made them (no later version has changed them)."""
    classes = Table(
        "classes", metadata,
        Column("code", String(16), primary_key=True),
        Column("teacher_token_sha256", String(64), nullable=False),  # hex; the token is never kept
        Column("created", UTCDateTime, nullable=False))
    drawings = Table(
        "drawings", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("code", String(16), ForeignKey("classes.code", ondelete="CASCADE"),
               nullable=False),
        Column("student", String(64), nullable=False),
        Column("label", Integer, nullable=False),
        Column("image28", LargeBinary, nullable=False),  # 784 bytes, 0..255, row-major
        Column("canvas_png", LargeBinary, nullable=False),
        Column("logits", Text, nullable=False),  # JSON {model name: 10 floats}
        Column("created", UTCDateTime, nullable=False))
    return classes, drawings


metadata = MetaData()
classes, drawings = _tables(metadata)
schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied", UTCDateTime, nullable=False),
    Column("what", Text, nullable=False))


@dataclass(frozen=True)
class Migration:
    what: str  # one line, kept in schema_version
    run: Callable[[Connection], None]


def _v1_tables(conn: Connection) -> None:
    """classes and drawings, and the index the class view polls by (code, id > since)."""
    version1 = MetaData()
    _tables(version1)  # NB: its own MetaData: the shape of version 1, whatever comes later
    version1.create_all(conn)
    conn.execute(text("CREATE INDEX drawings_code_id ON drawings (code, id)"))


def _v2_student_index(conn: Connection) -> None:
    """The rate limit and a student's delete look a student's drawings up by time."""
    conn.execute(text("CREATE INDEX drawings_code_student_created "
                      "ON drawings (code, student, created)"))


MIGRATIONS: list[Migration] = [
    Migration("classes and drawings, index (code, id)", _v1_tables),
    Migration("index (code, student, created) for rate limits and deletes", _v2_student_index),
]


def version_of(conn: Connection) -> int:
    """The database's schema version: 0 for an empty one."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.scalar(select(func.max(schema_version.c.version))) or 0


def _lock(conn: Connection) -> None:
    """Only one process migrates at a time (SQLite: the write transaction already is one)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(2323202301)"))  # this store's own key


def _too_new(version: int) -> StoreError:
    return StoreError(f"The class database is at schema version {version}, newer than this "
                      f"app knows ({len(MIGRATIONS)}): update the app, or point it at another "
                      f"database.")


def migrate(writer: Engine, now: Callable[[], dt.datetime],
            migrations: list[Migration] | None = None) -> int:
    """Bring the database to the latest version, one transaction per step; the version.

    `writer` begins write transactions (BEGIN IMMEDIATE on SQLite), so two processes that
    start together migrate one after the other, and the second finds nothing left to do.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    with writer.connect() as conn:
        current = version_of(conn)
    if current > len(migrations):
        raise _too_new(current)
    for version, step in enumerate(migrations, start=1):
        if version <= current:
            continue
        with writer.begin() as conn:
            _lock(conn)
            schema_version.create(conn, checkfirst=True)
            if version_of(conn) >= version:  # another process did it meanwhile
                continue
            step.run(conn)
            conn.execute(insert(schema_version).values(version=version, applied=now(),
                                                       what=step.what))
    return len(migrations)
