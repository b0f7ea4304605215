"""Stroke-to-answer latency in a real browser: the explorer against a bare canvas page.

    python -m scripts.bench.browser_latency                  # 3 page loads × 10 strokes per page
    python -m scripts.bench.browser_latency --page-loads 1 --strokes 10 --checkpoint-dir /tmp/ck

In one run it serves scripts/bench/bare_canvas_app.py (the same canvas, answered with no model)
and app.py (the explorer, default model cnn) on two Streamlit servers, loads each in its
own chromium page and draws N single-stroke digits on each, alternating bare/explorer
stroke by stroke so machine load hits both alike. Every stroke after the first starts on a
canvas cleared with the page's own "Clear" button, so "Prediction" is absent before the
stroke and its appearance is the answer (no stale value can be read).
Timed inside the page with performance.now(): mouse-up -> the "Prediction" value in the DOM
("answer"), and mouse-up -> the last DOM change of that run ("settled": charts drawn). The
Explorer's charts are one browser component drawing with Plotly.react, which updates its SVG
in place, mostly through attributes: "settled" watches every DOM change, attributes too
(browser.LIVE_PROBE_JS), and waits for window.__dceLive.reacts to stop changing. To show it
sees the charts, it reports for how many strokes a chart's SVG changed after the mouse-up,
and what the old, attribute-blind probe (browser.PROBE_JS) would have called settled.
Also: whether plotly.js was loaded when the first stroke began (window.Plotly at mouse-down).
Needs Debian's chromium (/usr/bin/chromium) and pip's playwright.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scripts.bench import browser

ROOT = browser.ROOT
SHAPE_ORDER = ("1", "7", "L", "0", "4", "2")
OFFSETS = ((0.0, 0.0), (-0.1, -0.06), (0.1, 0.06), (-0.06, 0.08), (0.08, -0.08))
TARGET_S = 0.100  # the explorer may add at most this to the bare page's median settled
FIRST_TARGET_S = 0.100  # the first stroke may take at most this more than later ones


@dataclass
class Target:
    """One page under test and what its strokes measured (seconds)."""

    name: str
    script: Path
    env: dict
    server: browser.StreamlitServer | None = None
    page: object = None
    first: list[tuple[float, float]] = field(default_factory=list)  # (latency, settled)
    plotly_first: list[bool] = field(default_factory=list)  # window.Plotly at its mouse-down
    latency: list[float] = field(default_factory=list)
    settled: list[float] = field(default_factory=list)
    chart_changed: list[bool] = field(default_factory=list)  # a chart's SVG changed after up
    old_settled: list[float] = field(default_factory=list)  # by PROBE_JS's filtered observer
    failures: list[str] = field(default_factory=list)
    your_model: Path | None = None  # uploaded on the "Your model" page after each page load


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--strokes", type=int, default=10,
                        help="strokes per page load, the first reported apart")
    parser.add_argument("--page-loads", type=int, default=3,
                        help="times each page is (re)loaded; each load's first stroke is a "
                             "first stroke")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="folder holding cnn/ for the explorer, passed as "
                             "EXPLORER_CHECKPOINT_DIR (None: the project's checkpoints/)")
    parser.add_argument("--your-model", type=Path, default=None,
                        help="also a third page: the explorer on this model file (ONNX or a "
                             "state dict), uploaded on the Your model page after each load")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for one answer or one page load")
    parser.add_argument("--quiet-ms", type=int, default=500,
                        help="a run counts as settled after this long without DOM changes")
    args = parser.parse_args(argv)
    if args.strokes < 2 or args.page_loads < 1:
        parser.error("--strokes must be at least 2 (the first is apart), --page-loads 1")
    return args


def stroke(page, index: int, args) -> dict:
    """Draw stroke `index` on a blank canvas; its times after mouse-up (s) and probe facts."""
    browser.draw(page, browser.SHAPES[SHAPE_ORDER[index % len(SHAPE_ORDER)]],
                 offset=OFFSETS[(index // len(SHAPE_ORDER)) % len(OFFSETS)])
    page.wait_for_function("() => window.__stProbe.shown !== null",
                           timeout=args.timeout * 1000, polling="raf")
    browser.wait_live_settled(page, quiet_ms=args.quiet_ms, timeout=args.timeout)
    numbers, live = browser.probe(page), browser.live_probe(page)
    up, shown = numbers["up"], numbers["shown"]
    return {"answer": (shown - up) / 1000,
            "settled": (max(live["lastChange"], shown) - up) / 1000,
            "old_settled": (max(numbers["lastMutation"], shown) - up) / 1000,
            "chart_changed": live["lastPlot"] > up, "plotly": live["plotlyAtDown"][-1]}


def measure(target: Target, index: int, args) -> None:
    """One stroke on one page (cleared first unless it is the first); a failure reloads."""
    try:
        if index:
            browser.clear_canvas(target.page, timeout=args.timeout)
            browser.wait_live_settled(target.page, args.quiet_ms, args.timeout)
        result = stroke(target.page, index, args)
    except Exception as err:  # noqa: BLE001 - one lost stroke must not end the run
        target.failures.append(f"stroke {index}: {type(err).__name__}: {err}".splitlines()[0])
        browser.open_app(target.page, target.server.url, timeout=args.timeout)
        return
    if index == 0:
        target.first.append((result["answer"], result["settled"]))
        target.plotly_first.append(result["plotly"])
        return
    target.latency.append(result["answer"])
    target.settled.append(result["settled"])
    target.old_settled.append(result["old_settled"])
    target.chart_changed.append(result["chart_changed"])


def stats(values: list[float]) -> str:
    if not values:
        return f"{0:>4}" + f"{'-':>9}" * 4
    a = np.asarray(values)
    return (f"{len(a):>4}{np.median(a):>9.3f}{np.percentile(a, 95):>9.3f}"
            f"{a.min():>9.3f}{a.max():>9.3f}")


def report(targets: list[Target], load_before, load_after) -> None:
    """The tables, the warm-up strokes, the targets, the probe's check and the machine load."""
    print(f"\nmachine: {os.cpu_count()} CPUs; load average (1/5/15 min) "
          f"{' / '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' / '.join(f'{x:.2f}' for x in load_after)} after")
    for title, attr in (("mouse-up -> 'Prediction' value in the DOM (answer)", "latency"),
                        ("mouse-up -> last DOM change of the run (settled)", "settled")):
        print(f"\n{title} (seconds; each load's first stroke left out)")
        print(f"{'page':<10}{'n':>4}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}")
        for t in targets:
            print(f"{t.name:<10}{stats(getattr(t, attr))}")
    bare, *explorers = targets
    for explorer in explorers:
        for title, attr in (("answer", "latency"), ("settled", "settled")):
            if bare.latency and explorer.latency:
                a, b = np.asarray(getattr(explorer, attr)), np.asarray(getattr(bare, attr))
                print(f"{explorer.name} - bare, {title}: median "
                      f"{np.median(a) - np.median(b):+.3f} s, "
                      f"p95 {np.percentile(a, 95) - np.percentile(b, 95):+.3f} s")
    report_first(targets)
    for explorer in explorers:
        report_targets(bare, explorer)
        report_probe(explorer)
    for t in targets:
        for failure in t.failures:
            print(f"  {t.name} lost {failure}")


