"""Several students at once: N concurrent browser sessions against one server.

    python -m scripts.bench.load_test                        # 6 sessions, 6 strokes each
    python -m scripts.bench.load_test --sessions 3 --strokes 4 --think-ms 3000

The bare canvas page (scripts/bench/bare_canvas_app.py), then the Explorer, one server each, same N.
A warm-up session draws every shape of browser.SHAPES once: the reference answers, and the
server's CPU per stroke and per Clear with one client. Then N sessions (one chromium, a
context each, one asyncio loop) open the page together (page views) and each draws
--strokes shapes in its own seeded order on a cleared canvas, --think-ms apart. Per stroke:
mouse-up -> settled (browser.LIVE_SETTLED_JS) and the answer: "mixed up" if not the
warm-up's, "wrong" if a digit read right in the warm-up (the bare page's ink count never is).
CPU from /proc/<pid>/stat (utime+stime, children too): the server's per page view and per
stroke (its Clear included), the client's (this process, playwright, chromium) for a share.
NB: chromium shares this machine and eats most of its CPU: latencies are worse than with
clients elsewhere, and the capacity estimate rests on the server's CPU per stroke alone.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scripts.bench import browser

ROOT = browser.ROOT
TARGET_P95_RATIO = 2.0  # explorer p95 at most this times the bare page's, same load
TARGET_CPU_S = 0.050  # explorer server CPU per stroke at most the bare page's + this
CORES, STROKE_EVERY_S = 2, 3.0  # the capacity estimate: a 2-core server, a stroke every 3 s
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    """One page under load: what its sessions measured."""

    name: str
    reference: dict = field(default_factory=dict)  # shape -> the warm-up's answer
    settled: list[float] = field(default_factory=list)  # seconds, mouse-up -> settled
    answers: list[tuple] = field(default_factory=list)  # (session, shape, answer, moved)
    lost: list[str] = field(default_factory=list)
    views: int = 0
    solo: list[tuple[float, float]] = field(default_factory=list)  # warm-up (Clear, stroke) CPU s
    cpu: dict = field(default_factory=dict)  # phase -> (server s, client s, wall s)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sessions", type=int, default=6, help="concurrent browser sessions")
    parser.add_argument("--strokes", type=int, default=6, help="strokes per session")
    parser.add_argument("--think-ms", type=int, default=1000, help="pause between strokes")
    parser.add_argument("--seed", type=int, default=0, help="session k draws in order seed+k")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="folder holding cnn/ (None: the project's checkpoints/)")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds per page or stroke")
    parser.add_argument("--quiet-ms", type=int, default=500, help="settled after this quiet")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 16 or not 1 <= args.strokes <= 50:
        parser.error("--sessions must be 1..16 and --strokes 1..50")
    return args


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children), or None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / TICK  # utime..cstime


def tree_cpu(root: int, exclude: set[int] = frozenset()) -> float:
    """CPU seconds of `root` and its living descendants, less the subtrees of `exclude`.

    NB: a process that exited counts through its parent's cutime once reaped.
    """
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        stat = _stat(int(entry)) if entry.isdigit() else None
        if stat:
            parents[int(entry)], cpu[int(entry)] = stat
    total = 0.0
    for pid, seconds in cpu.items():
        node, hops = pid, 0
        while node not in (root, 0, 1) and node not in exclude and hops < 64:
            node, hops = parents.get(node, 0), hops + 1
        total += seconds if node == root and pid not in exclude else 0.0
    return total


def cpu_now(server_pid: int) -> tuple[float, float, float]:
    """(server CPU s, client CPU s, monotonic s) now."""
    return (tree_cpu(server_pid), tree_cpu(os.getpid(), {server_pid}), time.monotonic())


async def open_session(chromium, url: str, args):
    """A fresh context on the page with both probes, settled, canvas visible."""
    context = await chromium.new_context(viewport=browser.VIEWPORT)
    page = await context.new_page()
    for script in (browser.PROBE_JS, browser.LIVE_PROBE_JS):
        await page.add_init_script(script)
    await page.goto(url, wait_until="domcontentloaded", timeout=args.timeout * 1000)
    await settle(page, args)
    await page.locator(browser.CANVAS).wait_for(state="visible", timeout=args.timeout * 1000)
    return page


async def settle(page, args) -> None:
    """Wait until the page has settled (browser.wait_live_settled, async)."""
    await page.wait_for_function(browser.LIVE_SETTLED_JS, arg=args.quiet_ms,
                                 timeout=args.timeout * 1000, polling=100)


async def clear(page, args) -> None:
    """Press Clear; wait for the old answer to go and an empty canvas (browser.clear_canvas)."""
    await page.locator(browser.CANVAS).evaluate(
        f"el => el.setAttribute('data-cleared', ({browser.INKED_JS})(el) ? 'ink' : 'blank')")
    await page.get_by_role("button", name="Clear", exact=True).click(timeout=args.timeout * 1e3)
    await page.wait_for_function("() => window.__stProbe.metric('Prediction') === null",
                                 timeout=args.timeout * 1000, polling=100)
    await page.wait_for_function(browser.CLEARED_JS, timeout=args.timeout * 1000, polling=50)
    await settle(page, args)


async def stroke(page, shape: str, args, step: dict) -> tuple[float, str]:
    """Draw `shape` on a blank canvas; (mouse-up -> settled s, the answer).

    NB: step["at"] names what it waits for, so a timeout says where the stroke was lost;
    step["box"] is where the canvas was when the stroke began.
    """
    step["at"] = "draw"
    box = step["box"] = await page.locator(browser.CANVAS).bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
          for fx, fy in browser.SHAPES[shape]]
    await page.mouse.move(*xy[0])
    await page.mouse.down()
    for x, y in xy[1:]:
        await page.mouse.move(x, y, steps=6)
    await page.mouse.up()
    step["at"] = "an answer"
    await page.wait_for_function("() => window.__stProbe.shown !== null",
                                 timeout=args.timeout * 1000, polling=100)
    step["at"] = "the page to settle"
    await settle(page, args)
    up, shown, last, answer = await page.evaluate(
        "() => { const P = window.__stProbe, D = window.__dceProbe; "
        "return [P.up, P.shown, D.lastChange, P.metric('Prediction')]; }")
    return (max(shown, last) - up) / 1000, answer


async def moved(page, step: dict) -> str:
    """', the canvas moved since the stroke began' (late styling, a remount) or ''."""
    try:
        now = await page.locator(browser.CANVAS).first.bounding_box(timeout=5_000)
    except Exception:  # noqa: BLE001 - no canvas at all is a move too
        now = None
    return "" if step["box"] is None or now == step["box"] else ", the canvas moved since"


async def strokes(k: int, page, args, result: Result) -> None:
    """Session k's strokes in its own seeded order, a think pause between them."""
    rng = random.Random(args.seed + k)
    shapes = list(browser.SHAPES)
    order = [rng.choice(shapes) for _ in range(args.strokes)]
    await asyncio.sleep(rng.uniform(0, args.think_ms / 1000))  # not in lockstep
    for i, shape in enumerate(order):
        step = {"at": "Clear", "box": None}
        try:
            if i:
                await clear(page, args)
            settled, answer = await stroke(page, shape, args, step)
        except Exception as err:  # noqa: BLE001 - one lost stroke must not end the run
            result.lost.append(f"session {k} stroke {i} ({shape!r}): {type(err).__name__} "
                               f"waiting for {step['at']}{await moved(page, step)}")
            await page.reload(wait_until="domcontentloaded", timeout=args.timeout * 1000)
            await settle(page, args)  # NB: a page that cannot even reload ends the run
            continue
        result.settled.append(settled)
        result.answers.append((k, shape, answer, await moved(page, step)))
        await asyncio.sleep(args.think_ms / 1000)


