"""Plotly figures from numbers: logits in, go.Figure out. No Streamlit, no model here.

Every figure takes a (10,) logit row (for the mlp_softmax exhibit: its probabilities,
treated as logits on purpose) and a temperature; probabilities come from
explorer.confidence only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from explorer.confidence import entropy_bits, log_softmax, margin, sigmoid, softmax

T_MIN, T_MAX = 0.05, 20.0
N_TEMPERATURES = 161  # odd, so T = 1 sits exactly in the middle of the log grid
CLASSES = list(range(10))
BAR = "#8c9cb8"
TOP = "#ff4b4b"  # Streamlit's accent: the argmax everywhere
GHOST = "rgba(140, 156, 184, 0.35)"
HEIGHT = 300
T_TICKS = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20]


def temperature_grid(t_min: float = T_MIN, t_max: float = T_MAX,
                     n: int = N_TEMPERATURES) -> np.ndarray:
    """Geometrically spaced temperatures, shape (n,); holds exactly 1.0 when t_min·t_max = 1."""
    grid = np.geomspace(t_min, t_max, n)
    grid[np.isclose(grid, 1.0)] = 1.0  # geomspace lands at 0.9999999 otherwise
    return grid


def format_temperature(temperature: float) -> str:
    """Three significant figures, e.g. '0.05', '1', '12.3'."""
    return f"{temperature:.3g}"


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
    # argmax on log-probabilities: exp() can round near-equal probabilities into a tie.
    return Sweep(
        temperatures=temps,
        probs=np.stack([softmax(z, t) for t in temps]),
        entropy_bits=np.array([entropy_bits(z, t) for t in temps]),
        margin=np.array([margin(z, t) for t in temps]),
        argmax=np.array([int(np.argmax(log_softmax(z, t))) for t in temps]),
    )


def argmax_fact(sweep: Sweep) -> str:
    """The one-line fact under the temperature slider."""
    if sweep.argmax_constant:
        return f"argmax is {sweep.argmax[0]} at every T"
    changes = sorted(set(sweep.argmax.tolist()))
    return f"argmax changes with T (classes {changes}): near-tied logits rounded together"


def _layout(fig: go.Figure, title: str, y_title: str, **yaxis) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"), height=HEIGHT,
        margin=dict(l=10, r=10, t=70, b=10), bargap=0.25,
        xaxis=dict(title="class", tickmode="array", tickvals=CLASSES),
        yaxis=dict(title=y_title, **yaxis), showlegend=False,
    )
    return fig


def _colours(values: np.ndarray) -> list[str]:
    top = int(np.argmax(values))
    return [TOP if k == top else BAR for k in CLASSES]


def logits_figure(logits, title: str = "Logits<br>raw scores, any sign") -> go.Figure:
    """Signed logit bars with a zero line; the argmax bar in the accent colour."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (10,)
    fig = go.Figure(go.Bar(
        x=CLASSES, y=z, marker_color=_colours(z), name="logit",
        text=[f"{v:.2f}" for v in z], textposition="outside", cliponaxis=False,
        hovertemplate="class %{x}: logit %{y:.4f}<extra></extra>"))
    fig.add_hline(y=0, line_width=1.5, line_color="#888")
    return _layout(fig, title, "logit")


def softmax_figure(logits, temperature: float) -> go.Figure:
    """softmax(z / T) bars (sum shown in the title) over ghost bars of T = 1."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    probs, ghost = softmax(z, temperature), softmax(z, 1.0)  # (10,), (10,)
    fig = go.Figure([
        go.Bar(x=CLASSES, y=ghost, marker_color=GHOST, name="T = 1",
               hovertemplate="class %{x}: p = %{y:.4f} at T = 1<extra></extra>"),
        go.Bar(x=CLASSES, y=probs, marker_color=_colours(probs), name=f"T = {temperature:.3g}",
               hovertemplate="class %{x}: p = %{y:.4f}<extra></extra>"),
    ])
    fig.update_layout(barmode="overlay")
    title = f"Softmax at T = {temperature:.3g}<br>Σ = {probs.sum():.3f}"
    return _layout(fig, title, "probability", range=[0, 1.05])


def sigmoid_figure(logits, temperature: float) -> go.Figure:
    """Per-class sigmoid(z / T) bars; their sum (≠ 1) in the title and a line at 0.5."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    probs = sigmoid(z, temperature)  # (10,)
    fig = go.Figure(go.Bar(
        x=CLASSES, y=probs, marker_color=_colours(probs), name="sigmoid",
        hovertemplate="class %{x}: σ = %{y:.4f}<extra></extra>"))
    fig.add_hline(y=0.5, line_width=1, line_dash="dot", line_color="#888")
    title = f"Sigmoid per class at T = {temperature:.3g}<br>Σ = {probs.sum():.3f} (not 1)"
    return _layout(fig, title, "sigmoid(z / T)", range=[0, 1.05])


