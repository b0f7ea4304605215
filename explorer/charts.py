"""Plotly figures from numbers: logits in, go.Figure out. No Streamlit, no model here.

Every figure takes a (10,) logit row (for the mlp_softmax exhibit: its probabilities,
treated as logits on purpose) and a temperature; probabilities come from
explorer.confidence only. Figures are written as plain trace/layout dicts and wrapped
without plotly's per-property validation: it cost ~10-20 ms a figure, every stroke.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from explorer.confidence import (
    MAX_T,
    MIN_T,
    entropy_bits,
    log_softmax,
    margin,
    sigmoid,
    softmax,
)

T_MIN, T_MAX = 0.05, 20.0
N_TEMPERATURES = 161  # odd, so T = 1 sits exactly in the middle of the log grid
CLASSES = list(range(10))
BAR = "#8c9cb8"
TOP = "#ff4b4b"  # Streamlit's accent: the argmax bar everywhere
GHOST = "rgba(140, 156, 184, 0.35)"
ENTROPY, MARGIN = "#1f77b4", "#2ca02c"
INK = "#31333f"  # Streamlit's text colour: value labels and the current-T marker
SUBTITLE = "font-size:13px;font-weight:normal;color:#555867"
# Paul Tol's colour-blind-safe "muted" scheme, its two palest colours swapped for his
# "vibrant" cyan and "bright" yellow (pale lines fade on a projector), grey for the tenth.
# The predicted class stands out by width, not by a colour another class could share.
CLASS_COLOURS = ("#332288", "#33bbee", "#44aa99", "#117733", "#999933",
                 "#ccbb44", "#cc6677", "#882255", "#aa4499", "#777777")
HEIGHT = 300
T_TICKS = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20]
# Validated once here, so the unvalidated heatmaps carry the expanded scale plotly sends.
GREY_SCALE = [list(stop) for stop in go.Heatmap(colorscale="gray").colorscale]


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


def figure(traces: list[dict], layout: dict) -> go.Figure:
    """A go.Figure from plain trace and layout dicts, skipping per-property validation.

    NB: nothing checks the dicts here: a misspelt key goes to plotly.js, which ignores it.
    tests/test_charts.py re-validates every figure, so keep to plotly's full names
    (title={"text": ...}, not title="..."; no None values). Plotly's default template
    (Streamlit's on the page) is read at call time, like go.Figure does.
    """
    if isinstance(pio.templates.default, str) and "template" not in layout:
        types = tuple(sorted({trace["type"] for trace in traces}))
        layout = dict(layout, template=_template(pio.templates.default, types))
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def temperature_grid(t_min: float = T_MIN, t_max: float = T_MAX,
                     n: int = N_TEMPERATURES) -> np.ndarray:
    """Geometrically spaced temperatures, shape (n,); holds exactly 1.0 when t_min·t_max = 1."""
    grid = np.geomspace(t_min, t_max, n)
    grid[np.isclose(grid, 1.0)] = 1.0  # geomspace lands at 0.9999999 otherwise
    return grid



@dataclass(frozen=True)
class Sweep:
    """Softmax outputs of one logit row at every temperature of a grid."""

    temperatures: np.ndarray  # (K,)
    probs: np.ndarray  # (K, 10)
    entropy_bits: np.ndarray  # (K,)
    margin: np.ndarray  # (K,)
    argmax: np.ndarray  # (K,) int

    @property
    def argmax_constant(self) -> bool:
        """True when the predicted class is the same at every temperature."""
        return bool((self.argmax == self.argmax[0]).all())


def temperature_sweep(logits, temperatures=None) -> Sweep:
    """Probabilities, entropy, margin and argmax of softmax(z / T) for every T in a grid."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (10,)
    temps = temperature_grid() if temperatures is None else np.asarray(temperatures, float)
    # One (K, 10) array, scaled here with the clip confidence applies to a scalar T;
    # the functions then run at T = 1, so every row matches softmax(z, t) exactly.
    scaled = z[None, :] / np.clip(temps, MIN_T, MAX_T)[:, None]  # (K, 10)
    log_probs = log_softmax(scaled)  # (K, 10)
    # argmax on log-probabilities: exp() can round near-equal probabilities into a tie.
    return Sweep(temperatures=temps, probs=np.exp(log_probs),
                 entropy_bits=entropy_bits(scaled), margin=margin(scaled),
                 argmax=np.argmax(log_probs, axis=-1))


def argmax_fact(sweep: Sweep) -> str:
    """The one-line fact under the temperature slider."""
    if sweep.argmax_constant:
        return f"argmax is {sweep.argmax[0]} at every T"
    changes = sorted(set(sweep.argmax.tolist()))
    return f"argmax changes with T (classes {changes}): near-tied logits rounded together"


def _class_layout(title: str, y_title: str, **layout) -> dict:
    """Layout of the three per-class bar charts; yaxis extras go in `yaxis_extra`."""
    yaxis = dict(title=dict(text=y_title), **layout.pop("yaxis_extra", {}))
    return dict(
        title=dict(text=title, x=0.0, xanchor="left"), height=HEIGHT,
        margin=dict(l=10, r=10, t=70, b=10), bargap=0.25,
        xaxis=dict(title=dict(text="class"), tickmode="array", tickvals=CLASSES),
        yaxis=yaxis, showlegend=False, **layout)


def _hline(y: float, **line) -> dict:
    """A full-width horizontal line at data height y (what fig.add_hline writes)."""
    return dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=y, y1=y, line=line)


