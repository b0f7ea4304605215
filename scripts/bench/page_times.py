"""Page load times in a real browser: each page's first visit on a fresh server, and a reload.

    python -m scripts.bench.page_times                          # every page, 3 repeats
    python -m scripts.bench.page_times --pages Calibration Gallery --repeats 1
    python -m scripts.bench.page_times --baseline-dir /tmp/old --browser both

Per page and repeat: a fresh `streamlit run app.py`, then "cold", the page's URL opened
(it waits for all the first run does: torch, the default model, the page's own work),
then "warm", a reload (a new session on a warm server). Pages with "Load an example"
are also timed from a click on it on both visits ("cold+ex", "warm+ex").
Browser "empty": a fresh context per server, a new user (plotly.js alone is 4.7 MB of
JavaScript to compile). "primed": one context that has opened every page once, reaching
each fresh server through one fixed local port (caches are per origin), a returning user.
Settled: script state notRunning, the page's heading (or canvas) shown, no DOM change for
--quiet-ms; the time is that last change minus navigation start (or the click's mouse-up).
Medians in seconds. --baseline-dir/--baseline-script time a baseline server in turn with
the current one, round by round, under alike machine load. Needs chromium and playwright.
NB: opened at /PAGE, Streamlit's frontend first probes /PAGE/_stcore/health and
/host-config, gets 404 and falls back to the root: those console errors are not counted.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scripts.bench import browser
from scripts.bench.forwarder import Forwarder

ROOT = browser.ROOT
TARGET_S = 1.0  # a first visit must settle within this
EXAMPLE_BUTTON = "Load an example"
COLUMNS = ("cold", "warm", "cold+ex", "warm+ex")
CACHES = ("empty", "primed")
BASE_PATH_PROBES = ("/_stcore/health", "/_stcore/host-config")  # see NB above

# Charts whose given margins automargin had to widen (each such chart is drawn twice).
PUSHED_JS = f"""() => [...document.querySelectorAll('.js-plotly-plot')]
  .filter((gd) => gd._fullLayout && ({browser.WIDENED_SIDES_JS})(gd).length)
  .map((gd) => gd.dataset.chart || (gd._context.toImageButtonOptions || {{}}).filename || '?')"""
# Settled after the click: a DOM change after the mouse-up, no run going, quiet since.
CLICK_SETTLED_JS = """(quiet) => { const P = window.__stProbe, now = performance.now();
  return P.up !== null && P.lastMutation > P.up && P.state === 'notRunning'
         && now - P.lastMutation > quiet; }"""


@dataclass(frozen=True)
class Page:
    """One page of app.py's navigation: its title, URL path and what shows once it ran."""

    title: str
    path: str  # after the server's root URL: "" is the default page
    marker: str  # a playwright selector that appears once the page's own script has run
    example: bool  # shows a "Load an example" button while there is no drawing


PAGES = (
    Page("Explorer", "", browser.CANVAS, True),
    Page("Calibration", "calibration_page", "h2:has-text('Calibration')", False),
    Page("Gallery", "gallery_page", "h2:has-text('gallery')", False),
    Page("Compare models", "compare_page", "h2:has-text('Compare models')", True),
    Page("Double softmax", "exhibit_page", "h2:has-text('Double softmax')", True),
    Page("Where the model looks", "saliency_page", "h2:has-text('Where the model looks')", True),
    Page("Robustness", "robustness_page", "h2:has-text('Robustness')", True),
    Page("Softmax, sigmoid or regression?", "heads_page",
         "h2:has-text('Softmax, sigmoid or regression?')", True),
    Page("Watch a model learn", "replay_page", "h2:has-text('Watch a model learn')", True),
    Page("Prediction sets", "sets_page", "h2:has-text('Prediction sets')", True),
    Page("Debug by symptom", "checklist_page", "h2:has-text('Debug by symptom')", False),
)


