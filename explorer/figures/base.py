"""What every figure shares: the unvalidated `figure()` builder, colours and layout pieces.

Figures are plain trace/layout dicts wrapped without plotly's per-property validation:
validation cost ~10-20 ms a figure, every stroke. The helpers here write the dicts that
make_subplots, add_hline and friends would have written.
"""
from __future__ import annotations

import functools
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.utils import PlotlyJSONEncoder

from explorer.model import registry
from explorer.model.networks import N_CLASSES

CLASSES = list(range(N_CLASSES))
BAR = "#8c9cb8"
TOP = "#ff4b4b"  # Streamlit's accent: the argmax bar everywhere
GHOST = "rgba(140, 156, 184, 0.35)"
ENTROPY, MARGIN = "#1f77b4", "#2ca02c"
INK = "#31333f"  # Streamlit's text colour: value labels and the current-T marker
BOUND_COLOUR = "#ff9f1c"
SUBTITLE = "font-size:13px;font-weight:normal;color:#555867"
# Paul Tol's colour-blind-safe "muted" scheme, its two palest colours swapped for his
# "vibrant" cyan and "bright" yellow (pale lines fade on a projector), grey for the tenth.
# The predicted class stands out by width, not by a colour another class could share.
CLASS_COLOURS = ("#332288", "#33bbee", "#44aa99", "#117733", "#999933",
                 "#ccbb44", "#cc6677", "#882255", "#aa4499", "#777777")
HEIGHT = 300


def colour_scale(name: str) -> list[list]:
    """A named plotly colour scale as the [[position, colour], ...] list plotly sends.

    NB: unvalidated figures keep a scale's name as is; the expanded list keeps them equal
    to their validated twins (and lets tests read the colours).
    """
    return [list(stop) for stop in go.Heatmap(colorscale=name).colorscale]


GREY_SCALE = colour_scale("gray")
DIVERGING = colour_scale("RdBu_r")  # blue < 0 < red, white at 0 (with zmid=0)


@functools.lru_cache(maxsize=16)
def _template(name: str, trace_types: tuple[str, ...]) -> dict:
    """A registered template's layout, with trace defaults for these trace types only.

    Defaults for other trace types cannot change a figure, but they were most of the
    template every figure carried (copied, encoded and sent on every stroke).
    NB: cached by name: a template re-registered under the same name later is not seen.
    """
    template = pio.templates[name].to_plotly_json()  # {"data": {type: [...]}, "layout": {...}}
    data = {k: v for k, v in template.get("data", {}).items() if k in trace_types}
    return {"layout": template.get("layout", {}), **({"data": data} if data else {})}


def figure(traces: list[dict], layout: dict, frames: list[dict] | None = None) -> go.Figure:
    """A go.Figure from plain trace and layout dicts, skipping per-property validation.

    NB: nothing checks the dicts here: a misspelt key goes to plotly.js, which ignores it.
    tests/test_charts.py re-validates every figure, so keep to plotly's full names
    (title={"text": ...}, not title="..."; no None values). Plotly's default template
    (Streamlit's on the page) is read at call time, like go.Figure does.
    """
    if isinstance(pio.templates.default, str) and "template" not in layout:
        types = tuple(sorted({trace["type"] for trace in traces}))
        layout = dict(layout, template=_template(pio.templates.default, types))
    spec = {"data": traces, "layout": layout, **({"frames": frames} if frames else {})}
    return go.Figure(spec, _validate=False)


def model_colour(name: str) -> str:
    """A model's line colour from the registry; BAR for a name it does not know."""
    arch = registry.ARCHS.get(name)
    return arch.colour if arch is not None else BAR


