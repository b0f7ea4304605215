"""A fixed local port in front of changing servers: scripts/bench/page_times.py's primed browser."""
from __future__ import annotations

import contextlib
import socket
import threading


class Forwarder:
    """A fixed local port whose TCP connections go to `target` (a server's port), so one
    browser origin, and its cache, outlives the servers behind it."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.target: int | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except (OSError, TypeError):
                client.close()
                continue
            upstream.settimeout(None)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(1 << 16):
                dst.sendall(data)
        for sock in (src, dst):  # either side gone: close both
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