@dataclass
class Times:
    """One page on one server setup and browser cache: seconds per kind, what failed."""

    page: Page
    label: str  # "current" or "baseline"
    script: Path  # what `streamlit run` serves
    ckpt_dir: str  # EXPLORER_CHECKPOINT_DIR for its servers; "" is checkpoints/
    cache: str  # "empty" or "primed"
    seconds: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in COLUMNS})
    problems: list[str] = field(default_factory=list)
    pushed: set[str] = field(default_factory=set)  # charts drawn twice (PUSHED_JS)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--pages", nargs="+", default=[p.title for p in PAGES],
                        choices=[p.title for p in PAGES], metavar="TITLE",
                        help="pages to time, by sidebar title")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh servers per page; the table shows medians")
    parser.add_argument("--browser", choices=(*CACHES, "both"), default="empty",
                        help="browser cache of the cold visit: empty (a new user), primed "
                             "(a returning user), or both")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="folder of checkpoints, passed as EXPLORER_CHECKPOINT_DIR "
                             "(None: the project's checkpoints/)")
    parser.add_argument("--script", type=Path, default=ROOT / "app.py",
                        help="the entry script `streamlit run` serves")
    parser.add_argument("--baseline-dir", default=None,
                        help="a baseline's folder of checkpoints (None: --checkpoint-dir)")
    parser.add_argument("--baseline-script", type=Path, default=None,
                        help="a baseline's entry script (None: --script); with --baseline-dir "
                             "or this, a baseline is timed in turn with the current server")
    parser.add_argument("--quiet-ms", type=int, default=500,
                        help="a page counts as settled after this long without DOM changes")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="seconds to wait for a server, a visit or a click to settle")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def visit(page, url: str, spec: Page, args, reload: bool = False) -> float:
    """Open (or reload) the page and wait until it settles; seconds from navigation start."""
    if reload:
        page.reload(wait_until="domcontentloaded", timeout=args.timeout * 1000)
    else:
        page.goto(url, wait_until="domcontentloaded", timeout=args.timeout * 1000)
    page.locator(spec.marker).first.wait_for(state="visible", timeout=args.timeout * 1000)
    browser.wait_quiet(page, quiet_ms=args.quiet_ms, timeout=args.timeout)
    return browser.probe(page)["lastMutation"] / 1000


def load_example(page, args) -> float:
    """Click "Load an example" and wait until the page settles; seconds from the click."""
    page.get_by_role("button", name=EXAMPLE_BUTTON, exact=True).click(
        timeout=args.timeout * 1000)
    page.wait_for_function(CLICK_SETTLED_JS, arg=args.quiet_ms, timeout=args.timeout * 1000,
                           polling=100)
    numbers = browser.probe(page)
    return (numbers["lastMutation"] - numbers["up"]) / 1000


def page_problems(page, errors: browser.PageErrors) -> list[str]:
    """JS errors and Streamlit exception or error boxes now on the page."""
    found = [m for m in errors.messages
             if not ("404" in m and any(probe in m for probe in BASE_PATH_PROBES))]
    for testid in ("stException", "stAlertContentError"):
        for box in page.locator(f'[data-testid="{testid}"]').all():
            found.append(f"{testid}: {box.inner_text()[:160]!r}")
    errors.messages.clear()
    return found


def open_page(chromium, primed):
    """(page, errors): in a fresh context, or in the primed one (when given)."""
    if primed is None:
        return browser.new_page(chromium)
    page = primed.new_page()
    page.add_init_script(browser.PROBE_JS)
    return page, browser.PageErrors().attach(page)


def serve(script: Path, ckpt_dir: str, forwarder: Forwarder | None, args):
    """(server, base URL): a fresh server, reached through the forwarder when given."""
    server = browser.start_server(script, env={"EXPLORER_CHECKPOINT_DIR": ckpt_dir},
                                  timeout=args.timeout)
    if forwarder is None:
        return server, server.url
    forwarder.target = server.port
    return server, forwarder.url


def one_round(chromium, times: Times, args, primed=None, forwarder=None) -> None:
    """A fresh server: the cold visit (and example), then a reload (and example)."""
    server, base = serve(times.script, times.ckpt_dir, forwarder, args)
    page, errors = open_page(chromium, primed)
    try:
        for reload, kind in ((False, "cold"), (True, "warm")):
            spec = times.page
            times.seconds[kind].append(visit(page, base + spec.path, spec, args, reload))
            button = page.get_by_role("button", name=EXAMPLE_BUTTON, exact=True)
            if spec.example and (times.label == "current" or button.count()):  # a baseline
                times.seconds[f"{kind}+ex"].append(load_example(page, args))  # may have none
            times.problems += [f"{kind}: {p}" for p in page_problems(page, errors)]
            times.pushed.update(page.evaluate(PUSHED_JS))
    except Exception as err:  # noqa: BLE001 - one failed round must not end the run
        times.problems.append(f"{type(err).__name__}: {err}".splitlines()[0])
    finally:
        (page if primed is not None else page.context).close()
        server.stop()


