"""Real-browser helpers for tests/test_browser.py and scripts/bench/browser_latency.py.

Start `streamlit run` on a free port, drive Debian's chromium through pip's playwright,
draw mouse strokes on the drawable canvas and read st.metric values.
NB: playwright's CSS locators pierce the canvas component's open shadow root;
document.querySelector in page JavaScript does not (the metrics live outside it).
"""
from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from explorer.model import registry

ROOT = Path(__file__).resolve().parents[2]  # the repository root (scripts/bench/..)
CHROMIUM = Path("/usr/bin/chromium")
BARE_APP = Path(__file__).with_name("bare_canvas_app.py")  # the canvas with no model
REQUIRE_BROWSER_ENV = "EXPLORER_REQUIRE_BROWSER"  # "1" (CI): a missing browser fails
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync")
VIEWPORT = {"width": 1400, "height": 1600}  # tall: Streamlit scrolls inside its own box
CANVAS = "canvas.upper-canvas"

# Installed before any page script: timestamps (performance.now() ms) of the last mouse-up,
# of the first "Prediction" value after it, of the last DOM change outside shadow roots, and
# of the last DOM change after which no "Prediction" value showed (blank).
# NB: Streamlit's run-state attribute (stApp's data-test-script-state) is no run counter: a
# quick run can go running -> notRunning within one React render and never show "running".
PROBE_JS = """
(() => {
  if (window.__stProbe) return;
  const P = window.__stProbe = {up: null, shown: null, value: null, state: null,
                                lastMutation: 0, blank: null, label: "Prediction"};
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
    const value = P.metric(P.label);
    if (value === null) P.blank = P.lastMutation;
    else if (P.up !== null && P.shown === null) { P.shown = P.lastMutation; P.value = value; }
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
        for (const c of host.shadowRoot.querySelectorAll("canvas.upper-canvas")) {
          const box = c.getBoundingClientRect();  // where it is: it moves once styled
          out.push(`${name(c)}@${Math.round(box.x)},${Math.round(box.y)}`);
        }
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
        ? {canvas: name(el), class: el.className, connected: el.isConnected}
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

# The widget keys of the canvas components now in the page (two while one replaces another):
# components (v2, no iframe) with a drawing surface in their shadow root.
CANVAS_KEYS_JS = """() => [...document.querySelectorAll('.stBidiComponent')].filter((c) =>
  [...c.querySelectorAll('*')].some((h) => h.shadowRoot
                                     && h.shadowRoot.querySelector('canvas.upper-canvas'))
).map((c) => {
  const box = c.closest('[class*="st-key-"]'), m = box && box.className.match(/st-key-(\\S+)/);
  return m ? m[1] : null; })"""

# The value of "Prediction" once a stroke's consequences have settled, else null: mouse-up at
# least minAge ms ago, no run going, no DOM change for `quiet` ms, and the value shown before
# Clear was pressed (at mark.t) gone: the page showed none since, or no canvas with a key of
# mark.keys is left (a Clear that remounts the canvas replaced it).
ANSWERED_JS = """([mark, minAge, quiet]) => {
  const P = window.__stProbe, now = performance.now();
  if (P.up === null || now - P.up < minAge || now - P.lastMutation < quiet) return null;
  if (P.state !== "notRunning") return null;
  const keys = (CANVAS_KEYS_JS)();
  const replaced = keys.length && !keys.some((k) => mark.keys.includes(k));
  if (!replaced && !(P.blank !== null && P.blank > mark.t)) return null;
  return P.metric(P.label);
}""".replace("CANVAS_KEYS_JS", CANVAS_KEYS_JS)

# Whether a drawing surface (canvas.upper-canvas) has ink: its Fabric lower canvas, which
# holds the drawing, is not all one colour.
INKED_JS = """(upper) => {
  const lower = upper.parentElement.querySelector("canvas.lower-canvas");
  if (!lower || !lower.width || !lower.height) return false;
  const context = lower.getContext("2d", {willReadFrequently: true});
  const pixels = new Uint32Array(context.getImageData(0, 0, lower.width, lower.height)
                                 .data.buffer);
  return pixels.some((p) => p !== pixels[0]);
}"""

# True once a canvas is ready after Clear: a drawing surface (of non-zero size) that is new
# (no data-cleared mark) or, for a canvas emptied in place, one that had ink when marked
# (data-cleared="ink") and has none now.
CLEARED_JS = """() => {
  const inked = (INKED_JS);
  for (const host of document.querySelectorAll(".stBidiComponent *")) {
    if (!host.shadowRoot) continue;
    for (const upper of host.shadowRoot.querySelectorAll("canvas.upper-canvas")) {
      if (!upper.width || !upper.getBoundingClientRect().width) continue;
      const mark = upper.getAttribute("data-cleared");
      if (mark === null || (mark === "ink" && !inked(upper))) return true;
    }
  }
  return false;
}""".replace("INKED_JS", INKED_JS)

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


# The sides ("l", "r", "t", "b") of a drawn plotly chart whose given margin automargin had to
# widen (the chart was then drawn a second time): a JS function of the graph div.
WIDENED_SIDES_JS = """(gd) => { const m = gd.layout.margin || {}, size = gd._fullLayout._size;
  return [..."lrtb"].filter((k) => m[k] !== undefined && size[k] > m[k] + 0.5); }"""


def no_browser() -> bool:
    """True, with the reason on stderr, when a browser script cannot run (it then exits 2)."""
    problem = browser_problem()
    if problem:
        print(problem, file=sys.stderr)
    return problem is not None


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


def unexpected_errors(messages: list[str], app_url: str) -> list[str]:
    """Every message but the one known benign kind, the base-path probes' 404s."""
    # Opened at /PAGE, Streamlit's frontend probes /PAGE/_stcore/health and
    # /PAGE/_stcore/host-config, gets 404 and falls back to the root.
    probe = re.compile(r"console\.error: Failed to load resource: the server responded with a "
                       r"status of 404 \(Not Found\) @ " + re.escape(app_url)
                       + r"[a-z_]+_page/_stcore/(health|host-config)")
    return [m for m in messages if not probe.fullmatch(m)]


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