def report_first(targets: list[Target]) -> None:
    """The first stroke after page load against the later strokes' medians."""
    print("\nfirst stroke after page load (answer / settled; later strokes' medians + "
          f"{FIRST_TARGET_S:.3f} s at most):")
    for t in targets:
        if not t.first or not t.settled:
            print(f"  {t.name:<10}failed")
            continue
        limit = np.median(t.settled) + FIRST_TARGET_S
        answer, settled = np.median(np.asarray(t.first), axis=0)
        verdict = "met" if settled <= limit else "MISSED"
        plotly = "" if t.name == "bare" else "; plotly.js loaded at its mouse-down: " + \
            f"{sum(x is True for x in t.plotly_first)} of {len(t.plotly_first)}"
        print(f"  {t.name:<10}median of {len(t.first)}: {answer:.3f} s / {settled:.3f} s "
              f"(settled at most {limit:.3f} s: {verdict}; each: "
              f"{', '.join(f'{s:.3f}' for _, s in t.first)}){plotly}")


def report_targets(bare: Target, explorer: Target) -> None:
    """The explorer's settled median against the bare page's plus TARGET_S."""
    if not (bare.settled and explorer.settled):
        return
    diff = float(np.median(explorer.settled) - np.median(bare.settled))
    verdict = "met" if diff <= TARGET_S else "MISSED"
    print(f"\ntarget: {explorer.name} settled median <= bare median + {TARGET_S:.3f} s: "
          f"{diff:+.3f} s: {verdict}")


