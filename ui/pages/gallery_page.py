"""Gallery page: the test set's confident mistakes and uncertain cases, and the confusion matrix.

Flow: cached test-set logits -> explorer.lab.gallery.select_examples -> a grid of
thumbnails; any of them opens in the explorer. A confusion cell is chosen with the
true/predicted selectboxes, which also filter every view.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.calibration import confusion_figure
from explorer.lab import gallery
from explorer.lab.evaluation import confusion_matrix
from explorer.maths.summary import format_top1
from ui import lab, models, widgets

VIEW_KEY, TRUE_KEY, PRED_KEY, COUNT_KEY = ("gallery_view", "gallery_true", "gallery_pred",
                                           "gallery_count")
CLASS_CHOICES = ["any", *range(10)]
COUNTS = (16, 32, 48)


def _class(choice) -> int | None:
    return None if choice == "any" else int(choice)


def controls() -> tuple[str, int | None, int | None, int]:
    """The view, the true/predicted filters (a confusion cell when both are set), the count."""
    st.selectbox("Show", gallery.VIEWS, key=VIEW_KEY)
    left, right = st.columns(2)
    true_class = left.selectbox("True class", CLASS_CHOICES, key=TRUE_KEY)
    predicted = right.selectbox("Predicted class", CLASS_CHOICES, key=PRED_KEY)
    count = st.select_slider("How many", COUNTS, key=COUNT_KEY)
    return st.session_state[VIEW_KEY], _class(true_class), _class(predicted), int(count)


def describe(view: str, true_class, predicted, shown: int, matching: int) -> str:
    where = []
    if true_class is not None:
        where.append(f"true class {true_class}")
    if predicted is not None:
        where.append(f"predicted {predicted}")
    scope = " and ".join(where) or "all 10,000 test images"
    what = "mistakes" if view == gallery.VIEWS[0] else "images"
    return f"{view} among {scope}: {matching:,} {what} match, showing {shown}."


def captions(indices, logits, labels) -> list[str]:
    predicted = logits[indices].argmax(axis=1)
    # format_top1 writes "1 − 3.4e-05" near 1: a caption must not round to p = 1.000.
    return [f"#{i} · true **{labels[i]}** · pred **{p}** · p = {format_top1(logits[i], 1.0)}"
            for i, p in zip(indices, predicted)]


@widgets.guarded
def main() -> None:
    st.header("Mistakes & uncertainty gallery")
    st.markdown("The test images the model gets wrong with the most confidence, and the ones "
                "it is least sure about. Press **Explore** under any of them to open it on the "
                "Explorer page.")
    loaded = models.picked_model()
    if loaded is None:
        return
    labels = np.asarray(lab.testset_labels())  # (10000,)
    logits = loaded.ranking_logits(lab.testset_logits(loaded))  # (10000, 10)
    if not loaded.outputs_logits:
        st.caption(f"{loaded.name} outputs probabilities: confidences here are its own.")
    matrix_col, control_col = st.columns([1.1, 1], gap="large")
    with control_col:
        view, true_class, predicted, count = controls()
        wrong = logits.argmax(axis=1) != labels  # (10000,)
        st.markdown(f"**{loaded.name}**: {1 - wrong.mean():.2%} right, "
                    f"{int(wrong.sum()):,} mistakes on 10,000.")
    cell = None if true_class is None or predicted is None else (true_class, predicted)
    with matrix_col:
        widgets.chart(confusion_figure(confusion_matrix(logits, labels), cell), "gallery_confusion")
        st.caption("Confusion matrix: rows are true labels, columns predictions; colour on a "
                   "log scale so single mistakes show. Pick a cell with the two class "
                   "selectboxes.")
    indices, matching = gallery.select_examples(logits, labels, view, true_class, predicted,
                                                count)
    with control_col:
        st.info(describe(view, true_class, predicted, len(indices), matching))
    st.divider()
    if len(indices) == 0:
        st.info("Nothing matches these filters.")
        return
    widgets.example_grid(indices, captions(indices, logits, labels), "gallery_send")
    st.caption("Each image: test index, true label, prediction and its top-1 probability at "
               "T = 1.")


main()
