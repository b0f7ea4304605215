"""Your model in a real browser: upload an ONNX file, draw on it, see its findings on top.

Without /usr/bin/chromium this skips, unless EXPLORER_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import pytest

from scripts.bench import browser
from tests.apptest import need_checkpoints
from tests.test_yours_pages import Inverted, onnx_bytes

pytestmark = pytest.mark.browser


def test_an_uploaded_model_is_drawn_on_with_its_findings_on_top(app_url, page, tmp_path):
    need_checkpoints("mlp")
    from explorer import load_model

    path = tmp_path / "inverted softmax.onnx"
    path.write_bytes(onnx_bytes(Inverted(load_model("mlp", device="cpu").model)))
    page, errors = page
    browser.use_your_model(page, app_url, path, timeout=60)
    banner = page.locator('[data-testid="stAlert"]').filter(has_text="softmax-output")
    banner.first.wait_for()
    assert "input-scale" in banner.first.inner_text()
    browser.draw(page, browser.SHAPES["7"])
    assert browser.wait_for_metric(page, "Prediction", timeout=30) == "7"
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input').first
    assert picker.input_value() == "yours: inverted softmax"
    assert browser.unexpected_errors(errors.messages, app_url) == []  # page-URL probes' 404s
