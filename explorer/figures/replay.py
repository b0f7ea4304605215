"""Training replay: a drawing's logits and softmax at each snapshot, scrubbed in the browser.

One figure with a frame per snapshot and plotly's own slider: moving it swaps the bars and
the epoch markers in place (animate, redraw off), with no server round trip.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.base import (
    BOUND_COLOUR,
    CLASSES,
    HEIGHT,
    INK,
    TOP,
    axis_ids,
    figure,
    finite,
    subplot_grid,
    top_colours,
)

CURVES = (("accuracy", "test accuracy", "#2ca02c"), ("ece", "test ECE", "#ff7f0e"),
          ("nll", "test NLL", "#1f77b4"), ("loss", "test loss as trained", "#d62728"))


def _frame_data(logits: np.ndarray, probs: np.ndarray, epoch: int, figures: dict) -> list[dict]:
    """The traces a frame changes: bars (cells 0, 1) and the epoch markers (cells 2, 3)."""
    row = figures[epoch]
    return [dict(type="bar", y=logits, marker=dict(color=top_colours(logits))),
            dict(type="bar", y=probs, marker=dict(color=top_colours(probs)),
                 text=[f"{p:.2f}" for p in probs]),
            dict(type="scatter", x=[epoch, epoch], y=[row["accuracy"], row["ece"]]),
            dict(type="scatter", x=[epoch], y=[row["nll"]])]


def _static_traces(epochs, figures: dict, floor: float | None) -> list[dict]:
    """The per-epoch curves (never change) and the floor line."""
    traces = []
    same = all(abs(figures[e].get("loss", figures[e]["nll"]) - figures[e]["nll"]) < 1e-6
               for e in epochs)
    for key, name, colour in CURVES[:3] if same else CURVES:
        x, y = axis_ids(3 if key in ("nll", "loss") else 2)
        traces.append(dict(type="scatter", x=list(epochs), y=[figures[e][key] for e in epochs],
                           mode="lines+markers", name=name, xaxis=x, yaxis=y,
                           line=dict(color=colour, width=2),
                           hovertemplate=f"{name} %{{y:.4f}} at epoch %{{x}}<extra></extra>"))
    if floor is not None:
        traces.append(dict(type="scatter", x=[epochs[0], epochs[-1]], y=[floor, floor],
                           mode="lines", name=f"log(1 + 9/e) = {floor:.3f}", xaxis="x4",
                           yaxis="y4", line=dict(color=BOUND_COLOUR, dash="dot", width=2),
                           hoverinfo="skip"))
    return traces


def replay_figure(epochs, logits, probs, figures: dict, title: str,
                  floor: float | None = None) -> go.Figure:
    """(S,) epochs, (S, 10) logits and softmax of one drawing, test figures per epoch."""
    epochs = [int(e) for e in epochs]
    logits, probs = finite(logits), finite(probs)
    first = _frame_data(logits[-1], probs[-1], epochs[-1], figures)  # shown: the last epoch
    styled = [dict(first[0], x=CLASSES, xaxis="x", yaxis="y", name="logits",
                   hovertemplate="class %{x}: logit %{y:.3f}<extra></extra>"),
              dict(first[1], x=CLASSES, xaxis="x2", yaxis="y2", name="softmax",
                   textposition="outside", cliponaxis=False,
                   hovertemplate="class %{x}: p = %{y:.4f}<extra></extra>"),
              dict(first[2], xaxis="x3", yaxis="y3", mode="markers", name="this epoch",
                   marker=dict(size=13, color=TOP, symbol="diamond"), hoverinfo="skip"),
              dict(first[3], xaxis="x4", yaxis="y4", mode="markers", showlegend=False,
                   marker=dict(size=13, color=TOP, symbol="diamond"), hoverinfo="skip")]
    frames = [dict(name=str(e), data=_frame_data(logits[i], probs[i], e, figures),
                   traces=[0, 1, 2, 3]) for i, e in enumerate(epochs)]
    step = dict(mode="immediate", frame=dict(duration=0, redraw=False),
                transition=dict(duration=0))
    slider = dict(active=len(epochs) - 1, currentvalue=dict(prefix="epoch ", font=dict(size=15)),
                  pad=dict(t=40), steps=[dict(label=str(e), method="animate",
                                              args=[[str(e)], step]) for e in epochs])
    layout = subplot_grid(2, 2, h_spacing=0.1, v_spacing=0.22, titles=[
        "logits", "softmax", "test accuracy and ECE per epoch", "test NLL (and loss) per epoch"])
    span = float(np.abs(logits).max()) * 1.15 or 1.0
    layout["yaxis"].update(range=[-span, span])  # fixed: frames move bars, not axes
    layout["yaxis2"].update(range=[0, 1.12])
    layout["yaxis3"].update(range=[0, 1.02])
    for axis in ("xaxis3", "xaxis4"):
        layout[axis].update(title=dict(text="epoch"))
    layout.update(title=dict(text=title, x=0.0), height=2 * HEIGHT + 140, sliders=[slider],
                  margin=dict(l=32, r=10, t=70, b=194), legend=dict(orientation="h", y=-0.32),
                  bargap=0.25, font=dict(color=INK))
    return figure(styled + _static_traces(epochs, figures, floor), layout, frames)
