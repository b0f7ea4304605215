"""Soak: several browser clients draw on one app.py server; lost strokes, RSS and CPU.

    python scripts/soak.py                                 # 4 clients x 40 strokes
    python scripts/soak.py --clients 1 --strokes 30
    python scripts/soak.py --eager --cpu-load 1 --trace    # hunt strokes lost after Clear

Serves app.py once and runs N clients, each a thread with its own playwright, chromium and
page. A client loads the page and draws one warm-up stroke, then M strokes, each on a
canvas cleared with the page's "Clear" button: by default it waits for the new canvas
(browser.clear_canvas); with --eager it draws at once, as a user does. A stroke is answered
once a settled page shows "Prediction" (browser.wait_for_answer), lost after --timeout s.
Every --interval s it reads the server's RSS and CPU seconds (children included) from /proc
and fits RSS against strokes done by least squares. --trace logs, in each page, which canvas
got each stroke and what the page sent (browser.TRACE_JS), and says why each lost one went.
Needs Debian's chromium (/usr/bin/chromium) and pip's playwright.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.tooling import browser

ROOT = browser.ROOT
SHAPE_ORDER = ("1", "7", "L", "0", "4", "2")
TICK = os.sysconf("SC_CLK_TCK")
BUSY = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\n" \
       "while time.monotonic() < end:\n    pass\n"


@dataclass
class Client:
    """One browser client and what its strokes gave."""

    index: int
    done: int = 0  # strokes finished, answered or lost (the sampler reads it)
    answered: int = 0
    seconds: list[float] = field(default_factory=list)  # Clear -> settled answer
    lost: list[str] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)  # (where the stroke went, outcome)
    error: str | None = None


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="concurrent browser clients")
    parser.add_argument("--strokes", type=int, default=40, help="strokes per client")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds for one answer (else the stroke is lost) or page load")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--eager", action="store_true",
                        help="draw right after pressing Clear, not waiting for the new canvas")
    parser.add_argument("--cpu-load", type=int, default=0,
                        help="busy-loop processes (one core each) for the whole run")
    parser.add_argument("--trace", action="store_true",
                        help="log canvases, mouse events and sends; explain lost strokes")
    parser.add_argument("--max-seconds", type=float, default=1800.0,
                        help="stop starting strokes after this long")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="EXPLORER_CHECKPOINT_DIR for the app (None: checkpoints/)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.strokes < 1:
        parser.error("--clients and --strokes must be at least 1")
    return args


def proc_tree(pid: int) -> list[int]:
    """pid and its living descendants."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo and len(tree) < 1000:
        tree.append(todo.pop())
        todo.extend(parents.get(tree[-1], []))
    return tree


def rss_cpu(pid: int) -> tuple[float, float]:
    """(RSS MB, CPU seconds) of pid and its descendants; reaped children's CPU included."""
    rss_kb = cpu_ticks = 0
    for child in proc_tree(pid):
        try:
            status = Path(f"/proc/{child}/status").read_text()
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        rss_kb += next((int(line.split()[1]) for line in status.splitlines()
                        if line.startswith("VmRSS:")), 0)
        cpu_ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return rss_kb / 1024, cpu_ticks / TICK


def sample(pid: int, clients: list[Client], samples: list, stop: threading.Event,
           args) -> None:
    """Append (strokes done, RSS MB, CPU s, time) every interval until stop or the deadline."""
    deadline = time.monotonic() + args.max_seconds + 4 * args.timeout
    while time.monotonic() < deadline:
        samples.append((sum(c.done for c in clients), *rss_cpu(pid), time.monotonic()))
        if stop.wait(args.interval):
            break
    samples.append((sum(c.done for c in clients), *rss_cpu(pid), time.monotonic()))


