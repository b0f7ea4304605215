"""Where the model looks: captum attributions, the CNN's first feature maps, the MLP's units.

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

# Each method: (what it shows, when it misleads), one line each.
ABOUT = {
    saliency.IG: (
        "How the class's output changes from a black image to yours, split among the pixels: "
        "the map sums to that change, up to captum's convergence delta (below).",
        "It depends on the baseline: from black, an unlit pixel scores exactly 0, so it "
        "cannot say that an empty region matters; too few steps leave a large delta."),
    saliency.GRADIENTS: (
        "How fast the class's output moves per unit of each pixel, at your image (captum "
        "Saliency, signed): the model's local sensitivity.",
        "Gradients saturate (a sure output barely moves, so the map fades where the model is "
        "surest) and are noisy: neighbouring pixels flip sign."),
    saliency.GRAD_X_INPUT: (
        "The gradient times the pixel: a one-step linear estimate of what each inked pixel "
        "adds; black pixels get 0.",
        "Saturation and noise as for gradients, and blind to the background, which is 0."),
    saliency.OCCLUSION: (
        f"How much the output drops when a black {saliency.OCCLUSION_WINDOW}×"
        f"{saliency.OCCLUSION_WINDOW} window covers each place (every "
        f"{saliency.OCCLUSION_STRIDE} px), measured by rerunning the model: no gradients.",
        "It depends on the window and the baseline: black over background changes nothing, "
        "so only ink scores, and strokes that work together escape a window that covers one."),
    saliency.GRAD_CAM: (
        "Where the last convolution's 24×24 maps hold evidence for the class, weighted by "
        "their gradients, ReLU'd and stretched to 28×28.",
        "Coarse (each cell sees a 5×5 patch and the stretch blurs it), shows no evidence "
        "against (ReLU), and exists only for convolutional layers."),
}
PREDICTED = "predicted"
IG_STEP_CHOICES = (8, 16, 32, 64, 128, 256)
METHOD_KEY, CLASS_KEY, ALL_KEY = "saliency_method", "saliency_class", "saliency_all_classes"
STEPS_KEY, LOAD_KEY = "saliency_ig_steps", "saliency_load_example"
_MEMO_KEY = "_saliency_memo"
N_UNITS, N_WEIGHT_UNITS = 8, 6  # bars per layer, weight images


def attribution(loaded: LoadedModel, image28: np.ndarray, method: str, target: int,
                steps: int) -> saliency.Attribution:
    """One method's attribution, memoised per session: a widget rerun does not recompute it."""
    only_ig = int(steps) if method == saliency.IG else None  # other maps have no steps
    return models.session_memo(
        _MEMO_KEY, loaded, image28, (method, int(target), only_ig),
        lambda: saliency.attribute(loaded, image28, method, int(target), int(steps)))


def first_layer_weights(loaded: LoadedModel) -> np.ndarray:
    """A copy of the MLP's first Linear weights (hidden1, 784); the model is only read."""
    linear = next(layer for layer in loaded.model.net if isinstance(layer, nn.Linear))
    return linear.weight.detach().cpu().numpy().copy()  # (96, 784)


def pick_method(loaded: LoadedModel, predicted: int) -> tuple[str, int, int]:
    """The widgets: (method, target class, IG steps)."""
    methods = saliency.methods_for(loaded)
    method_col, class_col = st.columns([3, 1])
    method = method_col.radio("Method", methods, key=METHOD_KEY, horizontal=True,
                              help="Each method's line below says what it shows and when "
                                   "it misleads")
    choice = class_col.selectbox(
        "Explain class", [PREDICTED, *range(10)], key=CLASS_KEY,
        format_func=lambda c: f"predicted ({predicted})" if c == PREDICTED else str(c))
    steps = saliency.IG_STEPS
    if method == saliency.IG:
        steps = st.select_slider("Integration steps", IG_STEP_CHOICES, value=saliency.IG_STEPS,
                                 key=STEPS_KEY, help="More steps shrink the convergence delta")
    if saliency.GRAD_CAM not in methods:
        st.caption("Grad-CAM is not offered: it reads a convolutional layer, and this model "
                   "has none.")
    return method, predicted if choice == PREDICTED else int(choice), int(steps)


