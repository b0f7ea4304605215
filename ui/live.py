"""The Explorer's live part as one browser component: figures updated in place, T scrubbed live.

The same component draws every other page's charts too (its "figure" view, through
ui.widgets.chart), so a page loads one plotly.js: the cartesian bundle.

The server sends numbers and figure specs once per stroke (built by explorer.figures, the
one place figures are designed); the browser draws them with Plotly.react, and while the
T control is dragged it recomputes softmax, sigmoid, entropy, margin and the exact values
itself (ui/live_assets/maths.mjs, a mirror of explorer.maths.confidence tested against it). On
release the new T comes back as the component's state; `submitted_temperature` reads it.
NB: plotly.js is served from the app's static folder (server.enableStaticServing) and
loaded by the first instance on the page, before the first stroke needs it.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
from pathlib import Path

import plotly
import streamlit as st
from plotly.offline import get_plotlyjs_version

from explorer.figures.base import to_json
from explorer.figures.explorer import NOTES, Stroke, panel_spec
from explorer.maths.confidence import T_SLIDER_MAX, T_SLIDER_MIN
from ui import state

log = logging.getLogger("digit_explorer")
ASSETS = Path(__file__).with_name("live_assets")
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"  # served at app/static/
PLOTLY_JS_VERSION = get_plotlyjs_version()  # the plotly.js plotly.py's figures are made for
# plotly.js's official cartesian bundle (npm plotly.js-cartesian-dist-min, MIT; 1.5 MB against
# the full 4.8 MB, half the compile time on a first visit). Its trace types: all the Explorer
# draws (bar, scatter, heatmap; tests/test_live.py checks).
CARTESIAN_JS = ASSETS / "vendor" / f"plotly-cartesian-{PLOTLY_JS_VERSION}.min.js"
CARTESIAN_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d",
                              "histogram2dcontour", "scatter", "violin"})
KEYS = {"sees": "explorer_live_sees", "readouts": "explorer_live_readouts",
        "charts": "explorer_live_charts"}
# One module in this order: each uses the functions of those before it.
JS_FILES = ("maths.mjs", "patch.mjs", "panel.mjs", "component.mjs")
APPLIED_KEY = "_explorer_applied_t"  # the nonce of the last T taken from the browser


def plotly_source() -> Path:
    """The plotly.js file to serve: the vendored cartesian bundle of plotly.py's version, else
    (plotly.py upgraded past it) the full bundle inside the plotly package."""
    if CARTESIAN_JS.is_file():
        return CARTESIAN_JS
    log.warning("no %s: serving plotly's full bundle (slower first visits)", CARTESIAN_JS.name)
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _publish_plotly() -> str:
    """Copy plotly.js into static/ (named by version and bundle); its URL path.

    NB: checked on every start, and copied atomically (a temporary file, then a rename): a
    kill or a full disk during a first start used to leave a partial file that was never
    repaired, and every live chart stayed empty.
    """
    source = plotly_source()
    bundle = "cartesian" if source == CARTESIAN_JS else "full"
    name = f"plotly-{PLOTLY_JS_VERSION}-{bundle}.min.js"
    target = STATIC_DIR / name
    partial = STATIC_DIR / f".{name}.{os.getpid()}.partial"
    try:
        if not _same_bytes(source, target):
            STATIC_DIR.mkdir(exist_ok=True)
            shutil.copyfile(source, partial)
            os.replace(partial, target)
            log.info("published %s to static/", name)
    except OSError:  # a full disk: the pages still run; the charts say plotly.js is missing
        log.exception("could not publish %s to static/", name)
    finally:
        partial.unlink(missing_ok=True)
    return f"app/static/{name}"


def _same_bytes(source: Path, target: Path) -> bool:
    """Whether `target` exists and holds exactly `source`'s bytes (size, then sha256)."""
    if not target.is_file() or target.stat().st_size != source.stat().st_size:
        return False
    digests = []
    for path in (source, target):
        with open(path, "rb") as file:
            digests.append(hashlib.file_digest(file, "sha256").digest())
    return digests[0] == digests[1]


