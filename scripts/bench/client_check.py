"""Is the protocol client a fair stand-in for a browser? The same strokes, one session at a time.

    python -m scripts.bench.client_check                # 12 strokes each, the Explorer
    python -m scripts.bench.client_check --strokes 6 --app-dir /tmp/snapshot

One replica behind HAProxy (deploy/serve.py's Deployment; the class store on SQLite in a
temporary folder). First a chromium page draws the shapes with the mouse (Clear between
them), then a protocol client (st_client.Session) sends the same shapes as canvas values.
Per stroke: the answer time (browser: mouse-up -> "Prediction" on screen, which includes
the canvas's ~200 ms wait after mouse-up and the page's drawing; client: request ->
"Prediction" in a delta), the server's CPU for the stroke and its Clear (from /proc), and
the answer itself. The first stroke of each is left out of the medians (the browser loads
plotly.js then).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from deploy.serve import Deployment
from scripts.bench import browser
from scripts.bench.load_test import tree_cpu
from scripts.bench.st_client import Session, as_json, canvas_value

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--strokes", type=int, default=12, help="strokes per client")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--port", type=int, default=8590, help="HAProxy's port (127.0.0.1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per stroke")
    args = parser.parse_args(argv)
    if not 2 <= args.strokes <= 50:
        parser.error("--strokes must be 2..50")
    return args


def shapes(n: int) -> list[str]:
    """n shapes, cycling through browser.SHAPES."""
    names = list(browser.SHAPES)
    return [names[i % len(names)] for i in range(n)]


def in_browser(url: str, order: list[str], pid: int, timeout: float) -> list[tuple]:
    """(shape, answer, mouse-up -> answer s, server CPU s) per stroke, drawn in chromium."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        page, _errors = browser.new_page(chromium)
        browser.open_app(page, url, timeout=timeout)
        for i, shape in enumerate(order):
            before = tree_cpu(pid)
            if i:
                browser.clear_canvas(page, timeout=timeout)
            browser.draw(page, browser.SHAPES[shape])
            answer = browser.wait_for_metric(page, "Prediction", timeout)
            browser.wait_quiet(page, 500, timeout)
            probe = browser.probe(page)
            out.append((shape, answer, (probe["shown"] - probe["up"]) / 1000,
                        tree_cpu(pid) - before))
        chromium.close()
    return out


async def by_protocol(url: str, order: list[str], pid: int, timeout: float) -> list[tuple]:
    """The same, as canvas values sent by st_client.Session."""
    session, out = Session(url, timeout=timeout), []
    await session.open()
    key = next(k for k in session.widgets if k.startswith("explorer_canvas_"))
    for i, shape in enumerate(order):
        before = tree_cpu(pid)
        if i:  # Clear, then the blank canvas the component sends after it
            await session.click("explorer_clear_canvas")
            await session.set_and_rerun(key, json_value=as_json(canvas_value([])))
        run = await session.set_and_rerun(key, json_value=as_json(
            canvas_value(browser.SHAPES[shape])))
        await asyncio.sleep(0.5)  # let the server finish what follows, as the browser waits
        out.append((shape, run.answers.get("Prediction", (0, None))[1], run.answer_s(),
                    tree_cpu(pid) - before))
    await session.close()
    return out


def report(rows: dict[str, list[tuple]], load: tuple) -> None:
    print(f"\nmachine: {os.cpu_count()} CPUs; load average before "
          f"{' / '.join(f'{x:.2f}' for x in load)}, after "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'client':<10}{'strokes':>8}{'answer p50':>12}{'p95':>8}{'server CPU/stroke':>19}")
    for name, got in rows.items():
        answer = np.asarray([r[2] for r in got[1:]])
        server = np.asarray([r[3] for r in got[1:]])
        print(f"{name:<10}{len(got) - 1:>8}{np.median(answer):>12.3f}"
              f"{np.percentile(answer, 95):>8.3f}{np.median(server) * 1000:>16.0f} ms")
    for name, got in rows.items():
        print(f"  {name} answers: " + " ".join(f"{s}->{a}" for s, a, *_ in got))


def main(argv=None) -> int:
    args = parse_args(argv)
    if browser.no_browser():
        return 2
    order, load = shapes(args.strokes), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="client-check-") as data:
        deployment = Deployment(1, args.port, "127.0.0.1", data=Path(data),
                                db_url=f"sqlite:///{data}/class.sqlite3",
                                app_dir=args.app_dir, restart=False, log=sys.stderr)
        deployment.start()
        try:
            pid = deployment.procs["r1"].pid
            rows = {"browser": in_browser(deployment.url, order, pid, args.timeout),
                    "protocol": asyncio.run(by_protocol(deployment.url, order, pid,
                                                        args.timeout))}
        finally:
            deployment.stop()
    report(rows, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