def explain_stroke(events: list[dict], old_keys: list) -> tuple[str, str]:
    """(what became of a stroke, its timeline from Clear) from its trace_events.

    old_keys: the canvas keys before Clear (mark_clear). What: which canvas the press hit
    (one of before Clear, or a new one; a drawing surface or another canvas such as the
    background), whether the release was elsewhere, and under which key the page sent a
    drawing it had not sent before the press, or that it sent none.
    """
    clear = next((e["t"] for e in events if e.get("button") == "Clear"), 0)
    lines = "\n      ".join(f"{e['t'] - clear:+6d} ms {e['kind']} " + " ".join(
        f"{k}={v}" for k, v in e.items() if k not in ("t", "kind")) for e in events)
    downs = [e for e in events if e["kind"] == "mousedown" and "canvas" in e]
    if not downs:
        return "pressed on no canvas", lines
    down, up = downs[-1], ([e for e in events if e["kind"] == "mouseup"] or downs)[-1]
    seen = {h for e in events if e["kind"] == "send" and e["t"] < down["t"]
            for h in e.get("pngs", {}).values()}
    sent = [k for e in events if e["kind"] == "send" and e["t"] >= up["t"]
            for k, h in e.get("pngs", {}).items() if h not in seen]
    polls = [e for e in events if e["kind"] == "canvases"]
    gone = next((e["t"] - up["t"] for e in polls if e["t"] > down["t"]
                 and down["canvas"] + "@" not in e["now"]), None)
    if not any(down["canvas"] + "@" in e["now"] for e in polls):
        gone = None  # not a drawing surface the poll saw: its going says nothing
    what = "pre-Clear" if down["canvas"].split(":", 1)[1] in old_keys else "new"
    what += " canvas" if "upper-canvas" in down["class"] else f" canvas's <{down['class']}>"
    if up.get("canvas") != down["canvas"]:
        what += ", released elsewhere"
    if sent:
        what += ", sent under " + ("a pre-Clear" if sent[0] in old_keys else "a new") + " key"
    else:
        what += ", nothing sent" + ("" if gone is None else f" (canvas gone {gone:+d} ms)")
    return what, lines

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


def use_your_model(page, url: str, path: Path, timeout: float) -> None:
    """Upload `path` on the Your model page, wait for its diagnosis, draw on it.

    NB: a page load is a new session, and an uploaded model lives in its session only.
    """
    page.goto(f"{url.rstrip('/')}/yours_page", wait_until="domcontentloaded")
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(path))
    page.get_by_role("button", name="Draw on it in the Explorer").click(timeout=timeout * 4000)
    page.locator(CANVAS).wait_for(state="visible", timeout=timeout * 1000)
    wait_quiet(page, timeout=timeout)



def wait_for_metric(page, label: str = "Prediction", timeout: float = 20.0) -> str:
    """Wait for a metric to show a value; return it."""
    handle = page.wait_for_function(f"() => window.__stProbe.metric({json.dumps(label)})",
                                    timeout=timeout * 1000, polling="raf")
    return handle.json_value()


