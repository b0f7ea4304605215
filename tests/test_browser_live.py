"""The Explorer's live component in a real browser (Debian's chromium via playwright).

plotly.js is loaded before the first stroke; while T is dragged the browser's numbers are
exactly Python's (explorer.maths.summary at the same logits and T); a release or a T button tells
the server, which the Calibration page then shows. No timing is asserted here: see
scripts/bench/drag_benchmark.py and scripts/bench/browser_latency.py for that.
Without /usr/bin/chromium these tests skip, unless EXPLORER_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import numpy as np
import pytest

from explorer.maths.confidence import entropy_bits, sigmoid, softmax
from explorer.maths.summary import format_entropy_bits, format_margin, format_top1, values_table
from explorer.model.checkpoints import CHECKPOINT_DIR, read_meta
from scripts.bench import browser
from tests.apptest import need_checkpoints

pytestmark = pytest.mark.browser

TABLE_ROWS_JS = """() => [...document.querySelectorAll("table.dce-table tbody tr")]
  .map((tr) => [...tr.cells].map((td) => td.textContent))"""


@pytest.fixture
def page(chromium, app_url):
    """A fresh session on the Explorer with a drawn "7" answered and the page settled."""
    need_checkpoints("cnn")
    page, errors = browser.new_live_page(chromium)
    page.set_default_timeout(30_000)
    browser.open_app(page, app_url, timeout=60)
    yield page
    page.context.close()
    assert errors.messages == [], errors.messages


def draw_seven(page) -> None:
    """Draw a 7, check it is read as one, wait until the charts have settled."""
    browser.draw(page, browser.SHAPES["7"])
    assert browser.wait_for_metric(page, "Prediction", timeout=30) == "7"
    browser.wait_live_settled(page, quiet_ms=400, timeout=30)


def wait_server_t(page, t: float) -> None:
    """Wait until the server-built softmax chart's title says T = t (3 significant digits)."""
    page.wait_for_function(
        "(text) => { const gd = document.querySelector('[data-chart=softmax]'); "
        "return !!(gd && gd.layout && JSON.stringify(gd.layout.title).includes(text)); }",
        arg=f"T = {t:.3g}<", timeout=30_000, polling=100)


def test_first_stroke_finds_plotly_loaded(page):
    page.wait_for_function("() => window.__dceLive && window.__dceLive.reacts >= 1",
                           timeout=30_000)  # the blank preview is drawn: plotly.js is in
    assert page.evaluate("typeof window.Plotly") == "object"
    draw_seven(page)
    assert browser.live_probe(page)["plotlyAtDown"][0] is True


def python_view(logits, t: float, ovr_logits=None) -> tuple[dict, list[list[str]]]:
    """The readouts and the exact-values table as the server writes them at T = t."""
    z = np.asarray(logits, dtype=np.float64)
    readouts = {"top1": format_top1(z, t), "margin": format_margin(z, t),
                "entropy": format_entropy_bits(entropy_bits(z, t))}
    rows = [[str(value) for value in row.values()] for row in values_table(z, t, ovr_logits)]
    return readouts, rows


def test_dragged_numbers_equal_python(page):
    draw_seven(page)
    logits = browser.chart_logits(page)
    assert logits is not None and len(logits) == 10
    sources = browser.live_sources(page)
    assert sources["logits"] == pytest.approx(logits, rel=1e-6)
    ovr = sources["ovr_logits"]  # the σ column is the one-vs-rest model's (None: no column)
    box = page.locator(browser.LIVE_SLIDER).bounding_box()
    seen = []
    try:
        browser.drag_slider(page, box, [0.5, 0.93], steps=8, release=False)
        for target in (0.93, 0.2, 0.62):  # high T (plain decimals), low T (1 − tiny), middle
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + target * box["width"], y, steps=8)
            browser.next_frames(page)
            t = browser.live_stats(page)["t"]
            readouts, rows = python_view(logits, t, ovr)
            assert browser.live_readouts(page) == readouts, f"T = {t!r}"
            assert page.evaluate(TABLE_ROWS_JS) == rows, f"T = {t!r}"
            assert page.locator(".dce-t-value").text_content().strip() == f"{t:.3g}"
            seen.append(t)
    finally:
        page.mouse.up()
    assert len({round(t, 6) for t in seen}) == 3 and 1.0 not in seen, seen