def report_probe(explorer: Target) -> None:
    """Does "settled" see the charts? Strokes whose charts changed, and the old probe's view."""
    n = len(explorer.settled)
    if not n:
        return
    later = sum(s > a for s, a in zip(explorer.settled, explorer.latency))
    missed = np.asarray(explorer.settled) - np.asarray(explorer.old_settled)
    print(f"\nprobe check ({explorer.name}): a chart's SVG changed after mouse-up in "
          f"{sum(explorer.chart_changed)}/{n} strokes; settled > answer in {later}/{n} "
          "(equal: the charts were drawn by then); the attribute-blind probe would settle "
          f"earlier by median {np.median(missed):.3f} s, max {missed.max():.3f} s")


def open_target(t: Target, args) -> None:
    """(Re)load a target's page; for the Your-model target, upload the model again."""
    browser.open_app(t.page, t.server.url, timeout=max(60.0, args.timeout))
    if t.your_model is not None:
        browser.use_your_model(t.page, t.server.url, t.your_model, max(60.0, args.timeout))


def picked_model(page) -> str:
    """The value the explorer's sidebar model picker shows."""
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input').first
    return picker.input_value(timeout=5_000)


def run(targets: list[Target], args) -> None:
    """Serve and open both pages, then stroke them in turn (bare, explorer, bare, ...)."""
    from playwright.sync_api import sync_playwright

    for t in targets:
        t.server = browser.start_server(t.script, env=t.env, timeout=max(60.0, args.timeout))
    with sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        try:
            for t in targets:
                t.page, _ = browser.new_live_page(chromium)
                open_target(t, args)
            print(f"explorer model: {picked_model(targets[1].page)}; {args.page_loads} loads × "
                  f"{args.strokes} strokes per page, bare and explorer in turn", flush=True)
            for load in range(args.page_loads):
                for t in targets:
                    if load:
                        open_target(t, args)
                for index in range(args.strokes):
                    for t in targets:
                        measure(t, index, args)
        finally:
            chromium.close()


def main(argv=None) -> int:
    args = parse_args(argv)
    ck_dir = browser.preflight(args.checkpoint_dir)
    if ck_dir is None:
        return 2
    env = {"EXPLORER_CHECKPOINT_DIR": str(ck_dir)}
    targets = [Target("bare", browser.BARE_APP, {}),
               Target("explorer", ROOT / "app.py", env)]
    if args.your_model is not None:  # the same app, a second server: its own warm-up
        targets.append(Target("yours", ROOT / "app.py", env, your_model=args.your_model))
    load_before = os.getloadavg()
    try:
        run(targets, args)
    finally:
        for t in targets:
            if t.server is not None:
                t.server.stop()
    report(targets, load_before, os.getloadavg())
    return 0 if all(t.latency for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
