"""The explorer's read-only panels: model card, what the model sees, prediction, charts."""
from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from explorer.figures import explorer as panel
from explorer.figures.base import to_json
from explorer.figures.explorer import MODEL_SEES_SIDE, Stroke, chart_key, panel_figures
from explorer.figures.images import image_figure
from explorer.inputs.preprocess import ink_mask
from explorer.lab.ood import NotADigit, describe_verdict, verdict_thresholds
from explorer.maths.confidence import softmax, summarize
from explorer.maths.summary import argmax_fact, format_sigmoid
from explorer.model import registry
from explorer.model.checkpoints import LoadedModel
from ui import classroom, lab, live, models, safe_text, state, widgets

IMAGE_SIDE = MODEL_SEES_SIDE  # the 28×28 preview, as large as the canvas beside it
# Keyed containers get the CSS class st-key-<key>: the prediction column's look.
PAGE_CSS = """<style>
.st-key-explorer_prediction_card [data-testid="stMetricValue"] { font-size: 4rem;
  line-height: 1.1; }
.st-key-explorer_prediction_card .stMarkdownBadge { font-size: 1.05rem !important;
  padding: 0.15rem 0.6rem !important; white-space: nowrap; }
.st-key-explorer_prediction_numbers [data-testid="stMetricValue"] { font-size: 1.6rem;
  font-variant-numeric: tabular-nums; }
</style>"""


def page_style() -> None:
    """The explorer's few CSS rules; style-only HTML takes no room on the page."""
    st.html(PAGE_CSS)


def model_card(loaded: LoadedModel) -> None:
    """Description, test accuracy, fitted T, parameters, device, exhibit note and layers."""
    meta = loaded.meta
    test = meta.get("metrics", {}).get("test", {})
    accuracy = test.get("accuracy")
    acc_text = f"{accuracy:.2%}" if isinstance(accuracy, (int, float)) else "n/a"
    ours = loaded.arch.name in registry.ARCHS  # else a user's: its name is theirs, not ours
    name = f"**{loaded.name}**" if ours else safe_text.literal(loaded.name)
    st.markdown(f"{name} — {safe_text.escape_markdown(meta.get('description', meta['arch']))}")
    # NB: metrics here also make the page load Streamlit's metric code, which the first
    # stroke's Prediction would otherwise fetch and compile (+0.2-0.3 s on that stroke).
    facts = {"Test accuracy": acc_text, "Fitted temperature": f"{meta['temperature']:.3f}",
             "Parameters": f"{meta['params']:,}", "Running on": str(loaded.device)}
    for column, (label, value) in zip(st.columns(len(facts)), facts.items(), strict=True):
        column.metric(label, value)
    if meta.get("note"):
        st.warning(meta["note"], icon=":material/science:")
    if not ours:  # a user's model: its layers are its own
        st.caption("Your model: its contract and findings are on the **Your model** page.")
        return
    with st.expander("Layers: output shape for one 28×28 input, and parameters"):
        # NB: a markdown table, not st.dataframe: that would make every first visit load and
        # compile 1.3 MB more JavaScript (the data grid and Arrow) for a table of ten rows.
        st.markdown(layer_markdown(models.layer_rows(meta["arch"], meta["config"])))
        st.caption("Activation functions called as torch functions (relu, max-pool) are not "
                   "modules, so they show only through the next layer's shape.")


def layer_markdown(rows: list[dict]) -> str:
    """The layer table as markdown: layer, type, output shape, parameters, and the total."""
    lines = ["| layer | type | output shape | params |", "|---|---|---|---:|"]
    lines += [f"| `{r['layer']}` | {r['type']} | {r['output shape']} | {r['params']:,} |"
              for r in rows]
    lines.append(f"| **total** | | | **{sum(r['params'] for r in rows):,}** |")
    return "\n".join(lines)


