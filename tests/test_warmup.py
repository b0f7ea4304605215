"""The start-up warm-up: every page run once, in order, before the server's port answers."""
from __future__ import annotations

import asyncio
import logging

from ui import navigation, warmup


class FakeRuntime:
    """Runtime's session API as the warm-up uses it; `behaviour[page]` says how a run goes."""

    def __init__(self, behaviour: dict[str, str] | None = None):
        self.behaviour = behaviour or {}
        self.clients: dict[str, warmup._HeadlessClient] = {}
        self.ran: list[str] = []
        self.queries: list[str] = []
        self.closed: list[str] = []

    def connect_session(self, client, user_info):
        session_id = f"s{len(self.clients)}"
        self.clients[session_id] = client
        return session_id

    def handle_backmsg(self, session_id, msg):
        page = msg.rerun_script.page_name
        self.ran.append(page)
        self.queries.append(msg.rerun_script.query_string)
        how = self.behaviour.get(page, "finish")
        if how == "raise":
            raise RuntimeError(f"{page} broke")
        if how == "finish":
            finished = type("Msg", (), {"WhichOneof": lambda self, _: "script_finished"})()
            self.clients[session_id].write_forward_msg(finished)

    def close_session(self, session_id):
        self.closed.append(session_id)


def test_every_page_is_run_in_sidebar_order_default_first_explorer_with_an_example_too():
    runtime = FakeRuntime()
    seconds = asyncio.run(warmup.warm_every_page(runtime))
    assert runtime.ran == ["", "", *(spec.url_path for spec in navigation.PAGES[1:])]
    assert runtime.queries[:2] == ["", "example=0"] and set(runtime.queries[2:]) == {""}
    assert list(seconds)[:3] == ["explorer_page", "explorer_page?example=0", "calibration_page"]
    assert len(seconds) == len(navigation.PAGES) + 1
    assert runtime.closed == list(runtime.clients)  # no session outlives its run


def test_a_page_that_fails_or_hangs_is_logged_and_the_others_still_run(monkeypatch, caplog):
    monkeypatch.setattr(warmup, "PAGE_TIMEOUT_S", 0.1)
    broken, stuck = navigation.PAGES[1].url_path, navigation.PAGES[2].url_path
    runtime = FakeRuntime({broken: "raise", stuck: "hang"})
    with caplog.at_level(logging.WARNING, logger="digit_explorer"):
        seconds = asyncio.run(warmup.warm_every_page(runtime))
    assert broken not in seconds and stuck not in seconds
    assert len(seconds) == len(navigation.PAGES) + 1 - 2
    assert f"{broken} broke" in caplog.text and "ran over" in caplog.text
    assert runtime.closed == list(runtime.clients)


def test_url_paths_are_what_st_page_makes_of_the_scripts():
    assert [spec.url_path for spec in navigation.PAGES][:2] == ["explorer_page", "calibration_page"]
    assert len({spec.url_path for spec in navigation.PAGES}) == len(navigation.PAGES)


def test_the_served_app_answers_only_after_every_page_has_run():
    from scripts.bench import browser

    server = browser.start_server(browser.ROOT / "app.py", env={"EXPLORER_CHECKPOINT_DIR": ""},
                                  timeout=120)
    try:
        log = server.log_path.read_text(errors="replace")  # read as soon as the port answered
    finally:
        server.stop()
    n = sum(len(spec.warm_queries) for spec in navigation.PAGES)
    assert f"warm-up: {n} of {n} page runs" in log
    assert "Traceback" not in log