def finite(values, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A float64 copy; NaN/inf become 0 so a figure never carries them."""
    array = np.nan_to_num(np.asarray(values, dtype=np.float64), posinf=0.0, neginf=0.0)
    if shape is not None and array.shape != shape:
        raise ValueError(f"expected shape {shape}, got {array.shape}")
    return array


def top_colours(values) -> list[str]:
    """One colour per class: the accent for the argmax, BAR for the rest."""
    top = int(np.argmax(values))
    return [TOP if k == top else BAR for k in CLASSES]


def two_line_title(name: str, detail: str = "") -> str:
    """A short chart name, with its numbers on a smaller grey second line."""
    return f"{name}<br><span style='{SUBTITLE}'>{detail}</span>" if detail else name


def class_bar_layout(title: str, y_title: str, *, y_range=None, height: int | None = None,
                     **layout) -> dict:
    """Layout of a per-class bar chart: classes 0-9 along x, no legend; extras in `layout`."""
    yaxis = dict(title=dict(text=y_title), **({"range": y_range} if y_range else {}))
    return dict(
        title=dict(text=title, x=0.0, xanchor="left"), height=height or HEIGHT,
        margin=dict(l=48, r=10, t=70 if title else 10, b=42), bargap=0.25,
        xaxis=dict(title=dict(text="class"), tickmode="array", tickvals=CLASSES),
        yaxis=yaxis, showlegend=False, **layout)


def hline(y: float, xaxis: str = "x", yaxis: str = "y", **line) -> dict:
    """A full-width horizontal line shape at data height y (what fig.add_hline draws)."""
    return dict(type="line", xref=f"{xaxis} domain", x0=0, x1=1, yref=yaxis, y0=y, y1=y,
                line=line)


def vline(x: float, xaxis: str = "x", yaxis: str = "y", **line) -> dict:
    """A full-height vertical line shape at data position x (what fig.add_vline draws)."""
    return dict(type="line", xref=xaxis, x0=x, x1=x, yref=f"{yaxis} domain", y0=0, y1=1,
                line=line)


def line_label(shape: dict, text: str, colour: str, side: str = "left") -> dict:
    """The label add_hline/add_vline put at annotation_position=f"top {side}" of a line."""
    note = dict(text=text, showarrow=False, font=dict(color=colour))
    if shape["xref"].endswith(" domain"):  # horizontal: at the left or right end, above it
        return dict(note, xref=shape["xref"], x=0 if side == "left" else 1, xanchor=side,
                    yref=shape["yref"], y=shape["y0"], yanchor="bottom")
    return dict(note, xref=shape["xref"], x=shape["x0"],  # vertical: beside its top end
                xanchor="right" if side == "left" else "left",
                yref=shape["yref"], y=1, yanchor="top")


def image_axes() -> tuple[dict, dict]:
    """(xaxis, yaxis) of an image: square pixels, row 0 at the top like the canvas, no ticks."""
    return (dict(visible=False, constrain="domain"),
            dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"))


def axis_ids(cell: int) -> tuple[str, str]:
    """Trace references ("x3", "y3") of a subplot cell, counted from 0 ("x", "y")."""
    suffix = str(cell + 1) if cell else ""
    return f"x{suffix}", f"y{suffix}"


def _domains(n: int, spacing: float, weights=None) -> list[list[float]]:
    """n [start, end] spans of [0, 1] in order, `spacing` apart, sized by weights."""
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    sizes = (1.0 - spacing * (n - 1)) * weights / weights.sum()
    starts = np.concatenate([[0.0], np.cumsum(sizes + spacing)[:-1]])
    return [[float(s), float(s + size)] for s, size in zip(starts, sizes)]


def subplot_grid(rows: int, cols: int, *, h_spacing: float, v_spacing: float,
                 titles=(), n: int | None = None, row_heights=None,
                 title_size: int = 16) -> dict:
    """Layout axes and subplot titles of a grid, row 1 on top, as make_subplots lays them out.

    Cells are counted row by row from the top left; `n` cells get axes (default: all).
    Traces go in cell i with xaxis, yaxis = axis_ids(i).
    """
    x_spans = _domains(cols, h_spacing)
    y_spans = _domains(rows, v_spacing, None if row_heights is None else row_heights[::-1])
    layout: dict = {}
    for cell in range(rows * cols if n is None else n):
        x, y = axis_ids(cell)
        x_span, y_span = x_spans[cell % cols], y_spans[rows - 1 - cell // cols]
        layout[f"xaxis{x[1:]}"] = dict(domain=x_span, anchor=y)
        layout[f"yaxis{y[1:]}"] = dict(domain=y_span, anchor=x)
    if titles:
        layout["annotations"] = [
            dict(text=text, showarrow=False, font=dict(size=title_size), xref="paper",
                 x=sum(x_spans[i % cols]) / 2, xanchor="center", yref="paper",
                 y=y_spans[rows - 1 - i // cols][1], yanchor="bottom")
            for i, text in enumerate(titles)]
    return layout


# Streamlit's light look (what st.plotly_chart's theme gives a figure), for the figures the
# live component draws: every page's charts (ui.widgets.chart).
STREAMLIT_COLORWAY = ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1",
                      "#ff8700", "#ffd16a", "#6d3fc0", "#d5dae5"]  # its categorical palette
GREY_TEXT = "#808495"  # Streamlit's faded text: ticks, axis titles, legends, subplot titles
# NB: every figure's margins already hold its tick labels, axis titles, legend and colour
# bar at the usual font size, so automargin (kept: presentation mode, wide labels) needs no
# second pass: a chart's first drawing costs about half as much in a GPU-less chromium.
_AXIS = {"gridcolor": "#e6eaf1", "zerolinecolor": "#e6eaf1", "linecolor": "#e6eaf1",
         "automargin": True, "tickfont": {"color": GREY_TEXT},
         "title": {"font": {"color": GREY_TEXT, "size": 14}}}
LIVE_TEMPLATE = {"layout": {
    "font": {"family": '"Source Sans", "Source Sans Pro", sans-serif', "color": "#31333F",
             "size": 12},
    "colorway": STREAMLIT_COLORWAY,
    "paper_bgcolor": "white", "plot_bgcolor": "white",
    "title": {"font": {"size": 16, "weight": 600}},
    "xaxis": _AXIS, "yaxis": _AXIS,
    "legend": {"font": {"color": GREY_TEXT}},
    "annotationdefaults": {"font": {"color": GREY_TEXT}},
    "hoverlabel": {"bgcolor": "white", "font": {"color": "#31333F"}},
}}
_PRESENTED_AXIS = {**_AXIS, "title": {"font": {"color": GREY_TEXT, "size": 19}}}
PRESENTATION_TEMPLATE = {"layout": {
    **LIVE_TEMPLATE["layout"], "font": {**LIVE_TEMPLATE["layout"]["font"], "size": 17},
    "title": {"font": {"size": 22, "weight": 600}},
    "xaxis": _PRESENTED_AXIS, "yaxis": _PRESENTED_AXIS}}
PRESENTATION_SCALE = 1.4  # chart heights and fonts in presentation mode


def to_json(fig, presentation: bool = False) -> str:
    """A figure as the JSON Plotly.react takes, in the live template (bigger to present).

    NB: what the Explorer sends per stroke; scripts/bench/benchmark.py times it.
    """
    spec = fig.to_plotly_json()
    spec["layout"]["template"] = PRESENTATION_TEMPLATE if presentation else LIVE_TEMPLATE
    if presentation and spec["layout"].get("height") and not spec["layout"].get("width"):
        spec["layout"]["height"] = round(spec["layout"]["height"] * PRESENTATION_SCALE)
    return json.dumps(spec, cls=PlotlyJSONEncoder)
