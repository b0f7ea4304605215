"""The Explorer's live panel, declared once: one row per chart, read by the page and the browser.

A row says what its chart is (name, figure builder, caption, which row of the grid) and how
it reacts to T: which traces follow softmax(z / T) or σ(z / T) of which logits, which traces
are T markers, and its title's lines as templates with their number formats. ui/live.py
sends `panel_spec()` with the figures; ui/live_assets/component.mjs builds the grid and every
update from it, while T is dragged and after a stroke, through one patcher (patch.mjs).

Add a live chart: write its figure function (explorer/figures/), then one `LiveChart` row.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import plotly.graph_objects as go

from explorer.figures import images, outputs
from explorer.figures import temperature as against_t
from explorer.maths.confidence import Sweep, temperature_sweep
from explorer.model import registry

MODEL_SEES_SIDE = 280  # the 28×28 preview, as large as the canvas beside it
OVR_NAME = "One-vs-rest σ"  # the sigmoid chart's name: the one-vs-rest model's reading
MATHS = ("softmax", "sigmoid")  # what a trace may follow: maths.mjs has both, tested


@dataclass(frozen=True)
class Stroke:
    """What one drawing gives the panel: the numbers every chart's builder reads."""

    logits: np.ndarray  # (10,) the picked model's ranking logits
    temperature: float
    sweep: Sweep  # confidence.temperature_sweep(logits), computed once by the caller
    usual: list[float] | None = None  # the model's usual logit range: the axis stays put
    ovr_logits: np.ndarray | None = None  # (10,) the one-vs-rest model's, or None

    @classmethod
    def uniform(cls, temperature: float, usual=None, ovr: bool = False) -> Stroke:
        """A blank canvas's stroke: zero logits (a uniform softmax), for idle placeholders."""
        zeros = np.zeros(10, dtype=np.float32)
        return cls(zeros, temperature, temperature_sweep(zeros), usual, zeros if ovr else None)

    def sources(self) -> dict:
        """The logits a chart may follow, by name, as the browser gets them."""
        return {name: None if z is None else [float(v) for v in z]
                for name, z in (("logits", self.logits), ("ovr_logits", self.ovr_logits))}


@dataclass(frozen=True)
class Follow:
    """A trace (by uid) whose y is `maths`(the `source` logits / T) while T moves."""

    trace: str
    maths: str  # one of MATHS
    source: str  # a key of Stroke.sources()


@dataclass(frozen=True)
class Marker:
    """A current-T line (by uid): its x is [T, T] and its last label `label` at T."""

    trace: str = against_t.MARKER_TRACE
    label: str = against_t.MARKER_LABEL


@dataclass(frozen=True)
class Title:
    """Title lines as str.format templates over {t} and {sum} (the `sum_of` trace's y)."""

    lines: tuple[str, ...]
    sum_of: str | None = None


@dataclass(frozen=True)
class LiveChart:
    """One chart of the live panel and everything the browser needs to move it with T."""

    name: str
    build: Callable[[Stroke], go.Figure] = field(repr=False)
    caption: str
    row: int  # the grid row it sits in, left to right in table order
    follows: tuple[Follow, ...] = ()
    markers: tuple[Marker, ...] = ()
    title: Title | None = None

    def spec(self) -> dict:
        """The row as the browser reads it: everything but the builder."""
        return {key: value for key, value in asdict(self).items() if key != "build"}


def _sigmoid(stroke: Stroke) -> go.Figure:
    """The one-vs-rest model's sigmoids, or the frame saying why there are none."""
    if stroke.ovr_logits is None:
        return outputs.sigmoid_unavailable_figure(registry.the(registry.ONE_VS_REST))
    return outputs.sigmoid_figure(stroke.ovr_logits, stroke.temperature, OVR_NAME)


# NB: builders look functions up on their modules at call time, so a test can patch them.
PANEL = (
    LiveChart("logits", lambda s: outputs.logits_figure(s.logits, usual=s.usual),
              "Raw scores: signed, unbounded, not probabilities yet. Temperature divides "
              "them all by T.", row=0),
    LiveChart("softmax", lambda s: outputs.softmax_figure(s.logits, s.temperature),
              "Softmax of logits / T: the bars always sum to 1. Grey bars: T = 1.", row=0,
              follows=(Follow(outputs.PROBS_TRACE, "softmax", "logits"),),
              title=Title(outputs.SOFTMAX_TITLE, outputs.PROBS_TRACE)),
    LiveChart("sigmoid", _sigmoid,
              "Your drawing through the one-vs-rest model, trained with a sigmoid per class "
              "(BCE): each bar asks \"is it this digit?\" on its own, so they need not sum "
              "to 1, and all low means \"none of these\". Not the sigmoids of the logits on "
              "the left: a softmax model's logits have no fixed zero point.", row=0,
              follows=(Follow(outputs.PROBS_TRACE, "sigmoid", "ovr_logits"),),
              title=Title(outputs.sigmoid_title(OVR_NAME), outputs.PROBS_TRACE)),
    LiveChart("sweep", lambda s: against_t.temperature_sweep_figure(s.sweep, s.temperature),
              "Each class's probability as T goes from 0.05 to 20: low T sharpens towards "
              "one-hot, high T flattens towards 1/10. Thick line: the predicted class.",
              row=1, markers=(Marker(),)),
    LiveChart("uncertainty", lambda s: against_t.uncertainty_figure(s.sweep, s.temperature),
              "Entropy rises and the top-1 margin shrinks as T grows; the dashed line is "
              "the current T.", row=1, markers=(Marker(),)),
)


NOTES = {  # the panel's own lines: over the dimmed charts, and under the exact values
    "idle": "Nothing drawn yet. Draw a digit: these charts follow it as soon as you lift the "
            "pen.",
    "table": "Softmax never reaches exactly 0 or 1. The predicted class's 1 − p is the sum of "
             "the other nine probabilities, so it is never rounded to 0.",
}


def chart_key(name: str) -> str:
    """A live chart's key: its PNG export's name and the tests' handle on it."""
    return f"explorer_{name}_chart"


def panel_figures(stroke: Stroke) -> dict[str, go.Figure]:
    """Every live chart's figure for one stroke, by chart name, in table order."""
    return {chart.name: chart.build(stroke) for chart in PANEL}


def panel_spec() -> list[dict]:
    """The table as the browser reads it (sent with the figures)."""
    return [chart.spec() for chart in PANEL]


def explorer_figures(logits, image28, temperature: float, sweep: Sweep,
                     usual: list[float] | None = None,
                     ovr_logits=None) -> dict[str, go.Figure]:
    """Every figure the Explorer draws after a stroke, keyed like its charts (benchmarked).

    `sweep` is confidence.temperature_sweep(logits): the page also reads it for the
    argmax fact, so it is computed once, by the caller. `ovr_logits`: the one-vs-rest
    model's logits for the image, or None: then no sigmoid bars.
    """
    stroke = Stroke(np.asarray(logits), temperature, sweep, usual, ovr_logits)
    figures = {"explorer_model_sees": images.image_figure(image28, size=MODEL_SEES_SIDE)}
    figures.update({chart_key(name): fig for name, fig in panel_figures(stroke).items()})
    return figures
