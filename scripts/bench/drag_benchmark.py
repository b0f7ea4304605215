"""How smoothly the Explorer follows a dragged temperature slider, in a real browser.

    python -m scripts.bench.drag_benchmark                 # 3 repeats, medians
    python -m scripts.bench.drag_benchmark --repeats 5 --legs 10 --steps 30

Serves app.py, draws a "7", waits until the page has settled, then drags the T control
(`input.dce-slider`) with the real mouse: a press, then --legs legs back and forth of
--steps mouse moves each (page.mouse.move(steps=...)), and a release. The component counts
its own work in window.__dceLive: `updates` (one per animation frame of a drag) and `busy`
(ms of script spent in them). Reported: updates per second of drag wall time, ms of script
per update, and mouse moves per second.
The harness's own ceiling, measured in the same run, drag by drag in turn: the identical
drag on a plain <input type=range> injected into the same page (no app work at all); its
moves per second, and its animation frames with an input in them per second (what the app
could at most update at). Their ratios say how much of the ceiling the app keeps.
Where the renderer's main thread spends a move, from chromium's own counters (CDP
Performance.getMetrics: script, style, layout, and the rest of its tasks, paint included).
Checked on every drag: mid-drag the readouts changed, __dceLive.t moved and the server was
not asked (its charts still say the old T); after the release the server's charts say the
released T (the softmax chart's title, built in Python, reads f"T = {t:.3g}").
Needs Debian's chromium (/usr/bin/chromium) and pip's playwright.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from scripts.bench import browser

ROOT = browser.ROOT
TARGET_UPDATES_S = 30.0  # the target: at least this many updates per second
PLAIN_ID = "bench-plain-range"
MAIN_THREAD = ("ScriptDuration", "RecalcStyleDuration", "LayoutDuration", "TaskDuration")
# A plain range input over the top of the page, as wide as the T control; it counts its
# input events and, coalesced per animation frame as the component does, its frames.
PLAIN_JS = """(box) => {
  if (document.getElementById("ID")) return;
  const input = Object.assign(document.createElement("input"),
                              {type: "range", min: 0, max: 1000, step: 1, id: "ID"});
  Object.assign(input.style, {position: "fixed", left: `${box.x}px`, top: "8px",
    width: `${box.width}px`, height: `${box.height}px`, margin: "0", zIndex: "2147483647"});
  const S = window.__plainBench = {inputs: 0, frames: 0, frame: 0};
  input.addEventListener("input", () => {
    S.inputs += 1;
    if (!S.frame) S.frame = requestAnimationFrame(() => { S.frame = 0; S.frames += 1; });
  });
  document.body.appendChild(input);
}""".replace("ID", PLAIN_ID)


@dataclass
class Drag:
    """One repeat: the app's drag and the plain slider's (rates per second of wall time)."""

    app_moves_s: float
    updates_s: float
    ms_per_update: float
    plain_moves_s: float
    plain_frames_s: float
    checks: dict = field(default_factory=dict)
    app_ms: dict = field(default_factory=dict)  # main-thread ms per move, by MAIN_THREAD
    plain_ms: dict = field(default_factory=dict)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="drags of each kind; medians")
    parser.add_argument("--legs", type=int, default=8, help="back-and-forth legs per drag")
    parser.add_argument("--steps", type=int, default=25, help="mouse moves per leg")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="folder holding cnn/ (None: the project's checkpoints/)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for a page load or for the page to settle")
    parser.add_argument("--quiet-ms", type=int, default=500,
                        help="the page counts as settled after this long without changes")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.legs < 1 or args.steps < 1:
        parser.error("--repeats, --legs and --steps must be at least 1")
    return args


def legs(args, repeat: int) -> list[float]:
    """Where the drag goes, as fractions of the slider: press mid-way, then end to end.

    NB: odd repeats start the other way, so consecutive releases land on different T.
    """
    ends = (0.85, 0.15) if repeat % 2 == 0 else (0.15, 0.85)
    return [0.5] + [ends[k % 2] for k in range(args.legs)]


def main_thread(cdp) -> dict:
    """Chromium's cumulative main-thread seconds by MAIN_THREAD name."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {name: metrics.get(name, 0.0) for name in MAIN_THREAD}