def mark_clear(page) -> dict:
    """What wait_for_answer needs to know of the page just before Clear is pressed."""
    return page.evaluate(f"() => ({{keys: ({CANVAS_KEYS_JS})(), t: performance.now()}})")


def wait_for_answer(page, mark: dict, timeout: float = 20.0, quiet_ms: int = 600) -> str:
    """After Clear (mark: mark_clear's answer) and a stroke, the "Prediction" that answers it.

    Waits for a settled page: no run going, the DOM quiet for quiet_ms, at least
    quiet_ms + 200 ms after mouse-up (the canvas sends 200 ms after it), and the value shown
    before Clear gone, so whatever shows answers this stroke. Raises playwright's
    TimeoutError when no answer settles in time: the stroke was lost.
    """
    handle = page.wait_for_function(ANSWERED_JS, arg=[mark, quiet_ms + 200, quiet_ms],
                                    timeout=timeout * 1000, polling=100)
    return handle.json_value()


def click_clear(page, timeout: float = 20.0) -> None:
    """Press the page's "Clear" button and return at once (see clear_canvas to wait)."""
    page.get_by_role("button", name="Clear", exact=True).click(timeout=timeout * 1000)


def clear_canvas(page, label: str = "Prediction", timeout: float = 20.0) -> None:
    """Press the page's "Clear" button; wait for an empty canvas and for `label` to go.

    An empty canvas: a new one (an app that remounts it), or the same one with its ink gone
    (an app that empties it in place; NB: then the canvas must have ink, else this waits in
    vain). NB: a new canvas may still be unstyled, its drawing surface below where it
    belongs, for a second or so under load: so does a user see it.
    NB: the old metric lingers until the rerun ends; reading before it goes reads a stale value.
    """
    page.locator(CANVAS).evaluate(f"el => el.setAttribute('data-cleared', ({INKED_JS})(el) "
                                  "? 'ink' : 'blank')")
    click_clear(page, timeout)
    page.wait_for_function(f"() => window.__stProbe.metric({json.dumps(label)}) === null",
                           timeout=timeout * 1000)
    page.wait_for_function(CLEARED_JS, timeout=timeout * 1000, polling=50)
    wait_quiet(page, timeout=timeout)


# --- The Explorer's live component (ui/live.py): settling, readouts, slider drags ----------
LIVE_SLIDER = "input.dce-slider"  # the T control; `.dce-t-value` shows its T
READOUTS = ("top1", "margin", "entropy")  # [data-readout=...] texts

# Installed before any page script by new_live_page. performance.now() ms of the last DOM
# change of any kind outside shadow roots (lastChange) and of the last one inside a live
# chart or the preview (lastPlot), the count of changes, and whether plotly.js was loaded at
# each mouse press. NB: PROBE_JS filters attribute changes out, and Plotly.react updates the
# SVG it drew in place, mostly through attributes.
LIVE_PROBE_JS = """
(() => {
  if (window.__dceProbe) return;
  const D = window.__dceProbe = {lastChange: 0, lastPlot: 0, changes: 0, reacts: -1,
                                 reactsAt: 0, plotlyAtDown: []};
  addEventListener("mousedown", () => {
    if (D.plotlyAtDown.length < 1000) D.plotlyAtDown.push(typeof window.Plotly === "object");
  }, true);
  const inPlot = (node) => {
    const el = node.nodeType === 1 ? node : node.parentElement;
    return !!(el && el.closest("[data-chart], .dce-sees"));
  };
  new MutationObserver((records) => {
    D.lastChange = performance.now();
    D.changes += records.length;
    if (records.some((r) => inPlot(r.target))) D.lastPlot = D.lastChange;
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
})();
"""

# Polled: true once no run is going, the DOM (attributes too) has been quiet for `quiet` ms
# and window.__dceLive.reacts has not changed for `quiet` ms (a Plotly.react awaiting plotly.js
# changes nothing in the DOM until it draws).
LIVE_SETTLED_JS = """(quiet) => {
  const P = window.__stProbe, D = window.__dceProbe, now = performance.now();
  const reacts = (window.__dceLive || {}).reacts || 0;
  if (reacts !== D.reacts) { D.reacts = reacts; D.reactsAt = now; }
  return P.state === "notRunning" && now - D.lastChange > quiet && now - D.reactsAt > quiet
    && now - P.lastMutation > quiet;
}"""

