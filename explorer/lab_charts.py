"""Plotly figures for the Confidence lab: reliability diagrams, confusion and agreement maps.

Pure functions of numbers (no Streamlit, no model); probabilities come from
explorer.confidence / explorer.calibration only. Colours match explorer.charts.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.calibration import Reliability, bin_index
from explorer.charts import BAR, CLASSES, TOP
from explorer.confidence import softmax

GAP = "rgba(255, 165, 0, 0.35)"  # orange: red (TOP) marks the drawing's bin
GAP_LINE = "#e69500"
DIAGONAL = "#888"
COUNT_TICKS = [0, 1, 10, 100, 1000, 10000]


def bin_of(confidence: float, edges) -> int:
    """The bin (lo, hi] holding a confidence, by the rule of calibration.reliability."""
    return int(bin_index(float(confidence), edges))


def _bin_colours(n_bins: int, highlight: int | None) -> list[str]:
    return [TOP if b == highlight else BAR for b in range(n_bins)]


def _marker_trace(rel: Reliability, confidence: float, highlight: int) -> go.Scatter:
    """A star at (confidence, accuracy of its bin); on the diagonal if the bin is empty."""
    acc = rel.accuracy[highlight]
    y = float(acc) if rel.counts[highlight] > 0 else float(confidence)
    return go.Scatter(
        x=[float(confidence)], y=[y], mode="markers", name="your drawing", cliponaxis=False,
        marker=dict(symbol="star", size=18, color=TOP, line=dict(width=1.5, color="white")),
        hovertemplate=f"your drawing: confidence {confidence:.4f}, bin {highlight + 1}"
                      "<extra></extra>")


def reliability_figure(rel: Reliability, marker: float | None = None,
                       title: str = "") -> go.Figure:
    """Accuracy per confidence bin with the diagonal and gaps; counts (log) underneath.

    `marker` is one input's top-1 probability: its bin is highlighted and starred.
    """
    edges = np.asarray(rel.edges, dtype=np.float64)  # (B + 1,)
    centres, width = (edges[:-1] + edges[1:]) / 2, float(edges[1] - edges[0])
    filled = rel.counts > 0
    acc = np.where(filled, np.nan_to_num(rel.accuracy), 0.0)  # (B,)
    conf = np.where(filled, np.nan_to_num(rel.confidence), 0.0)  # (B,)
    highlight = None if marker is None else bin_of(marker, edges)
    colours = _bin_colours(len(centres), highlight)
    custom = np.stack([rel.counts, edges[:-1], edges[1:], conf], axis=1)  # (B, 4)
    hover = ("(%{customdata[1]:.3f}, %{customdata[2]:.3f}]: %{customdata[0]:,} images<br>"
             "accuracy %{y:.4f}, mean confidence %{customdata[3]:.4f}<extra></extra>")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.74, 0.26],
                        vertical_spacing=0.06)
    fig.add_trace(go.Bar(x=centres, y=acc, width=width * 0.92, marker_color=colours,
                         name="accuracy", customdata=custom, hovertemplate=hover), 1, 1)
    fig.add_trace(go.Bar(x=centres, y=np.where(filled, conf - acc, 0.0), base=acc,
                         width=width * 0.92, marker_color=GAP, name="gap",
                         marker_line=dict(width=1, color=GAP_LINE), hoverinfo="skip"), 1, 1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                             line=dict(dash="dash", color=DIAGONAL), hoverinfo="skip"), 1, 1)
    if highlight is not None:
        fig.add_trace(_marker_trace(rel, marker, highlight), 1, 1)
    fig.add_trace(go.Bar(x=centres, y=np.where(filled, rel.counts, np.nan), width=width * 0.92,
                         marker_color=colours, name="count",
                         hovertemplate="%{y:,} images<extra></extra>"), 2, 1)
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=470,
                      margin=dict(l=10, r=10, t=60 if title else 20, b=10), barmode="overlay",
                      showlegend=False)
    fig.update_xaxes(range=[0, 1], row=1, col=1)
    fig.update_xaxes(range=[0, 1], title="confidence (top-1 probability)", row=2, col=1)
    fig.update_yaxes(range=[0, 1.02], title="accuracy", row=1, col=1)
    fig.update_yaxes(type="log", title="images", row=2, col=1,
                     range=[0, np.log10(max(int(rel.counts.max()), 10)) + 0.3])
    return fig


def _log_counts(counts: np.ndarray) -> np.ndarray:
    return np.log10(1.0 + np.asarray(counts, dtype=np.float64))


def confusion_figure(counts, cell: tuple[int, int] | None = None,
                     title: str = "") -> go.Figure:
    """(true, predicted) counts as a heatmap coloured by log10(1 + n); a chosen cell outlined."""
    counts = np.asarray(counts, dtype=np.int64)  # (10, 10)
    fig = go.Figure(go.Heatmap(
        z=_log_counts(counts), x=CLASSES, y=CLASSES, customdata=counts, text=counts,
        texttemplate="%{text}", colorscale="Blues", zmin=0.0,
        zmax=float(_log_counts(max(int(counts.max()), 10))), name="confusion",
        colorbar=dict(title="images", tickvals=_log_counts(COUNT_TICKS).tolist(),
                      ticktext=[f"{t:,}" for t in COUNT_TICKS]),
        hovertemplate="true %{y}, predicted %{x}: %{customdata:,} images<extra></extra>"))
    if cell is not None:
        true_class, predicted = cell
        fig.add_shape(type="rect", x0=predicted - 0.5, x1=predicted + 0.5, y0=true_class - 0.5,
                      y1=true_class + 0.5, line=dict(color=TOP, width=3))
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"), height=470,
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
        xaxis=dict(title="predicted", tickvals=CLASSES, side="top", constrain="domain"),
        yaxis=dict(title="true label", tickvals=CLASSES, autorange="reversed", scaleanchor="x"))
    return fig


def agreement_figure(names: list[str], matrix, title: str = "") -> go.Figure:
    """The (M, M) fraction of test images on which each pair of models predicts the same."""
    matrix = np.asarray(matrix, dtype=np.float64)  # (M, M)
    fig = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, text=[[f"{v:.2%}" for v in row] for row in matrix],
        texttemplate="%{text}", colorscale="Greens", zmin=float(np.nanmin(matrix)) - 0.01,
        zmax=1.0, name="agreement", colorbar=dict(title="agree", tickformat=".1%"),
        hovertemplate="%{y} and %{x} agree on %{text} of the images<extra></extra>"))
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=300,
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10),
                      yaxis=dict(autorange="reversed", scaleanchor="x"),
                      xaxis=dict(side="top", constrain="domain"))
    return fig


def probs_figure(logits, temperature: float, title: str = "") -> go.Figure:
    """A compact softmax(z / T) bar chart for one (10,) logit row; the argmax in the accent."""
    probs = softmax(np.asarray(logits, dtype=np.float64).reshape(-1), temperature)  # (10,)
    top = int(np.argmax(probs))
    fig = go.Figure(go.Bar(
        x=CLASSES, y=probs, marker_color=[TOP if k == top else BAR for k in CLASSES],
        name="softmax", hovertemplate="class %{x}: p = %{y:.4f}<extra></extra>"))
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=230,
                      margin=dict(l=10, r=10, t=40 if title else 10, b=10), bargap=0.25,
                      xaxis=dict(title="class", tickvals=CLASSES),
                      yaxis=dict(title="probability", range=[0, 1.05]), showlegend=False)
    return fig
