"""Plotly figures for the Confidence lab's insight pages: numbers in, go.Figure out.

Double-softmax exhibit, saliency maps, CNN feature maps, MLP hidden units and robustness
sweeps. No Streamlit and no model here; probabilities arrive already computed (by
explorer.confidence) and figures only draw them. Colours follow explorer.charts.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.charts import BAR, CLASS_COLOURS, CLASSES, GHOST, HEIGHT, TOP

BOUND_COLOUR = "#ff9f1c"
DIVERGING = "RdBu_r"  # blue < 0 < red, white at 0 (with zmid=0)
MODEL_COLOURS = {"mlp": "#1f77b4", "cnn": "#2ca02c", "mlp_softmax": "#d62728"}


def _finite(values, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A float64 copy; NaN/inf become 0 so a figure never carries them."""
    array = np.nan_to_num(np.asarray(values, dtype=np.float64), posinf=0.0, neginf=0.0)
    if shape is not None and array.shape != shape:
        raise ValueError(f"expected shape {shape}, got {array.shape}")
    return array


def _bars_layout(fig: go.Figure, title: str, y_title: str, y_max: float = 1.05) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"), height=HEIGHT,
        margin=dict(l=10, r=10, t=70, b=10), bargap=0.25, showlegend=False,
        xaxis=dict(title="class", tickmode="array", tickvals=CLASSES),
        yaxis=dict(title=y_title, range=[0, y_max]))
    return fig


def _top_colours(values: np.ndarray) -> list[str]:
    top = int(np.argmax(values))
    return [TOP if k == top else BAR for k in CLASSES]


def probs_figure(probs, title: str, bound: float | None = None, y_max: float = 1.05,
                 ghost=None) -> go.Figure:
    """(10,) probability bars, argmax in the accent colour; optional bound line and ghosts."""
    p = _finite(probs, (10,))
    traces = []
    if ghost is not None:
        traces.append(go.Bar(x=CLASSES, y=_finite(ghost, (10,)), marker_color=GHOST,
                             name="before", hovertemplate="class %{x}: p = %{y:.4f} "
                             "before<extra></extra>"))
    traces.append(go.Bar(x=CLASSES, y=p, marker_color=_top_colours(p), name="p",
                         text=[f"{v:.3f}" for v in p], textposition="outside",
                         cliponaxis=False, hovertemplate="class %{x}: p = %{y:.4f}<extra></extra>"))
    fig = go.Figure(traces)
    fig.update_layout(barmode="overlay")
    if bound is not None:
        fig.add_hline(y=float(bound), line_width=2, line_dash="dash", line_color=BOUND_COLOUR,
                      annotation_text=f"bound e/(e+9) = {bound:.3f}",
                      annotation_position="top left", annotation_font_color=BOUND_COLOUR)
    return _bars_layout(fig, title, "probability", y_max)


def bound_figure(max_per_class, bound: float) -> go.Figure:
    """Per-class max of softmax(exhibit outputs) over a data set, under the bound line."""
    peak = _finite(max_per_class, (10,))
    title = (f"Exhibit, softmaxed again: highest value per class over the test set<br>"
             f"overall max {peak.max():.4f} ≤ bound {bound:.4f} "
             f"(gap {bound - peak.max():.1e})")
    fig = probs_figure(peak, title, bound=bound, y_max=max(0.3, float(peak.max()) * 1.15))
    # Bars reach the bound line: labels inside keep them clear of its annotation.
    return fig.update_traces(textposition="inside", insidetextanchor="middle",
                             textfont_color="white", selector={"name": "p"})


