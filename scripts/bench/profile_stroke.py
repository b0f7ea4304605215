"""Where a stroke's time goes in the browser: a Chrome trace and the elements that re-render.

    python -m scripts.bench.profile_stroke                 # the Explorer, 5 strokes
    python -m scripts.bench.profile_stroke --strokes 3 --trace /tmp/stroke-trace.json

Serves app.py, draws N strokes on a cleared canvas and, for each, records from mouse-up
until the page is settled: a Chrome performance trace (main-thread time by event:
scripting, style and layout, paint) and every DOM mutation, counted by the Streamlit
element it falls in (its data-testid, or the live chart's name). Medians over the strokes.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from scripts.bench import browser

# Trace events whose own time is reported, grouped the way Chrome's performance panel does.
GROUPS = {"scripting": ("FunctionCall", "EvaluateScript", "v8.compile", "TimerFire",
                        "EventDispatch", "FireAnimationFrame", "RunMicrotasks"),
          "style & layout": ("UpdateLayoutTree", "Layout", "RecalculateStyles",
                             "HitTest", "PrePaint"),
          "paint": ("Paint", "PaintImage", "RasterTask", "CompositeLayers", "Layerize")}
CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8"]
COUNTER_JS = """
(() => {
  window.__dceMutations = {};
  const where = (node) => {
    for (let n = node.nodeType === 1 ? node : node.parentElement; n; n = n.parentElement) {
      if (n.dataset && n.dataset.chart) return `live chart ${n.dataset.chart}`;
      if (n.classList && n.classList.contains('dce-live')) return 'live component';
      if (n.dataset && n.dataset.testid && n.dataset.testid.startsWith('st')
          && n.dataset.testid !== 'stElementContainer') return n.dataset.testid;
    }
    return 'other';
  };
  new MutationObserver((records) => { for (const r of records) {
    const k = where(r.target); window.__dceMutations[k] = (window.__dceMutations[k] || 0) + 1;
  } }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
})();
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--strokes", type=int, default=5, help="strokes profiled (after a warm-up)")
    p.add_argument("--trace", type=Path, default=None, help="keep the last stroke's trace here")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per stroke or load")
    return p.parse_args(argv)


def _main_thread(events: list[dict]) -> tuple | None:
    """(pid, tid) of the busiest renderer main thread: the page's."""
    mains = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M"
             and e.get("name") == "thread_name"
             and e.get("args", {}).get("name") == "CrRendererMain"}
    busy = Counter((e.get("pid"), e.get("tid")) for e in events
                   if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in mains)
    return busy.most_common(1)[0][0] if busy else None


def group_times(trace: dict) -> dict[str, float]:
    """Main-thread milliseconds per group (complete events, their whole duration)."""
    events = trace.get("traceEvents", trace if isinstance(trace, list) else [])
    thread = _main_thread(events)
    out = defaultdict(float)
    for event in events:
        if event.get("ph") != "X" or (event.get("pid"), event.get("tid")) != thread:
            continue
        for group, names in GROUPS.items():
            if event.get("name") in names:
                out[group] += event.get("dur", 0) / 1000.0
    out["all tasks"] = sum(e.get("dur", 0) for e in events if e.get("name") == "RunTask"
                           and (e.get("pid"), e.get("tid")) == thread) / 1000.0
    return dict(out)


def one_stroke(page, chromium, index: int, args) -> tuple[dict, dict, float, bytes]:
    """Clear, then one stroke traced until settled: (ms per group, mutations, settled s)."""
    browser.clear_canvas(page, timeout=args.timeout)
    page.evaluate("() => { window.__dceMutations = {}; }")
    chromium.start_tracing(page=page, categories=CATEGORIES)
    browser.draw(page, browser.SHAPES["7104"[index % 4]])
    page.wait_for_function("() => window.__stProbe.shown !== null", timeout=args.timeout * 1e3)
    browser.wait_quiet(page, quiet_ms=500, timeout=args.timeout)
    raw = chromium.stop_tracing()
    numbers = browser.probe(page)
    settled = (max(numbers["lastMutation"], numbers["shown"]) - numbers["up"]) / 1000
    return group_times(json.loads(raw)), page.evaluate("() => window.__dceMutations"), \
        settled, raw


def report(rows: list[tuple[dict, dict, float]]) -> None:
    """Median main-thread ms per group, median mutations per element, median settled time."""
    print(f"\nmouse-up -> settled, median of {len(rows)}: "
          f"{np.median([r[2] for r in rows]):.3f} s")
    print("\nmain-thread time from mouse-up to settled (ms, median):")
    for group in [*GROUPS, "all tasks"]:
        print(f"  {group:<16}{np.median([r[0].get(group, 0.0) for r in rows]):>8.1f}")
    print("\nDOM mutations per element (median per stroke): what re-renders")
    names = sorted({k for r in rows for k in r[1]}, key=lambda k: -np.median(
        [r[1].get(k, 0) for r in rows]))
    for name in names:
        print(f"  {name:<28}{np.median([r[1].get(name, 0) for r in rows]):>8.0f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if browser.no_browser():
        return 2
    from playwright.sync_api import sync_playwright

    server = browser.start_server(browser.ROOT / "app.py", env={"EXPLORER_CHECKPOINT_DIR": ""})
    try:
        with sync_playwright() as playwright:
            chromium = browser.launch_chromium(playwright)
            page, _ = browser.new_page(chromium)
            page.add_init_script(COUNTER_JS)
            browser.open_app(page, server.url, timeout=60)
            browser.draw(page, browser.SHAPES["1"])  # warm-up stroke, not profiled
            browser.wait_for_metric(page, timeout=args.timeout)
            rows, raw = [], b""
            for index in range(args.strokes):
                *row, raw = one_stroke(page, chromium, index, args)
                rows.append(tuple(row))
            chromium.close()
    finally:
        server.stop()
    if args.trace:
        args.trace.write_bytes(raw)
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