async def warm_up(chromium, server, args, result: Result) -> None:
    """One session draws every shape once: the reference answers, the server's CPU alone."""
    page = await open_session(chromium, server.url, args)
    for i, shape in enumerate(browser.SHAPES):
        start = tree_cpu(server.process.pid)
        if i:
            await clear(page, args)
        cleared = tree_cpu(server.process.pid)
        result.reference[shape] = (await stroke(page, shape, args, {}))[1]
        if i:  # the first stroke also warms the server up
            result.solo.append((cleared - start, tree_cpu(server.process.pid) - cleared))
    await page.context.close()


async def measure(chromium, server, args, result: Result) -> None:
    """Warm-up, then N sessions open the page together, then they stroke together."""
    await warm_up(chromium, server, args, result)
    before = cpu_now(server.process.pid)
    pages = await asyncio.gather(*(open_session(chromium, server.url, args)
                                   for _ in range(args.sessions)))
    result.views = len(pages)
    opened = cpu_now(server.process.pid)
    await asyncio.gather(*(strokes(k, page, args, result) for k, page in enumerate(pages)))
    done = cpu_now(server.process.pid)
    result.cpu = {"views": tuple(b - a for a, b in zip(before, opened)),
                  "strokes": tuple(b - a for a, b in zip(opened, done))}
    for page in pages:
        await page.context.close()


async def run(targets: list[tuple[Result, Path, dict]], args) -> None:
    """Each page in turn on its own server, one chromium for all sessions."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(browser.CHROMIUM), headless=True,
            args=list(browser.CHROMIUM_ARGS), timeout=60_000)
        try:
            for result, script, env in targets:
                server = browser.start_server(script, env=env, timeout=90)
                try:
                    await measure(chromium, server, args, result)
                finally:
                    server.stop()
        finally:
            await chromium.close()


def errors(result: Result) -> tuple[int, int]:
    """(wrong, mixed up) answers against the warm-up's reference."""
    wrong = sum(shape.isdigit() and result.reference.get(shape) == shape and answer != shape
                for _, shape, answer, _ in result.answers)
    mixed = sum(answer != result.reference.get(shape) for _, shape, answer, _ in result.answers)
    return wrong, mixed


