"""Compare page: the current drawing through every shipped model, and their test-set agreement.

Flow: CURRENT_IMAGE_KEY -> models.logits_for per model -> summarize + probs_figure;
cached test-set logits per model -> explorer.lab.gallery agreement_matrix / disagreements.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.calibration import agreement_figure
from explorer.figures.outputs import probs_figure
from explorer.inputs.preprocess import is_blob
from explorer.lab import gallery
from explorer.lab.ood import verdict_thresholds
from explorer.maths.confidence import softmax, summarize
from explorer.maths.summary import format_entropy_bits, format_top1
from explorer.model import registry
from explorer.model.checkpoints import LoadedModel
from ui import lab, models, state, widgets

LOAD_KEY, COUNT_KEY = "compare_load_example", "compare_count"
COUNTS = (16, 32, 48)


def model_block(name: str, loaded: LoadedModel | None, error: str | None, image28,
                temperature: float) -> None:
    """One model's answer for the current image: prediction, verdict, entropy, probabilities."""
    st.subheader(name)
    if loaded is None:
        st.error(f"Model **{name}** cannot be loaded. {error}")
        return
    logits = models.logits_for(loaded, image28)  # (10,)
    reason = lab.not_a_digit_reason(loaded.name, image28)  # the Explorer's verdict, too
    summary = summarize(logits, temperature, verdict_thresholds(loaded.name),
                        blob=is_blob(image28), not_digit=None if reason is None else reason.flagged)
    left, right = st.columns([1.2, 1.4], vertical_alignment="center")
    left.metric("Prediction", summary.prediction, border=True)
    top1 = format_top1(logits, temperature)  # never rounds up to "1.0000"
    right.markdown(f"top-1 **{top1}**  \nentropy **{format_entropy_bits(summary.entropy_bits)}**")
    # Full column width: the badge never truncates.
    st.markdown(widgets.verdict_badge(summary.verdict))
    probs = softmax(logits, temperature)  # (10,): raw outputs softmaxed, as on the Explorer
    widgets.chart(probs_figure(probs, "", height=230, name="softmax", labels=False),
                  f"compare_probs_{name}")
    if not loaded.outputs_logits:
        st.caption("Outputs already are probabilities; softmax again (as on the Explorer) "
                   "squashes them towards 1/10.")


def drawing_section(models: dict, errors: dict) -> None:
    st.subheader("Your drawing, through every model")
    image28 = widgets.current_image_or_invite(LOAD_KEY)
    if image28 is None:
        return
    temperature = float(st.session_state.get(state.TEMPERATURE_KEY, 1.0))
    names = registry.names()
    image_col, *cols = st.columns([0.55] + [1] * len(names), gap="medium")
    with image_col:
        st.image(widgets.thumbnail(image28, 140), caption="The 28×28 input", width=140)
    for col, name in zip(cols, names):
        with col:
            model_block(name, models.get(name), errors.get(name), image28, temperature)
    st.caption(f"Probabilities at the Explorer's T = {temperature:.3g}. Verdicts read T = 1: "
               "not a digit when the energy passes each model's cut picked from data "
               "(keeps 99 % of MNIST test digits) or the ink is a filled blob; otherwise "
               "confident at top-1 ≥ 0.9, else uncertain.")


def disagreement_captions(indices, logits_by_model: dict, labels) -> list[str]:
    predictions = {name: z[indices].argmax(axis=1) for name, z in logits_by_model.items()}
    return [f"#{i} · true **{labels[i]}** · "
            + " · ".join(f"{name} {int(p[j])}" for name, p in predictions.items())
            for j, i in enumerate(indices)]


def agreement_section(models: dict) -> None:
    st.subheader("Agreement on the 10,000 test images")
    if len(models) < 2:
        st.info("Comparing needs at least two loadable models.")
        return
    labels = np.asarray(lab.testset_labels())  # (10000,)
    logits_by_model = {name: loaded.ranking_logits(lab.testset_logits(loaded))
                       for name, loaded in models.items()}
    names, matrix = gallery.agreement_matrix(logits_by_model)
    disagree = gallery.disagreements(logits_by_model)
    map_col, text_col = st.columns([1, 1], gap="large")
    with map_col:
        widgets.chart(agreement_figure(names, matrix), "compare_agreement")
        st.caption("Share of test images on which each pair of models predicts the same digit.")
    with text_col:
        for name, z in logits_by_model.items():
            st.markdown(f"**{name}**: {float((z.argmax(axis=1) == labels).mean()):.2%} right")
        st.markdown(f"The models disagree on **{len(disagree):,}** of {len(labels):,} images.")
        count = st.select_slider("How many to show", COUNTS, key=COUNT_KEY)
    if len(disagree):
        shown = disagree[:int(count)]
        widgets.example_grid(shown, disagreement_captions(shown, logits_by_model, labels),
                         "compare_send")
        st.caption("Images where the models disagree, in test-set order: the true label and "
                   "each model's prediction. Explore opens one on the Explorer page.")


@widgets.guarded
def main() -> None:
    st.header("Compare models")
    models, errors = lab.load_models()
    if st.session_state.get(state.CURRENT_IMAGE_KEY) is None:
        for name, message in errors.items():  # with a drawing, each shows in its column
            st.error(f"Model **{name}** cannot be loaded. {message}")
    drawing_section(models, errors)
    st.divider()
    agreement_section(models)


main()