def prime(chromium, specs: list[Page], forwarder: Forwarder, args):
    """A browser context that has opened every page (examples loaded) through the forwarder."""
    server, base = serve(args.script, str(args.checkpoint_dir or ""), forwarder, args)
    page, _ = browser.new_page(chromium)
    try:
        for spec in specs:
            visit(page, base + spec.path, spec, args)
            if spec.example:
                load_example(page, args)
    finally:
        page.close()
        server.stop()
    return page.context


def plan(specs: list[Page], args) -> list[Times]:
    """Every (page, server setup, browser cache) to time, baseline before current."""
    targets = [("current", args.script, str(args.checkpoint_dir or ""))]
    if args.baseline_dir or args.baseline_script:
        targets.insert(0, ("baseline", args.baseline_script or args.script,
                           str(args.baseline_dir or args.checkpoint_dir or "")))
    caches = CACHES if args.browser == "both" else (args.browser,)
    return [Times(spec, *target, cache) for spec in specs for cache in caches
            for target in targets]


def measure(specs: list[Page], args) -> list[Times]:
    """Every page and setup, round after round, so all see alike machine load."""
    from playwright.sync_api import sync_playwright

    results = plan(specs, args)
    forwarder = Forwarder() if args.browser != "empty" else None
    with sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        try:
            primed = prime(chromium, specs, forwarder, args) if forwarder else None
            for round_no in range(args.repeats):
                for times in results:
                    via = (primed, forwarder) if times.cache == "primed" else (None, None)
                    one_round(chromium, times, args, *via)
                    print(f"round {round_no + 1}/{args.repeats} {times.page.title} "
                          f"({times.label}, {times.cache} browser): "
                          + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.seconds.items()
                                      if len(v) > round_no), flush=True)
        finally:
            chromium.close()
    return results


def cell(values: list[float]) -> str:
    return f"{np.median(values):>10.2f}" if values else f"{'-':>10}"


def report(results: list[Times], load_before, load_after) -> None:
    """The table of medians, the pages over TARGET_S cold, and every problem seen."""
    print(f"\nmachine: {os.cpu_count()} CPUs; load average (1/5/15 min) "
          f"{' / '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' / '.join(f'{x:.2f}' for x in load_after)} after")
    print("\nsettled, seconds (medians over fresh servers)")
    print(f"{'page':<24}{'server':<10}{'browser':<9}" + "".join(f"{c:>10}" for c in COLUMNS))
    for t in results:
        print(f"{t.page.title:<24}{t.label:<10}{t.cache:<9}"
              + "".join(cell(t.seconds[c]) for c in COLUMNS))
    slow = sorted({f"{t.page.title} ({t.cache})" for t in results if t.label == "current"
                   and (not t.seconds["cold"] or np.median(t.seconds["cold"]) > TARGET_S)})
    print(f"\ncold over {TARGET_S:g} s: {', '.join(slow) or 'none'}")
    pushed = sorted({f"{t.page.title}: {c}" for t in results if t.label == "current"
                     for c in t.pushed})
    print(f"charts whose margins automargin widened (drawn twice): {', '.join(pushed) or 'none'}")
    for t in results:
        for problem in t.problems:
            print(f"  {t.page.title} ({t.label}, {t.cache}): {problem}")


def main(argv=None) -> int:
    args = parse_args(argv)
    ck_dir = Path(args.checkpoint_dir or ROOT / "checkpoints")
    if not any(ck_dir.glob("*/model.safetensors")):
        print(f"No checkpoints in {ck_dir}: python scripts/train.py --arch cnn "
              "(or pass --checkpoint-dir).", file=sys.stderr)
        return 2
    if browser.no_browser():
        return 2
    specs = [p for p in PAGES if p.title in args.pages]
    load_before = os.getloadavg()
    results = measure(specs, args)
    report(results, load_before, os.getloadavg())
    failed = any(t.problems or len(t.seconds["cold"]) < args.repeats for t in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
