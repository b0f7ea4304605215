"""Prediction sets you can act on: split conformal (LAC and APS) on the drawing and the test set.

Calibrated on the even half of the shipped test split, measured on the odd half (the training
split is not on a user's machine); explorer.maths.conformal holds the maths.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.conformal import coverage_figure, risk_coverage_figure, set_size_figure
from explorer.lab.ood import verdict_thresholds
from explorer.maths.conformal import (
    APS_SEED,
    SCORES,
    alpha_table,
    calibrate,
    halves,
    held_out_sets,
    prediction_sets,
    risk_coverage,
    uniforms,
    verdict_marks,
)
from ui import lab, models, widgets

ALPHAS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2)
ALPHA_KEY = "sets_alpha"
DRAWING_U = uniforms(1, seed=APS_SEED + 2)  # APS's U for the drawing: fixed, so its set is too
TRADE = {"LAC": "the smallest sets on average; it may answer with an empty set when no class "
                "is likely enough, which is itself a warning",
         "APS": "sets that widen with the model's doubt and are never empty; larger on average"}


@st.cache_data(show_spinner=False, max_entries=16)
def _table(checkpoint: str, _probs: np.ndarray, labels: np.ndarray) -> dict:
    return alpha_table(_probs, labels, ALPHAS)


def _drawing_sets(loaded, probs_test, labels, alpha: float) -> None:
    """The current drawing's set under each score, beside the verdict."""
    image28 = widgets.current_image_or_invite("sets_load_example")
    if image28 is None:
        return
    probs = loaded.class_probs(models.logits_for(loaded, image28))  # (10,)
    cal, _ = halves(len(labels))
    cols = st.columns(len(SCORES))
    for col, score in zip(cols, SCORES):
        fitted = calibrate(probs_test[cal], labels[cal], alpha, score, uniforms(len(cal)))
        members = np.flatnonzero(prediction_sets(probs, fitted, DRAWING_U)[0]).tolist()
        shown = "{" + ", ".join(map(str, members)) + "}" if members else "∅ (empty)"
        col.metric(f"{score} set at α = {alpha:g}", shown,
                   help=f"q̂ = {fitted.qhat:.4f} from {fitted.n:,} calibration images")
    top = int(np.argmax(probs))
    st.caption(f"The model's argmax is {top} at p = {probs[top]:.4f}. One class in the set is "
               f"an answer you can act on; several mean \"one of these\"; an empty set or a "
               f"large one is the verdict's \"uncertain\" or \"probably not a digit\", with a "
               f"guarantee attached.")


@widgets.guarded
def main() -> None:
    st.header("Prediction sets you can act on")
    st.markdown("Instead of one answer, give the **set of classes** that contains the true one "
                "at least **1 − α** of the time. Split conformal prediction calibrates a "
                "threshold on held-out images, with no assumption about the model beyond "
                "exchangeable data. Here: the even half of the MNIST test split calibrates, "
                "the odd half checks.")
    loaded = models.picked_model()
    if loaded is None:
        return
    alpha = st.select_slider("α, the error rate you accept", ALPHAS, value=0.05, key=ALPHA_KEY,
                             format_func=lambda a: f"{a:.1%}")
    logits_test = lab.testset_logits(loaded)  # (10000, 10)
    labels = lab.testset_labels()
    probs_test = loaded.class_probs(logits_test)
    st.markdown("**LAC** (threshold on softmax): " + TRADE["LAC"] + ".  \n**APS** (adaptive "
                "sets): " + TRADE["APS"] + ".")
    _drawing_sets(loaded, probs_test, labels, alpha)
    st.subheader(f"{loaded.name} on the held-out half")
    table = _table(lab.checkpoint_id(loaded), probs_test, labels)
    left, right = st.columns(2)
    widgets.chart(coverage_figure(ALPHAS, {s: table[s]["coverage"] for s in SCORES}, alpha),
                  "sets_coverage", where=left)
    sizes = {s: held_out_sets(probs_test, labels, alpha, s).sum(1) for s in SCORES}
    widgets.chart(set_size_figure(sizes, alpha), "sets_sizes", where=right)
    st.markdown(widgets.markdown_table([
        {"α": f"{a:.1%}", **{f"{s} coverage": f"{table[s]['coverage'][i]:.2%}" for s in SCORES},
         **{f"{s} mean size": f"{table[s]['size'][i]:.3f}" for s in SCORES}}
        for i, a in enumerate(ALPHAS)]))
    coverage, risk, _ = risk_coverage(probs_test, labels)
    marks = verdict_marks(loaded.ranking_logits(logits_test), labels,
                          verdict_thresholds(loaded.name), lab.testset_not_a_digit(loaded.name))
    widgets.chart(risk_coverage_figure(coverage, risk, marks), "sets_risk")
    st.caption("Abstaining on low confidence trades answers for accuracy. The diamonds are the "
               "Explorer's verdicts used as abstention rules on the whole test split.")


main()
