"""The class store (api.ClassStore) on SQLAlchemy 2: SQLite in WAL mode by default, or any
SQLAlchemy URL (PostgreSQL for a deployment of several processes).

    store = open_store()                    # data/class.sqlite3, or $EXPLORER_CLASS_DB
    store = open_store("postgresql+psycopg://user:pw@host/db")
    info = store.create_class()             # info.code for the students, info.teacher_token
    store.submit(info.code, student, 7, image28, canvas_png, logits_for_all(image28))

Every submission is checked (checks.py), its logits recomputed here and compared, and rate
limited; a database failure is a StoreError whose message the student can read.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from explorer.classroom import schema
from explorer.classroom.api import (
    CODE_ALPHABET,
    CODE_LENGTH,
    ClassInfo,
    Drawing,
    NoSuchClass,
    NotAllowed,
    RateLimited,
    StoreError,
)
from explorer.classroom.checks import (
    Limits,
    checked_canvas_png,
    checked_label,
    checked_logits,
    checked_student,
    image_bytes,
    image_from_bytes,
    normal_code,
)
from explorer.classroom.database import answering, default_url, make_engine

__all__ = ["Limits", "SqlStore", "normal_code", "open_store"]
Scorer = Callable[[np.ndarray], Mapping[str, list[float]]]  # image28 -> {model: 10 outputs}
Clock = Callable[[], dt.datetime]  # aware UTC
MINUTE = dt.timedelta(minutes=1)
DEFAULT_LIMITS = Limits()
CODE_TRIES = 20  # 32**5 = 33.5 M codes: twenty clashes in a row means a full table
SAVE, READ = "Not saved yet", "The class can't be read just now"
START, DELETE = "No class started", "Nothing deleted"
classes, drawings = schema.classes, schema.drawings


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def token_hash(token: str) -> str:
    """sha256 hex of a teacher token. NB: 192 random bits need no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def server_logits(image28: np.ndarray) -> dict[str, list[float]]:
    """Every shipped model's outputs for the stored image (scoring.logits_for_all)."""
    from explorer.classroom.scoring import logits_for_all  # NB: torch only once a drawing comes

    return logits_for_all(image28)


def _no_such_class(code) -> NoSuchClass:
    normal = normal_code(code)
    if normal is None:
        return NoSuchClass(f"A class code is {CODE_LENGTH} letters and digits, like K7QZM: "
                           f"check the code on the teacher's screen.")
    return NoSuchClass(f"There is no class with the code {normal}: check the code on the "
                       f"teacher's screen (or the teacher has ended the class).")


def _drawing(row) -> Drawing:
    return Drawing(row.id, row.code, row.student, row.label, image_from_bytes(row.image28),
                   bytes(row.canvas_png), json.loads(row.logits), row.created)


