"""How models trained: loss and accuracy per epoch, from the histories in their checkpoints."""
from __future__ import annotations

import plotly.graph_objects as go

from explorer.figures.base import (
    BOUND_COLOUR,
    HEIGHT,
    axis_ids,
    figure,
    hline,
    line_label,
    model_colour,
    subplot_grid,
)

PANELS = (("loss", "loss (cross-entropy)"), ("acc", "accuracy"))  # (history key, title)


def _history_traces(name: str, history: list[dict]) -> list[dict]:
    """One model's train (solid) and val (dashed) lines in both panels; legend from the first."""
    epochs = [row["epoch"] for row in history]
    traces = []
    for cell, (metric, _) in enumerate(PANELS):
        x, y = axis_ids(cell)
        for split, dash in (("train", "solid"), ("val", "dash")):
            traces.append(dict(
                type="scatter", x=epochs, y=[row[f"{split}_{metric}"] for row in history],
                mode="lines+markers" if len(epochs) < 3 else "lines", xaxis=x, yaxis=y,
                name=f"{name} {split}", legendgroup=name, showlegend=cell == 0,
                line=dict(color=model_colour(name), dash=dash, width=2),
                hovertemplate=f"{name} {split}: %{{y:.4f}} at epoch %{{x}}<extra></extra>"))
    return traces


def history_figure(histories: dict[str, list[dict]], loss_floor: float | None = None
                   ) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch for each model: train solid, val dashed.

    `loss_floor` draws a dotted line in the loss panel (the exhibit's lowest possible loss).
    """
    traces = [t for name, history in histories.items() for t in _history_traces(name, history)]
    layout = subplot_grid(1, 2, h_spacing=0.1, v_spacing=0.0,
                          titles=[title for _, title in PANELS])
    for axis in ("xaxis", "xaxis2"):
        layout[axis]["title"] = dict(text="epoch")
    layout["yaxis"]["rangemode"] = "tozero"
    layout["yaxis2"]["range"] = [0, 1.02]
    if loss_floor is not None:
        floor = hline(float(loss_floor), color=BOUND_COLOUR, dash="dot")
        layout["shapes"] = [floor]
        layout["annotations"].append(
            line_label(floor, f"exhibit's floor {loss_floor:.3f}", BOUND_COLOUR, "right"))
    return figure(traces, dict(layout, height=HEIGHT + 60, margin=dict(l=30, r=18, t=40, b=112),
                               legend=dict(orientation="h", y=-0.25)))
