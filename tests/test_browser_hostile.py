"""Hostile input in a real browser: what the page shows and what the browser fetches.

Without /usr/bin/chromium these tests skip, unless EXPLORER_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import urllib.parse

import pytest

from scripts.bench import browser
from tests.apptest import need_checkpoints

pytestmark = pytest.mark.browser

TRAP = "127.0.0.1:9"  # nothing listens there: any request to it is the page obeying a value
HOSTILE = {  # each within the echoed prefix, so the page really renders it
    "model": f"[sign in](http://{TRAP}/p)",
    "t": f"![t](http://{TRAP}/t.png)",
    "naive": ":red[styled] :material/home:",
    "example": f"https://{TRAP}/bare",
}


def test_markdown_in_url_values_is_shown_as_text_and_fetches_nothing(app_url, page):
    need_checkpoints("cnn")
    page, errors = page
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    browser.open_app(page, f"{app_url.rstrip('/')}/?{urllib.parse.urlencode(HOSTILE)}")
    warning = page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="link")
    warning.first.wait_for()
    browser.wait_quiet(page, quiet_ms=800)
    assert not [url for url in requested if TRAP in url]  # no tracking image, no prefetch
    assert page.locator(f'a[href*="{TRAP}"], img[src*="{TRAP}"]').count() == 0
    shown = warning.first.locator("code").all_inner_texts()
    # Each value as text. NB: Streamlit rewrites ':material/x:' to ':material_x:' in its
    # markdown source before parsing, code spans too: still text, not an icon.
    assert shown == [value.replace(":material/", ":material_") for value in HOSTILE.values()]
    assert warning.first.locator('[data-testid="stIconMaterial"]').count() == 0
    assert errors.messages == []


def test_a_truncated_plotly_js_is_explained_where_the_charts_would_be(app_url, page):
    need_checkpoints("cnn")
    page, errors = page
    # What the browser gets from a static/ copy cut short by a kill during a first start.
    page.route("**/app/static/plotly-*.min.js",
               lambda route: route.fulfill(status=200, content_type="text/javascript",
                                           body="(function(){ var Plotly = {"))
    browser.open_app(page, app_url)
    browser.draw(page, browser.SHAPES["7"])
    assert browser.wait_for_metric(page, "Prediction") == "7"  # the numbers still come
    problem = page.locator(".dce-problem").first
    problem.wait_for()
    assert "could not load plotly.js" in problem.inner_text()
    assert any("defined no Plotly" in message for message in errors.messages)
