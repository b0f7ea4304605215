"""Where the class store lives and how it is reached: the URL, the engine, and what a
database failure means to the student.

    SQLite (the default): data/class.sqlite3, WAL mode; one file, no set-up, survives a
    restart. Any SQLAlchemy URL instead (postgresql+psycopg://... for several processes):
    $EXPLORER_CLASS_DB, or `[connections.sql] url = ...` in .streamlit/secrets.toml (Streamlit's
    st.connection("sql") convention; url_from_secrets reads it).
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy import exc as sa_exc

from explorer.classroom.api import StoreError
from explorer.errors import PROJECT_ROOT

CLASS_DB_ENV = "EXPLORER_CLASS_DB"  # a SQLAlchemy URL, or a path to a SQLite file
DEFAULT_DB = PROJECT_ROOT / "data" / "class.sqlite3"  # data/ is gitignored
BUSY_TIMEOUT_S = 15  # how long a writer waits for another's lock before "busy"
_URL_PARTS = ("drivername", "username", "password", "host", "port", "database", "query")


def default_url() -> str:
    """$EXPLORER_CLASS_DB (a URL, or a file path for SQLite), else data/class.sqlite3."""
    configured = os.environ.get(CLASS_DB_ENV, "").strip()
    if "://" in configured:
        return configured
    path = Path(configured).expanduser() if configured else DEFAULT_DB
    return f"sqlite:///{path.resolve()}"


def url_from_secrets(secrets: Mapping) -> str | None:
    """The URL of `[connections.sql]` in Streamlit's secrets (st.secrets, or the parsed TOML):
    its `url`, else its parts (dialect, driver, host, port, database, username, password)."""
    try:
        sql = secrets["connections"]["sql"]
    except (KeyError, TypeError):
        return None
    if sql.get("url"):
        return str(sql["url"])
    if not sql.get("dialect"):
        return None
    driver = f"{sql['dialect']}+{sql['driver']}" if sql.get("driver") else sql["dialect"]
    parts = {key: sql.get(key) for key in _URL_PARTS[1:]}
    return URL.create(driver, **{k: v for k, v in parts.items() if v is not None}).render_as_string(
        hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL: readers never wait for the writer; NORMAL: durable at each checkpoint, and a
    crash loses at most the last transactions, never the file."""
    dbapi_connection.isolation_level = None  # NB: SQLAlchemy emits BEGIN itself (below)
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   f"busy_timeout={int(BUSY_TIMEOUT_S * 1000)}"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn) -> None:
    """BEGIN IMMEDIATE for writes: a deferred one that reads first can't wait for the lock.

    NB: pysqlite's own BEGIN comes late and skips DDL; a migration must be one transaction.
    """
    immediate = conn.get_execution_options().get("write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite's folder is made, and it runs in WAL mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: a connection the server dropped (restart, failover) is replaced unseen.
        connect_args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    if parsed.database in (None, "", ":memory:"):
        raise StoreError("The class store needs a SQLite file, not an in-memory database: "
                         "each connection would see its own empty one.")
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _is_disk_full(err: BaseException) -> bool:
    text = str(err).lower()
    return ("database or disk is full" in text or "no space left" in text
            or getattr(err, "sqlstate", None) in ("53100", "53200"))


def why(err: BaseException) -> str:
    """What a database failure means, in the student's words."""
    cause = getattr(err, "orig", None) or err
    text = str(cause).lower()
    if _is_disk_full(cause):
        return "the server's disk is full"
    if "locked" in text or "busy" in text:
        return "the class database is busy"
    if "readonly" in text or "read-only" in text:
        return "the class database is read-only"
    return "the class database can't be reached"


# A failure of the database, not of this code: a lost connection, a full disk, a lock.
DATABASE_FAILURES = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.InternalError,
                     sa_exc.TimeoutError, sa_exc.DisconnectionError)


@contextmanager
def answering(doing: str) -> Iterator[None]:
    """Turn a database failure into StoreError("<doing>: <why>."); the page keeps the work."""
    try:
        yield
    except (sa_exc.IntegrityError, sa_exc.ProgrammingError):
        raise  # this code's mistake, not the database's state: a bug to see
    except DATABASE_FAILURES as err:
        raise StoreError(f"{doing}: {why(err)}.") from err
    except sa_exc.DatabaseError as err:  # e.g. "file is not a database": a damaged file
        raise StoreError(f"{doing}: the class database can't be read "
                         f"({type(getattr(err, 'orig', err)).__name__}).") from err