def invitation(canvas_rgba, sees_col, pred_col) -> None:
    """What a blank canvas (or a speck) shows instead of charts of noise.

    NB: the empty 28×28 preview (the live component) also makes the browser load plotly.js
    before the first stroke, which would otherwise wait seconds for it.
    """
    with sees_col:
        st.markdown("**What the model sees** (28×28)")
        # NB: the blank image, not a figure of its own, so a stroke can patch it in place;
        # the browser draws the grid and label over it while it is static.
        live.sees(image_figure(np.zeros((28, 28), dtype=np.float32), size=IMAGE_SIDE),
                  static=True)
        st.caption("Your drawing will show here as the model gets it: cropped, scaled "
                   "and centred in 28×28 pixels, like MNIST.")
    with pred_col:
        st.markdown("**What the model says**")
        if canvas_rgba is not None and ink_mask(canvas_rgba).any():
            st.info("That mark is too small to be a digit. Draw a bigger one, or press "
                    "**Clear**.", icon=":material/zoom_in:")
            return
        st.info("**Draw a digit** from 0 to 9 on the black canvas: big, in one or two "
                "strokes.  \nOr pick a class and press **Load an example** for a real "
                "handwritten digit from the MNIST test set.", icon=":material/draw:")
        st.markdown("Then watch, live, as soon as you lift the pen:\n"
                    "- the **prediction** and how sure the model is\n"
                    "- its **logits**, **softmax** and **sigmoid** outputs\n"
                    "- what the **temperature** T does to them")


def model_sees(figures: dict, source: str) -> None:
    """The 28×28 input (figures from explorer_figures), as large as the canvas."""
    st.markdown("**What the model sees** (28×28)")
    live.sees(figures["explorer_model_sees"])
    what = "your drawing, cropped, scaled to 20 px and centred like MNIST" \
        if source == "drawing" else "the example, used as is"
    st.caption(f"The model's whole input: {what}.")


def naive_comparison(loaded: LoadedModel, naive28: np.ndarray | None, ours: int) -> None:
    """The whole-canvas squash and its own prediction, beside ours."""
    if naive28 is None:
        st.caption("The naive resize applies to drawings only.")
        return
    logits = models.logits_for(loaded, naive28)
    probs = softmax(logits)
    guess = int(np.argmax(logits))
    widgets.chart(image_figure(naive28, "Naive resize", 200), "explorer_naive_sees",
                  width="content")
    agree = "same as" if guess == ours else "differs from"
    st.caption(f"Squashing all 280×280 px to 28×28 without cropping or centring: "
               f"the model says **{guess}** (p = {probs.max():.3f}), {agree} our {ours}.")


def prediction_panel(loaded: LoadedModel, logits: np.ndarray, temperature: float,
                     blob: bool = False) -> None:
    """Prediction, top-1, margin, entropy and the verdict with its reason; an example's label.

    NB: the verdict reads the image the page put in state.CURRENT_IMAGE_KEY just before.
    """
    image28 = st.session_state.get(state.CURRENT_IMAGE_KEY)
    reason = None if image28 is None else lab.not_a_digit_reason(loaded.name, image28)
    summary = summarize(logits, temperature, verdict_thresholds(loaded.name), blob=blob,
                        not_digit=None if reason is None else reason.flagged)
    label = st.session_state.get(state.EXAMPLE_LABEL_KEY)
    st.markdown("**What the model says**")
    with st.container(border=True, key="explorer_prediction_card"):
        left, right = st.columns(2)
        left.metric("Prediction", summary.prediction)
        if st.session_state.get(state.EXAMPLE_KEY) is not None and label is not None:
            correct = label == summary.prediction
            right.metric("True label", label, delta="✓ right" if correct else "✗ wrong",
                         delta_color="normal" if correct else "inverse", delta_arrow="off")
        st.markdown(f"Verdict: {widgets.verdict_badge(summary.verdict)}",
                    help=describe_verdict(loaded.name))
    live.readouts(logits, temperature)  # top-1, margin, entropy: they follow T live
    st.caption(verdict_reason_text(reason, summary.prediction, blob))
    if not loaded.outputs_logits:
        own = np.asarray(logits, dtype=np.float64)
        st.warning(f"{safe_text.literal(loaded.name)} **already outputs probabilities** (its "
                   f"own top-1 is {own.max():.4f}). Everything here treats them as logits and "
                   f"applies softmax again: the double softmax squashes every answer towards "
                   f"1/10.")


