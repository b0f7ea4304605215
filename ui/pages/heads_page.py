"""Softmax, sigmoid or regression? Every kind of output head on your drawing, and two digits.

The drawing is the Explorer's (shared state); each head is a small CNN trained for its task
(explorer.model.heads, explorer.model.registry). The two-digit canvas feeds a multi-label
model and a softmax model the same wide input.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.base import two_line_title
from explorer.figures.heads import binary_figure, number_line_figure, wide_image_figure
from explorer.figures.outputs import probs_figure, sigmoid_figure
from explorer.maths.confidence import expected_digit, sigmoid, softmax
from explorer.model import registry
from ui import widgets
from ui.pages import heads_view as hv


def softmax_panel(image28) -> None:
    name = registry.the(registry.HEAD_SOFTMAX)
    probs = softmax(hv.outputs(name, image28))
    widgets.chart(probs_figure(probs, two_line_title(f"Softmax ({name})",
                                                     f"Σ = {probs.sum():.3f}"),
                               labels=False), "heads_softmax")
    hv.uses("softmax")


def ovr_panel(image28) -> None:
    name = registry.the(registry.ONE_VS_REST)
    logits = hv.outputs(name, image28)
    widgets.chart(sigmoid_figure(logits, 1.0, f"One-vs-rest σ ({name})"), "heads_ovr")
    st.markdown(hv.ovr_reading(sigmoid(logits)))
    hv.uses("one-vs-rest")


def regress_panel(image28) -> None:
    name = registry.the(registry.HEAD_NUMBER)
    value = float(hv.outputs(name, image28)[0])
    probs = softmax(hv.outputs(registry.the(registry.HEAD_SOFTMAX), image28))
    widgets.chart(number_line_figure(value, expected_digit(probs), int(np.argmax(probs))),
                  "heads_regress")
    st.markdown(f"The regression head says **{value:.2f}** ({name}), which rounds to "
                f"**{min(max(round(value), 0), 9)}**. The softmax model's mean digit "
                f"E[digit] = Σ k·p_k is {expected_digit(probs):.2f}; its argmax is "
                f"**{int(np.argmax(probs))}**.")
    hv.uses("regress")


def binary_panel(image28) -> None:
    one, two = (registry.the(registry.HEAD_BINARY_SIGMOID),
                registry.the(registry.HEAD_BINARY_SOFTMAX))
    z = float(hv.outputs(one, image28)[0])
    z0, z1 = (float(v) for v in hv.outputs(two, image28))
    p_sig, p_soft = float(sigmoid([z])[0]), float(softmax([z0, z1])[1])
    widgets.chart(binary_figure(p_sig, p_soft), "heads_binary")
    st.markdown(hv.binary_identity(z, z0, z1))
    st.caption(f"1 logit: {one}; 2 logits: {two}.")
    hv.uses("binary")


def two_digit_section() -> None:
    st.subheader("Two digits at once: multi-label needs a sigmoid per class")
    st.markdown("Draw **one digit in each half** (say 3 and 8), or load a pair. The "
                "multi-label model answers ten yes/no questions; the softmax model must "
                "share one unit of probability between the digits it sees.")
    canvas_col, input_col = st.columns([1.3, 1], vertical_alignment="top")
    with canvas_col:
        image, source = hv.two_digit_input()
    if image is None:
        input_col.info("Draw on the wide canvas, or load a pair with the buttons.",
                       icon=":material/draw:")
        return
    with input_col:
        st.markdown(f"**What the models see** (28×56, {source})")
        widgets.chart(wide_image_figure(image), "heads_pair_input", width="content")
    hv.panel(pair_panels, image)


def pair_panels(image) -> None:
    """The multi-label model and the softmax model on the same (28, 56) input."""
    multi, soft = st.columns(2)
    sigmoid_name, softmax_name = (registry.the(registry.HEAD_PAIR_SIGMOID),
                                  registry.the(registry.HEAD_PAIR_SOFTMAX))
    logits = hv.outputs(sigmoid_name, image)
    with multi:
        widgets.chart(sigmoid_figure(logits, 1.0, f"Multi-label σ ({sigmoid_name})"),
                      "heads_pair_sigmoid")
        st.markdown(hv.multilabel_reading(sigmoid(logits)))
    with soft:
        probs = softmax(hv.outputs(softmax_name, image))
        title = two_line_title(f"Softmax on two digits ({softmax_name})",
                               f"Σ = {probs.sum():.3f}")
        widgets.chart(probs_figure(probs, title, labels=False), "heads_pair_softmax")
        st.markdown(hv.pair_softmax_reading(probs))


@widgets.guarded
def main() -> None:
    st.header("Softmax, sigmoid or regression?")
    st.markdown("The last layer's raw numbers mean what the **loss** trained them to mean. "
                "Here is one drawing through four kinds of head, each a small CNN trained "
                "on MNIST for its own task.")
    image28 = widgets.current_image_or_invite("heads_load_example")
    if image28 is not None:
        top_left, top_right = st.columns(2, gap="large")
        bottom_left, bottom_right = st.columns(2, gap="large")
        for column, panel in ((top_left, softmax_panel), (top_right, ovr_panel),
                              (bottom_left, regress_panel), (bottom_right, binary_panel)):
            with column:
                hv.panel(panel, image28)
    st.divider()
    two_digit_section()
    st.divider()
    hv.figures_table()


main()
