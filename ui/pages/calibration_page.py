"""Calibration page: reliability diagrams, ECE/MCE/NLL/Brier at three temperatures, refit T.

Flow: cached test-set logits -> softmax at T -> calibration_report + reliability bins ->
reliability_figure; the current drawing's top-1 probability is starred in its bin.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.calibration import reliability_figure
from explorer.maths.calibration import (
    N_BINS,
    bin_index,
    calibration_report,
    refit_on_half,
    reliability,
)
from explorer.maths.confidence import softmax
from explorer.maths.summary import format_top1
from explorer.model.checkpoints import LoadedModel
from ui import lab, models, state, widgets

REFIT_BUTTON_KEY = "calibration_refit"
APPLY_BUTTON_KEY = "calibration_apply_refit"
METRICS = (("ECE", "ece", "Expected calibration error: the count-weighted mean gap between "
            "accuracy and confidence over 15 bins"),
           ("MCE", "mce", "Maximum calibration error: the largest gap of any non-empty bin"),
           ("NLL", "nll", "Mean negative log-likelihood of the true class, in nats"),
           ("Brier", "brier", "Mean squared distance between the probabilities and one-hot"))


def intro() -> None:
    st.header("Calibration: confidence is not correctness")
    st.markdown(
        "A model that says *99 %* should be right 99 times out of 100. Networks trained with "
        "cross-entropy often say more than they know. The **reliability diagram** bins the "
        "10,000 MNIST test images by the model's top-1 probability and compares each bin's "
        "accuracy with its confidence: bars below the dashed diagonal mean over-confidence. "
        "**Temperature scaling** divides the logits by one number T before the softmax: it "
        "changes every confidence and never the argmax, so accuracy stays exactly the same.")


def settings(loaded: LoadedModel) -> list[tuple[str, float, str]]:
    """(heading, T, origin) of the three columns: T = 1, the fitted T, the explorer's T."""
    fitted = float(loaded.meta["temperature"])
    explorer_t = float(st.session_state.get(state.TEMPERATURE_KEY, 1.0))
    return [("T = 1", 1.0, "the raw softmax"),
            (f"Fitted T = {fitted:.3g}", fitted, "from the checkpoint"),
            (f"Explorer's T = {explorer_t:.3g}", explorer_t, "from the Explorer's slider")]


def metric_row(report: dict, base: dict | None) -> None:
    """ECE, MCE, NLL and Brier; the change against T = 1 as the delta (lower is better)."""
    cells = [col for _ in range(2) for col in st.columns(2)]  # 2×2: room for the deltas
    for col, (label, key, help_text) in zip(cells, METRICS):
        delta = None if base is None else f"{report[key] - base[key]:+.4f}"
        col.metric(label, f"{report[key]:.4f}", delta=delta, delta_color="inverse",
                   help=help_text)


def drawing_line(rel, drawing_logits, confidence: float | None, temperature: float) -> None:
    """Which bin the current drawing's top-1 probability falls in, and that bin's accuracy."""
    if drawing_logits is None or confidence is None:
        st.caption("Draw something on the Explorer page to see where it falls.")
        return
    b = int(bin_index(confidence, rel.edges))
    lo, hi, n = rel.edges[b], rel.edges[b + 1], int(rel.counts[b])
    where = (f"test accuracy there is **{rel.accuracy[b]:.1%}** over {n:,} images" if n
             else "no test image falls there")
    top1 = format_top1(drawing_logits, temperature)  # never rounds up to "1.0000"
    st.markdown(f"★ Your drawing: top-1 **{top1}** at T = {temperature:.3g} → "
                f"bin **{b + 1} of {len(rel.counts)}** ({lo:.3f}, {hi:.3f}]; {where}.")


