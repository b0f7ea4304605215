"""The processes under explorer.yours.sandbox: starting and ending a child, and how many run.

At most MAX_WORKERS children run at once, so uploads can't exhaust the server: making room
for another stops the least recently used idle worker (it restarts when next used).
"""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import weakref
from collections import OrderedDict
from multiprocessing.connection import Connection

from explorer.yours.sandbox_child import CHILD

MAX_WORKERS = 8
_LIVE: OrderedDict[int, weakref.ref] = OrderedDict()  # running workers, least recent first
_LIVE_LOCK = threading.RLock()  # NB: re-entrant: a worker stopped under it unregisters


def make_room(worker) -> bool:
    """Register `worker` as running, stopping least recently used idle ones; False if full.

    NB: a worker is idle when its own lock is free (`worker._lock`), and `worker._stop()`
    ends its child; a busy one is never stopped, and no lock is waited for under ours.
    """
    with _LIVE_LOCK:
        for key, ref in list(_LIVE.items()):
            if ref() is None:
                del _LIVE[key]
        for ref in list(_LIVE.values()):
            other = ref()
            if len(_LIVE) < MAX_WORKERS:
                break
            if other is not None and other is not worker and other._lock.acquire(False):
                try:
                    other._stop()
                finally:
                    other._lock.release()
        if len(_LIVE) >= MAX_WORKERS:
            return False
        _LIVE[id(worker)] = weakref.ref(worker)
        return True


def used(worker) -> None:
    """Mark `worker` most recently used."""
    with _LIVE_LOCK:
        if id(worker) in _LIVE:
            _LIVE.move_to_end(id(worker))


def forget(worker) -> None:
    """Unregister `worker` (its child has ended)."""
    with _LIVE_LOCK:
        _LIVE.pop(id(worker), None)


def running() -> int:
    """How many workers have a child now."""
    with _LIVE_LOCK:
        return sum(ref() is not None for ref in _LIVE.values())


def start_child(arguments: list[str]) -> tuple[subprocess.Popen, Connection]:
    """`python -I sandbox_child.py serve FD *arguments`, and the server's end of its socket.

    NB: only the socket is passed on (close_fds): the child can't reach the server's other
    files or its clients' connections; it runs in / so no relative path is the project's.
    """
    parent, child = multiprocessing.Pipe()
    command = [sys.executable, "-I", str(CHILD), "serve", str(child.fileno()), *arguments]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}  # numpy's threads, malloc's arenas
    try:
        process = subprocess.Popen(command, pass_fds=[child.fileno()], cwd="/", env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    except OSError:
        parent.close()
        raise
    finally:
        child.close()
    return process, parent


def end_child(process: subprocess.Popen, conn: Connection) -> None:
    """End a child: close its socket, terminate, then kill (a finaliser's: holds no worker)."""
    conn.close()
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def exit_code(process: subprocess.Popen, timeout_s: float) -> int | None:
    """The child's exit status once it has ended (-N: killed by signal N), or None."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None


def peak_rss_bytes(pid: int) -> int | None:
    """A running process's peak resident memory (VmHWM, Linux), or None.

    NB: not the child's ru_maxrss: Linux carries the forking server's RSS over the exec.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration, ValueError):
        return None
