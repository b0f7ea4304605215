"""What temperature does: softmax per class, entropy and margin against T (log x)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.base import CLASS_COLOURS, CLASSES, ENTROPY, HEIGHT, INK, MARGIN, figure
from explorer.maths.confidence import Sweep
from explorer.model.networks import N_CLASSES

T_TICKS = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20]
MARKER_TRACE = "t-marker"  # uid of the current-T line: the live panel moves it with T
MARKER_LABEL = "T = {t:.3g}"  # its label, a template over {t}


def _temperature_marker(temperature: float, y_top: float) -> dict:
    # A trace, not a vline shape: shapes and annotations on log axes disagree on coordinates.
    return dict(
        type="scatter", x=[temperature, temperature], y=[0.0, y_top], mode="lines+text",
        name="current T", uid=MARKER_TRACE, text=["", MARKER_LABEL.format(t=temperature)],
        textposition="top right",
        showlegend=False, line=dict(width=1.5, dash="dash", color=INK), hoverinfo="skip",
        cliponaxis=False, textfont=dict(color=INK, size=12))


def _sweep_layout(title: str, right: int, **layout) -> dict:
    """Layout of the two against-T charts: log T axis with round ticks; `right`: margin."""
    return dict(dict(
        title=dict(text=title, x=0.0), showlegend=True, height=HEIGHT + 60,
        margin=dict(l=44, r=right, t=60, b=46),
        xaxis=dict(type="log", title=dict(text="temperature T (log scale)"), tickvals=T_TICKS,
                   ticktext=[f"{t:g}" for t in T_TICKS])), **layout)


def temperature_sweep_figure(sweep: Sweep, temperature: float) -> go.Figure:
    """Every class's softmax probability against T (log x), current T marked.

    Class k always has colour k; the predicted class (at the grid's T nearest the current
    one) is the thick opaque line.
    """
    top = int(sweep.argmax[np.argmin(np.abs(np.log(sweep.temperatures / temperature)))])
    traces = [
        dict(type="scatter", x=sweep.temperatures, y=sweep.probs[:, k], mode="lines",
             name=f"{k} (predicted)" if k == top else str(k), opacity=1.0 if k == top else 0.75,
             line=dict(width=4.5 if k == top else 1.5, color=CLASS_COLOURS[k]),
             hovertemplate=f"class {k}: p = %{{y:.4f}} at T = %{{x:.3g}}<extra></extra>")
        for k in CLASSES
    ]
    layout = _sweep_layout("Softmax per class vs T", 132,  # the legend
                           yaxis=dict(title=dict(text="probability"), range=[0, 1.02]),
                           legend=dict(title=dict(text="class"), tracegroupgap=0))
    return figure(traces + [_temperature_marker(temperature, 1.0)], layout)


def uncertainty_figure(sweep: Sweep, temperature: float) -> go.Figure:
    """Entropy (bits, left axis) and top-1 margin (right axis) against T.

    No legend: each axis is coloured like its line, so both charts keep the same plot height.
    """
    top_entropy = float(np.log2(N_CLASSES))  # the entropy of ten equal classes
    traces = [
        dict(type="scatter", x=sweep.temperatures, y=sweep.entropy_bits, mode="lines",
             name="entropy (bits)", line=dict(width=3, color=ENTROPY)),
        dict(type="scatter", x=sweep.temperatures, y=sweep.margin, mode="lines", yaxis="y2",
             name="top-1 margin", line=dict(width=3, color=MARGIN)),
        _temperature_marker(temperature, top_entropy),
    ]
    layout = _sweep_layout(
        "Entropy and margin vs T", 54, showlegend=False,  # right: the margin axis
        yaxis=dict(title=dict(text="entropy (bits)", font=dict(color=ENTROPY)),
                   tickfont=dict(color=ENTROPY), range=[0, top_entropy * 1.02]),
        yaxis2=dict(title=dict(text="top-1 margin", font=dict(color=MARGIN)),
                    tickfont=dict(color=MARGIN), range=[0, 1.02], overlaying="y",
                    side="right", tickvals=[0, 0.25, 0.5, 0.75, 1], showgrid=False))
    return figure(traces, layout)
