"""Real-browser helpers for tests/test_browser.py and scripts/browser_latency.py.

Start `streamlit run` on a free port, drive Debian's chromium through pip's playwright,
draw mouse strokes on the drawable canvas and read st.metric values.
NB: playwright's CSS locators pierce the canvas component's open shadow root;
document.querySelector in page JavaScript does not (the metrics live outside it).
"""
from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository root (explorer/tooling/..)
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "EXPLORER_REQUIRE_BROWSER"  # "1" (CI): a missing browser fails
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync")
VIEWPORT = {"width": 1400, "height": 1600}  # tall: Streamlit scrolls inside its own box
CANVAS = "canvas.upper-canvas"

# Installed before any page script: timestamps (performance.now() ms) of the last mouse-up,
# of the first "Prediction" value after it, and of the last DOM change outside shadow roots.
# NB: Streamlit's run-state attribute (stApp's data-test-script-state) is no run counter: a
# quick run can go running -> notRunning within one React render and never show "running".
PROBE_JS = """
(() => {
  if (window.__stProbe) return;
  const P = window.__stProbe = {up: null, shown: null, value: null, state: null,
                                lastMutation: 0, label: "Prediction"};
  P.metric = (label) => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
      const l = m.querySelector('[data-testid="stMetricLabel"]');
      const v = m.querySelector('[data-testid="stMetricValue"]');
      if (l && v && l.textContent.trim() === label && v.textContent.trim() !== '')
        return v.textContent.trim();
    }
    return null;
  };
  addEventListener("mouseup", () => { P.up = performance.now(); P.shown = P.value = null; },
                   true);
  new MutationObserver(() => {
    P.lastMutation = performance.now();
    const app = document.querySelector('[data-testid="stApp"]');
    P.state = app ? app.getAttribute("data-test-script-state") : null;
    if (P.up !== null && P.shown === null) {
      const value = P.metric(P.label);
      if (value !== null) { P.shown = P.lastMutation; P.value = value; }
    }
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                        attributeFilter: ["data-test-script-state"]});
})();
"""

# Optional (new_page(trace=True)): a bounded event log for diagnosing lost strokes, in
# performance.now() ms. It tags each drawing surface with data-trace-id and logs which one
# (and under which widget key, from the st-key-* class around its shadow host) got each mouse
# press/release, when the set of canvases in the page changes, the script state, and every
# WebSocket message the page sends: the widget keys in it and a hash of any PNG it carries.
TRACE_JS = """
(() => {
  if (window.__stTrace) return;
  const T = window.__stTrace = {events: [], seq: 0, canvases: "", state: null};
  const log = (kind, extra) => {
    if (T.events.length < 3000) T.events.push({t: Math.round(performance.now()), kind, ...extra});
  };
  const keyOf = (el) => {
    const host = el.getRootNode().host, box = host && host.closest('[class*="st-key-"]');
    const m = box && box.className.match(/st-key-(\\S+)/);
    return m ? m[1] : null;
  };
  const name = (el) =>
    `#${el.dataset.traceId || (el.dataset.traceId = String(++T.seq))}:${keyOf(el)}`;
  const canvases = () => {
    const out = [];
    for (const host of document.querySelectorAll('.stBidiComponent *'))
      if (host.shadowRoot)
        for (const c of host.shadowRoot.querySelectorAll('canvas.upper-canvas')) out.push(name(c));
    return out.join(' ');
  };
  setInterval(() => {
    const now = canvases();
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app ? app.getAttribute("data-test-script-state") : null;
    if (now !== T.canvases) { T.canvases = now; log("canvases", {now}); }
    if (state !== T.state) { T.state = state; log("state", {state}); }
  }, 20);
  for (const type of ["mousedown", "mouseup"])
    addEventListener(type, (e) => {
      const el = e.composedPath()[0], button = el.closest && el.closest("button");
      log(type, el instanceof HTMLCanvasElement
        ? {canvas: name(el), connected: el.isConnected}
        : {button: button ? button.textContent.trim() : el.tagName});
    }, true);
  const hash = (text) => {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return (h >>> 0).toString(16);
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      const text = bytes ? new TextDecoder("latin1").decode(bytes) : String(data);
      const keys = [], pngs = {}, parts = text.split("$$ID-");
      for (let i = 1; i < parts.length; i++) {  // a widget id is a length-prefixed string
        const length = parts[i - 1].charCodeAt(parts[i - 1].length - 1) - 5;  // < 128: 1 byte
        const id = length > 33 ? parts[i].slice(0, length) : parts[i].slice(0, 80);
        const key = id.replace(/^[0-9a-f]+-/, "");
        const png = parts[i].match(/data:image\\/png;base64,[A-Za-z0-9+\\/=]+/);
        keys.push(key);
        if (png) pngs[key] = hash(png[0]);
      }
      log("send", {size: text.length, keys, pngs});
    } catch (err) { log("send", {error: String(err)}); }
    return send.call(this, data);
  };
})();
"""

