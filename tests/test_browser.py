"""The app in a real browser (Debian's chromium via playwright): draw with the mouse, read
"Prediction", and open every page of the sidebar navigation without errors.

Without /usr/bin/chromium these tests skip, unless EXPLORER_REQUIRE_BROWSER=1 (CI): then
they fail; so do those that need a missing checkpoint under EXPLORER_REQUIRE_CHECKPOINTS=1.
Debugging: EXPLORER_SCREENSHOT=/tmp/explorer_shot.png saves the explorer after the drawn "1"
is predicted.
"""
from __future__ import annotations

import os

import pytest

from scripts.bench import browser
from tests.apptest import need_checkpoints

pytestmark = pytest.mark.browser

GUARDED_ERROR = "Something went wrong"  # ui.widgets.guarded's message for a caught exception


def assert_clean(page, errors: browser.PageErrors, where: str) -> None:
    """No JS errors, no Streamlit exception box, no guarded-error message on the page."""
    assert errors.messages == [], f"{where}: {errors.messages}"
    assert page.locator('[data-testid="stException"]').count() == 0, \
        f"{where}: {page.locator('[data-testid=stException]').first.inner_text()}"
    assert page.get_by_text(GUARDED_ERROR).count() == 0, f"{where}: a caught page error"


def test_mouse_drawn_digits_are_predicted(app_url, page):
    need_checkpoints("cnn")
    page, errors = page
    browser.open_app(page, app_url)
    browser.draw(page, browser.SHAPES["1"])  # one vertical stroke in the middle
    assert browser.wait_for_metric(page, "Prediction") == "1"
    if os.environ.get("EXPLORER_SCREENSHOT"):
        browser.wait_quiet(page)
        page.screenshot(path=os.environ["EXPLORER_SCREENSHOT"])
    browser.clear_canvas(page)  # waits for the "1" to go, so the next read is not stale
    browser.draw(page, browser.SHAPES["7"])
    assert browser.wait_for_metric(page, "Prediction") == "7"
    assert_clean(page, errors, "explorer after two drawings")


def nav_links(page) -> list[tuple[str, str]]:
    """(label, href) of the sidebar's page links; none while the app has a single page."""
    links = page.locator('[data-testid="stSidebarNav"] a')
    return [(link.inner_text().strip(), link.get_attribute("href")) for link in links.all()]


def test_every_page_opens_without_errors(app_url, page):
    page, errors = page
    browser.open_app(page, app_url, canvas=False)
    if page.locator(browser.CANVAS).count():  # a drawing in the session, for the other pages
        browser.draw(page, browser.SHAPES["7"])
        browser.wait_for_metric(page, "Prediction")
        browser.wait_quiet(page)
    assert_clean(page, errors, "first page")
    links = nav_links(page)
    for label, href in links + links[:1]:  # every page, then back to the first
        page.locator(f'[data-testid="stSidebarNav"] a[href="{href}"]').click()
        # The Explorer's URL carries its view (?model=…&t=…): match any query string.
        page.wait_for_url(f"{href}*" if href.startswith("http") else f"**{href}*")
        browser.wait_quiet(page, quiet_ms=600)
        assert_clean(page, errors, f"page {label!r} ({href})")


def _touch_stroke(page, points) -> None:
    """One finger stroke through `points` (fractions of the canvas box), through CDP."""
    box = page.locator(browser.CANVAS).bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                          "touchPoints": [{"x": xy[0][0], "y": xy[0][1]}]})
    for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
        for k in range(1, 11):
            point = {"x": x0 + (x1 - x0) * k / 10, "y": y0 + (y1 - y0) * k / 10}
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_phone_fits_the_canvas_and_the_prediction_and_draws_by_touch(app_url, chromium):
    need_checkpoints("cnn")
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.add_init_script(browser.PROBE_JS)
    errors = browser.PageErrors().attach(page)
    try:
        browser.open_app(page, app_url)
        page.locator(browser.CANVAS).scroll_into_view_if_needed()
        _touch_stroke(page, browser.SHAPES["7"])
        assert browser.wait_for_metric(page, "Prediction") == "7"
        browser.wait_quiet(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways
        for selector in (browser.CANVAS, '[data-testid="stMetric"]'):
            box = page.locator(selector).first.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
        assert_clean(page, errors, "phone viewport")
    finally:
        context.close()


def _ink_on_canvas(page) -> int:
    """Bright pixels the drawing canvas shows (its lower, rendered layer)."""
    return page.locator("canvas.dc-canvas.lower-canvas").evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++;
                  return n; }""")


def test_drawing_survives_a_page_change_in_the_browser(app_url, page):
    need_checkpoints("cnn")
    page, errors = page
    browser.open_app(page, app_url)
    browser.draw(page, browser.SHAPES["7"])
    assert browser.wait_for_metric(page, "Prediction") == "7"
    browser.wait_quiet(page)
    hrefs = {label.split()[-1]: href for label, href in nav_links(page)}  # icon text first
    page.locator(f'[data-testid="stSidebarNav"] a[href="{hrefs["Calibration"]}"]').click()
    page.get_by_text("Your drawing").first.wait_for()
    page.locator(f'[data-testid="stSidebarNav"] a[href="{hrefs["Explorer"]}"]').click()
    assert browser.wait_for_metric(page, "Prediction") == "7"
    browser.wait_quiet(page)
    assert _ink_on_canvas(page) > 500  # the stroke is drawn again, not a blank canvas
    assert_clean(page, errors, "back on the explorer")
