"""What the class store's tests share: a cheap stand-in scorer, a clock the test moves,
drawings, the backends (SQLite in tmp_path, a fresh database on the test PostgreSQL), and a
TCP proxy that a test cuts to make the database go away.

The fixtures are shared by assignment (`db_url = kit.db_url`): an imported name that a test
takes as an argument reads to ruff as a redefinition.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, make_url, text

from explorer.classroom.checks import Limits
from explorer.classroom.export import export_class
from explorer.classroom.store import open_store
from explorer.inputs.data import load_test_float
from explorer.model.registry import names
from tests.needs import skip_or_fail

PG_URL_ENV = "EXPLORER_TEST_PG_URL"  # .ci/run starts a PostgreSQL and sets it
REQUIRE_POSTGRES_ENV = "EXPLORER_REQUIRE_POSTGRES"  # .ci/run: the PostgreSQL tests must run
BACKENDS = ("sqlite", "postgresql")


def fake_logits(image28) -> dict[str, list[float]]:
    """Ten numbers per registered model, a fixed function of the image (no torch): each
    class's ink in one band of rows, scaled per model."""
    image = np.asarray(image28, np.float64)
    bands = np.array([image[int(k * 2.8):int((k + 1) * 2.8)].sum() for k in range(10)])
    return {name: [float(v) for v in bands * (j + 1) - j] for j, name in enumerate(names())}


@dataclass
class Clock:
    """A UTC clock that moves only when the test says."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@cache
def _test_images() -> np.ndarray:
    return load_test_float()[0]


def digit(i: int) -> np.ndarray:
    """MNIST test image i as (28, 28) float32 in [0, 1] (a copy)."""
    return _test_images()[i].copy()


@cache
def _blank(size: tuple[int, int]) -> bytes:
    return png(np.zeros((size[1], size[0], 4), np.uint8))


def png(image: np.ndarray | None = None, size: tuple[int, int] = (280, 280)) -> bytes:
    """A PNG: `image` (uint8 RGBA or grey) or a blank canvas of `size` (width, height)."""
    if image is None:
        return _blank(size)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def student(tag: str = "") -> str:
    """An anonymous token as the UI makes them."""
    return f"{tag}-{secrets.token_urlsafe(9)}"  # tag: letters, digits, - or _


def submit(store, code: str, who: str, label: int, i: int = 0, **changes) -> int:
    """Submit MNIST test image i as a drawing, with the server's logits unless changed."""
    image = changes.pop("image28", digit(i))
    logits = changes["logits"] if "logits" in changes else fake_logits(image)
    return store.submit(code, who, label, image, changes.get("canvas_png", png()), logits)


def class_hand(image: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """A class's hand that MNIST never saw: the digit mirrored left-right (its label kept),
    then moved by `shift` (rows, columns) pixels, each student their own."""
    return np.ascontiguousarray(np.roll(image[:, ::-1], shift, axis=(0, 1)))


def synthetic_export(folder: Path, n_students: int, per_student: int, seed: int = 0,
                     scorer=fake_logits, first: int = 3000) -> Path:
    """Export a class of `n_students` drawing `per_student` MNIST test digits (from index
    `first`) in class_hand, from a SQLite store beside `folder`; the export folder."""
    rng = np.random.default_rng(seed)
    images, labels = load_test_float()
    store = open_store(f"sqlite:///{folder.parent / (folder.name + '.sqlite3')}",
                       scorer=scorer, limits=Limits(per_student_per_minute=10**6,
                                                    per_class_per_minute=10**6))
    code = store.create_class().code
    for s in range(n_students):
        who, shift = f"student-{s:03d}", tuple(rng.integers(-3, 4, size=2))
        for i in range(first + s * per_student, first + (s + 1) * per_student):
            image = class_hand(images[i], shift)
            store.submit(code, who, int(labels[i]), image, png(), scorer(image))
    export_class(store, code, folder)
    store.close()
    return folder


def pg_admin_url() -> str | None:
    return os.environ.get(PG_URL_ENV) or None


class Proxy:
    """A TCP proxy to (host, port) on a fixed local port; stop() cuts every connection and
    refuses new ones, start() lets them through again: a database that goes away."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = 0
        self._server: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self.port, self._server = server.getsockname()[1], server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # stopped
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # NB: close() alone leaves accept() running
        except OSError:
            pass
        self._server.close()
        with self._lock:
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._open.clear()


@contextmanager
def backend_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in tmp_path, or a new database on the test
    PostgreSQL ($EXPLORER_TEST_PG_URL; skipped without it, failed under
    $EXPLORER_REQUIRE_POSTGRES=1), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'class.sqlite3'}"
        return
    admin_url = pg_admin_url()
    if admin_url is None:
        skip_or_fail(f"no test PostgreSQL: set {PG_URL_ENV} to a postgresql+psycopg:// URL "
                     f"(.ci/postgres start DIR prints one)", REQUIRE_POSTGRES_ENV)
    name = f"class_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh database on each backend in turn (backend_url)."""
    with backend_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(db_url, clock):
    """The store on db_url, scored by fake_logits, on the test's clock."""
    store = open_store(db_url, scorer=fake_logits, clock=clock)
    yield store
    store.close()
