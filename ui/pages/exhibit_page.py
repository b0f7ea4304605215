"""Double-softmax exhibit: the exhibit beside its baseline, the e/(e+9) bound, curves, metrics.

The exhibit (the registry's EXHIBIT) ends in nn.Softmax and was trained with
CrossEntropyLoss, which applies log-softmax again; its baseline (EXHIBIT_BASELINE) is the
same network done right. This page shows what that does, on the current drawing and on the
10,000 test images. Both models are read here whatever the sidebar picks.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.base import two_line_title
from explorer.figures.outputs import bound_figure, probs_figure
from explorer.figures.training import history_figure
from explorer.lab.exhibit import DOUBLE_SOFTMAX_BOUND, DOUBLE_SOFTMAX_MIN_LOSS, double_softmax
from explorer.maths.confidence import softmax
from explorer.model import registry
from explorer.model.checkpoints import CheckpointError, LoadedModel
from ui import lab, models, safe_text, widgets

LOAD_KEY = "exhibit_load_example"

WHY_LOGITS = (
    "**Why CrossEntropyLoss wants logits.** It applies log-softmax itself, so the network's "
    "last layer must output raw scores. Hand it probabilities and their range is squashed to "
    f"[0, 1]: the loss can never go below log(1 + 9/e) ≈ {DOUBLE_SOFTMAX_MIN_LOSS:.3f}, and "
    "its gradients shrink: they pass through the extra softmax's derivative, at most 1/4 and "
    "fading as its outputs saturate.")

DERIVATION = (
    "**Why the bound is e/(e+9).** CrossEntropyLoss treats the exhibit's probabilities $p$ as "
    "logits. Each $p_j$ lies in $[0, 1]$ and they sum to 1. For the top class $k$, "
    r"$\mathrm{softmax}(p)_k = 1 / \left(1 + \sum_{j \neq k} e^{p_j - p_k}\right)$. Every "
    r"exponent is at least $-1$ ($p_j \geq 0$, $p_k \leq 1$), so the sum is at least $9/e$, "
    "with equality only for a one-hot $p$. The best case, a perfectly sure network, is "
    rf"therefore $e/(e+9) \approx {DOUBLE_SOFTMAX_BOUND:.3f}$, and the loss it is trained on "
    rf"can never fall below $\log(1 + 9/e) \approx {DOUBLE_SOFTMAX_MIN_LOSS:.3f}$.")


def load_or_error(name: str) -> LoadedModel | None:
    """The cached model, or None after an st.error that names the train command."""
    try:
        return models.get_model(name)
    except CheckpointError as err:
        st.error(f"Model **{name}** cannot be loaded. {safe_text.explain(err)}")
        return None


def on_drawing(baseline: LoadedModel | None, exhibit: LoadedModel | None) -> None:
    """Three bar charts for the current image: the baseline, the exhibit, the exhibit softmaxed."""
    st.subheader("On the current drawing")
    image28 = widgets.current_image_or_invite(LOAD_KEY)
    if image28 is None:
        return
    cols = st.columns(3)
    if baseline is not None:
        probs = softmax(models.logits_for(baseline, image28))  # (10,)
        widgets.chart(probs_figure(probs, two_line_title(f"{baseline.name}: softmax(logits)",
                                                         "a real probability, free to reach 1")),
                      "exhibit_mlp_chart", where=cols[0])
    if exhibit is None:
        return
    own = models.logits_for(exhibit, image28).astype(np.float64)  # (10,) already probabilities
    widgets.chart(probs_figure(own, two_line_title(f"{exhibit.name}: its own outputs",
                                                   "already probabilities (nn.Softmax)")),
                  "exhibit_own_chart", where=cols[1])
    widgets.chart(probs_figure(double_softmax(own), two_line_title(
                      f"softmax({exhibit.name} outputs)", "what CrossEntropyLoss sees"),
                               bound=DOUBLE_SOFTMAX_BOUND),
                  "exhibit_double_chart", where=cols[2])
    cols[2].caption(f"Softmaxed again, no class can pass the dashed bound "
                    f"{DOUBLE_SOFTMAX_BOUND:.3f}, however sure the exhibit is.")


def bound_section(exhibit: LoadedModel | None, exhibit_name: str) -> None:
    """The per-class max over the test set under the bound, the measured max and the proof."""
    st.subheader("The bound: e/(e+9) ≈ 0.232")
    left, right = st.columns([1.4, 1], gap="large")
    right.markdown(DERIVATION)
    bound_col, measured_col = right.columns(2)
    bound_col.metric("Bound e/(e+9)", f"{DOUBLE_SOFTMAX_BOUND:.4f}")
    if exhibit is None:
        left.info(f"The measured maximum needs the {exhibit_name} checkpoint (see the error "
                  "above).")
        return
    double = double_softmax(lab.testset_logits(exhibit))  # (10000, 10)
    measured_col.metric("Measured max, test set", f"{double.max():.4f}",
                        help="The largest softmax(exhibit outputs) over all 10,000 test images "
                             "and all ten classes")
    widgets.chart(bound_figure(double.max(axis=0), DOUBLE_SOFTMAX_BOUND), "exhibit_bound_chart",
                  where=left)


def loss_floor(baseline: LoadedModel | None, exhibit: LoadedModel | None) -> None:
    """The exhibit's loss floor beside the losses both models reached."""
    shown = [("Floor log(1 + 9/e)", DOUBLE_SOFTMAX_MIN_LOSS)]
    for loaded in (exhibit, baseline):
        if loaded is None:
            continue
        history = loaded.meta.get("history") or []
        if history:
            shown.append((f"{short(loaded)}: best train loss",
                          min(row["train_loss"] for row in history)))
        nll = loaded.meta.get("metrics", {}).get("test", {}).get("nll")
        if nll is not None:
            shown.append((f"{short(loaded)}: test NLL", nll))
    for col, (label, value) in zip(st.columns(5), shown):
        col.metric(label, f"{value:.4f}", help="Cross-entropy in nats; the exhibit's is "
                   "computed on its outputs softmaxed again, as CrossEntropyLoss saw them")
    st.caption("The exhibit's loss is cross-entropy on its outputs softmaxed again, so it can't "
               "go below the floor; its baseline's heads towards 0.")