def per_move_ms(before: dict, after: dict, moves: int) -> dict:
    """Main-thread ms per move between two main_thread() readings."""
    return {name: 1000 * (after[name] - before[name]) / moves for name in MAIN_THREAD}


def app_drag(page, cdp, args, repeat: int) -> tuple[float, float, float, dict, dict]:
    """Drag the T control; (moves/s, updates/s, ms/update, checks, ms/move) and release it."""
    box = page.locator(browser.LIVE_SLIDER).bounding_box()
    before, readouts = browser.live_stats(page), browser.live_readouts(page)
    title = browser.chart_title(page, "softmax")
    counters, start = main_thread(cdp), time.perf_counter()
    moves = browser.drag_slider(page, box, legs(args, repeat), args.steps, release=False)
    wall = time.perf_counter() - start
    browser.next_frames(page)  # the last coalesced update has run
    cost = per_move_ms(counters, main_thread(cdp), moves)
    held, held_readouts = browser.live_stats(page), browser.live_readouts(page)
    checks = {"readouts changed mid-drag": held_readouts != readouts,
              "__dceLive.t moved mid-drag": held.get("t") != before.get("t"),
              "server not asked mid-drag": browser.chart_title(page, "softmax") == title
              and held["reacts"] == before["reacts"]}
    page.mouse.up()
    browser.wait_live_settled(page, args.quiet_ms, args.timeout)
    released = browser.live_stats(page)["t"]
    shown = page.locator(".dce-t-value").text_content().strip()
    checks["server's T is the released T"] = (
        f"T = {released:.3g}<" in (browser.chart_title(page, "softmax") or "")
        and shown == f"{released:.3g}")
    updates = held["updates"] - before["updates"]
    busy = held.get("busy", 0.0) - before.get("busy", 0.0)
    return moves / wall, updates / wall, busy / max(updates, 1), checks, cost


def plain_drag(page, cdp, args, repeat: int) -> tuple[float, float, dict]:
    """The identical drag on the injected plain range input; (moves/s, frames/s, ms/move)."""
    box = page.locator(f"#{PLAIN_ID}").bounding_box()
    before = page.evaluate("() => ({...window.__plainBench})")
    counters, start = main_thread(cdp), time.perf_counter()
    moves = browser.drag_slider(page, box, legs(args, repeat), args.steps, release=False)
    wall = time.perf_counter() - start
    browser.next_frames(page)
    cost = per_move_ms(counters, main_thread(cdp), moves)
    after = page.evaluate("() => ({...window.__plainBench})")
    page.mouse.up()
    return moves / wall, (after["frames"] - before["frames"]) / wall, cost


def one_repeat(page, cdp, args, repeat: int) -> Drag:
    """The app's drag and the plain one, in an order that alternates between repeats."""
    if repeat % 2:
        plain = plain_drag(page, cdp, args, repeat)
        app = app_drag(page, cdp, args, repeat)
    else:
        app = app_drag(page, cdp, args, repeat)
        plain = plain_drag(page, cdp, args, repeat)
    return Drag(*app[:3], *plain[:2], checks=app[3], app_ms=app[4], plain_ms=plain[2])


def prepare(page, url: str, args) -> str:
    """Open the app, draw a 7, wait for it to settle, inject the plain slider; the answer."""
    browser.open_app(page, url, timeout=args.timeout)
    browser.draw(page, browser.SHAPES["7"])
    answer = browser.wait_for_metric(page, "Prediction", timeout=args.timeout)
    browser.wait_live_settled(page, args.quiet_ms, args.timeout)
    box = page.locator(browser.LIVE_SLIDER).bounding_box()
    page.evaluate(PLAIN_JS, box)
    return answer


