"""What a model outputs, per class: logit, softmax and sigmoid bars, probability bars."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.base import (
    BOUND_COLOUR,
    CLASSES,
    GHOST,
    INK,
    class_bar_layout,
    figure,
    finite,
    hline,
    line_label,
    top_colours,
    two_line_title,
)
from explorer.maths.confidence import sigmoid, softmax
from explorer.model.networks import N_CLASSES

ZERO_LINE = "#888"
PROBS_TRACE = "probs"  # uid of the bars at T: the trace the live panel moves with T
SOFTMAX_TITLE = ("Softmax at T = {t:.3g}", "Σ = {sum:.3f}")  # lines: name, then numbers


def sigmoid_title(name: str) -> tuple[str, str]:
    """The sigmoid chart's title lines as templates over {t} and {sum} (`name` literal)."""
    literal = name.replace("{", "{{").replace("}", "}}")
    return (f"{literal} at T = {{t:.3g}}", "Σ = {sum:.3f}")


def title_text(lines: tuple[str, ...], **values) -> str:
    """A two-line title from its templates (str.format; the browser's twin is fill())."""
    return two_line_title(*(line.format(**values) for line in lines))


def _bar_label(value: float) -> str:
    """One decimal, none from 10 up: neighbouring labels must not run into each other."""
    return f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"


