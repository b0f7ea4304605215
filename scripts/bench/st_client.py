"""A Streamlit session without a browser: Streamlit's own protocol over /_stcore/stream.

What the frontend does, and no more: GET the page (the load balancer's cookie comes back),
open the websocket, send BackMsg rerun_script with the widget states it holds (the whole
page, or one fragment), and read the ForwardMsg deltas that answer it. Each session is a
coroutine and a socket, not a chromium page, so 60 fit on a small machine beside the servers.

    session = Session("http://127.0.0.1:8500/")
    await session.open()                                   # the first run of the default page
    await session.set_and_rerun("explorer_canvas_0", json_value=canvas_value(SHAPES["7"]))
    session.metrics["Prediction"]                          # '7'

NB: it draws nothing and runs no component JavaScript: a canvas value is what the drawable
canvas would send (canvas_value), 200 ms after mouse-up in a browser, which this skips.
"""
from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

CANVAS_SIDE = 280
WIDGET_KEY = re.compile(r"\$\$ID-[0-9a-f]+-(.+)")  # a widget's id ends with its user key


class SessionLost(ConnectionError):
    """The websocket closed (the server or its replica went away); `sent`: after the request
    went out (its fate unknown), or before (nothing was asked)."""

    def __init__(self, message: str, sent: bool = False):
        super().__init__(message)
        self.sent = sent


@dataclass
class Widget:
    """A widget the server drew: its id, its element kind and the fragment that holds it."""

    id: str
    kind: str
    fragment_id: str
    proto: object = field(repr=False)


@dataclass
class Run:
    """One script run as this client saw it: when it was asked for, what came back, when."""

    sent: float
    fragment: bool
    first: float | None = None  # monotonic s of the first delta
    answers: dict = field(default_factory=dict)  # metric label -> (monotonic s, value)
    finished: float | None = None
    status: str = ""
    errors: list[str] = field(default_factory=list)  # error alerts and exceptions shown
    texts: list[str] = field(default_factory=list)  # markdown and other alerts' bodies
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def answer_s(self, label: str = "Prediction") -> float | None:
        """Seconds from the request to `label`'s value, or None if it never came."""
        return self.answers[label][0] - self.sent if label in self.answers else None


def canvas_value(points, brush: int = 20) -> dict:
    """The drawable canvas's value for one white stroke through `points` (fractions of 280);
    no points: the blank canvas it sends after Clear.

    NB: a black 280x280 PNG with the stroke, and Fabric's raw path beside it, as the
    component sends them; the server reads the PNG (ui/canvas.py).
    """
    from PIL import Image, ImageDraw

    xy = [(fx * CANVAS_SIDE, fy * CANVAS_SIDE) for fx, fy in points]
    image = Image.new("RGBA", (CANVAS_SIDE, CANVAS_SIDE), (0, 0, 0, 255))
    draw = ImageDraw.Draw(image)
    if xy:
        draw.line(xy, fill=(255, 255, 255, 255), width=brush, joint="curve")
    for x, y in xy[:1] + xy[-1:]:
        draw.ellipse((x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2), fill="white")
    png = io.BytesIO()
    image.save(png, format="PNG")
    path = [["M", *xy[0]]] + [["L", x, y] for x, y in xy[1:]] if xy else []
    objects = [{"type": "Path", "version": "7.4.0", "path": path, "stroke": "#FFFFFF",
                "strokeWidth": brush, "fill": None, "strokeLineCap": "round"}] if xy else []
    raw = {"version": "7.4.0", "objects": objects, "background": "#000000"}
    url = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    return {"drawing": {"raw": raw, "data": url}}