# The logits the charts were drawn from: the logits chart's first trace, as plotly keeps it
# on the graph div (a plain array, a typed array or a {dtype, bdata} base64 spec).
CHART_LOGITS_JS = """() => {
  const gd = document.querySelector('[data-chart=logits]');
  const y = gd && gd.data && gd.data.length ? gd.data[0].y : null;
  if (!y) return null;
  if (Array.isArray(y) || ArrayBuffer.isView(y)) return Array.from(y, Number);
  const kinds = {f8: Float64Array, f4: Float32Array, i4: Int32Array, i2: Int16Array,
                 i1: Int8Array, u1: Uint8Array};
  if (typeof y.bdata !== "string" || !kinds[y.dtype]) return null;
  const bytes = Uint8Array.from(atob(y.bdata), (c) => c.charCodeAt(0));
  return Array.from(new kinds[y.dtype](bytes.buffer));
}"""


def new_live_page(browser, viewport: dict | None = None, trace: bool = False):
    """new_page plus LIVE_PROBE_JS (see wait_live_settled): (page, PageErrors)."""
    page, errors = new_page(browser, viewport, trace)
    page.add_init_script(LIVE_PROBE_JS)
    return page, errors


def live_stats(page) -> dict:
    """A copy of window.__dceLive (updates, busy ms, reacts, t); {} before the component ran."""
    return page.evaluate("() => Object.assign({}, window.__dceLive || {})")


def live_probe(page) -> dict:
    """A copy of window.__dceProbe (new_live_page): lastChange, lastPlot, changes, plotlyAtDown."""
    return page.evaluate("() => Object.assign({}, window.__dceProbe || {})")


def wait_live_settled(page, quiet_ms: int = 500, timeout: float = 30.0) -> None:
    """Wait until no run is going, the whole DOM is quiet and the charts stopped redrawing.

    NB: needs new_live_page; a page without the live component settles like wait_quiet.
    """
    page.wait_for_function(LIVE_SETTLED_JS, arg=quiet_ms, timeout=timeout * 1000, polling=50)


def next_frames(page, frames: int = 2) -> None:
    """Return after `frames` animation frames: work coalesced per frame has run by then."""
    page.evaluate("(n) => new Promise((done) => { const step = (k) => k ? "
                  "requestAnimationFrame(() => step(k - 1)) : done(); step(n); })", frames)


def chart_logits(page) -> list[float] | None:
    """The logits the live charts were drawn from (CHART_LOGITS_JS), or None."""
    return page.evaluate(CHART_LOGITS_JS)


def live_sources(page) -> dict | None:
    """The logits the live panel follows by name (`logits`, `ovr_logits`), as last sent."""
    return page.evaluate("() => (window.__dceLive || {}).sources || null")


def live_readouts(page) -> dict[str, str]:
    """The live readouts' texts by name (READOUTS); '' for one not shown."""
    return page.evaluate("(names) => Object.fromEntries(names.map((n) => { const e = "
                         "document.querySelector(`[data-readout=${n}]`); "
                         "return [n, e ? e.textContent : '']; }))", list(READOUTS))


def chart_title(page, chart: str) -> str | None:
    """The title text of a live chart as its figure says (the server's, not a drag's patch)."""
    return page.evaluate("(name) => { const gd = document.querySelector(`[data-chart=${name}]`);"
                         " const t = gd && gd.layout && gd.layout.title; "
                         "return t ? (typeof t === 'string' ? t : t.text) : null; }", chart)


def drag_slider(page, box: dict, fractions, steps: int = 20, release: bool = True) -> int:
    """Press on a slider at fractions[0] of its width, move through the others; the moves.

    Each leg is `steps` mouse events (page.mouse.move(steps=...)); mid-height of `box`.
    NB: with release=False the button stays down: call page.mouse.up() yourself.
    """
    y = box["y"] + box["height"] / 2
    xs = [box["x"] + f * box["width"] for f in fractions]
    page.mouse.move(xs[0], y)
    page.mouse.down()
    for x in xs[1:]:
        page.mouse.move(x, y, steps=steps)
    if release:
        page.mouse.up()
    return steps * (len(xs) - 1)


def preflight(checkpoint_dir: str | os.PathLike | None) -> Path | None:
    """The checkpoints folder holding the default model and a usable browser, or None (why).

    NB: for the measuring scripts' main(): they exit 2 on None.
    """
    ck_dir, default = Path(checkpoint_dir or ROOT / "checkpoints"), registry.the(registry.DEFAULT)
    if not (ck_dir / default / "model.safetensors").is_file():
        print(f"No {default} checkpoint in {ck_dir}: python scripts/train.py --arch {default} "
              "(or pass --checkpoint-dir).", file=sys.stderr)
        return None
    problem = browser_problem()
    if problem:
        print(problem, file=sys.stderr)
        return None
    return ck_dir