class SqlStore:
    """api.ClassStore on one SQLAlchemy engine; safe to share between threads."""

    def __init__(self, engine: Engine, limits: Limits = DEFAULT_LIMITS,
                 scorer: Scorer | None = None, clock: Clock = utc_now):
        self.engine = engine
        self._writer = engine.execution_options(write=True)  # BEGIN IMMEDIATE on SQLite
        self.limits, self._scorer, self._clock = limits, scorer or server_logits, clock

    @property
    def url(self) -> str:
        """Where the store is, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def _known(self, conn: Connection, code, lock: bool = False) -> str:
        """The class's code, normalised; NoSuchClass if there is none. `lock`: hold its row
        until the transaction ends (PostgreSQL; SQLite's writer already holds the file)."""
        normal = normal_code(code)
        query = select(classes.c.code).where(classes.c.code == normal)
        if normal is None or conn.scalar(query.with_for_update() if lock else query) is None:
            raise _no_such_class(code)
        return normal

    def create_class(self) -> ClassInfo:
        """A new class: a random unused code, and the teacher's token (kept only hashed)."""
        token = secrets.token_urlsafe(24)
        for _ in range(CODE_TRIES):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            now = self._clock()
            try:
                with answering(START), self._writer.begin() as conn:
                    conn.execute(insert(classes).values(
                        code=code, teacher_token_sha256=token_hash(token), created=now))
            except sa_exc.IntegrityError:
                continue  # the code is taken: draw another
            return ClassInfo(code, token, now)
        raise StoreError(f"{START}: no free class code was found; delete old classes.")

    def class_exists(self, code: str) -> bool:
        if normal_code(code) is None:
            return False
        with answering(READ), self.engine.connect() as conn:
            try:
                self._known(conn, code)
            except NoSuchClass:
                return False
        return True

    def _checked_row(self, student, label, image28, canvas_png, logits) -> dict:
        """The drawing's columns, each checked; the logits are the server's own."""
        raw = image_bytes(image28)
        return {"student": checked_student(student), "label": checked_label(label),
                "image28": raw, "canvas_png": checked_canvas_png(canvas_png, self.limits),
                "logits": checked_logits(logits, self._scorer(image_from_bytes(raw)))}

    def _check_rate(self, conn: Connection, code: str, student: str, now: dt.datetime):
        """RateLimited when the student, or the class, has sent too much."""
        in_class, recent = drawings.c.code == code, drawings.c.created > now - MINUTE
        limits = self.limits
        for where, limit, message in [
            ((in_class, drawings.c.student == student, recent), limits.per_student_per_minute,
             "You have sent {n} drawings in the last minute: wait a moment, then send again."),
            ((in_class, recent), limits.per_class_per_minute,
             "The class has received {n} drawings in the last minute: wait a moment."),
            ((in_class,), limits.per_class,
             "The class is full: it holds {n} drawings, the most one class may."),
        ]:
            n = conn.scalar(select(func.count()).select_from(drawings).where(*where))
            if n >= limit:
                raise RateLimited(message.format(n=n))

    def submit(self, code: str, student: str, label: int, image28: np.ndarray,
               canvas_png: bytes, logits: dict[str, list[float]]) -> int:
        """Store one drawing with the digit its student tapped; its id.

        BadSubmission for anything forged or broken, NoSuchClass, RateLimited, or StoreError
        ("Not saved yet: ...") when the database can't take it now. The same image from the
        same student again is the drawing already stored (its id): submitting is idempotent.
        """
        row = self._checked_row(student, label, image28, canvas_png, logits)
        with answering(SAVE), self._writer.begin() as conn:
            row["code"] = self._known(conn, code, lock=True)
            same = conn.scalar(select(drawings.c.id).where(
                drawings.c.code == row["code"], drawings.c.student == row["student"],
                drawings.c.image28 == row["image28"]).limit(1))
            if same is not None:  # NB: a retry (a tap in flight when its replica died)
                return int(same)
            row["created"] = now = self._clock()
            self._check_rate(conn, row["code"], row["student"], now)
            return conn.execute(insert(drawings).values(**row)).inserted_primary_key[0]

    def drawings(self, code: str, since_id: int = 0) -> list[Drawing]:
        """The class's drawings with an id above `since_id`, oldest first (for polling)."""
        with answering(READ), self.engine.connect() as conn:
            code = self._known(conn, code)
            rows = conn.execute(select(drawings).where(
                drawings.c.code == code, drawings.c.id > int(since_id)).order_by(drawings.c.id))
            return [_drawing(row) for row in rows]

    def _scalar(self, code: str, what) -> int:
        with answering(READ), self.engine.connect() as conn:
            code = self._known(conn, code)
            return int(conn.scalar(select(what).where(drawings.c.code == code)) or 0)

    def count(self, code: str) -> int:
        return self._scalar(code, func.count(drawings.c.id))

    def latest_id(self, code: str) -> int:
        """The newest drawing's id (0 for none): poll drawings(code, since_id=it) after."""
        return self._scalar(code, func.max(drawings.c.id))

    def _delete(self, code: str, *where) -> int:
        with answering(DELETE), self._writer.begin() as conn:
            code = self._known(conn, code)
            return conn.execute(delete(drawings).where(drawings.c.code == code, *where)).rowcount

    def delete_drawing(self, code: str, student: str, drawing_id: int) -> bool:
        """Delete one of this student's own drawings; False if it is not theirs (or gone)."""
        return self._delete(code, drawings.c.student == str(student),
                            drawings.c.id == int(drawing_id)) == 1

    def delete_student(self, code: str, student: str) -> int:
        """Delete every drawing of this student in the class; how many."""
        return self._delete(code, drawings.c.student == str(student))

    def delete_class(self, code: str, teacher_token: str) -> int:
        """Delete the class and all its drawings (its teacher's token only); how many."""
        with answering(DELETE), self._writer.begin() as conn:
            code = self._known(conn, code, lock=True)
            stored = conn.scalar(select(classes.c.teacher_token_sha256)
                                 .where(classes.c.code == code))
            given = token_hash(teacher_token) if isinstance(teacher_token, str) else ""
            if not hmac.compare_digest(stored, given):
                raise NotAllowed("Only the teacher who started this class can delete it.")
            n = conn.execute(delete(drawings).where(drawings.c.code == code)).rowcount
            conn.execute(delete(classes).where(classes.c.code == code))
            return n


def open_store(url: str | None = None, *, limits: Limits = DEFAULT_LIMITS,
               scorer: Scorer | None = None, clock: Clock = utc_now) -> SqlStore:
    """The class store at `url` (None: $EXPLORER_CLASS_DB, else data/class.sqlite3), its
    schema migrated to the latest version. `scorer` recomputes a drawing's logits (None:
    every shipped model's); StoreError if the database can't be reached."""
    try:
        engine = make_engine(url or default_url())
    except (sa_exc.ArgumentError, ValueError) as err:
        raise StoreError("The class store's URL is not a SQLAlchemy URL "
                         "(dialect+driver://user:password@host/database).") from err
    except OSError as err:
        raise StoreError(f"The class store's folder can't be made ({err.strerror}).") from err
    try:
        with answering("The class store can't be opened"):
            schema.migrate(engine.execution_options(write=True), clock)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, limits, scorer, clock)