def _title(name: str, detail: str = "") -> str:
    """A short chart name, with its numbers on a smaller grey second line."""
    return f"{name}<br><span style='{SUBTITLE}'>{detail}</span>" if detail else name


def _bar_label(value: float) -> str:
    """One decimal, none from 10 up: neighbouring labels must not run into each other."""
    return f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"


def _colours(values: np.ndarray) -> list[str]:
    top = int(np.argmax(values))
    return [TOP if k == top else BAR for k in CLASSES]


def logits_figure(logits, title: str = "Logits") -> go.Figure:
    """Signed logit bars with a zero line and readable values; the argmax bar in the accent."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (10,)
    # NB: plotly shrinks outside labels to the bar's width (~7 px here) unless told not to.
    bars = dict(type="bar", x=CLASSES, y=z, marker=dict(color=_colours(z)), name="logit",
                text=[_bar_label(v) for v in z], textposition="outside", cliponaxis=False,
                constraintext="none", textfont=dict(size=12, color=INK),
                hovertemplate="class %{x}: logit %{y:.4f}<extra></extra>")
    return figure([bars], _class_layout(title, "logit",
                                        shapes=[_hline(0, color="#888", width=1.5)]))


def softmax_figure(logits, temperature: float) -> go.Figure:
    """softmax(z / T) bars (sum shown in the title) over ghost bars of T = 1."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    probs, ghost = softmax(z, temperature), softmax(z, 1.0)  # (10,), (10,)
    traces = [
        dict(type="bar", x=CLASSES, y=ghost, marker=dict(color=GHOST), name="T = 1",
             hovertemplate="class %{x}: p = %{y:.4f} at T = 1<extra></extra>"),
        dict(type="bar", x=CLASSES, y=probs, marker=dict(color=_colours(probs)),
             name=f"T = {temperature:.3g}",
             hovertemplate="class %{x}: p = %{y:.4f}<extra></extra>"),
    ]
    title = _title(f"Softmax at T = {temperature:.3g}", f"Σ = {probs.sum():.3f}")
    return figure(traces, _class_layout(title, "probability", barmode="overlay",
                                        yaxis_extra=dict(range=[0, 1.05])))


