"""Errors written for the page: what is wrong and how to fix it, files named within the project.

Any other exception is a bug: the page says only that something went wrong, and the server
log keeps the details (ui.widgets.guarded).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# An absolute POSIX or Windows path: a separator-led run of path characters.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/\\])(?:[A-Za-z]:)?[/\\](?:[\w.~@+-]+[/\\])*[\w.~@+-]*")


class ExplainedError(RuntimeError):
    """A problem the user can act on; its message is fit for the page as it stands."""


def display_path(path: str | os.PathLike) -> str:
    """The path relative to the project root, else only its last component: never absolute.

    NB: error messages reach the page, which must not learn the server's directory layout.
    """
    absolute = Path(os.path.abspath(path))  # no resolve(): a symlinked folder keeps its name
    try:
        return absolute.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return absolute.name


def without_server_paths(text: str) -> str:
    """`text` with every absolute path shown as display_path shows it, but scratch paths.

    NB: the last guard before a message reaches the page; messages should name files with
    display_path already, but a library's own text inside them may not. A path in the temp
    folder stays: that is where the commands a message suggests write (--out /tmp/…).
    """
    scratch = tempfile.gettempdir().rstrip("/") + "/"
    project = str(PROJECT_ROOT).rstrip("/") + "/"

    def shown(match: re.Match) -> str:
        path = match.group()
        if len(path) < 2 or (path.startswith(scratch) and not path.startswith(project)):
            return path  # NB: a project checked out under /tmp is still the project
        return display_path(path)
    return _ABSOLUTE_PATH.sub(shown, text)