def explain(events: list[dict], before: list) -> tuple[str, str]:
    """(where the stroke went, a timeline) from one stroke's trace, times from Clear."""
    clear = next((e["t"] for e in events if e.get("button") == "Clear"), events[0]["t"])
    downs = [e for e in events if e["kind"] == "mousedown" and "canvas" in e]
    ups = [e for e in events if e["kind"] == "mouseup" and "canvas" in e]
    if not downs:
        return "no canvas got the stroke", ""
    name, up = downs[-1]["canvas"], ups[-1]["t"] if ups else downs[-1]["t"]
    old = name.split(":", 1)[1] in before
    seen = {h for e in events if e["kind"] == "send" and e["t"] < downs[-1]["t"]
            for h in e.get("pngs", {}).values()}
    sent = [(e["t"], k) for e in events if e["kind"] == "send" and e["t"] >= up
            for k, h in e.get("pngs", {}).items() if h not in seen]
    gone = next((e["t"] for e in events if e["kind"] == "canvases" and e["t"] > downs[-1]["t"]
                 and name not in e["now"]), None)
    where = "old canvas" if old else "new canvas"
    if ups and ups[-1]["canvas"] != name:
        where += f", released on {ups[-1]['canvas']}"
    where += (f", sent under {sent[0][1]}" if sent else ", nothing sent")
    if gone is not None and not sent:
        where += f" (canvas gone {gone - up:+d} ms after mouse-up)"
    lines = [f"{e['t'] - clear:+6d} ms {e['kind']} " + " ".join(
        f"{k}={v}" for k, v in e.items() if k not in ("t", "kind")) for e in events]
    return where, "\n      ".join(lines)


def stroke(page, client: Client, index: int, args) -> None:
    """Clear, draw one digit, wait for the settled answer; a stroke with none is lost."""
    before, box = browser.canvas_keys(page), page.locator(browser.CANVAS).bounding_box()
    browser.trace_events(page, reset=True)
    start = time.monotonic()
    if args.eager:
        browser.click_clear(page, args.timeout)
    else:
        browser.clear_canvas(page, timeout=args.timeout)
    browser.draw(page, browser.SHAPES[SHAPE_ORDER[index % len(SHAPE_ORDER)]], box=box)
    try:
        browser.wait_for_answer(page, before, timeout=args.timeout)
        client.answered += 1
        client.seconds.append(time.monotonic() - start)
        outcome, timeline = "answered", ""
    except Exception as err:  # noqa: BLE001 - a lost stroke is counted, the soak goes on
        outcome, timeline = "lost", f"{type(err).__name__}"
    if args.trace:
        where, timeline = explain(browser.trace_events(page), before)
        client.kinds[(where.split(" (")[0], outcome)] += 1
        timeline = f"{where}\n      {timeline}"
    if outcome == "lost":
        client.lost.append(f"client {client.index} stroke {index}: {timeline}")