def _mark_temperature(fig: go.Figure, temperature: float, y_top: float) -> go.Figure:
    # A trace, not add_vline: shapes and annotations on log axes disagree on coordinates.
    fig.add_trace(go.Scatter(
        x=[temperature, temperature], y=[0.0, y_top], mode="lines+text", name="current T",
        text=["", f"T = {temperature:.3g}"], textposition="top right", showlegend=False,
        line=dict(width=2, dash="dash", color=TOP), hoverinfo="skip", cliponaxis=False,
        textfont=dict(color=TOP)))
    fig.update_layout(height=HEIGHT + 60, margin=dict(l=10, r=10, t=60, b=10),
                      xaxis=dict(type="log", title="temperature T (log scale)",
                                 tickvals=T_TICKS, ticktext=[f"{t:g}" for t in T_TICKS]))
    return fig


def sweep_figure(sweep: Sweep, temperature: float) -> go.Figure:
    """Every class's softmax probability against T (log x), current T marked."""
    top = int(sweep.argmax[np.argmin(np.abs(np.log(sweep.temperatures / temperature)))])
    fig = go.Figure([
        go.Scatter(x=sweep.temperatures, y=sweep.probs[:, k], mode="lines", name=str(k),
                   line=dict(width=3.5 if k == top else 1.5, color=TOP if k == top else None),
                   hovertemplate=f"class {k}: p = %{{y:.4f}} at T = %{{x:.3g}}<extra></extra>")
        for k in CLASSES
    ])
    fig.update_layout(title=dict(text="Softmax probability of each class against T", x=0.0),
                      yaxis=dict(title="probability", range=[0, 1.02]),
                      showlegend=True, legend=dict(title="class", orientation="h", y=-0.3))
    return _mark_temperature(fig, temperature, 1.0)


def uncertainty_figure(sweep: Sweep, temperature: float) -> go.Figure:
    """Entropy (bits, left axis) and top-1 margin (right axis) against T."""
    fig = go.Figure([
        go.Scatter(x=sweep.temperatures, y=sweep.entropy_bits, mode="lines",
                   name="entropy (bits)", line=dict(width=3, color="#1f77b4")),
        go.Scatter(x=sweep.temperatures, y=sweep.margin, mode="lines", yaxis="y2",
                   name="top-1 margin", line=dict(width=3, color="#2ca02c")),
    ])
    fig.update_layout(
        title=dict(text="Entropy and top-1 margin against T", x=0.0),
        yaxis=dict(title="entropy (bits)", range=[0, np.log2(10) * 1.02]),
        yaxis2=dict(title="top-1 margin", range=[0, 1.02], overlaying="y", side="right",
                    tickvals=[0, 0.25, 0.5, 0.75, 1], showgrid=False),
        showlegend=True, legend=dict(orientation="h", y=-0.3))
    return _mark_temperature(fig, temperature, float(np.log2(10)))


def image_figure(image28, title: str = "", size: int = 280) -> go.Figure:
    """A (28, 28) image in [0, 1] as a large greyscale heatmap, pixel values on hover."""
    image = np.nan_to_num(np.asarray(image28, dtype=np.float64))  # (28, 28)
    fig = go.Figure(go.Heatmap(
        z=image, colorscale="gray", zmin=0.0, zmax=1.0, showscale=False,
        hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>"))
    fig.update_layout(
        title=dict(text=title, x=0.0), width=size, height=size + (40 if title else 0),
        margin=dict(l=0, r=0, t=40 if title else 0, b=0), plot_bgcolor="black",
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))
    return fig
