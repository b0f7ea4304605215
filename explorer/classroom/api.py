"""The class store's interface: what the pages and scripts may ask of it (store.py builds it).

NB: written first, so the store, the pages and the deployment can be built side by side.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from explorer.errors import ExplainedError

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector
CODE_LENGTH = 5


class StoreError(ExplainedError):
    """The store can't do it now (no database, a full disk, a lost connection): the drawing is
    kept by the page and tried again; the message says what the student sees."""


class NoSuchClass(ExplainedError):
    """A class code that names no class (mistyped, or deleted by its teacher)."""


class RateLimited(ExplainedError):
    """Too many submissions from one student in a short time."""


class BadSubmission(ExplainedError, ValueError):
    """A submission the store refuses for good (a label that is no digit, a broken image or
    PNG, logits that are not the server's own): trying it again cannot help."""


class NotAllowed(ExplainedError, PermissionError):
    """A teacher token that is not this class's."""


@dataclass(frozen=True)
class ClassInfo:
    code: str  # CODE_LENGTH characters of CODE_ALPHABET, what students type
    teacher_token: str  # secret: only its holder may delete the class
    created: dt.datetime


@dataclass(frozen=True)
class Drawing:
    id: int
    code: str  # the class's
    student: str  # an anonymous per-browser token, never a name
    label: int  # the digit the student says they drew, 0..9
    image28: np.ndarray = field(repr=False)  # (28, 28) float32 in [0, 1]
    canvas_png: bytes = field(repr=False)  # the canvas as drawn (PNG)
    logits: dict[str, list[float]] = field(repr=False)  # model name -> (10,) raw outputs
    created: dt.datetime = None


class ClassStore(Protocol):
    """What the pages and scripts use; store.open_store(url) returns one."""

    def create_class(self) -> ClassInfo: ...
    def class_exists(self, code: str) -> bool: ...
    def submit(self, code: str, student: str, label: int, image28: np.ndarray,
               canvas_png: bytes, logits: dict[str, list[float]]) -> int: ...
    def drawings(self, code: str, since_id: int = 0) -> list[Drawing]: ...
    def count(self, code: str) -> int: ...
    def latest_id(self, code: str) -> int: ...
    def delete_drawing(self, code: str, student: str, drawing_id: int) -> bool: ...
    def delete_student(self, code: str, student: str) -> int: ...
    def delete_class(self, code: str, teacher_token: str) -> int: ...
