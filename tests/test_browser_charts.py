"""Every page's charts in a real browser: drawn by the live component's plotly.js.

ui.widgets.chart sends a page's figures to the component, which draws them with the
vendored cartesian bundle (not Streamlit's full plotly), with the PNG export named after
the chart, and with the animation frames a figure carries (the replay's epoch slider);
a dark-mode browser still gets the light page they are styled for.
Without /usr/bin/chromium these tests skip, unless EXPLORER_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import pytest
from plotly.offline import get_plotlyjs_version

from scripts.bench import browser
from tests.apptest import need_checkpoints

pytestmark = pytest.mark.browser

CHARTS_JS = """() => ({
  drawn: [...document.querySelectorAll('.dce-figure')].filter((gd) => gd._fullLayout)
           .map((gd) => gd._context.toImageButtonOptions.filename),
  streamlit: document.querySelectorAll('[data-testid="stPlotlyChart"]').length,
  chunks: performance.getEntriesByType('resource').map((r) => r.name)
           .filter((name) => /PlotlyChart|plotly-.*\\.min\\.js/.test(name))
           .map((name) => name.split('/').pop()),
})"""
# The replay figure's softmax bars as drawn, its slider's step, its animation frames.
REPLAY_JS = """() => { const gd = document.querySelector('.dce-figure');
  const softmax = gd._fullData.find((trace) => trace.name === 'softmax');
  return {top1: Math.max(...softmax.y), step: gd._fullLayout.sliders[0].active,
          frames: (gd._transitionData._frames || []).length}; }"""


@pytest.fixture
def page(chromium, app_url):
    page, errors = browser.new_page(chromium)
    page.set_default_timeout(30_000)
    yield page
    page.context.close()
    assert browser.unexpected_errors(errors.messages, app_url) == []


def test_only_the_base_path_probes_404s_are_let_through():
    url, status = "http://127.0.0.1:8501/", ("console.error: Failed to load resource: the "
                                             "server responded with a status of 404 (Not Found)")
    benign = [f"{status} @ {url}replay_page/_stcore/health",
              f"{status} @ {url}robustness_page/_stcore/host-config"]
    bad = [f"{status} @ {url}_stcore/stream", f"{status} @ {url}replay_page/_stcore/health?x",
           f"{status} @ http://evil:1/replay_page/_stcore/health",
           "pageerror: TypeError: x is undefined (/_stcore/static/js/index.js)",
           f"console.error: Uncaught Error @ {url}replay_page/_stcore/health"]
    assert browser.unexpected_errors(benign + bad, url) == bad


def open_with_example(page, url: str, charts: int) -> None:
    """Open a lab page, load an example, wait until `charts` figures are drawn and quiet."""
    page.goto(url)
    page.get_by_role("button", name="Load an example", exact=True).click()
    page.wait_for_function("(n) => [...document.querySelectorAll('.dce-figure')]"
                           ".filter((gd) => gd._fullLayout).length >= n", arg=charts)
    browser.wait_quiet(page, quiet_ms=500, timeout=30)


def test_lab_charts_are_drawn_by_the_cartesian_bundle_with_named_exports(app_url, page):
    need_checkpoints("cnn")
    open_with_example(page, app_url + "robustness_page", charts=4)
    found = page.evaluate(CHARTS_JS)
    assert sorted(found["drawn"]) == sorted(f"digit-explorer-robust-{name}" for name in
                                            ("probs", "sweep", "image", "original"))
    assert found["streamlit"] == 0
    assert found["chunks"] == [f"plotly-{get_plotlyjs_version()}-cartesian.min.js"]


def test_the_replay_slider_plays_the_frames_the_figure_came_with(app_url, page):
    need_checkpoints("mlp")
    open_with_example(page, app_url + "replay_page", charts=1)
    last = page.evaluate(REPLAY_JS)
    assert last["frames"] >= 2 and last["step"] == last["frames"] - 1
    rail = page.locator(".dce-figure .slider-rail-touch-rect").first.bounding_box()
    page.mouse.click(rail["x"] + 3, rail["y"] + rail["height"] / 2)  # the slider's left end
    page.wait_for_function("() => document.querySelector('.dce-figure')"
                           "._fullLayout.sliders[0].active === 0")
    page.wait_for_timeout(1000)  # the frame's transition
    first = page.evaluate(REPLAY_JS)
    assert first["top1"] < 0.3, first  # untrained: close to uniform (0.1)
    assert first["top1"] != last["top1"]


def test_a_dark_mode_browser_gets_the_light_page_the_charts_are_drawn_for(app_url, chromium):
    need_checkpoints("cnn")
    context = chromium.new_context(viewport=browser.VIEWPORT, color_scheme="dark")
    page = context.new_page()
    page.add_init_script(browser.PROBE_JS)
    try:
        open_with_example(page, app_url + "robustness_page", charts=4)
        background = page.evaluate("getComputedStyle(document.querySelector("
                                   "'[data-testid=stApp]')).backgroundColor")
        assert background == "rgb(255, 255, 255)"
    finally:
        context.close()