def saliency_section(loaded: LoadedModel, image28: np.ndarray) -> None:
    """Input beside the attribution map of the chosen class (default: the predicted one)."""
    outputs = models.logits_for(loaded, image28)  # (10,) raw outputs
    predicted = int(np.argmax(loaded.ranking_logits(outputs)))
    method, target, steps = pick_method(loaded, predicted)
    attr = attribution(loaded, image28, method, target, steps)
    input_col, map_col, text_col = st.columns([1, 1.25, 1.1], gap="medium")
    widgets.chart(image_figure(image28, "The input (28×28)", 280), "saliency_input",
                  width="content", where=input_col)
    widgets.chart(saliency_figure(attr.map28, f"{method} for class {target}", 280),
                  "saliency_map", width="content", where=map_col)
    with text_col:
        explain_map(loaded, image28, attr, method, target, predicted)
    if st.toggle("Show the map for all ten classes", key=ALL_KEY):
        maps = np.stack([attribution(loaded, image28, method, k, steps).map28
                         for k in range(10)])  # (10, 28, 28)
        widgets.chart(diverging_grid_figure(maps, [f"class {k}" for k in range(10)],
                                            cols=5, panel_px=230), "saliency_all")
        st.caption("One colour scale for all ten: compare how much evidence each class finds.")


def explain_map(loaded: LoadedModel, image28: np.ndarray, attr: saliency.Attribution,
                method: str, target: int, predicted: int) -> None:
    """What is attributed, the colours, the method's two lines, and IG's completeness check."""
    what = "logit" if loaded.outputs_logits else "probability"
    st.markdown(f"Attributed: the model's **{what}** for class **{target}** (it predicts "
                f"**{predicted}**). **Red** pixels raise it, **blue** ones lower it, white "
                "ones don't matter.")
    if not loaded.outputs_logits:
        st.caption(f"{loaded.name}'s raw outputs are probabilities (it ends in a softmax), "
                   "so every method here explains a probability, and a sure one is "
                   "saturated: its gradients are near 0.")
    shows, misleads = ABOUT[method]
    st.markdown(f"**Shows:** {shows}\n\n**Misleads:** {misleads}")
    if attr.delta is not None:
        completeness(loaded, image28, attr, target, what)


def completeness(loaded: LoadedModel, image28: np.ndarray, attr: saliency.Attribution,
                 target: int, what: str) -> None:
    """IG's lesson: the map's sum is the output's change, and captum's delta is the gap."""
    at_black, at_image = saliency.output_change(loaded, image28, target)
    change = at_image - at_black
    sum_col, delta_col = st.columns(2)
    sum_col.metric("Sum of the map", f"{attr.map28.sum():+.3f}")
    delta_col.metric("Convergence delta", f"{attr.delta:+.2g}")
    share = abs(attr.delta) / max(abs(change), 1e-12)
    st.caption(f"The {what}'s change from a black image to yours is {change:+.3f} "
               f"({at_black:+.3f} → {at_image:+.3f}). captum's delta is the sum minus that "
               f"change: {share:.1%} of it" + (", so raise the steps." if share > 0.05
                                                else ", so the map accounts for it."))


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


NO_GRADIENTS = ("attributions need gradients through the model, and an uploaded model runs "
                "where it gives none")


@widgets.guarded
def main() -> None:
    st.header("Where the model looks")
    loaded = models.picked_model(yours_here=NO_GRADIENTS)
    if loaded is None:
        return
    st.markdown(f"Which pixels of the input drive **{loaded.name}**'s answer, and what its "
                "first layer reacts to. Pick the model in the sidebar.")
    image28 = widgets.current_image_or_invite(LOAD_KEY)
    if image28 is None:
        return
    saliency_section(loaded, image28)
    inside = saliency.internals(loaded)  # which internals this model has
    if inside.feature_maps or inside.hidden_units:
        st.divider()
    if inside.feature_maps:
        cnn_section(loaded, image28)
    if inside.hidden_units:
        mlp_section(loaded, image28)


main()