def nice_bound(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 5, 7.5 times a power of ten that is ≥ value > 0.

    NB: at least 1e-6: below that (a denormal such as 5e-324) the power of ten underflows
    to 0 and no multiple would reach the value.
    """
    value = max(float(value), 1e-6)
    decade = 10.0 ** np.floor(np.log10(value))
    return float(next(m * decade for m in (1, 1.5, 2, 3, 4, 5, 7.5, 10) if m * decade >= value))


def logit_range(logits, usual: list[float] | None = None) -> list[float]:
    """A y range holding every bar and its label, rounded outwards, and `usual` if given.

    NB: `usual` (a model's usual_logit_range) keeps the axis still from one drawing to
    the next, so the bars move and not the scale, and the browser can redraw the bars
    alone (ui/live_assets/patch.mjs).
    """
    z = np.asarray(logits, dtype=np.float64)
    high, low = max(float(z.max()), 0.0), min(float(z.min()), 0.0)
    room = 0.18 * ((high - low) or 1.0)  # space for the value labels outside the bars
    own = [-nice_bound(room - low), nice_bound(high + room)]
    return own if usual is None else [min(own[0], usual[0]), max(own[1], usual[1])]


def usual_logit_range(logits_set) -> list[float]:
    """A model's logit axis: from its 0.1 % to its 99.9 % logit on a data set, rounded."""
    return logit_range(np.quantile(np.asarray(logits_set, dtype=np.float64), [0.001, 0.999]))


def logits_figure(logits, title: str = "Logits", usual: list[float] | None = None) -> go.Figure:
    """Signed logit bars with a zero line and readable values; the argmax bar in the accent.

    `usual`: the model's usual_logit_range, the least the y axis shows.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (10,)
    # NB: plotly shrinks outside labels to the bar's width (~7 px here) unless told not to.
    bars = dict(type="bar", x=CLASSES, y=z, marker=dict(color=top_colours(z)), name="logit",
                text=[_bar_label(v) for v in z], textposition="outside", cliponaxis=False,
                constraintext="none", textfont=dict(size=12, color=INK),
                hovertemplate="class %{x}: logit %{y:.4f}<extra></extra>")
    return figure([bars], class_bar_layout(title, "logit", y_range=logit_range(z, usual),
                                           shapes=[hline(0, color=ZERO_LINE, width=1.5)]))


def softmax_figure(logits, temperature: float) -> go.Figure:
    """softmax(z / T) bars (sum shown in the title) over ghost bars of T = 1."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    probs, ghost = softmax(z, temperature), softmax(z, 1.0)  # (10,), (10,)
    traces = [
        dict(type="bar", x=CLASSES, y=ghost, marker=dict(color=GHOST), name="T = 1",
             hovertemplate="class %{x}: p = %{y:.4f} at T = 1<extra></extra>"),
        dict(type="bar", x=CLASSES, y=probs, marker=dict(color=top_colours(probs)),
             name=f"T = {temperature:.3g}", uid=PROBS_TRACE,
             hovertemplate="class %{x}: p = %{y:.4f}<extra></extra>"),
    ]
    title = title_text(SOFTMAX_TITLE, t=temperature, sum=probs.sum())
    return figure(traces, class_bar_layout(title, "probability", barmode="overlay",
                                           y_range=[0, 1.05]))


def sigmoid_figure(logits, temperature: float, name: str = "Sigmoid") -> go.Figure:
    """Per-class sigmoid(z / T) bars; their sum (≠ 1) in the title and a line at 0.5.

    NB: only a one-vs-rest model's logits (trained with a sigmoid per class) make these
    probabilities; a softmax model's logits have no fixed zero point.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    probs = sigmoid(z, temperature)  # (10,)
    bars = dict(type="bar", x=CLASSES, y=probs, marker=dict(color=top_colours(probs)),
                name="sigmoid", uid=PROBS_TRACE,
                hovertemplate="class %{x}: σ = %{y:.4f}<extra></extra>")
    title = title_text(sigmoid_title(name), t=temperature, sum=probs.sum())
    line = hline(0.5, color=ZERO_LINE, dash="dot", width=1)
    return figure([bars], class_bar_layout(title, "sigmoid(z / T)", shapes=[line],
                                           y_range=[0, 1.05]))


def sigmoid_unavailable_figure(ovr_name: str) -> go.Figure:
    """The sigmoid chart's frame with no bars: why, and how to train the one-vs-rest model
    (registered as `ovr_name`)."""
    note = dict(text=f"No one-vs-rest model ({ovr_name}) to ask.<br>Sigmoids of a softmax "
                "model's logits<br>mean nothing: softmax ignores any shift<br>of all ten "
                f"logits. Train it:<br>scripts/train.py --arch {ovr_name}", showarrow=False,
                x=4.5, y=0.55, font=dict(size=13, color=INK))
    return figure([], class_bar_layout("Sigmoid: not shown", "sigmoid(z / T)",
                                       y_range=[0, 1.05], annotations=[note]))


def _prob_bars(probs: np.ndarray, name: str, labels: bool) -> dict:
    """(10,) probability bars, argmax in the accent; values written above them if `labels`."""
    bars = dict(type="bar", x=CLASSES, y=probs, marker=dict(color=top_colours(probs)),
                name=name, hovertemplate="class %{x}: p = %{y:.4f}<extra></extra>")
    if labels:
        bars.update(text=[f"{v:.3f}" for v in probs], textposition="outside",
                    cliponaxis=False)
    return bars


def _bound_line(bound: float) -> dict:
    """Shapes and annotations of the dashed double-softmax bound line, for a layout."""
    line = hline(float(bound), color=BOUND_COLOUR, width=2, dash="dash")
    return dict(shapes=[line], annotations=[
        line_label(line, f"bound e/(e+9) = {bound:.3f}", BOUND_COLOUR, "left")])


def probs_figure(probs, title: str = "", *, bound: float | None = None, ghost=None,
                 y_max: float = 1.05, height: int | None = None, name: str = "p",
                 labels: bool = True) -> go.Figure:
    """(10,) probability bars, argmax in the accent; optional bound line and ghost bars.

    Callers compute the probabilities (explorer.maths.confidence); `ghost` is another (10,) row
    drawn grey behind them. `labels=False` leaves out the values above the bars (narrow
    columns); `name` names the bars' trace.
    """
    p = finite(probs, (N_CLASSES,))
    traces = []
    if ghost is not None:
        traces.append(dict(type="bar", x=CLASSES, y=finite(ghost, (N_CLASSES,)),
                           marker=dict(color=GHOST), name="before",
                           hovertemplate="class %{x}: p = %{y:.4f} before<extra></extra>"))
    traces.append(_prob_bars(p, name, labels))
    extra = {} if bound is None else _bound_line(bound)
    return figure(traces, class_bar_layout(title, "probability", y_range=[0, y_max],
                                           height=height, barmode="overlay", **extra))


def bound_figure(max_per_class, bound: float) -> go.Figure:
    """Per-class max of softmax(exhibit outputs) over a data set, under the bound line."""
    peak = finite(max_per_class, (N_CLASSES,))
    title = two_line_title("Exhibit, softmaxed again: top value per class",
                           f"over the test set: max {peak.max():.4f} ≤ bound {bound:.4f} "
                           f"(gap {bound - peak.max():.1e})")
    bars = _prob_bars(peak, "p", labels=True)
    # Bars reach the bound line: labels inside keep them clear of its annotation.
    bars.update(textposition="inside", insidetextanchor="middle", textfont=dict(color="white"))
    y_max = max(0.3, float(peak.max()) * 1.15)
    return figure([bars], class_bar_layout(title, "probability", y_range=[0, y_max],
                                           barmode="overlay", **_bound_line(bound)))
