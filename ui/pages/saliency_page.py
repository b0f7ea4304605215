"""Where the model looks: saliency maps, the CNN's first feature maps, the MLP's hidden units.

Works on the explorer's current image with the sidebar's model. Every helper in
explorer.lab.saliency leaves the shared cached model untouched; weights are only read here.
"""
from __future__ import annotations

import numpy as np
import streamlit as st
from torch import nn

from explorer.figures.images import (
    diverging_grid_figure,
    feature_maps_figure,
    image_figure,
    saliency_figure,
    units_figure,
    weights_figure,
)
from explorer.lab import saliency
from explorer.model.checkpoints import LoadedModel
from ui import models, widgets

METHODS = {"Integrated gradients": saliency.integrated_gradients,
           "Gradient × input": saliency.grad_times_input}
PREDICTED = "predicted"
METHOD_KEY, CLASS_KEY, ALL_KEY = "saliency_method", "saliency_class", "saliency_all_classes"
LOAD_KEY = "saliency_load_example"
_MEMO_KEY = "_saliency_memo"
N_UNITS, N_WEIGHT_UNITS = 8, 6  # bars per layer, weight images


def attribution(loaded: LoadedModel, image28: np.ndarray, method: str, target: int) -> np.ndarray:
    """(28, 28) attribution, memoised per session: a widget rerun does not recompute it."""
    return models.session_memo(_MEMO_KEY, loaded, image28, (method, int(target)),
                               lambda: METHODS[method](loaded, image28, int(target)))


def first_layer_weights(loaded: LoadedModel) -> np.ndarray:
    """A copy of the MLP's first Linear weights (hidden1, 784); the model is only read."""
    linear = next(layer for layer in loaded.model.net if isinstance(layer, nn.Linear))
    return linear.weight.detach().cpu().numpy().copy()  # (96, 784)


def saliency_section(loaded: LoadedModel, image28: np.ndarray) -> None:
    """Input beside the attribution map of the chosen class (default: the predicted one)."""
    outputs = models.logits_for(loaded, image28)  # (10,)
    predicted = int(np.argmax(outputs))
    method_col, class_col = st.columns(2)
    method = method_col.radio("Method", list(METHODS), key=METHOD_KEY, horizontal=True,
                              help="Integrated gradients averages the gradient along the path "
                                   "from a black image to yours; gradient × input uses one "
                                   "gradient, at your image")
    choice = class_col.selectbox(
        "Explain class", [PREDICTED, *range(10)], key=CLASS_KEY,
        format_func=lambda c: f"predicted ({predicted})" if c == PREDICTED else str(c))
    target = predicted if choice == PREDICTED else int(choice)
    attr = attribution(loaded, image28, method, target)
    input_col, map_col, text_col = st.columns([1, 1.25, 1.1], gap="medium")
    widgets.chart(image_figure(image28, "The input (28×28)", 280), "saliency_input",
                  width="content", where=input_col)
    widgets.chart(saliency_figure(attr, f"{method} for class {target}", 280), "saliency_map",
                  width="content", where=map_col)
    with text_col:
        explain_map(loaded, image28, attr, method, target, predicted)
    if st.toggle("Show the map for all ten classes", key=ALL_KEY):
        maps = np.stack([attribution(loaded, image28, method, k) for k in range(10)])
        widgets.chart(diverging_grid_figure(maps, [f"class {k}" for k in range(10)],
                                              cols=5, panel_px=230), "saliency_all")
        st.caption("One colour scale for all ten: compare how much evidence each class finds.")


def explain_map(loaded: LoadedModel, image28: np.ndarray, attr: np.ndarray, method: str,
                target: int, predicted: int) -> None:
    """The caption, and for IG the completeness check: the map sums to the output's change."""
    what = "logit" if loaded.outputs_logits else "probability"
    st.markdown(f"**Red** pixels push the model towards class **{target}** (they raise its "
                f"{what}); **blue** pixels push against it; white ones don't matter. "
                f"The model predicts **{predicted}**.")
    if method == "Integrated gradients":
        at_black, at_image = saliency.output_change(loaded, image28, target)
        st.metric("Sum of the map", f"{attr.sum():+.3f}")
        st.caption(f"Close to the {what}'s change from a black image to yours, "
                   f"{at_image - at_black:+.3f} ({at_black:+.3f} → {at_image:+.3f}): integrated "
                   "gradients splits that change among the pixels (up to its 32-step sum).")
    else:
        st.caption("Gradient × input: how much the class's output would change per unit of "
                   "each pixel, times the pixel. Quick but noisy; it can miss saturated pixels.")
    if what == "probability":
        st.caption("mlp_softmax outputs probabilities, so this explains its probability.")


def cnn_section(loaded: LoadedModel, image28: np.ndarray) -> None:
    st.subheader("The CNN's first convolution: 32 feature maps")
    maps = saliency.cnn_feature_maps(loaded, image28)  # (32, 26, 26)
    widgets.chart(feature_maps_figure(maps), "feature_maps")
    st.caption("Each map is one learned 3×3 filter slid over your digit, after ReLU: bright "
               "where its pattern (an edge, a stroke direction) is present. One colour scale "
               "for all 32, so dark maps found nothing here.")


def mlp_section(loaded: LoadedModel, image28: np.ndarray) -> None:
    st.subheader("The MLP's hidden units")
    tanh_units = saliency.mlp_top_units(loaded, image28, k=N_UNITS, layer="hidden1")
    sigmoid_units = saliency.mlp_top_units(loaded, image28, k=N_UNITS, layer="hidden2")
    chart_col, weights_col = st.columns([1, 2.2], gap="medium")
    strongest = tanh_units + sigmoid_units
    widgets.chart(units_figure(strongest), "top_units", where=chart_col)
    chart_col.caption(f"The {N_UNITS} units of each layer furthest from their resting value "
                      "(tanh 0, sigmoid 0.5), where each bar starts.")
    tanh_units = tanh_units[:N_WEIGHT_UNITS]
    weights = first_layer_weights(loaded)[[i for _, i, _ in tanh_units]]  # (K, 784)
    with weights_col:
        st.markdown("**What the strongest tanh units look for**: their incoming weights from "
                    "the 784 pixels")
        widgets.chart(weights_figure(weights, [f"hidden1 #{i}: a = {a:+.2f}"
                                               for _, i, a in tanh_units], cols=3),
                      "unit_weights")
        st.caption("Red weights raise the unit when those pixels are inked, blue ones lower it "
                   "(they act on the normalised image). A unit near −1 is driven by the "
                   "opposite pattern.")


SECTIONS = {"cnn": cnn_section, "mlp": mlp_section}


@widgets.guarded
def main() -> None:
    st.header("Where the model looks")
    loaded = models.picked_model()
    if loaded is None:
        return
    st.markdown(f"Which pixels of the input drive **{loaded.name}**'s answer, and what its "
                "first layer reacts to. Pick the model in the sidebar.")
    image28 = widgets.current_image_or_invite(LOAD_KEY)
    if image28 is None:
        return
    saliency_section(loaded, image28)
    st.divider()
    internals = SECTIONS.get(loaded.arch.family)  # what the registry says its internals are
    if internals is not None:
        internals(loaded, image28)


main()
