"""scripts/bench/soak.py end to end on a tiny size: one client, two strokes, every figure printed.

Without /usr/bin/chromium this skips, unless EXPLORER_REQUIRE_BROWSER=1 (CI): then it fails.
"""
from __future__ import annotations

import pytest

from tests.apptest import need_checkpoints

pytestmark = pytest.mark.browser


def test_a_tiny_soak_answers_every_stroke_and_reports_memory(browser_ready, capsys):
    need_checkpoints("cnn")
    from scripts.bench import soak

    code = soak.main(["--clients", "1", "--strokes", "2", "--timeout", "60", "--trace"])
    out = capsys.readouterr().out
    assert "1 clients x 2 strokes" in out
    assert "strokes answered 2 / 2, lost 0" in out, out
    assert "server RSS: start" in out and "peak" in out
    assert "MB/stroke over all strokes" in out and "over the second half" in out
    assert "s per stroke" in out
    assert code == 0