# The widget keys of the canvas components now in the page (two while one replaces another).
CANVAS_KEYS_JS = """() => [...document.querySelectorAll('.stBidiComponent')].map((c) => {
  const box = c.closest('[class*="st-key-"]'), m = box && box.className.match(/st-key-(\\S+)/);
  return m ? m[1] : null; })"""

# True once a stroke's consequences have settled and a "Prediction" shows: mouse-up at least
# minAge ms ago, no run going, no DOM change for `quiet` ms, and no canvas with a key of
# `before` left (the Clear's run has replaced it). Only then can no stale value be read.
ANSWERED_JS = """([before, minAge, quiet]) => {
  const P = window.__stProbe, now = performance.now();
  if (P.up === null || now - P.up < minAge || now - P.lastMutation < quiet) return null;
  if (P.state !== "notRunning") return null;
  const keys = (CANVAS_KEYS_JS)();
  if (!keys.length || keys.some((k) => before.includes(k))) return null;
  return P.metric(P.label);
}""".replace("CANVAS_KEYS_JS", CANVAS_KEYS_JS)

# Single-stroke digit shapes as (x, y) fractions of the canvas box.
SHAPES: dict[str, tuple[tuple[float, float], ...]] = {
    "1": ((0.5, 0.18), (0.5, 0.82)),
    "7": ((0.28, 0.22), (0.72, 0.22), (0.45, 0.82)),
    "L": ((0.35, 0.2), (0.35, 0.78), (0.7, 0.78)),
    "0": tuple((0.5 + 0.2 * math.sin(k * math.pi / 4), 0.5 - 0.3 * math.cos(k * math.pi / 4))
               for k in range(9)),
    "4": ((0.6, 0.82), (0.6, 0.18), (0.28, 0.6), (0.75, 0.6)),
    "2": ((0.3, 0.3), (0.5, 0.2), (0.7, 0.32), (0.3, 0.8), (0.75, 0.8)),
}


class BrowserMissing(RuntimeError):
    """Debian's chromium or pip's playwright is not installed."""


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "pip's playwright is missing: pip install -r requirements-dev.txt"
    return None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StreamlitServer:
    """A `streamlit run` subprocess; stop() it (start_server does on a failed start)."""

    script: Path
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def log_tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0, keep_log: bool = False) -> None:
        """End the server; its log goes too unless asked to keep it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if not keep_log:
            self.log_path.unlink(missing_ok=True)


def _serving(server: StreamlitServer) -> bool:
    try:
        with urllib.request.urlopen(server.url + "_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(script: Path, env: dict | None = None, timeout: float = 60.0,
                 attempts: int = 3) -> StreamlitServer:
    """Run `streamlit run script` headless on a free port; return once it answers.

    NB: no file watcher, so colleagues' edits never rerun or restart it mid-measurement.
    """
    for attempt in range(attempts):
        port = free_port()
        log = Path(tempfile.mkstemp(prefix=f"streamlit-{Path(script).stem}-", suffix=".log")[1])
        command = [sys.executable, "-m", "streamlit", "run", str(script),
                   "--server.headless", "true", "--server.port", str(port),
                   "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                   "--server.fileWatcherType", "none"]
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                       env={**os.environ, **(env or {})})
        server = StreamlitServer(Path(script), port, process, log)
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if _serving(server):
                return server
            time.sleep(0.2)
        exit_code = process.poll()  # None: still running, so it timed out
        server.stop(keep_log=True)
        lost_port_race = "already in use" in server.log_tail()
        if not lost_port_race or attempt == attempts - 1:
            break
    why = (f"did not answer on port {port} within {timeout:g} s" if exit_code is None
           else f"exited with code {exit_code}")
    raise RuntimeError(f"streamlit run {script} {why}; its log ({log}):\n{server.log_tail()}")


def launch_chromium(playwright):
    """Debian's chromium, headless, with the flags that work as root here."""
    problem = browser_problem()
    if problem:
        raise BrowserMissing(problem)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=list(CHROMIUM_ARGS), timeout=60_000)


@dataclass
class PageErrors:
    """Uncaught page exceptions and console errors of one page."""

    messages: list[str] = field(default_factory=list)

    def attach(self, page) -> PageErrors:
        page.on("pageerror", lambda err: self.messages.append(f"pageerror: {err}"))
        page.on("console", lambda msg: msg.type == "error" and self.messages.append(
            f"console.error: {msg.text} @ {msg.location.get('url', '')}"))
        return self