class Session:
    """One browser's worth of Streamlit session, spoken in protobuf over one websocket."""

    def __init__(self, base_url: str, timeout: float = 60.0):
        self.base = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.widgets: dict[str, Widget] = {}  # user key -> the widget as last drawn
        self.values: dict[str, WidgetState] = {}  # widget id -> the value this client holds
        self.metrics: dict[str, str] = {}  # label -> the value last sent
        self.auto_rerun: dict[str, float] = {}  # fragment id -> seconds (st.fragment run_every)
        self.pages: dict[str, str] = {}  # url path name ("" for the default) -> script hash
        self.page_hash = ""
        self.query = ""
        self.session_id = ""
        self.replica = ""  # the load balancer's cookie: which replica holds this session
        self._ws = None
        self._reader = None
        self.closed_at: float | None = None  # monotonic s the websocket was seen closing
        self.closed = asyncio.Event()  # set while no websocket is open
        self._run: Run | None = None

    def _http_get(self, path: str) -> None:
        """GET base+path with this session's cookies; keep the cookies that come back."""
        request = urllib.request.Request(self.base + path, headers=self._cookie_header())
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
            response.read()

    def _cookie_header(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} \
            if self.cookies else {}

    def _keep_cookies(self, headers) -> None:
        for header in headers:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        self.replica = self.cookies.get("SERVERID", self.replica)

    async def connect(self, page: str | None = None) -> None:
        """GET the page (None: a reconnect, which does not), then /_stcore/health as the
        frontend does, and open the websocket (resuming our session id, if any)."""
        from websockets.asyncio.client import connect

        if page is not None:
            await asyncio.to_thread(self._http_get, page)
        await asyncio.to_thread(self._http_get, "_stcore/health")
        url = urllib.parse.urlsplit(self.base)
        uri = f"ws://{url.netloc}{url.path}_stcore/stream"
        # NB: as the frontend: the XSRF cookie (or a placeholder), then the session to resume
        xsrf = self.cookies.get("_streamlit_xsrf", "PLACEHOLDER_AUTH_TOKEN")
        protocols = ["streamlit", xsrf] + ([self.session_id] if self.session_id else [])
        self._ws = await asyncio.wait_for(connect(
            uri, subprotocols=protocols, max_size=None, open_timeout=self.timeout,
            additional_headers={"Origin": self.base.rstrip("/"), **self._cookie_header()}),
            self.timeout)
        self._keep_cookies(self._ws.response.headers.get_all("Set-Cookie"))
        self.closed.clear()
        self._reader = asyncio.create_task(self._read())

    async def open(self, page: str = "", query: str = "") -> Run:
        """Connect and run the page at path `page` ("" the default) as a new tab does."""
        self.query = query
        await self.connect(page)
        return await self.rerun(page_name=page)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def rerun(self, fragment_id: str = "", page_name: str = "",
                    triggers: dict | None = None, auto: bool = False) -> Run:
        """Send rerun_script with every value held (plus one-shot triggers); await its end."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.page_name = page_name
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = self.base
        state.widget_states.widgets.extend([*self.values.values(), *(triggers or {}).values()])
        if self._reader is None or self._reader.done():
            raise SessionLost("the websocket had closed", sent=False)
        run = self._run = Run(time.monotonic(), bool(fragment_id))
        try:
            await self._ws.send(msg.SerializeToString())
        except Exception as err:  # noqa: BLE001 - a socket closing under us, whatever it says
            raise SessionLost(f"the websocket closed: {err}", sent=False) from err
        try:
            await asyncio.wait_for(run.done.wait(), self.timeout)
        except TimeoutError:
            raise TimeoutError(f"no script_finished within {self.timeout:g} s") from None
        if run.status == "lost":
            raise SessionLost("the websocket closed during the run", sent=True)
        return run

    def state(self, key: str, **value) -> WidgetState:
        """A WidgetState for the widget with user key `key`: state(k, json_value='...')."""
        widget = WidgetState(id=self.widgets[key].id)
        for name, v in value.items():
            if name == "double_array_value":
                widget.double_array_value.data.extend(v)
            else:
                setattr(widget, name, v)
        return widget

    async def set_and_rerun(self, key: str, **value) -> Run:
        """Hold a new value for widget `key` and rerun its fragment (or the page)."""
        self.values[self.widgets[key].id] = self.state(key, **value)
        return await self.rerun(fragment_id=self.widgets[key].fragment_id)

    async def click(self, key: str) -> Run:
        """Press button `key` (a one-shot trigger, as the frontend sends it)."""
        trigger = self.state(key, trigger_value=True)
        return await self.rerun(self.widgets[key].fragment_id, triggers={key: trigger})

    async def _read(self) -> None:
        """Read ForwardMsgs until the socket closes; a run in flight is then lost."""
        try:
            async for raw in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg, time.monotonic())
        except Exception:  # noqa: BLE001 - any way the socket ends, the run is lost
            pass
        finally:
            self.closed_at = time.monotonic()
            self.closed.set()
            if self._run is not None and not self._run.done.is_set():
                self._run.status = "lost"
                self._run.done.set()

    def _handle(self, msg: ForwardMsg, now: float) -> None:
        kind, run = msg.WhichOneof("type"), self._run
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id
        elif kind == "navigation":  # NB: its page_script_hash is the page that runs (st.navigation)
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "auto_rerun":
            self.auto_rerun[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta" and run is not None:
            run.first = run.first or now
            self._element(msg.delta, run, now)
        elif kind == "script_finished" and run is not None:
            run.status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
            if run.status != "FINISHED_EARLY_FOR_RERUN":
                run.finished = now
                run.done.set()

    def _element(self, delta, run: Run, now: float) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        proto = getattr(element, kind)
        if kind == "metric":
            self.metrics[proto.label] = proto.body
            run.answers.setdefault(proto.label, (now, proto.body))
        elif (kind == "alert" and proto.format == type(proto).ERROR) or kind == "exception":
            run.errors.append(getattr(proto, "body", "") or getattr(proto, "message", ""))
        elif kind in ("markdown", "alert"):
            run.texts.append(proto.body)
        match = WIDGET_KEY.fullmatch(getattr(proto, "id", "") or "")
        if match:
            self.widgets[match.group(1)] = Widget(proto.id, kind, delta.fragment_id, proto)


def read_url(url: str, timeout: float = 5.0) -> bytes:
    """GET url; the body (for health checks and the like)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def as_json(value: dict) -> str:
    """A canvas value as the json_value the component sends."""
    return json.dumps(value, separators=(",", ":"))
