"""Debug by symptom: the classic classifier bugs, each with a live exhibit, a check and the fix.

Each symptom shows itself on the current drawing and on the test set, then links to the page
that shows it in full: nothing here duplicates those pages.
"""
from __future__ import annotations

import streamlit as st

from explorer.errors import ExplainedError
from explorer.figures.training import history_figure
from explorer.lab.exhibit import DOUBLE_SOFTMAX_BOUND, DOUBLE_SOFTMAX_MIN_LOSS
from explorer.lab.robustness import transform
from explorer.maths.confidence import softmax
from explorer.model import registry
from ui import lab, models, safe_text, state, widgets

CONFIDENT = 0.99  # "confident and wrong": a mistake the model gives at least this


def confident_and_wrong(loaded, image28) -> None:
    logits = loaded.ranking_logits(lab.testset_logits(loaded))
    labels = lab.testset_labels()
    probs = softmax(logits)
    wrong = (probs.argmax(1) != labels) & (probs.max(1) >= CONFIDENT)
    fitted = softmax(logits, loaded.meta["temperature"])
    still = (fitted.argmax(1) != labels) & (fitted.max(1) >= CONFIDENT)
    a, b = st.columns(2)
    a.metric(f"test mistakes at p ≥ {CONFIDENT}", f"{int(wrong.sum())}",
             help="Out of 10,000 test images, at T = 1")
    b.metric(f"…at the fitted T = {loaded.meta['temperature']:.3f}", f"{int(still.sum())}")
    st.markdown("**Confirm:** the reliability diagram bends below the diagonal and ECE at "
                "T = 1 is well above its value at the fitted T. **Fix:** temperature scaling: "
                "one number T fitted on validation data; no argmax changes.")
    st.page_link("ui/pages/gallery_page.py", label="The most confident mistakes",
                 icon=":material/photo_library:")
    st.page_link("ui/pages/calibration_page.py", label="Reliability diagrams at T = 1 and fitted T",
                 icon=":material/straighten:")


def always_unsure(loaded, image28) -> None:
    exhibit = models.get_model(registry.the(registry.EXHIBIT))
    again = softmax(lab.testset_logits(exhibit))  # its probabilities, softmaxed again
    ours = softmax(loaded.ranking_logits(lab.testset_logits(loaded)))
    a, b = st.columns(2)
    a.metric(f"{loaded.name}: mean top-1 on the test set", f"{ours.max(1).mean():.3f}")
    b.metric("an always-unsure model: mean top-1", f"{again.max(1).mean():.3f}",
             help=f"{exhibit.name}'s outputs softmaxed again: never above "
                  f"e/(e+9) = {DOUBLE_SOFTMAX_BOUND:.3f}")
    if image28 is not None:
        mine = softmax(models.logits_for(exhibit, image28)).max()
        st.caption(f"On your drawing that model's top-1 is {mine:.3f}: unsure whatever you draw.")
    st.markdown("**Confirm:** top-1 stays low on easy training images too, and training loss "
                "is high. **Fix:** more capacity or more training, or the bug below.")


def loss_not_going_down(loaded, image28) -> None:
    histories = {name: models.get_model(name).meta.get("history", [])
                 for name in (registry.the(registry.EXHIBIT_BASELINE),
                              registry.the(registry.EXHIBIT))}
    widgets.chart(history_figure(histories, DOUBLE_SOFTMAX_MIN_LOSS), "checklist_history")
    st.markdown("**Confirm:** the loss flattens far above 0 from the first epoch: with a "
                "softmax before `CrossEntropyLoss` it cannot go below log(1 + 9/e) ≈ "
                f"{DOUBLE_SOFTMAX_MIN_LOSS:.2f}. "
                "**Fix:** drop the extra `nn.Softmax`; the loss takes logits.")
    st.page_link("ui/pages/exhibit_page.py", label="The double-softmax exhibit",
                 icon=":material/science:")


def multilabel_broken(loaded, image28) -> None:
    rows = []
    for role in (registry.HEAD_PAIR_SIGMOID, registry.HEAD_PAIR_SOFTMAX):
        name = registry.the(role)
        test = models.get_model(name).meta["metrics"]["test"]
        rows.append((name, test.get("by_kind", {}).get("two different", test["accuracy"])))
    a, b = st.columns(2)
    a.metric("sigmoid per class: both digits found", f"{rows[0][1]:.1%}",
             help=f"{rows[0][0]}, on held-out pairs of two different digits")
    b.metric("softmax: the two digits are its top two", f"{rows[1][1]:.1%}",
             help=f"{rows[1][0]}; and each digit then gets about 0.5: neither is a yes")
    st.markdown("**Confirm:** with two labels present, the top probability sits near 0.5 and "
                "one digit alone looks like a pair. **Fix:** a sigmoid per class, trained with "
                "binary cross-entropy on multi-hot targets.")
    st.page_link("ui/pages/heads_page.py", label="Two digits at once, both heads",
                 icon=":material/call_split:")


def shifted_input(loaded, image28) -> None:
    if image28 is None:
        st.caption("Draw a digit on the Explorer to see this on your own drawing.")
    else:
        moved = transform(image28, shift=(7.0, 5.0))
        before, after = (softmax(models.logits_for(loaded, im)) for im in (image28, moved))
        a, b = st.columns(2)
        a.metric("your drawing, centred like MNIST", f"{before.argmax()} (p = {before.max():.3f})")
        b.metric("the same, 7 px right and 5 px down", f"{after.argmax()} (p = {after.max():.3f})")
    st.markdown("**Confirm:** accuracy on your own inputs is far below the test set's; the "
                "Explorer's naive-resize toggle shows the gap. **Fix:** preprocess like the "
                "training data (crop, scale to 20 px, centre by mass), and augment.")
    st.page_link("ui/pages/robustness_page.py", label="Shift, rotate, scale, thickness",
                 icon=":material/open_with:")


SYMPTOMS = [("Confident and wrong", confident_and_wrong),
            ("Always unsure", always_unsure),
            ("Loss not going down", loss_not_going_down),
            ("Multi-label broken", multilabel_broken),
            ("Shifted input", shifted_input)]


@widgets.guarded
def main() -> None:
    st.header("Debug by symptom")
    st.markdown("Start from what you see. Each symptom opens a live exhibit on your drawing "
                "and the test set, how to confirm it, and the fix.")
    loaded = models.picked_model()
    if loaded is None:
        return
    image28 = st.session_state.get(state.CURRENT_IMAGE_KEY)
    for title, exhibit in SYMPTOMS:
        with st.expander(title, expanded=title == SYMPTOMS[0][0]):
            try:
                exhibit(loaded, image28)
            except ExplainedError as err:  # a missing checkpoint, or no model with a role
                st.warning(safe_text.explain(err), icon=":material/report:")


main()