def history_figure(histories: dict[str, list[dict]], loss_floor: float | None = None
                   ) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch for each model: train solid, val dashed."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss (cross-entropy)", "accuracy"),
                        horizontal_spacing=0.1)
    for name, history in histories.items():
        epochs = [row["epoch"] for row in history]
        colour = MODEL_COLOURS.get(name, BAR)
        for col, metric in ((1, "loss"), (2, "acc")):
            for split, dash in (("train", "solid"), ("val", "dash")):
                fig.add_trace(go.Scatter(
                    x=epochs, y=[row[f"{split}_{metric}"] for row in history],
                    mode="lines+markers" if len(epochs) < 3 else "lines",
                    name=f"{name} {split}", legendgroup=name, showlegend=col == 1,
                    line=dict(color=colour, dash=dash, width=2),
                    hovertemplate=f"{name} {split}: %{{y:.4f}} at epoch %{{x}}<extra></extra>"),
                    row=1, col=col)
    if loss_floor is not None:
        fig.add_hline(y=float(loss_floor), row=1, col=1, line_dash="dot",
                      line_color=BOUND_COLOUR, annotation_text=f"exhibit's floor {loss_floor:.3f}",
                      annotation_position="top right", annotation_font_color=BOUND_COLOUR)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(height=HEIGHT + 60, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def _image_axes(fig: go.Figure, **where) -> None:
    """Square pixels, row 0 at the top, no ticks."""
    fig.update_xaxes(visible=False, constrain="domain", **where)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", **where)


def saliency_figure(attribution, title: str = "", size: int = 320) -> go.Figure:
    """A (28, 28) attribution as a diverging heatmap centred at 0 (red +, blue −)."""
    z = _finite(attribution, (28, 28))
    limit = float(np.abs(z).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=z, colorscale=DIVERGING, zmid=0.0, zmin=-limit, zmax=limit,
        colorbar=dict(thickness=12, len=0.9),
        hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>"))
    fig.update_layout(title=dict(text=title, x=0.0), width=size + 60,
                      height=size + (50 if title else 0),
                      margin=dict(l=0, r=0, t=50 if title else 0, b=0))
    _image_axes(fig)
    return fig


def _grid_figure(panels: np.ndarray, titles: list[str], cols: int, colorscale: str,
                 symmetric: bool, panel_px: int) -> go.Figure:
    """Small multiples: one heatmap per panel on a shared colour scale."""
    rows = -(-len(panels) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.01, vertical_spacing=0.12 / max(rows, 1) + 0.02)
    limit = float(np.abs(panels).max()) or 1.0
    zmin, zmax = (-limit, limit) if symmetric else (0.0, limit)
    for i, panel in enumerate(panels):
        fig.add_trace(go.Heatmap(
            z=panel, coloraxis="coloraxis", name=titles[i],
            hovertemplate=f"{titles[i]}: %{{z:.3f}} at row %{{y}}, col %{{x}}<extra></extra>"),
            row=i // cols + 1, col=i % cols + 1)
    _image_axes(fig)
    fig.update_annotations(font_size=11)
    fig.update_layout(coloraxis=dict(colorscale=colorscale, cmin=zmin, cmax=zmax,
                                     colorbar=dict(thickness=12)),
                      height=rows * panel_px + 40, margin=dict(l=0, r=0, t=30, b=0))
    return fig


def feature_maps_figure(maps) -> go.Figure:
    """The CNN's first-conv ReLU maps (C, H, W) as a grid, 8 per row, one shared scale."""
    maps = _finite(maps)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (C, H, W), got {maps.shape}")
    titles = [f"#{c} max {maps[c].max():.2f}" for c in range(len(maps))]
    return _grid_figure(maps, titles, cols=8, colorscale="Viridis", symmetric=False,
                        panel_px=150)


def units_figure(units: list[tuple[str, int, float]]) -> go.Figure:
    """Bars of hidden units' activations from each unit's resting value, first unit on top.

    A bar starts where the unit sits for a zero input (tanh: 0, sigmoid: 0.5) and ends at
    its activation, so a sigmoid unit switched off (a ≈ 0) shows as a long bar too.
    """
    labels = [f"{name.split(' ')[0]} #{index}" for name, index, _ in units][::-1]
    acts = np.array([float(act) for _, _, act in units][::-1])  # plotly draws bottom-up
    sigmoid = np.array(["sigmoid" in name for name, _, _ in units][::-1], dtype=bool)
    rest = np.where(sigmoid, 0.5, 0.0)
    fig = go.Figure(go.Bar(
        y=labels, x=acts - rest, base=rest, orientation="h", customdata=acts,
        marker_color=np.where(sigmoid, "#9467bd", MODEL_COLOURS["mlp"]).tolist(),
        text=[f"{a:+.3f}" for a in acts], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: activation %{customdata:.4f}<extra></extra>"))
    fig.add_vline(x=0, line_width=1, line_color="#888")
    fig.update_layout(
        title=dict(text="Most strongly driven units<br>blue: tanh · purple: sigmoid", x=0.0),
        height=max(HEIGHT, 24 * len(units) + 120), margin=dict(l=10, r=10, t=70, b=10),
        xaxis=dict(title="activation", range=[-1.45, 1.45], tickvals=[-1, -0.5, 0, 0.5, 1]),
        showlegend=False)
    return fig


def diverging_grid_figure(panels, titles: list[str], cols: int | None = None,
                          panel_px: int = 190) -> go.Figure:
    """(K, 28, 28) or (K, 784) signed maps as small multiples, one scale centred at 0."""
    panels = _finite(panels).reshape(-1, 28, 28)
    if len(titles) != len(panels):
        raise ValueError(f"{len(panels)} panels but {len(titles)} titles")
    return _grid_figure(panels, titles, cols=cols or max(len(panels), 1),
                        colorscale=DIVERGING, symmetric=True, panel_px=panel_px)


def weights_figure(weights, titles: list[str], cols: int | None = None) -> go.Figure:
    """Incoming weights of some first-layer units, (K, 784) or (K, 28, 28), as 28×28 images."""
    return diverging_grid_figure(weights, titles, cols)


def sweep_figure(values, probs, current: float, param_label: str) -> go.Figure:
    """Every class's probability as one distortion sweeps; the current value marked."""
    x = _finite(values).reshape(-1)
    p = _finite(probs)
    if p.shape != (len(x), 10):
        raise ValueError(f"probs must have shape ({len(x)}, 10), got {p.shape}")
    at = int(np.argmin(np.abs(x - float(current))))
    top = int(np.argmax(p[at]))
    fig = go.Figure([
        go.Scatter(x=x, y=p[:, k], mode="lines", name=str(k),
                   # As on the Explorer: each class keeps its colour, the top one is thick.
                   line=dict(width=4.5 if k == top else 1.5, color=CLASS_COLOURS[k]),
                   hovertemplate=f"class {k}: p = %{{y:.4f}} at {param_label} = "
                                 f"%{{x:.3g}}<extra></extra>")
        for k in CLASSES])
    fig.add_vline(x=float(current), line_width=2, line_dash="dash", line_color=TOP,
                  annotation_text=f"now: {float(current):.3g}",
                  annotation_position="top right", annotation_font_color=TOP)
    fig.update_layout(
        title=dict(text=f"Probability of each class as the {param_label} sweeps", x=0.0),
        height=HEIGHT + 60, margin=dict(l=10, r=10, t=60, b=10),
        xaxis=dict(title=param_label), yaxis=dict(title="probability", range=[0, 1.02]),
        showlegend=True, legend=dict(title="class", orientation="h", y=-0.3))
    return fig