_COMPONENT = st.components.v2.component(
    "digit_explorer.live",
    js="\n".join((ASSETS / name).read_text() for name in JS_FILES),
    css=(ASSETS / "live.css").read_text(),
    html='<div class="dce-live"></div>',
    isolate_styles=False,  # plotly.js styles its charts from the document's head
)
_PLOTLY_URL = _publish_plotly()


def presenting() -> bool:
    return bool(st.session_state.get(state.PRESENTATION_KEY))


def _url() -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/{_PLOTLY_URL}" if base else f"/{_PLOTLY_URL}"


def render(view: str, **data) -> None:
    """One instance of the component; `data` is what its view draws."""
    _COMPONENT(data={"view": view, "plotly_url": _url(), "presentation": presenting(), **data},
               key=KEYS[view],
               default={"temperature": None}, on_temperature_change=lambda: None,
               width="stretch", height="content")


def sees(figure, static: bool = False) -> None:
    """The 28×28 preview (or the blank canvas's placeholder)."""
    render("sees", figure=to_json(figure, presenting()), static=static)


def readouts(logits, temperature: float) -> None:
    """Top-1, margin and entropy at T; they follow the T control while it is dragged."""
    render("readouts", sources={"logits": [float(z) for z in logits]},
           temperature=float(temperature))


def charts(stroke: Stroke, figures: dict, fitted_t: float, fact: str,
           argmax_constant: bool, idle: bool = False) -> None:
    """The T control, the panel's charts and the exact values (`idle`: dimmed, not drawn).

    `figures`: each chart's go.Figure by name, or its to_json string already made. The
    panel's table (explorer.figures.explorer.panel_spec) goes with them: the browser builds
    the grid and moves every chart with T from it alone.
    """
    render("charts", sources=stroke.sources(), temperature=float(stroke.temperature),
           figures={name: fig if isinstance(fig, str) else to_json(fig, presenting())
                    for name, fig in figures.items()},
           panel=panel_spec(), notes=NOTES, fitted_t=float(fitted_t), fact=fact,
           argmax_constant=bool(argmax_constant), t_min=T_SLIDER_MIN, t_max=T_SLIDER_MAX,
           idle=bool(idle))


def draws(fig) -> bool:
    """Whether the plotly.js served draws every trace of `fig`."""
    return not _PLOTLY_URL.endswith("-cartesian.min.js") or all(
        trace.type in CARTESIAN_TRACES for trace in fig.data)


def figure(fig, key: str, config: dict, width: str = "stretch") -> None:
    """A lab page's chart, drawn with the Explorer's plotly.js (see ui.widgets.chart).

    `width`: "stretch" (the column's) or "content" (the figure's own layout.width).
    """
    _COMPONENT(data={"view": "figure", "plotly_url": _url(), "presentation": presenting(),
                     "figure": to_json(fig, presenting()), "config": config, "key": key,
                     "content": width == "content"},
               key=key, width="stretch", height="content")


def submitted_temperature() -> float | None:
    """A T the browser sent since the last call (a release or a button), else None.

    NB: browser input is untrusted: anything but a finite number is ignored, and T is
    clipped to the slider's range.
    """
    value = st.session_state.get(KEYS["charts"])
    sent = value.get("temperature") if isinstance(value, dict) else None
    if not isinstance(sent, dict) or sent.get("n") == st.session_state.get(APPLIED_KEY):
        return None
    st.session_state[APPLIED_KEY] = sent.get("n")
    try:
        t = float(sent.get("t"))
    except (TypeError, ValueError):
        t = math.nan
    if not math.isfinite(t):
        log.warning("ignored a temperature from the browser: %r", sent)
        return None
    return min(max(t, T_SLIDER_MIN), T_SLIDER_MAX)
