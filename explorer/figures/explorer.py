"""Every figure the Explorer page draws after a stroke, in one call (the benchmark times it)."""
from __future__ import annotations

import plotly.graph_objects as go

from explorer.figures import images, outputs
from explorer.figures import temperature as against_t
from explorer.maths.confidence import Sweep

MODEL_SEES_SIDE = 280  # the 28×28 preview, as large as the canvas beside it
OVR_NAME = "One-vs-rest σ"  # the sigmoid chart's name: the cnn_ovr model's reading


def explorer_figures(logits, image28, temperature: float, sweep: Sweep,
                     usual: list[float] | None = None,
                     ovr_logits=None) -> dict[str, go.Figure]:
    """The Explorer's figures keyed by their st.plotly_chart keys.

    `sweep` is confidence.temperature_sweep(logits): the page also reads it for the
    argmax fact, so it is computed once, by the caller. `usual`: the model's
    outputs.usual_logit_range, the least the logits chart's axis shows. `ovr_logits`: the
    same image's logits from a one-vs-rest model (sigmoid per class), or None when there
    is none: then no sigmoid bars, since a softmax model's logits have no fixed zero point.
    NB: functions are looked up on their modules at call time, so a test can patch them.
    """
    return {
        "explorer_model_sees": images.image_figure(image28, size=MODEL_SEES_SIDE),
        "explorer_logits_chart": outputs.logits_figure(logits, usual=usual),
        "explorer_softmax_chart": outputs.softmax_figure(logits, temperature),
        "explorer_sigmoid_chart": outputs.sigmoid_unavailable_figure() if ovr_logits is None
        else outputs.sigmoid_figure(ovr_logits, temperature, OVR_NAME),
        "explorer_sweep_chart": against_t.temperature_sweep_figure(sweep, temperature),
        "explorer_uncertainty_chart": against_t.uncertainty_figure(sweep, temperature),
    }
