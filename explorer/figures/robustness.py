"""How far an input can move: each class's probability as one distortion sweeps."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.base import (
    CLASS_COLOURS,
    CLASSES,
    HEIGHT,
    TOP,
    figure,
    finite,
    line_label,
    vline,
)
from explorer.model.networks import N_CLASSES


def distortion_sweep_figure(values, probs, current: float, param_label: str) -> go.Figure:
    """Every class's probability as one distortion sweeps, values (K,) and probs (K, 10).

    The slider's current value is marked; the class on top there is the thick line.
    """
    x = finite(values).reshape(-1)  # (K,)
    p = finite(probs)  # (K, 10)
    if p.shape != (len(x), N_CLASSES):
        raise ValueError(f"probs must have shape ({len(x)}, {N_CLASSES}), got {p.shape}")
    top = int(np.argmax(p[int(np.argmin(np.abs(x - float(current))))]))
    traces = [
        dict(type="scatter", x=x, y=p[:, k], mode="lines", name=str(k),
             # As on the Explorer: each class keeps its colour, the top one is thick.
             line=dict(width=4.5 if k == top else 1.5, color=CLASS_COLOURS[k]),
             hovertemplate=f"class {k}: p = %{{y:.4f}} at {param_label} = "
                           f"%{{x:.3g}}<extra></extra>")
        for k in CLASSES]
    now = vline(float(current), color=TOP, width=2, dash="dash")
    return figure(traces, dict(
        title=dict(text=f"Probability of each class as the {param_label} sweeps", x=0.0),
        height=HEIGHT + 60, margin=dict(l=44, r=18, t=60, b=104),
        xaxis=dict(title=dict(text=param_label)),
        yaxis=dict(title=dict(text="probability"), range=[0, 1.02]),
        showlegend=True, legend=dict(title=dict(text="class"), orientation="h", y=-0.3),
        shapes=[now], annotations=[line_label(now, f"now: {float(current):.3g}", TOP, "right")]))