def drive(client: Client, url: str, args, barrier: threading.Barrier, end: float) -> None:
    """One client: its own playwright and chromium, a warm-up stroke, then its strokes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        try:
            page, _ = browser.new_page(chromium, trace=args.trace)
            browser.open_app(page, url, timeout=max(60.0, args.timeout))
            browser.draw(page, browser.SHAPES["7"])
            browser.wait_for_metric(page, timeout=max(60.0, args.timeout))
            browser.wait_quiet(page, timeout=args.timeout)
        except Exception as err:  # noqa: BLE001 - reported with the results
            client.error = f"warm-up: {type(err).__name__}: {err}".splitlines()[0]
            barrier.abort()
            chromium.close()
            return
        try:
            barrier.wait(timeout=max(120.0, 4 * args.timeout))
        except threading.BrokenBarrierError:
            pass  # another client failed its warm-up: this one soaks anyway
        for index in range(args.strokes):
            if time.monotonic() > end:
                break
            try:
                stroke(page, client, index, args)
            except Exception as err:  # noqa: BLE001 - e.g. Clear never answered: reload
                client.lost.append(f"client {client.index} stroke {index}: "
                                   f"{type(err).__name__}: {err}".splitlines()[0])
                browser.open_app(page, url, timeout=max(60.0, args.timeout))
            client.done += 1
        chromium.close()


def slope(samples: list, since: float = 0) -> float:
    """Least-squares MB per stroke of the samples taken after `since` strokes."""
    x, y = (np.array([s[i] for s in samples if s[0] >= since], float) for i in (0, 1))
    return float(np.polyfit(x, y, 1)[0]) if len(set(x.tolist())) > 1 else float("nan")


def report(clients: list[Client], samples: list, args, load: tuple) -> None:
    total = args.clients * args.strokes
    done, answered = (sum(getattr(c, a) for c in clients) for a in ("done", "answered"))
    lost = [line for c in clients for line in c.lost]
    print(f"\n{args.clients} clients x {args.strokes} strokes ({total}); eager: {args.eager}; "
          f"cpu-load: {args.cpu_load}; {os.cpu_count()} CPUs, load {load[0]:.2f} -> "
          f"{os.getloadavg()[0]:.2f}")
    print(f"strokes answered {answered} / {done}, lost {len(lost)}"
          + (f", not run {total - done}" if done < total else ""))
    for line in lost:
        print(f"  lost: {line}")
    for c in clients:
        if c.error:
            print(f"  client {c.index} failed: {c.error}")
    seconds = [s for c in clients for s in c.seconds]
    if seconds:
        print(f"Clear -> settled answer: median {np.median(seconds):.2f} s, "
              f"p95 {np.percentile(seconds, 95):.2f} s")
    if args.trace:
        kinds = sum((c.kinds for c in clients), Counter())
        for (where, outcome), n in sorted(kinds.items()):
            print(f"  {n:4d} {outcome:<9} {where}")
    if len(samples) < 2:
        return
    rss = [s[1] for s in samples]
    cpu, wall = samples[-1][2] - samples[0][2], samples[-1][3] - samples[0][3]
    print(f"server RSS: start {rss[0]:.1f} MB (after warm-up), end {rss[-1]:.1f} MB, "
          f"peak {max(rss):.1f} MB ({len(samples)} samples)")
    print(f"RSS slope: {slope(samples):+.4f} MB/stroke over all strokes, "
          f"{slope(samples, done / 2):+.4f} MB/stroke over the second half")
    print(f"server CPU: {cpu / max(done, 1):.3f} s per stroke ({cpu:.1f} s over {done} "
          f"strokes in {wall:.1f} s)")


def soak(args) -> tuple[list[Client], list]:
    """Serve app.py, run the clients (and any CPU load), sample the server; the results."""
    env = {"EXPLORER_CHECKPOINT_DIR": str(args.checkpoint_dir or "")}
    server = browser.start_server(ROOT / "app.py", env=env, timeout=max(90.0, args.timeout))
    busy = [subprocess.Popen([sys.executable, "-c", BUSY, str(args.max_seconds)])
            for _ in range(args.cpu_load)]
    clients, samples, stop = [Client(i) for i in range(args.clients)], [], threading.Event()
    barrier = threading.Barrier(args.clients + 1)
    end = time.monotonic() + args.max_seconds
    threads = [threading.Thread(target=drive, args=(c, server.url, args, barrier, end))
               for c in clients]
    try:
        for t in threads:
            t.start()
        try:
            barrier.wait(timeout=max(120.0, 4 * args.timeout))
        except threading.BrokenBarrierError:
            pass
        sampler = threading.Thread(target=sample,
                                   args=(server.process.pid, clients, samples, stop, args))
        sampler.start()
        for t in threads:
            t.join(args.max_seconds + 4 * args.timeout * args.strokes)
        stop.set()
        sampler.join(10 * args.interval + 10)
    finally:
        for p in busy:
            p.terminate()
            p.wait(10)
        server.stop()
    return clients, samples


def main(argv=None) -> int:
    args = parse_args(argv)
    ck_dir = Path(args.checkpoint_dir or ROOT / "checkpoints")
    problem = browser.browser_problem()
    if problem or not (ck_dir / "cnn" / "model.safetensors").is_file():
        print(problem or f"No cnn checkpoint in {ck_dir}: python scripts/train.py --arch cnn",
              file=sys.stderr)
        return 2
    load = os.getloadavg()
    clients, samples = soak(args)
    report(clients, samples, args, load)
    return 0 if all(not c.lost and not c.error for c in clients) else 1


if __name__ == "__main__":
    sys.exit(main())