def verdict_reason_text(reason: NotADigit | None, prediction: int, blob: bool) -> str:
    """Why the verdict says what it says, in one caption: the score, its cut, its kind."""
    if blob:
        return ("The ink is a filled blob, not strokes: whatever the model answers, this is "
                "not a digit. Models still give every input some class.")
    if reason is None:
        return ""
    value = format_sigmoid(reason.logit).replace(" ", "\u00a0")  # "1 − 5e-05" never wraps
    score = f"P(not a digit) = {value}, cut {reason.threshold:.3f}"
    if reason.flagged:
        return (f"**Not a digit**, says {reason.kind}: {score}. The softmax still picks "
                f"**{prediction}**: ten outputs and no 'none of these', so it must.")
    return f"A digit, says {reason.kind}: {score}."


@functools.lru_cache(maxsize=32)
def _placeholder_json(usual: tuple[float, float], temperature: float, presenting: bool,
                      ovr: bool) -> dict[str, str]:
    """The charts of uniform logits, as JSON: built once per axis, T, mode and sigmoid kind.

    NB: `ovr` (the one-vs-rest model loads) gives the sigmoid chart the bars a drawing will
    have: the same frame, so the first stroke patches it too instead of redrawing it whole.
    """
    stroke = Stroke.uniform(temperature, list(usual), ovr)
    return {name: to_json(fig, presenting) for name, fig in panel_figures(stroke).items()}


def idle_charts(loaded: LoadedModel, temperature: float) -> None:
    """The live charts for a blank canvas: mounted, dimmed, under a note to draw.

    NB: the browser keeps the last charts it drew and only dims them; these uniform
    placeholders are drawn only on a page's first blank run, so the first stroke too
    updates plots that already exist instead of building them.
    """
    ovr = models.ovr_model() is not None
    usual = tuple(lab.usual_logit_range(loaded))
    placeholders = _placeholder_json(usual, temperature, live.presenting(), ovr)
    live.charts(Stroke.uniform(temperature, list(usual), ovr), placeholders,
                fitted_t=float(loaded.meta["temperature"]), fact="", argmax_constant=True,
                idle=True)
    heads_link()  # NB: also on a blank canvas: the page stays put, and no first-stroke fetch


def heads_link() -> None:
    """The link under the sigmoid chart to the page with every kind of output head."""
    st.page_link("ui/pages/heads_page.py", icon=":material/call_split:",
                 label="Softmax, sigmoid or regression? Every kind of output head on your "
                       "drawing, and two digits at once")


def live_charts(loaded: LoadedModel, stroke: Stroke, figures: dict) -> None:
    """The T control, the panel's charts (explorer.figures.explorer.PANEL), the exact values.

    NB: the table is read at call time, so a row added to it (or by a test) shows at once.

    NB: one browser component: T moves all of them while it is dragged (ui/live.py).
    """
    fact = argmax_fact(stroke.sweep)
    if stroke.sweep.argmax_constant:
        fact = f"{fact} — temperature changes confidence, never the prediction."
    live.charts(stroke, {chart.name: figures[chart_key(chart.name)] for chart in panel.PANEL},
                fitted_t=float(loaded.meta["temperature"]), fact=fact,
                argmax_constant=stroke.sweep.argmax_constant)
    heads_link()


def class_submit(image28: np.ndarray, canvas_rgba: np.ndarray | None) -> None:
    """In a class: "I drew a …", one tap on the digit submits this drawing (nothing before)."""
    code = classroom.joined()
    st.markdown(f"**Class `{code}`**: which digit did you draw? One tap submits it.")
    tapped = None
    for row in (range(5), range(5, 10)):  # two rows of five: a digit stays readable
        for digit, col in zip(row, st.columns(5, gap="small")):
            if col.button(str(digit), key=f"class_drew_{digit}", help=f"I drew a {digit}",
                          width="stretch"):
                tapped = digit
    if tapped is not None:
        if classroom.already_submitted(image28):
            st.info("This drawing is already in the class: clear and draw another.")
        else:
            classroom.submit(tapped, image28, canvas_rgba)
    problem = classroom.flush()
    pending = st.session_state.get(classroom.PENDING_KEY) or []
    if pending:
        st.warning(f"Not saved yet ({len(pending)} kept here, tried again on your next "
                   f"stroke): {problem}", icon=":material/cloud_off:")
    elif tapped is not None:
        st.success(f"Saved: your {tapped} is in the class.", icon=":material/check:")