def short(loaded: LoadedModel) -> str:
    return "exhibit" if registry.EXHIBIT in loaded.arch.roles else loaded.name


def metrics_rows(baseline: LoadedModel | None, exhibit: LoadedModel | None) -> list[dict]:
    """Test accuracy and calibration rows from each checkpoint's meta."""
    sources = []
    if baseline is not None:
        sources.append((baseline.name, "softmax(logits)", baseline.meta["metrics"].get("test")))
    if exhibit is not None:
        metrics = exhibit.meta["metrics"]
        sources.append((exhibit.name, "softmax(outputs): what the loss sees",
                        metrics.get("test")))
        sources.append((exhibit.name, "its own outputs", metrics.get("test_own_probs")))
    return [{"model": name, "probabilities": how, "accuracy": m.get("accuracy"),
             "NLL": m.get("nll"), "ECE": m.get("ece"), "Brier": m.get("brier")}
            for name, how, m in sources if m]


def history_and_metrics(baseline: LoadedModel | None, exhibit: LoadedModel | None) -> None:
    st.subheader("Training curves and test metrics")
    histories = {m.name: m.meta["history"] for m in (baseline, exhibit)
                 if m is not None and m.meta.get("history")}
    if histories:
        widgets.chart(history_figure(histories, DOUBLE_SOFTMAX_MIN_LOSS), "exhibit_history_chart")
        st.caption("Solid: training set (with augmentation and dropout); dashed: validation. "
                   "The exhibit's loss can't cross the dotted floor.")
    rows = metrics_rows(baseline, exhibit)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", key="exhibit_metrics",
                     column_config={"accuracy": st.column_config.NumberColumn(format="%.4f"),
                                    "NLL": st.column_config.NumberColumn(format="%.4f"),
                                    "ECE": st.column_config.NumberColumn(format="%.4f"),
                                    "Brier": st.column_config.NumberColumn(format="%.4f")})
        st.caption("Test set, T = 1. Accuracy only reads the argmax, so the exhibit can still "
                   "classify well while its probabilities are squashed; ECE = expected "
                   "calibration error (0 = perfectly calibrated).")


@widgets.guarded
def main() -> None:
    st.header("Double softmax")
    baseline_name, exhibit_name = (registry.the(registry.EXHIBIT_BASELINE),
                                   registry.the(registry.EXHIBIT))
    st.markdown(f"`{exhibit_name}` ends in an `nn.Softmax` and was trained with "
                f"`CrossEntropyLoss` — a common mistake, kept as an exhibit. `{baseline_name}` "
                "is the same network done right.")
    st.info(WHY_LOGITS, icon=":material/lightbulb:")
    baseline, exhibit = load_or_error(baseline_name), load_or_error(exhibit_name)
    on_drawing(baseline, exhibit)
    st.divider()
    bound_section(exhibit, exhibit_name)
    loss_floor(baseline, exhibit)
    st.divider()
    history_and_metrics(baseline, exhibit)


main()
