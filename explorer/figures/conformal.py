"""Prediction sets: coverage against 1 − α, set sizes, and the risk–coverage curve."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.base import BAR, HEIGHT, INK, TOP, figure, finite

SCORE_COLOURS = {"LAC": "#1f77b4", "APS": "#ff7f0e"}


def coverage_figure(alphas, coverage: dict[str, list[float]], alpha: float) -> go.Figure:
    """Held-out coverage of each score's sets against the promised 1 − α; current α marked."""
    target = [1 - a for a in alphas]
    traces = [dict(type="scatter", x=target, y=target, mode="lines", name="promised 1 − α",
                   line=dict(color=INK, dash="dash", width=1.5), hoverinfo="skip")]
    traces += [dict(type="scatter", x=target, y=finite(values), mode="lines+markers",
                    name=score, line=dict(color=SCORE_COLOURS.get(score, BAR), width=2.5),
                    hovertemplate=f"{score}: 1 − α = %{{x:.2f}}, coverage %{{y:.4f}}"
                                  "<extra></extra>")
               for score, values in coverage.items()]
    lo = min(target) - 0.01
    layout = dict(title=dict(text="Coverage on the held-out half", x=0.0), height=HEIGHT + 40,
                  margin=dict(l=50, r=10, t=50, b=92), legend=dict(orientation="h", y=-0.25),
                  xaxis=dict(title=dict(text="promised coverage 1 − α"), range=[lo, 1.002]),
                  yaxis=dict(title=dict(text="measured coverage"), range=[lo, 1.002]),
                  shapes=[dict(type="line", x0=1 - alpha, x1=1 - alpha, yref="y domain",
                               y0=0, y1=1, line=dict(color=TOP, width=1, dash="dot"))])
    return figure(traces, layout)


def set_size_figure(sizes: dict[str, np.ndarray], alpha: float) -> go.Figure:
    """How many classes the sets hold, per score, at this α (share of held-out images)."""
    traces = []
    for score, size in sizes.items():
        counts = np.bincount(np.asarray(size, dtype=int), minlength=11)[:11]
        traces.append(dict(type="bar", x=list(range(11)), y=counts / max(counts.sum(), 1),
                           name=score, marker=dict(color=SCORE_COLOURS.get(score, BAR)),
                           hovertemplate=f"{score}: %{{y:.2%}} of sets hold %{{x}} classes"
                                         "<extra></extra>"))
    layout = dict(title=dict(text=f"Set sizes at α = {alpha:g}", x=0.0), height=HEIGHT + 40,
                  barmode="group", margin=dict(l=50, r=10, t=50, b=92),
                  legend=dict(orientation="h", y=-0.25),
                  xaxis=dict(title=dict(text="classes in the set"), tickmode="array",
                             tickvals=list(range(11))),
                  yaxis=dict(title=dict(text="share of images"), tickformat=".0%"))
    return figure(traces, layout)


def risk_coverage_figure(coverage, risk, marks: list[tuple[str, float, float]]) -> go.Figure:
    """Error rate among the kept images as fewer, more confident ones are kept; verdicts marked."""
    step = max(len(coverage) // 400, 1)  # a few hundred points draw the same curve
    traces = [dict(type="scatter", x=finite(coverage)[::step], y=finite(risk)[::step],
                   mode="lines", name="abstain below a top-1 cut", line=dict(color=BAR, width=3),
                   hovertemplate="keep %{x:.1%}: error %{y:.3%}<extra></extra>")]
    traces += [dict(type="scatter", x=[c], y=[r], mode="markers+text", name=name,
                    text=[name], textposition="top left", cliponaxis=False,
                    marker=dict(size=12, color=TOP, symbol="diamond"),
                    hovertemplate=f"{name}: keep %{{x:.1%}}, error %{{y:.3%}}<extra></extra>")
               for name, c, r in marks]
    layout = dict(title=dict(text="Risk against coverage: abstaining on low confidence", x=0.0),
                  height=HEIGHT + 40, margin=dict(l=52, r=10, t=50, b=44), showlegend=False,
                  xaxis=dict(title=dict(text="share of test images answered"),
                             tickformat=".0%"),
                  yaxis=dict(title=dict(text="error rate among them"), tickformat=".1%"))
    return figure(traces, layout)