# Mid-drag, what the SVG shows: each chart's title, the softmax and sigmoid bars' heights read
# back through plotly's own y axis, and the current-T lines' x read back on the log T axis.
DRAWN_JS = """() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map((gd) => {
  const ya = gd._fullLayout.yaxis, xa = gd._fullLayout.xaxis;
  const bars = [...gd.querySelectorAll('.barlayer .trace.bars')].map((trace) =>
    [...trace.querySelectorAll('.point path')].map((path) => {
      const m = path.getAttribute('d').match(/^M[^,]+,([^V]+)V([^H]+)H/);
      return ya.p2c(Number(m[2])); }));
  const vertical = [...gd.querySelectorAll('.scatterlayer path.js-line')]
    .map((path) => path.getAttribute('d').slice(1).split('L').map((p) => Number(p.split(',')[0])))
    .filter((xs) => xs.length === 2 && xs[0] === xs[1]);  // the current-T line
  const marker = vertical.length === 1 ? Math.pow(10, xa.p2l(vertical[0][0])) : null;
  const title = [...gd.querySelectorAll('.gtitle')].map((t) => t.textContent).join(' | ');
  return [gd.dataset.chart, { bars, marker, title }]; }))"""


def test_a_drag_moves_every_chart_to_what_python_draws_at_that_t(page):
    draw_seven(page)
    sources = browser.live_sources(page)
    box = page.locator(browser.LIVE_SLIDER).bounding_box()
    try:
        browser.drag_slider(page, box, [0.5, 0.85], steps=8, release=False)
        browser.next_frames(page)
        t = browser.live_stats(page)["t"]
        drawn = page.evaluate(DRAWN_JS)
    finally:
        page.mouse.up()
    assert abs(t - 1.0) > 0.5, t
    probs = softmax(np.asarray(sources["logits"]), t)
    np.testing.assert_allclose(drawn["softmax"]["bars"][1], probs, atol=2e-3)  # px rounding
    assert f"Softmax at T = {t:.3g}" in drawn["softmax"]["title"]
    assert f"Σ = {probs.sum():.3f}" in drawn["softmax"]["title"]
    if sources["ovr_logits"] is not None:
        sig = sigmoid(np.asarray(sources["ovr_logits"]), t)
        np.testing.assert_allclose(drawn["sigmoid"]["bars"][0], sig, atol=2e-3)
        assert f"Σ = {sig.sum():.3f}" in drawn["sigmoid"]["title"]
    for name in ("sweep", "uncertainty"):
        assert drawn[name]["marker"] == pytest.approx(t, rel=2e-2), name


def test_release_tells_the_calibration_page(page):
    draw_seven(page)
    box = page.locator(browser.LIVE_SLIDER).bounding_box()
    browser.drag_slider(page, box, [0.5, 0.8], steps=10)
    browser.next_frames(page)
    t = browser.live_stats(page)["t"]
    assert f"{t:.3g}" not in ("1", "1.36"), t  # neither the default nor the fitted T
    wait_server_t(page, t)  # the release's rerun has set the session's T
    page.locator('[data-testid="stSidebarNav"] a', has_text="Calibration").click()
    heading = page.locator("h3", has_text="Explorer's T =")
    heading.wait_for(state="visible", timeout=60_000)
    assert page.locator("h3").nth(2).inner_text().strip() == f"Explorer's T = {t:.3g}"


def test_t_buttons_move_the_slider(page):
    draw_seven(page)
    fitted = float(read_meta(CHECKPOINT_DIR / "cnn")["temperature"])
    t_text = page.locator(".dce-t-value")
    assert t_text.text_content().strip() == "1"
    position = page.locator(browser.LIVE_SLIDER).input_value()
    page.get_by_role("button", name="Use fitted T").click()
    assert t_text.text_content().strip() == f"{fitted:.3g}"
    assert page.locator(browser.LIVE_SLIDER).input_value() != position
    wait_server_t(page, fitted)
    page.get_by_role("button", name="T = 1", exact=True).click()
    assert t_text.text_content().strip() == "1"
    assert page.locator(browser.LIVE_SLIDER).input_value() == position
    wait_server_t(page, 1.0)


