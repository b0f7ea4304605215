"""The output-heads lesson's figures: a number on the 0-9 line, the binary pair, wide images."""
from __future__ import annotations

import plotly.graph_objects as go

from explorer.figures.base import BAR, GREY_SCALE, INK, TOP, figure, finite, image_axes

CLASS_LINE = list(range(10))


def number_line_figure(value: float, expected: float, argmax: int,
                       height: int = 230) -> go.Figure:
    """The regression head's number on the 0-9 line, a softmax model's E[digit] and argmax.

    One row each, so that equal values do not hide each other.
    """
    rows = [("regression head", float(value), "diamond", TOP),
            ("softmax E[digit]", float(expected), "circle", BAR),
            ("softmax argmax", float(argmax), "square", INK)]
    traces = [dict(type="scatter", x=[x], y=[name], mode="markers+text", name=name,
                   marker=dict(symbol=symbol, size=16, color=colour), text=[f"{x:.2f}"],
                   textposition="middle right", cliponaxis=False,
                   hovertemplate=f"{name}: %{{x:.3f}}<extra></extra>")
              for name, x, symbol, colour in rows]
    layout = dict(title=dict(text="A number on the 0-9 line", x=0.0), height=height,
                  margin=dict(l=94, r=30, t=50, b=44), showlegend=False,
                  xaxis=dict(range=[-0.6, 9.9], tickmode="array", tickvals=CLASS_LINE,
                             title=dict(text="digit")),
                  yaxis=dict(autorange="reversed", categoryorder="array",
                             categoryarray=[r[0] for r in rows]))
    return figure(traces, layout)


def binary_figure(p_sigmoid: float, p_softmax: float, height: int = 230) -> go.Figure:
    """p(7) from the 1-logit sigmoid head and from the 2-logit softmax head, side by side."""
    p = [float(p_sigmoid), float(p_softmax)]
    bars = dict(type="bar", x=p, y=["sigmoid(z)", "softmax([z0, z1])[1]"], orientation="h",
                marker=dict(color=[TOP if v >= 0.5 else BAR for v in p]),
                text=[f"{v:.4f}" for v in p], textposition="outside", cliponaxis=False,
                hovertemplate="%{y}: p(7) = %{x:.6f}<extra></extra>")
    layout = dict(title=dict(text="Is it a 7?", x=0.0), height=height, showlegend=False,
                  margin=dict(l=108, r=40, t=50, b=44),
                  xaxis=dict(range=[0, 1.1], title=dict(text="p(7)")),
                  shapes=[dict(type="line", x0=0.5, x1=0.5, yref="y domain", y0=0, y1=1,
                               line=dict(color="#888", dash="dot", width=1))])
    return figure([bars], layout)


def wide_image_figure(image, height: int = 200) -> go.Figure:
    """A (28, 56) two-digit input, as the model gets it, a pixel line at the middle."""
    z = finite(image, (28, 56))
    heatmap = dict(type="heatmap", z=z, colorscale=GREY_SCALE, zmin=0.0, zmax=1.0,
                   showscale=False, hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
    xaxis, yaxis = image_axes()
    middle = dict(type="line", x0=27.5, x1=27.5, y0=-0.5, y1=27.5,
                  line=dict(color="#30333d", width=1, dash="dot"))
    return figure([heatmap], dict(width=2 * height, height=height, plot_bgcolor="black",
                                  margin=dict(l=0, r=0, t=0, b=0), xaxis=xaxis, yaxis=yaxis,
                                  shapes=[middle]))

