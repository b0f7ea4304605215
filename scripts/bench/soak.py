"""Soak: several browser clients draw on one app.py server; lost strokes, RSS and CPU.

    python -m scripts.bench.soak                          # 4 clients x 40 strokes
    python -m scripts.bench.soak --clients 1 --strokes 30
    python -m scripts.bench.soak --trace --eager 300      # why strokes drawn after Clear get lost

N clients, each a thread with its own playwright, chromium and page, load the app, draw a
warm-up stroke, then M strokes, each after the page's "Clear": waiting for the new canvas
(browser.clear_canvas), or, with --eager MS, MS ms after the press as a user may. A stroke
is answered once a settled page shows "Prediction", lost after --timeout s. Every --interval
s the server's RSS and CPU seconds (children too) are read from /proc; RSS is fitted against
strokes done by least squares. --trace says what became of each lost stroke (see
browser.TRACE_JS). The model: cnn in $EXPLORER_CHECKPOINT_DIR, else checkpoints/.
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

from explorer.model import registry
from explorer.model.checkpoints import checkpoint_root
from scripts.bench import browser

ROOT = browser.ROOT
SHAPE_ORDER = ("1", "7", "L", "0", "4", "2")
TICK = os.sysconf("SC_CLK_TCK")
BUSY = ("import sys, time\nend = time.monotonic() + float(sys.argv[1])\n"
        "while time.monotonic() < end: pass")  # one core busy, for at most argv[1] seconds


@dataclass
class Client:
    """One browser client and what its strokes gave."""

    index: int
    done: int = 0  # strokes finished, answered or lost (the sampler reads it)
    answered: int = 0
    reloaded: int = 0  # strokes on a page reloaded after a lost stroke, so with no Clear
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
    parser.add_argument("--eager", type=float, default=None, metavar="MS",
                        help="draw MS ms after pressing Clear, not waiting for the new canvas")
    parser.add_argument("--cpu-load", type=int, default=0,
                        help="busy-loop processes (one core each) for the whole run")
    parser.add_argument("--trace", action="store_true",
                        help="log canvases, mouse events and sends; explain lost strokes")
    parser.add_argument("--max-seconds", type=float, default=1800.0,
                        help="stop starting strokes after this long")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.strokes < 1:
        parser.error("--clients and --strokes must be at least 1")
    return args


def rss_cpu(pid: int) -> tuple[float, float]:
    """(RSS MB, CPU s) of pid and its living descendants; reaped children's CPU included."""
    stats = {}  # pid -> the /proc/<pid>/stat fields after the command name
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended meanwhile
    tree, todo, rss_kb, ticks = set(), [pid], 0, 0
    while todo and len(tree) < 1000:
        tree.add(todo.pop())
        todo += [p for p, f in stats.items() if int(f[1]) in tree and p not in tree | {*todo}]
    for p in tree & stats.keys():
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        rss_kb += sum(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:"))
        ticks += sum(int(x) for x in stats[p][11:15])  # utime stime cutime cstime
    return rss_kb / 1024, ticks / TICK


def sample(pid: int, clients: list[Client], samples: list, stop: threading.Event,
           args) -> None:
    """Append (strokes done, RSS MB, CPU s, time) every interval until stop or the deadline."""
    deadline = time.monotonic() + args.max_seconds + 4 * args.timeout
    while time.monotonic() < deadline:
        samples.append((sum(c.done for c in clients), *rss_cpu(pid), time.monotonic()))
        if stop.wait(args.interval):
            break
    samples.append((sum(c.done for c in clients), *rss_cpu(pid), time.monotonic()))


def stroke(page, client: Client, index: int, args, fresh: bool) -> bool:
    """Clear (unless the page is fresh), draw a digit, wait for the answer; True if lost."""
    box = page.locator(browser.CANVAS).bounding_box()
    browser.trace_events(page, reset=True)
    mark = browser.mark_clear(page)
    if fresh:
        client.reloaded += 1  # a reloaded page: its canvas is blank, Clear has nothing to do
    elif args.eager is None:
        browser.clear_canvas(page, timeout=args.timeout)
    else:
        browser.click_clear(page, args.timeout)
        page.wait_for_timeout(args.eager)
    browser.draw(page, browser.SHAPES[SHAPE_ORDER[index % len(SHAPE_ORDER)]], box=box)
    try:
        browser.wait_for_answer(page, mark, timeout=args.timeout)
        client.answered += 1
        outcome, timeline = "answered", ""
    except Exception as err:  # noqa: BLE001 - a lost stroke is counted, the soak goes on
        outcome, timeline = "lost", f"{type(err).__name__}"
    if args.trace:
        where, timeline = browser.explain_stroke(browser.trace_events(page), mark["keys"])
        where = ("no Clear (reloaded page): " if fresh else "") + where
        client.kinds[(where.split(" (", 1)[0], outcome)] += 1
        timeline = f"{where}\n      {timeline}"
    if outcome == "lost":
        client.lost.append(f"client {client.index} stroke {index}: {timeline}")
    return outcome == "lost"


def drive(client: Client, url: str, args, barrier: threading.Barrier, end: float) -> None:
    """One client: its own playwright and chromium, a warm-up stroke, then its strokes."""
    from playwright.sync_api import sync_playwright

    slow = max(60.0, args.timeout)  # a page load, or the first answer (the model loads)
    with sync_playwright() as playwright:  # closes its chromium on the way out
        try:
            page, _ = browser.new_page(browser.launch_chromium(playwright), trace=args.trace)
            browser.open_app(page, url, timeout=slow)
            browser.draw(page, browser.SHAPES["7"])
            browser.wait_for_metric(page, timeout=slow)
            browser.wait_quiet(page, timeout=args.timeout)
            barrier.wait(timeout=2 * slow)
        except threading.BrokenBarrierError:
            pass  # another client failed its warm-up: this one soaks anyway
        except Exception as err:  # noqa: BLE001 - reported with the results
            client.error = f"warm-up: {type(err).__name__}: {err}".splitlines()[0]
            barrier.abort()
            return
        reload = False  # after a lost stroke: its blank canvas is no test of Clear
        for index in range(args.strokes):
            if time.monotonic() > end:
                break
            try:
                if reload:
                    browser.open_app(page, url, timeout=slow)
                reload = stroke(page, client, index, args, fresh=reload)
            except Exception as err:  # noqa: BLE001 - e.g. Clear never answered
                client.lost.append(f"client {client.index} stroke {index}: "
                                   f"{type(err).__name__}: {err}".splitlines()[0])
                reload = True
            client.done += 1


def slope(samples: list, since: float = 0) -> float:
    """Least-squares MB per stroke of the samples taken after `since` strokes."""
    x, y = (np.array([s[i] for s in samples if s[0] >= since], float) for i in (0, 1))
    return float(np.polyfit(x, y, 1)[0]) if len(set(x.tolist())) > 1 else float("nan")


def report_strokes(clients: list[Client], args, load: tuple) -> int:
    """Print what became of the strokes; return how many were done."""
    total = args.clients * args.strokes
    done, answered, reloaded = (sum(getattr(c, a) for c in clients)
                                for a in ("done", "answered", "reloaded"))
    lost = [line for c in clients for line in c.lost]
    print(f"\n{args.clients} clients x {args.strokes} strokes ({total}); eager: {args.eager}; "
          f"cpu-load: {args.cpu_load}; {os.cpu_count()} CPUs, load {load[0]:.2f} -> "
          f"{os.getloadavg()[0]:.2f}")
    print(f"strokes answered {answered} / {done}, lost {len(lost)}"
          + (f", not run {total - done}" if done < total else "")
          + (f"; {reloaded} drawn without Clear on a page reloaded after a lost one"
             if reloaded else ""))
    for line in lost:
        print(f"  lost: {line}")
    for c in clients:
        if c.error:
            print(f"  client {c.index} failed: {c.error}")
    if args.trace:
        kinds = sum((c.kinds for c in clients), Counter())
        for (where, outcome), n in sorted(kinds.items()):
            print(f"  {n:4d} {outcome:<9} {where}")
    return done


def report_server(samples: list, done: int) -> None:
    """Print the server's RSS (start, end, peak, slopes) and CPU seconds per stroke."""
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
    server = browser.start_server(ROOT / "app.py", timeout=max(90.0, args.timeout))
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
            barrier.wait(timeout=2 * max(60.0, args.timeout))
        except threading.BrokenBarrierError:
            pass  # a client failed its warm-up: the others soak anyway
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
    problem, default = browser.browser_problem(), registry.the(registry.DEFAULT)
    if problem or not (checkpoint_root() / default / "model.safetensors").is_file():
        print(problem or f"No {default} checkpoint in {checkpoint_root()}: python "
              f"scripts/train.py --arch {default}", file=sys.stderr)
        return 2
    load = os.getloadavg()
    clients, samples = soak(args)
    report_server(samples, report_strokes(clients, args, load))
    return 0 if all(not c.lost and not c.error for c in clients) else 1


if __name__ == "__main__":
    sys.exit(main())
