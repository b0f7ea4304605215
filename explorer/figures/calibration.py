"""How sure against how right, over a test set: reliability diagrams, confusion, agreement."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.base import BAR, CLASSES, TOP, colour_scale, figure, subplot_grid
from explorer.maths.calibration import Reliability, bin_index

GAP = "rgba(255, 165, 0, 0.35)"  # orange: red (TOP) marks the drawing's bin
GAP_LINE = "#e69500"
DIAGONAL = "#888"
COUNT_TICKS = [0, 1, 10, 100, 1000, 10000]
BLUES, GREENS = colour_scale("Blues"), colour_scale("Greens")


def _marker_trace(rel: Reliability, confidence: float, highlight: int) -> dict:
    """A star at (confidence, accuracy of its bin); on the diagonal if the bin is empty."""
    acc = rel.accuracy[highlight]
    y = float(acc) if rel.counts[highlight] > 0 else float(confidence)
    return dict(
        type="scatter", x=[float(confidence)], y=[y], mode="markers", name="your drawing",
        cliponaxis=False, xaxis="x", yaxis="y",
        marker=dict(symbol="star", size=18, color=TOP, line=dict(width=1.5, color="white")),
        hovertemplate=f"your drawing: confidence {confidence:.4f}, bin {highlight + 1}"
                      "<extra></extra>")


def _reliability_traces(rel: Reliability, highlight: int | None) -> list[dict]:
    """Accuracy bars with their gaps to the diagonal (top), image counts per bin (bottom)."""
    edges = np.asarray(rel.edges, dtype=np.float64)  # (B + 1,)
    centres, width = (edges[:-1] + edges[1:]) / 2, float(edges[1] - edges[0]) * 0.92
    filled = rel.counts > 0
    acc = np.where(filled, np.nan_to_num(rel.accuracy), 0.0)  # (B,)
    conf = np.where(filled, np.nan_to_num(rel.confidence), 0.0)  # (B,)
    colours = [TOP if b == highlight else BAR for b in range(len(centres))]
    custom = np.stack([rel.counts, edges[:-1], edges[1:], conf], axis=1)  # (B, 4)
    hover = ("(%{customdata[1]:.3f}, %{customdata[2]:.3f}]: %{customdata[0]:,} images<br>"
             "accuracy %{y:.4f}, mean confidence %{customdata[3]:.4f}<extra></extra>")
    top = dict(type="bar", x=centres, width=width, xaxis="x", yaxis="y")
    return [
        dict(top, y=acc, marker=dict(color=colours), name="accuracy", customdata=custom,
             hovertemplate=hover),
        # NB: `base` as a list, as validation makes it (a numpy array would ship as base64).
        dict(top, y=np.where(filled, conf - acc, 0.0), base=acc.tolist(), name="gap",
             hoverinfo="skip", marker=dict(color=GAP, line=dict(width=1, color=GAP_LINE))),
        dict(type="scatter", x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
             line=dict(dash="dash", color=DIAGONAL), hoverinfo="skip", xaxis="x", yaxis="y"),
        dict(type="bar", x=centres, y=np.where(filled, rel.counts, np.nan), width=width,
             marker=dict(color=colours), name="count", xaxis="x2", yaxis="y2",
             hovertemplate="%{y:,} images<extra></extra>"),
    ]


def reliability_figure(rel: Reliability, marker: float | None = None,
                       title: str = "") -> go.Figure:
    """Accuracy per confidence bin with the diagonal and gaps; counts (log) underneath.

    `marker` is one input's top-1 probability: its bin is highlighted and starred.
    """
    highlight = None if marker is None else int(bin_index(float(marker), rel.edges))
    traces = _reliability_traces(rel, highlight)
    if highlight is not None:
        traces.insert(3, _marker_trace(rel, marker, highlight))
    layout = subplot_grid(2, 1, h_spacing=0.0, v_spacing=0.06, row_heights=[0.74, 0.26])
    # Shared x: the top axis follows the bottom one and leaves the tick labels to it.
    layout["xaxis"].update(range=[0, 1], matches="x2", showticklabels=False)
    layout["xaxis2"].update(range=[0, 1],
                            title=dict(text="confidence (top-1 probability)"))
    layout["yaxis"].update(range=[0, 1.02], title=dict(text="accuracy"))
    layout["yaxis2"].update(type="log", title=dict(text="images"),
                            range=[0, np.log10(max(int(rel.counts.max()), 10)) + 0.3])
    return figure(traces, dict(
        layout, title=dict(text=title, x=0.0, xanchor="left"), height=470,
        margin=dict(l=52, r=16, t=60 if title else 20, b=44), barmode="overlay",
        showlegend=False))


def _log_counts(counts) -> np.ndarray:
    return np.log10(1.0 + np.asarray(counts, dtype=np.float64))


def confusion_figure(counts, cell: tuple[int, int] | None = None,
                     title: str = "") -> go.Figure:
    """(true, predicted) counts as a heatmap coloured by log10(1 + n); a chosen cell outlined."""
    counts = np.asarray(counts, dtype=np.int64)  # (10, 10)
    heatmap = dict(
        type="heatmap", z=_log_counts(counts), x=CLASSES, y=CLASSES, customdata=counts,
        text=counts, texttemplate="%{text}", colorscale=BLUES, zmin=0.0,
        zmax=float(_log_counts(max(int(counts.max()), 10))), name="confusion",
        colorbar=dict(title=dict(text="images"), tickvals=_log_counts(COUNT_TICKS).tolist(),
                      ticktext=[f"{t:,}" for t in COUNT_TICKS]),
        hovertemplate="true %{y}, predicted %{x}: %{customdata:,} images<extra></extra>")
    shapes = []
    if cell is not None:
        true_class, predicted = cell
        shapes.append(dict(type="rect", x0=predicted - 0.5, x1=predicted + 0.5,
                           y0=true_class - 0.5, y1=true_class + 0.5,
                           line=dict(color=TOP, width=3)))
    return figure([heatmap], dict(
        title=dict(text=title, x=0.0, xanchor="left"), height=470,
        margin=dict(l=40, r=96, t=50 if title else 48, b=10), shapes=shapes,
        xaxis=dict(title=dict(text="predicted"), tickvals=CLASSES, side="top",
                   constrain="domain"),
        yaxis=dict(title=dict(text="true label"), tickvals=CLASSES, autorange="reversed",
                   scaleanchor="x")))


def agreement_figure(names: list[str], matrix, title: str = "") -> go.Figure:
    """The (M, M) fraction of test images on which each pair of models predicts the same."""
    matrix = np.asarray(matrix, dtype=np.float64)  # (M, M)
    heatmap = dict(
        type="heatmap", z=matrix, x=list(names), y=list(names),
        text=[[f"{v:.2%}" for v in row] for row in matrix], texttemplate="%{text}",
        colorscale=GREENS, zmin=float(np.nanmin(matrix)) - 0.01, zmax=1.0, name="agreement",
        colorbar=dict(title=dict(text="agree"), tickformat=".1%"),
        hovertemplate="%{y} and %{x} agree on %{text} of the images<extra></extra>")
    return figure([heatmap], dict(
        title=dict(text=title, x=0.0, xanchor="left"), height=300,
        margin=dict(l=86, r=106, t=50 if title else 36, b=10),
        yaxis=dict(autorange="reversed", scaleanchor="x"),
        xaxis=dict(side="top", constrain="domain")))