def run(args, env: dict) -> tuple[str, list[Drag], list[str]]:
    """Serve app.py, drag --repeats times; (Prediction, drags, page errors)."""
    from playwright.sync_api import sync_playwright

    server = browser.start_server(ROOT / "app.py", env=env, timeout=max(60.0, args.timeout))
    try:
        with sync_playwright() as playwright:
            chromium = browser.launch_chromium(playwright)
            try:
                page, errors = browser.new_live_page(chromium)
                answer = prepare(page, server.url, args)
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                drags = [one_repeat(page, cdp, args, k) for k in range(args.repeats)]
            finally:
                chromium.close()
    finally:
        server.stop()
    return answer, drags, errors.messages


def report(answer: str, drags: list[Drag], args, load: tuple) -> bool:
    """The per-repeat table, medians, ratios, checks and target; True if every check held."""
    print(f"\nmachine: {os.cpu_count()} CPUs; load average (1/5/15 min) before "
          f"{' / '.join(f'{x:.2f}' for x in load)}; drawn '7' read as {answer!r}")
    print(f"{args.legs} legs x {args.steps} mouse moves per drag; rates per second of wall time")
    print(f"\n{'repeat':<8}{'app moves/s':>12}{'updates/s':>11}{'ms/update':>11}"
          f"{'plain moves/s':>15}{'plain frames/s':>16}")
    rows = [(d.app_moves_s, d.updates_s, d.ms_per_update, d.plain_moves_s, d.plain_frames_s)
            for d in drags]
    for k, row in enumerate(rows):
        print(f"{k + 1:<8}{row[0]:>12.1f}{row[1]:>11.1f}{row[2]:>11.2f}{row[3]:>15.1f}"
              f"{row[4]:>16.1f}")
    med = np.median(np.asarray(rows), axis=0)
    print(f"{'median':<8}{med[0]:>12.1f}{med[1]:>11.1f}{med[2]:>11.2f}{med[3]:>15.1f}"
          f"{med[4]:>16.1f}")
    print(f"\nratios of medians: app updates/s / plain frames/s = {med[1] / med[4]:.2f}; "
          f"app moves/s / plain moves/s = {med[0] / med[3]:.2f}")
    extra = 1000 / med[0] - 1000 / med[3]
    print(f"each move takes {extra:.1f} ms more than on the plain slider; the component's "
          f"script is {med[2]:.2f} ms per update")
    report_main_thread(drags)
    ok = True
    for name in drags[0].checks:
        held = sum(d.checks[name] for d in drags)
        ok &= held == len(drags)
        print(f"check: {name}: {held}/{len(drags)} drags")
    verdict = "met" if med[1] >= TARGET_UPDATES_S else "MISSED"
    print(f"target: at least {TARGET_UPDATES_S:.0f} updates/s: median {med[1]:.1f}: {verdict}"
          f" (the harness's ceiling here: {med[4]:.1f} frames/s)")
    return ok


def report_main_thread(drags: list[Drag]) -> None:
    """Medians of the renderer's main-thread ms per move, app against plain."""
    print(f"\nrenderer main thread, ms per move (medians){'script':>10}{'style':>8}"
          f"{'layout':>8}{'other':>8}{'all tasks':>11}")
    for name, attr in (("app (T control)", "app_ms"), ("plain range", "plain_ms")):
        ms = {key: float(np.median([getattr(d, attr)[key] for d in drags]))
              for key in MAIN_THREAD}
        known = ms["ScriptDuration"] + ms["RecalcStyleDuration"] + ms["LayoutDuration"]
        print(f"  {name:<41}{ms['ScriptDuration']:>10.2f}{ms['RecalcStyleDuration']:>8.2f}"
              f"{ms['LayoutDuration']:>8.2f}{ms['TaskDuration'] - known:>8.2f}"
              f"{ms['TaskDuration']:>11.2f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    ck_dir = browser.preflight(args.checkpoint_dir)
    if ck_dir is None:
        return 2
    load = os.getloadavg()
    answer, drags, errors = run(args, {"EXPLORER_CHECKPOINT_DIR": str(ck_dir)})
    ok = report(answer, drags, args, load)
    for message in errors:
        print(f"page error: {message}")
    return 0 if ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