def row(result: Result) -> dict:
    """The numbers of one page's table row."""
    n = max(len(result.answers), 1)
    server_s, client_s, wall = result.cpu["strokes"]
    wrong, mixed = errors(result)
    settled = np.asarray(result.settled or [np.nan])
    return {"p50": np.median(settled), "p95": np.percentile(settled, 95), "n": len(result.answers),
            "wrong": wrong, "mixed": mixed, "lost": len(result.lost),
            "cpu_stroke": server_s / n, "cpu_view": result.cpu["views"][0] / max(result.views, 1),
            "client_stroke": client_s / n, "share": server_s / max(server_s + client_s, 1e-9),
            "busy": (server_s + client_s) / max(wall, 1e-9), "srv_busy": server_s / max(wall, 1e-9)}


def report(results: list[Result], args, load: tuple) -> bool:
    """The table, the targets and the capacity line; True when no answer was wrong or mixed."""
    print(f"\nmachine: {os.cpu_count()} CPUs; load average before "
          f"{' / '.join(f'{x:.2f}' for x in load)}, after "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.sessions} sessions x {args.strokes} strokes, think {args.think_ms} ms; "
          "settled in s; CPU s from /proc (server per stroke / per page view, client per stroke)")
    print(f"\n{'page':<10}{'n':>4}{'p50':>7}{'p95':>7}{'wrong':>7}{'mixed':>7}{'lost':>6}"
          f"{'srv/stroke':>12}{'srv/view':>10}{'client/stroke':>15}{'srv share':>11}"
          f"{'srv cores':>11}{'all cores':>11}")
    rows = {}
    for r in results:
        x = rows[r.name] = row(r)
        print(f"{r.name:<10}{x['n']:>4}{x['p50']:>7.3f}{x['p95']:>7.3f}{x['wrong']:>7}"
              f"{x['mixed']:>7}{x['lost']:>6}{x['cpu_stroke']:>12.3f}{x['cpu_view']:>10.3f}"
              f"{x['client_stroke']:>15.3f}{x['share']:>11.0%}{x['srv_busy']:>11.2f}"
              f"{x['busy']:>11.2f}")
    for r in results:
        clear_s, stroke_s = np.median(np.asarray(r.solo), axis=0) * 1000
        print(f"  {r.name} warm-up answers: {r.reference}; one session alone, server CPU per "
              f"stroke {stroke_s:.0f} ms + its Clear {clear_s:.0f} ms (medians)")
        for lost in r.lost:
            print(f"  {r.name} lost {lost}")
        for k, shape, answer, how in r.answers:
            if answer != r.reference.get(shape):
                print(f"  {r.name} session {k}: {shape!r} read as {answer!r}, warm-up "
                      f"{r.reference.get(shape)!r}{how}")
    targets(rows["bare"], rows["explorer"])
    return all(x["wrong"] == 0 and x["mixed"] == 0 and x["lost"] == 0 for x in rows.values())


def targets(bare: dict, explorer: dict) -> None:
    """The issue's two targets and the capacity estimate."""
    ratio = explorer["p95"] / bare["p95"]
    print(f"\ntarget: explorer p95 <= {TARGET_P95_RATIO:g} x bare p95: {explorer['p95']:.3f} s"
          f" / {bare['p95']:.3f} s = {ratio:.2f}x: "
          f"{'met' if ratio <= TARGET_P95_RATIO else 'MISSED'}")
    extra = explorer["cpu_stroke"] - bare["cpu_stroke"]
    print(f"target: explorer server CPU per stroke <= bare + {TARGET_CPU_S * 1000:.0f} ms: "
          f"{explorer['cpu_stroke'] * 1000:.0f} ms vs {bare['cpu_stroke'] * 1000:.0f} ms "
          f"(+{extra * 1000:.0f} ms): {'met' if extra <= TARGET_CPU_S else 'MISSED'}")
    students = CORES * STROKE_EVERY_S / explorer["cpu_stroke"]
    print(f"capacity: students ~ {CORES} cores x {STROKE_EVERY_S:g} s / "
          f"{explorer['cpu_stroke']:.3f} s = {students:.0f} drawing at once, if the server's "
          "CPU is the bottleneck (browsers on the students' machines) and both cores usable. "
          f"NB: one Streamlit process's Python holds one GIL (about half: {students / 2:.0f}); "
          f"at most ~70 % busy for p95 <= 1 s: ~{0.7 * students / 2:.0f}.")


def main(argv=None) -> int:
    args = parse_args(argv)
    ck_dir = browser.preflight(args.checkpoint_dir)
    if ck_dir is None:
        return 2
    results = [Result("bare"), Result("explorer")]
    targets_ = [(results[0], browser.BARE_APP, {}),
                (results[1], ROOT / "app.py", {"EXPLORER_CHECKPOINT_DIR": str(ck_dir)})]
    load = os.getloadavg()
    asyncio.run(run(targets_, args))
    return 0 if report(results, args, load) else 1


if __name__ == "__main__":
    sys.exit(main())