def new_page(browser, viewport: dict | None = None, trace: bool = False):
    """(page, PageErrors) in a fresh context with the probe (and, if asked, the trace)."""
    context = browser.new_context(viewport=viewport or VIEWPORT)
    page = context.new_page()
    errors = PageErrors().attach(page)
    page.add_init_script(PROBE_JS)
    if trace:
        page.add_init_script(TRACE_JS)
    return page, errors


def trace_events(page, reset: bool = False) -> list[dict]:
    """The trace's events so far (new_page(trace=True)); reset=True empties the log after."""
    return page.evaluate("(reset) => { const T = window.__stTrace; if (!T) return []; "
                         "const out = T.events; if (reset) T.events = []; return out; }", reset)


def canvas_keys(page) -> list[str | None]:
    """The widget keys of the canvases in the page now (two while one replaces the other)."""
    return page.evaluate(CANVAS_KEYS_JS)


def probe(page) -> dict:
    """The probe's numbers (performance.now() milliseconds)."""
    return page.evaluate("() => { const {metric, ...rest} = window.__stProbe; return rest; }")


def wait_quiet(page, quiet_ms: int = 400, timeout: float = 30.0) -> None:
    """Wait until a Streamlit run has finished and the DOM has not changed for quiet_ms."""
    page.wait_for_function(
        "(quiet) => { const P = window.__stProbe; return P.state === 'notRunning' && "
        "performance.now() - P.lastMutation > quiet; }",
        arg=quiet_ms, timeout=timeout * 1000, polling=100)


def open_app(page, url: str, timeout: float = 45.0, canvas: bool = True) -> None:
    """Load the app, wait for its first run to settle (and for the canvas, if asked)."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
    wait_quiet(page, timeout=timeout)
    if canvas:
        page.locator(CANVAS).wait_for(state="visible", timeout=timeout * 1000)


def draw(page, points, steps: int = 6, offset: tuple[float, float] = (0.0, 0.0),
         box: dict | None = None) -> None:
    """One mouse stroke through `points` (fractions of the canvas box, shifted by offset).

    Pass `box` (a bounding box read earlier) to draw where the canvas was without waiting
    for it: right after Clear, say, while the old canvas is being replaced.
    """
    box = box or page.locator(CANVAS).bounding_box()
    xy = [(box["x"] + (fx + offset[0]) * box["width"], box["y"] + (fy + offset[1]) * box["height"])
          for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()


def metric_value(page, label: str) -> str | None:
    """The shown value of the st.metric with this label, or None when there is none."""
    return page.evaluate("(label) => window.__stProbe.metric(label)", label)


def wait_for_metric(page, label: str = "Prediction", timeout: float = 20.0) -> str:
    """Wait for a metric to show a value; return it."""
    handle = page.wait_for_function(f"() => window.__stProbe.metric({json.dumps(label)})",
                                    timeout=timeout * 1000, polling="raf")
    return handle.json_value()


def wait_for_answer(page, before: list, label: str = "Prediction", timeout: float = 20.0,
                    quiet_ms: int = 600) -> str:
    """After a stroke drawn on a cleared canvas, wait for a settled page showing `label`.

    `before`: the canvas keys before Clear was pressed. The page counts as settled once the
    canvas component has a new key, no run is going and the DOM has been quiet for quiet_ms,
    at least quiet_ms + 200 ms after mouse-up (the canvas sends 200 ms after it). The old
    value is gone by then, so whatever shows answers this stroke. Raises playwright's
    TimeoutError when no answer settles in time: the stroke was lost.
    """
    handle = page.wait_for_function(ANSWERED_JS, arg=[before, quiet_ms + 200, quiet_ms],
                                    timeout=timeout * 1000, polling=100)
    return handle.json_value()


def click_clear(page, timeout: float = 20.0) -> None:
    """Press the page's "Clear" button and return at once (see clear_canvas to wait)."""
    page.get_by_role("button", name="Clear", exact=True).click(timeout=timeout * 1000)


def clear_canvas(page, label: str = "Prediction", timeout: float = 20.0) -> None:
    """Press the page's "Clear" button; wait for a fresh canvas and for `label` to go.

    NB: the old metric lingers until the rerun ends; reading before it goes reads a stale value.
    """
    page.locator(CANVAS).evaluate("el => el.setAttribute('data-cleared', '1')")
    click_clear(page, timeout)
    page.wait_for_function(f"() => window.__stProbe.metric({json.dumps(label)}) === null",
                           timeout=timeout * 1000)
    page.locator(f"{CANVAS}:not([data-cleared])").wait_for(state="visible",
                                                           timeout=timeout * 1000)
    wait_quiet(page, timeout=timeout)
