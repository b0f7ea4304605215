"""scripts/bench/class_load.py's parts: the protocol client, the students, lost-submission sums.

The smoke test runs one real server (SQLite class store in a temporary folder, no HAProxy,
no PostgreSQL): a teacher starts a class, two students make one drawing each through
Streamlit's own websocket protocol, and every acknowledged tap is in the store.
"""
from __future__ import annotations

import asyncio
import base64
import io
import types
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from explorer.inputs.preprocess import canvas_to_mnist
from scripts.bench import browser, class_load, class_students
from scripts.bench.st_client import canvas_value
from tests.apptest import need_checkpoints


def png_of(value: dict) -> np.ndarray:
    data = value["drawing"]["data"].split(",", 1)[1]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def test_a_canvas_value_is_the_components_280px_png_and_blank_has_no_ink():
    seven, blank = canvas_value(browser.SHAPES["7"]), canvas_value([])
    assert png_of(seven).shape == (280, 280, 4)
    assert canvas_to_mnist(png_of(seven)) is not None
    assert canvas_to_mnist(png_of(blank)) is None
    assert seven["drawing"]["raw"]["objects"] and not blank["drawing"]["raw"]["objects"]


def test_a_tap_acknowledged_but_not_stored_is_lost_and_an_extra_copy_is_not():
    tally = class_students.Tally()
    tally.acked.update({("a", "7"): 2, ("b", "1"): 1, ("c", "4"): 1})
    held = Counter({("a", "7"): 1, ("b", "1"): 2, ("c", "4"): 1})
    row = class_load.summary(2, False, tally, held, {}, 10.0, 1.0, 1.0, (0, 0, 0))
    assert (row["lost"], row["duplicates"]) == (1, 1)
    assert row["missing"] == {"a 7": 1}
    assert (row["acknowledged"], row["stored"]) == (4, 4)


def test_the_teachers_lag_is_from_each_save_to_the_first_view_that_counts_it():
    tally = class_students.Tally(acks=[10.0, 11.0], teacher=[(10.5, 0), (11.2, 1), (12.0, 2)])
    assert class_load.teacher_lags(tally) == pytest.approx([1.2, 1.0])


def test_the_load_is_bounded(capsys):
    for argv in (["--sessions", "1000"], ["--drawings", "0"], ["--time-limit", "99999"]):
        with pytest.raises(SystemExit):
            class_load.parse_args(argv)
    assert class_load.parse_args([]).sessions == 60


@pytest.fixture
def class_server(tmp_path):
    need_checkpoints("cnn", "mlp", "mlp_softmax")
    server = browser.start_server(browser.ROOT / "app.py", timeout=180, env={
        "EXPLORER_CLASS_DB": f"sqlite:///{tmp_path / 'class.sqlite3'}"})
    yield server, f"sqlite:///{tmp_path / 'class.sqlite3'}"
    server.stop()


async def a_small_class(url: str, tally):
    args = types.SimpleNamespace(timeout=60.0, think_ms=50, arrive_s=0.2, drawings=1, seed=0)
    teacher, code = await class_students.start_class(url, args, tally)
    stop = asyncio.Event()
    watching = asyncio.create_task(class_students.watch(teacher, tally, stop))
    await asyncio.gather(*(class_students.student(k, url, code, args, tally, float("inf"))
                           for k in range(2)))
    await asyncio.sleep(2.0)  # the teacher's view refreshes every 1.5 s
    stop.set()
    await watching
    return code


def test_protocol_students_submit_and_the_store_holds_every_acknowledged_tap(class_server):
    server, db_url = class_server
    tally = class_students.Tally()
    code = asyncio.run(a_small_class(server.url, tally))
    assert tally.errors == []
    assert len(tally.strokes) == 4 and len(tally.taps) == 2  # 2 strokes and a tap each
    held = class_load.stored(db_url, code)
    assert sum(tally.acked.values()) == 2 and held == tally.acked
    assert tally.teacher and tally.teacher[-1][1] == 2  # the live view counted both