def sigmoid_figure(logits, temperature: float) -> go.Figure:
    """Per-class sigmoid(z / T) bars; their sum (≠ 1) in the title and a line at 0.5."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    probs = sigmoid(z, temperature)  # (10,)
    bars = dict(type="bar", x=CLASSES, y=probs, marker=dict(color=_colours(probs)),
                name="sigmoid", hovertemplate="class %{x}: σ = %{y:.4f}<extra></extra>")
    title = _title(f"Sigmoid at T = {temperature:.3g}", f"Σ = {probs.sum():.3f}")
    line = _hline(0.5, color="#888", dash="dot", width=1)
    return figure([bars], _class_layout(title, "sigmoid(z / T)", shapes=[line],
                                        yaxis_extra=dict(range=[0, 1.05])))


def _temperature_marker(temperature: float, y_top: float) -> dict:
    # A trace, not add_vline: shapes and annotations on log axes disagree on coordinates.
    return dict(
        type="scatter", x=[temperature, temperature], y=[0.0, y_top], mode="lines+text",
        name="current T", text=["", f"T = {temperature:.3g}"], textposition="top right",
        showlegend=False, line=dict(width=1.5, dash="dash", color=INK), hoverinfo="skip",
        cliponaxis=False, textfont=dict(color=INK, size=12))


def _sweep_layout(title: str, **layout) -> dict:
    """Layout of the two against-T charts: log T axis with round ticks."""
    return dict(dict(
        title=dict(text=title, x=0.0), showlegend=True, height=HEIGHT + 60,
        margin=dict(l=10, r=10, t=60, b=10),
        xaxis=dict(type="log", title=dict(text="temperature T (log scale)"), tickvals=T_TICKS,
                   ticktext=[f"{t:g}" for t in T_TICKS])), **layout)


def sweep_figure(sweep: Sweep, temperature: float) -> go.Figure:
    """Every class's softmax probability against T (log x), current T marked.

    Class k always has colour k; the predicted class is the thick opaque line.
    """
    top = int(sweep.argmax[np.argmin(np.abs(np.log(sweep.temperatures / temperature)))])
    traces = [
        dict(type="scatter", x=sweep.temperatures, y=sweep.probs[:, k], mode="lines",
             name=f"{k} (predicted)" if k == top else str(k), opacity=1.0 if k == top else 0.75,
             line=dict(width=4.5 if k == top else 1.5, color=CLASS_COLOURS[k]),
             hovertemplate=f"class {k}: p = %{{y:.4f}} at T = %{{x:.3g}}<extra></extra>")
        for k in CLASSES
    ]
    layout = _sweep_layout("Softmax per class vs T",
                           yaxis=dict(title=dict(text="probability"), range=[0, 1.02]),
                           legend=dict(title=dict(text="class"), tracegroupgap=0))
    return figure(traces + [_temperature_marker(temperature, 1.0)], layout)


def uncertainty_figure(sweep: Sweep, temperature: float) -> go.Figure:
    """Entropy (bits, left axis) and top-1 margin (right axis) against T.

    No legend: each axis is coloured like its line, so both charts keep the same plot height.
    """
    top_entropy = float(np.log2(10))
    traces = [
        dict(type="scatter", x=sweep.temperatures, y=sweep.entropy_bits, mode="lines",
             name="entropy (bits)", line=dict(width=3, color=ENTROPY)),
        dict(type="scatter", x=sweep.temperatures, y=sweep.margin, mode="lines", yaxis="y2",
             name="top-1 margin", line=dict(width=3, color=MARGIN)),
        _temperature_marker(temperature, top_entropy),
    ]
    layout = _sweep_layout(
        "Entropy and margin vs T", showlegend=False,
        yaxis=dict(title=dict(text="entropy (bits)", font=dict(color=ENTROPY)),
                   tickfont=dict(color=ENTROPY), range=[0, top_entropy * 1.02]),
        yaxis2=dict(title=dict(text="top-1 margin", font=dict(color=MARGIN)),
                    tickfont=dict(color=MARGIN), range=[0, 1.02], overlaying="y",
                    side="right", tickvals=[0, 0.25, 0.5, 0.75, 1], showgrid=False))
    return figure(traces, layout)


def _image_layout(title: str, size: int) -> dict:
    """Square pixels, row 0 at the top like the canvas, no axes."""
    return dict(
        title=dict(text=title, x=0.0), width=size, height=size + (40 if title else 0),
        margin=dict(l=0, r=0, t=40 if title else 0, b=0), plot_bgcolor="black",
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"))


def image_figure(image28, title: str = "", size: int = 280) -> go.Figure:
    """A (28, 28) image in [0, 1] as a large greyscale heatmap, pixel values on hover."""
    image = np.nan_to_num(np.asarray(image28, dtype=np.float64))  # (28, 28)
    heatmap = dict(type="heatmap", z=image, colorscale=GREY_SCALE, zmin=0.0, zmax=1.0,
                   showscale=False, hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
    return figure([heatmap], _image_layout(title, size))


def placeholder_figure(size: int = 280) -> go.Figure:
    """The blank canvas's stand-in for the 28×28 preview: black, a faint grid, a label."""
    heatmap = dict(type="heatmap", z=np.zeros((28, 28)), colorscale=GREY_SCALE, zmin=0.0,
                   zmax=1.0, showscale=False, hoverinfo="skip")
    edges = np.arange(-0.5, 28, 4.0)  # every 4th pixel boundary: reads as pixels, stays quiet
    line = dict(color="#30333d", width=1)
    grid = [dict(type="line", x0=e, x1=e, y0=-0.5, y1=27.5, line=line) for e in edges] + \
        [dict(type="line", x0=-0.5, x1=27.5, y0=e, y1=e, line=line) for e in edges]
    note = dict(text="28 × 28 pixels", x=13.5, y=13.5, showarrow=False,
                font=dict(color="#a3a8b8", size=16))
    return figure([heatmap], dict(_image_layout("", size), shapes=grid, annotations=[note]))