# What a chart shows, read from its SVG: bar and line geometry, labels, titles, legend, and
# the preview's 28×28 pixels (its image drawn back at one pixel per cell).
SNAPSHOT_JS = """async () => {
  const nums = (s) => (String(s).match(/-?[0-9.]+(e-?[0-9]+)?/g) || []).map(Number);
  const out = {};
  for (const gd of document.querySelectorAll('[data-chart]')) {
    const q = (sel) => [...gd.querySelectorAll(sel)];
    out[gd.dataset.chart] = {
      bars: q('.barlayer .point path').map((p) => nums(p.getAttribute('d'))),
      barText: q('.barlayer text.bartext')
        .map((t) => [t.textContent, ...nums(t.getAttribute('transform'))]),
      lines: q('.scatterlayer path.js-line')
        .map((p) => { const b = p.getBBox(); return [b.x, b.y, b.width, b.height]; }),
      lineText: q('.scatterlayer .textpoint text')
        .map((t) => [t.textContent, +t.getAttribute('x'), +t.getAttribute('y')]),
      titles: q('.gtitle').map((t) => t.textContent),
      legend: q('.legendtext').map((t) => t.textContent),
    };
  }
  const image = document.querySelector('.dce-sees .heatmaplayer image');
  const img = new Image();
  img.src = image.getAttribute('href') || image.getAttribute('xlink:href');
  await img.decode();
  const canvas = Object.assign(document.createElement('canvas'), {width: 28, height: 28});
  const context = canvas.getContext('2d');
  context.imageSmoothingEnabled = false;
  context.drawImage(img, 0, 0, 28, 28);
  out.sees = [...context.getImageData(0, 0, 28, 28).data].filter((_, k) => k % 4 === 0);
  return out;
}"""
REDRAW_EXACTLY_JS = """() => document.querySelectorAll('[data-chart], .dce-sees')
  .forEach((div) => div.dispatchEvent(new PointerEvent('pointerenter')))"""


def _assert_same_drawing(patched: dict, exact: dict) -> None:
    for chart, parts in exact.items():
        if chart == "sees":
            assert np.abs(np.subtract(patched[chart], parts)).max() <= 3, chart
            continue
        for part, items in parts.items():
            mine = patched[chart][part]
            assert len(mine) == len(items), (chart, part)
            for a, b in zip(mine, items):
                texts = [[x for x in row if isinstance(x, str)] for row in (a, b)]
                assert texts[0] == texts[1], (chart, part, a, b)
                numbers_a = [x for x in a if not isinstance(x, str)]
                numbers_b = [x for x in b if not isinstance(x, str)]
                assert np.allclose(numbers_a, numbers_b, atol=1.0), (chart, part, a, b)


def test_a_new_stroke_is_drawn_in_place_as_plotly_draws_it(page):
    draw_seven(page)
    browser.clear_canvas(page)
    browser.wait_live_settled(page, quiet_ms=400, timeout=30)
    before = browser.live_stats(page)
    browser.draw(page, browser.SHAPES["0"])
    assert browser.wait_for_metric(page, "Prediction", timeout=30) == "0"
    browser.wait_live_settled(page, quiet_ms=400, timeout=30)
    after = browser.live_stats(page)
    assert after["reacts"] == before["reacts"]  # no chart was rebuilt...
    assert after["patches"] - before.get("patches", 0) == 6  # ...five charts and the preview
    patched = page.evaluate(SNAPSHOT_JS)
    assert patched["softmax"]["titles"][0].startswith("Softmax at T = 1")
    page.evaluate(REDRAW_EXACTLY_JS)  # the pointer over a patched chart: Plotly redraws it
    page.wait_for_function("(n) => window.__dceLive.exact >= n", arg=after.get("exact", 0) + 6)
    browser.wait_live_settled(page, quiet_ms=400, timeout=30)
    _assert_same_drawing(patched, page.evaluate(SNAPSHOT_JS))