def setting_column(i: int, setting: tuple[str, float, str], logits, labels, base: dict,
                   drawing_logits) -> None:
    """One temperature: metrics, reliability diagram, where the drawing falls."""
    heading, temperature, origin = setting
    st.subheader(heading)
    st.caption(origin)
    # The T = 1 report is `base`, already computed for the page's header line.
    report = base if temperature == 1.0 else calibration_report(logits, labels, temperature,
                                                                 N_BINS)
    metric_row(report, None if temperature == 1.0 else base)
    rel = reliability(softmax(logits, temperature), labels, N_BINS)
    confidence = None if drawing_logits is None \
        else float(softmax(drawing_logits, temperature).max())
    widgets.chart(reliability_figure(rel, confidence), f"reliability_{i}")
    st.caption(f"Top: accuracy per confidence bin at T = {temperature:.3g}, orange: the gap "
               "to the diagonal, red ★: your drawing's bin. Bottom: confidence histogram, "
               "images per bin (log scale).")
    drawing_line(rel, drawing_logits, confidence, temperature)


def refit_section(loaded: LoadedModel, logits, labels) -> None:
    """Refit T on half the test split to show what fitting does; the checkpoint is untouched."""
    st.subheader("Refit the temperature")
    st.markdown(
        "The checkpoint's T was fitted on a **validation split of the 60,000 training images** "
        "when the model was trained, and it stays unchanged here. This button refits T "
        "offline on the **even-indexed half** of the 10,000 test images (5,000) and scores "
        "T = 1, the checkpoint's T and the refit T on the **odd-indexed half** (the other "
        "5,000). To change a checkpoint, retrain: `python scripts/train.py --arch "
        f"{loaded.meta['arch']}` fits T on its validation split and writes it into meta.json.")
    store: dict = st.session_state.setdefault(lab.REFIT_KEY, {})
    if st.button("Refit temperature", key=REFIT_BUTTON_KEY, type="primary"):
        store[lab.checkpoint_id(loaded)] = refit_on_half(
            logits, labels, float(loaded.meta["temperature"]))
    result = store.get(lab.checkpoint_id(loaded))
    if result is None:
        return
    refit_t = float(result["temperature"])
    left, right = st.columns([1, 3])
    left.metric("Refit T", f"{refit_t:.4f}", help=f"Fitted on {result['n_fit']:,} images")
    left.button(f"Use T = {refit_t:.3g} in the Explorer", key=APPLY_BUTTON_KEY,
                on_click=state.set_temperature, args=(refit_t,))
    number = st.column_config.NumberColumn
    right.dataframe(result["rows"], hide_index=True, width="stretch", key="refit_table",
                    column_config={"T": number(format="%.4f"),
                                   "NLL (nats)": number(format="%.5f"),
                                   "ECE": number(format="%.5f"),
                                   "accuracy": number(format="%.4f")})
    right.caption(f"Before/after on the evaluation half ({result['n_eval']:,} odd-indexed test "
                  "images): NLL and ECE at each T. Accuracy is the same in every row.")


def exhibit_note(loaded: LoadedModel) -> None:
    own = loaded.meta.get("metrics", {}).get("test_own_probs")
    if loaded.outputs_logits:
        return
    figures = "" if not own else (f" Its own probabilities score ECE {own['ece']:.4f}, "
                                  f"NLL {own['nll']:.4f}.")
    st.warning(f"**{loaded.name} already outputs probabilities**; like the Explorer, this page "
               "treats them as logits and applies softmax again, so every confidence is "
               f"squashed towards 1/10.{figures}", icon=":material/science:")


@widgets.guarded
def main() -> None:
    intro()
    loaded = models.picked_model()
    if loaded is None:
        return
    exhibit_note(loaded)
    logits, labels = lab.testset_logits(loaded), lab.testset_labels()  # (10000, 10), (10000,)
    image28 = st.session_state.get(state.CURRENT_IMAGE_KEY)
    drawing_logits = None if image28 is None else models.logits_for(loaded, image28)
    if image28 is None:
        st.info("Draw something on the Explorer page to see where it falls.")
    base = calibration_report(logits, labels, 1.0, N_BINS)
    st.caption(f"**{loaded.name}**: test accuracy {base['accuracy']:.2%} on {len(labels):,} images "
               "at every T. Small arrows: the change against T = 1 (lower is better).")
    for i, (col, setting) in enumerate(zip(st.columns(3, gap="medium"), settings(loaded))):
        with col:
            setting_column(i, setting, logits, labels, base, drawing_logits)
    st.divider()
    refit_section(loaded, logits, np.asarray(labels))


main()
