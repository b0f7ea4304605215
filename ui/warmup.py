"""Start-up warm-up: before the server opens its port, a headless session runs every page once.

NB: on a fresh server the first visit to a page paid 2.5-4 s of work no later visit repeats:
importing torch and plotly, loading the models, the page's first-run caches. Here a session
with no browser runs each page through the Runtime's own session API (connect_session,
handle_backmsg with the rerun a browser sends, close_session), so the first visitor finds
all of it done, and each page's heap freeze (ui.models) has happened too. A page that fails
or hangs here is only logged: the server still starts, and that page says why when visited.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.runtime import Runtime

from ui import models, navigation

log = logging.getLogger("digit_explorer")
PAGE_TIMEOUT_S = 120.0  # generous: the first page also imports torch on a busy machine


class _HeadlessClient:
    """A SessionClient that drops what a run sends and notes when the script finished."""

    client_context = None

    def __init__(self):
        self.finished = False

    def write_forward_msg(self, msg) -> None:
        if msg.WhichOneof("type") == "script_finished":
            self.finished = True


async def run_page(runtime: Runtime, page_name: str, query: str = "",
                   timeout: float | None = None) -> float:
    """Run one page ("" is the default) with a URL query in a fresh headless session; seconds.

    NB: call on the server's event loop (the Runtime's session API is not thread-safe).
    """
    timeout = PAGE_TIMEOUT_S if timeout is None else timeout
    client = _HeadlessClient()
    session_id = runtime.connect_session(client, user_info={})
    started = time.perf_counter()
    try:
        runtime.handle_backmsg(session_id,
                               BackMsg(rerun_script=ClientState(page_name=page_name,
                                                                query_string=query)))
        while not client.finished:
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"page {page_name or '(default)'!r} ran over {timeout:g} s")
            await asyncio.sleep(0.02)
        return time.perf_counter() - started
    finally:
        runtime.close_session(session_id)


async def warm_every_page(runtime: Runtime) -> dict[str, float]:
    """Run each page of the navigation with each of its warm-up queries, default page first;
    seconds per page (its URL path, with "?query" when it has one)."""
    seconds: dict[str, float] = {}
    for index, spec in enumerate(navigation.PAGES):
        page_name = "" if index == 0 else spec.url_path
        for query in spec.warm_queries:
            name = f"{spec.url_path}?{query}" if query else spec.url_path
            try:
                seconds[name] = await run_page(runtime, page_name, query)
            except Exception as err:  # noqa: BLE001 - a page's failure must not stop the server
                log.warning("warm-up of %s failed: %s", name, err)
    return seconds


@contextlib.asynccontextmanager
async def lifespan(_app):
    """st.App's lifespan: warm every page up before the port opens."""
    started = time.perf_counter()
    seconds = await warm_every_page(Runtime.instance())
    models.freeze_the_heap("the warm-up")  # NB: what the runs left alive is long-lived
    runs = sum(len(spec.warm_queries) for spec in navigation.PAGES)
    log.info("warm-up: %d of %d page runs in %.1f s (%s)", len(seconds), runs,
             time.perf_counter() - started,
             ", ".join(f"{path} {s:.2f}" for path, s in seconds.items()))
    yield None
