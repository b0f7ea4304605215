"""What the model sees and where it looks: 28×28 images, saliency maps, feature maps, units."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.base import (
    DIVERGING,
    GREY_SCALE,
    HEIGHT,
    axis_ids,
    colour_scale,
    figure,
    finite,
    image_axes,
    subplot_grid,
    vline,
)

VIRIDIS = colour_scale("Viridis")
TANH_UNIT, SIGMOID_UNIT = "#1f77b4", "#9467bd"  # the units chart's title names these two
ZERO_LINE = "#888"


def _image_layout(title: str, size: int) -> dict:
    """A size × size image with room for a title above it, on black."""
    xaxis, yaxis = image_axes()
    return dict(
        title=dict(text=title, x=0.0), width=size, height=size + (40 if title else 0),
        margin=dict(l=0, r=0, t=40 if title else 0, b=0), plot_bgcolor="black",
        xaxis=xaxis, yaxis=yaxis)


def image_figure(image28, title: str = "", size: int = 280) -> go.Figure:
    """A (28, 28) image in [0, 1] as a large greyscale heatmap, pixel values on hover."""
    image = np.nan_to_num(np.asarray(image28, dtype=np.float64))  # (28, 28)
    heatmap = dict(type="heatmap", z=image, colorscale=GREY_SCALE, zmin=0.0, zmax=1.0,
                   showscale=False, hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
    return figure([heatmap], _image_layout(title, size))


def saliency_figure(attribution, title: str = "", size: int = 320) -> go.Figure:
    """A (28, 28) attribution as a diverging heatmap centred at 0 (red +, blue −)."""
    z = finite(attribution, (28, 28))
    limit = float(np.abs(z).max()) or 1.0  # an all-zero map still gets a valid scale
    heatmap = dict(type="heatmap", z=z, colorscale=DIVERGING, zmid=0.0, zmin=-limit,
                   zmax=limit, colorbar=dict(thickness=12, len=0.9),
                   hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>")
    xaxis, yaxis = image_axes()
    return figure([heatmap], dict(
        title=dict(text=title, x=0.0), width=size + 60, height=size + (50 if title else 0),
        margin=dict(l=0, r=64, t=50 if title else 0, b=0), xaxis=xaxis, yaxis=yaxis))


def _grid_figure(panels: np.ndarray, titles: list[str], cols: int, colorscale: list,
                 symmetric: bool, panel_px: int) -> go.Figure:
    """Small multiples: one heatmap per panel (K, H, W) on a shared colour scale."""
    rows = -(-len(panels) // cols)
    layout = subplot_grid(rows, cols, h_spacing=0.01, v_spacing=0.12 / max(rows, 1) + 0.02,
                          titles=titles, n=len(panels), title_size=11)
    xaxis, yaxis = image_axes()
    traces = []
    for i, panel in enumerate(panels):
        x, y = axis_ids(i)
        layout[f"xaxis{x[1:]}"].update(xaxis)
        layout[f"yaxis{y[1:]}"].update(yaxis)
        traces.append(dict(
            type="heatmap", z=panel, coloraxis="coloraxis", name=titles[i], xaxis=x, yaxis=y,
            hovertemplate=f"{titles[i]}: %{{z:.3f}} at row %{{y}}, col %{{x}}<extra></extra>"))
    limit = float(np.abs(panels).max()) or 1.0  # an all-zero grid still gets a valid scale
    return figure(traces, dict(
        layout, coloraxis=dict(colorscale=colorscale, cmin=-limit if symmetric else 0.0,
                               cmax=limit, colorbar=dict(thickness=12)),
        height=rows * panel_px + 40, margin=dict(l=0, r=68, t=30, b=0)))


def feature_maps_figure(maps) -> go.Figure:
    """The CNN's first-conv ReLU maps (C, H, W) as a grid, 8 per row, one shared scale."""
    maps = finite(maps)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (C, H, W), got {maps.shape}")
    titles = [f"#{c} max {maps[c].max():.2f}" for c in range(len(maps))]
    return _grid_figure(maps, titles, cols=8, colorscale=VIRIDIS, symmetric=False,
                        panel_px=150)


def diverging_grid_figure(panels, titles: list[str], cols: int | None = None,
                          panel_px: int = 190) -> go.Figure:
    """(K, 28, 28) or (K, 784) signed maps as small multiples, one scale centred at 0."""
    panels = finite(panels).reshape(-1, 28, 28)  # (K, 28, 28)
    if len(titles) != len(panels):
        raise ValueError(f"{len(panels)} panels but {len(titles)} titles")
    return _grid_figure(panels, titles, cols=cols or max(len(panels), 1),
                        colorscale=DIVERGING, symmetric=True, panel_px=panel_px)


def weights_figure(weights, titles: list[str], cols: int | None = None) -> go.Figure:
    """Incoming weights of some first-layer units, (K, 784) or (K, 28, 28), as 28×28 images."""
    return diverging_grid_figure(weights, titles, cols)


def units_figure(units: list[tuple[str, int, float]]) -> go.Figure:
    """Bars of hidden units' activations from each unit's resting value, first unit on top.

    A bar starts where the unit sits for a zero input (tanh: 0, sigmoid: 0.5) and ends at
    its activation, so a sigmoid unit switched off (a ≈ 0) shows as a long bar too.
    """
    labels = [f"{name.split(' ')[0]} #{index}" for name, index, _ in units][::-1]
    acts = np.array([float(act) for _, _, act in units][::-1])  # plotly draws bottom-up
    sigmoid = np.array(["sigmoid" in name for name, _, _ in units][::-1], dtype=bool)
    rest = np.where(sigmoid, 0.5, 0.0)
    # NB: `base` as a list, as validation makes it (a numpy array would ship as base64).
    bars = dict(
        type="bar", y=labels, x=acts - rest, base=rest.tolist(), orientation="h",
        customdata=acts,
        marker=dict(color=np.where(sigmoid, SIGMOID_UNIT, TANH_UNIT).tolist()),
        text=[f"{a:+.3f}" for a in acts], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: activation %{customdata:.4f}<extra></extra>")
    return figure([bars], dict(
        title=dict(text="Most strongly driven units<br>blue: tanh · purple: sigmoid", x=0.0),
        height=max(HEIGHT, 24 * len(units) + 120), margin=dict(l=10, r=10, t=70, b=10),
        xaxis=dict(title=dict(text="activation"), range=[-1.45, 1.45],
                   tickvals=[-1, -0.5, 0, 0.5, 1]),
        showlegend=False, shapes=[vline(0, color=ZERO_LINE, width=1)]))
