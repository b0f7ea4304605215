"""The heads page's pieces: each head's outputs, what to read in them, the wide canvas."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.errors import ExplainedError
from explorer.inputs.data import load_test_split
from explorer.inputs.preprocess import png_data_url_size
from explorer.maths.confidence import sigmoid, softmax
from explorer.model import registry
from explorer.model.checkpoints import CheckpointError
from explorer.model.heads import EMPTY, TASKS, example_pair, two_digit_image
from explorer.model.inference import model_outputs
from ui import models, safe_text, widgets

PAIR_W, PAIR_H = 560, 280  # the wide canvas: two 280×280 halves
PAIR_COUNTER, PAIR_EXAMPLE = "heads_pair_counter", "_heads_pair_example"
PAIR_REFUSED = "_heads_pair_refused"
_MEMO = "_heads_outputs"

USES = {
    "softmax": ("**Use it when** exactly one of several classes is true: this digit is one "
                "of 0-9. The bars always sum to 1.",
                "**The bug it invites:** softmax for multi-label. Two digits must share one "
                "unit of probability, so neither can be a clear yes (below)."),
    "one-vs-rest": ("**Use it when** each class is its own yes/no question: multi-label, or "
                    "a built-in \"none of these\" when every bar is low.",
                    "**The bug it invites:** reading the sigmoids as a distribution. Their "
                    "sum is free; and sigmoids of a *softmax* model's logits mean nothing."),
    "regress": ("**Use it when** the answer is an amount on a line: an age, a price, a "
                "rotation angle.",
                "**The bug it invites:** regression for categories. Digits are names, not "
                "amounts: a drawing between 1 and 7 is called 4, which nobody drew."),
    "binary": ("**Use it when** there is one yes/no question. One logit and a sigmoid, or two "
               "logits and a softmax: the same family, as the identity shows.",
               "**The bug it invites:** none between these two; the trap is the ten-class "
               "case, where softmax and per-class sigmoids answer different questions."),
}


def outputs(name: str, image) -> np.ndarray:
    """A head's raw outputs for one (28, width) image (its task's width), memoised per session."""
    loaded = models.get_model(name)
    width = TASKS[loaded.arch.task].width
    image = np.ascontiguousarray(image, dtype=np.float32)
    return models.session_memo(_MEMO, loaded, image, (width,), lambda: model_outputs(
        loaded.model, image[None], loaded.device, width)[0])


def panel(draw, image28) -> None:
    """One head's panel; a missing checkpoint or role costs this panel only, with the fix."""
    try:
        draw(image28)
    except ExplainedError as err:
        st.warning(safe_text.explain(err), icon=":material/report:")


def uses(kind: str) -> None:
    when, bug = USES[kind]
    st.markdown(f"{when}  \n{bug}")


def ovr_reading(probs) -> str:
    above = [k for k, p in enumerate(probs) if p > 0.5]
    if not above:
        return (f"**None of the ten is above 0.5** (highest {max(probs):.3f}): the model's "
                "own \"none of these\". Σ = {:.3f}: nothing forces 1.".format(sum(probs)))
    return (f"Above 0.5: **{', '.join(map(str, above))}**. Σ = {sum(probs):.3f}: each "
            "sigmoid answers alone, so the sum is whatever it is.")


def binary_identity(z: float, z0: float, z1: float) -> str:
    """Both binary heads' p(7), each shown equal to the other form, numerically."""
    p = float(sigmoid([z])[0])
    return (f"1 logit: sigmoid({z:.3f}) = **{p:.6g}** = softmax([0, {z:.3f}])[1] = "
            f"{float(softmax([0.0, z])[1]):.6g}  \n"
            f"2 logits: softmax([{z0:.3f}, {z1:.3f}])[1] = "
            f"**{float(softmax([z0, z1])[1]):.6g}** = sigmoid({z1:.3f} − {z0:.3f}) = "
            f"{float(sigmoid([z1 - z0])[0]):.6g}")


def multilabel_reading(probs) -> str:
    found = [k for k, p in enumerate(probs) if p > 0.5]
    if not found:
        return "No digit above 0.5: the model sees none it knows."
    return f"Above 0.5: **{', '.join(map(str, found))}**, each a yes of its own."


def pair_softmax_reading(probs) -> str:
    top = np.argsort(probs)[::-1][:2]
    return (f"Top two: **{top[0]}** ({probs[top[0]]:.3f}) and **{top[1]}** "
            f"({probs[top[1]]:.3f}). Two digits share one unit, so at best about 0.5 each: "
            "neither is a clear yes, and one digit alone looks the same as a pair.")


def _load_pair(kind: str) -> None:
    images, labels = load_test_split()
    st.session_state[PAIR_EXAMPLE] = example_pair(images, labels, kind, np.random.default_rng())
    st.session_state[PAIR_COUNTER] = st.session_state.get(PAIR_COUNTER, 0) + 1  # blank canvas


def _canvas_key() -> str:
    """The wide canvas's key; a value that is not 560×280 (a forged one) gets a fresh key.

    NB: checked from the PNG header before the component decodes it (see ui/canvas.py).
    """
    key = f"heads_pair_canvas_{st.session_state.get(PAIR_COUNTER, 0)}"
    try:
        url = st.session_state[key]["drawing"]["data"]
    except (KeyError, TypeError):
        return key
    if url is not None and png_data_url_size(url) != (PAIR_W, PAIR_H):
        st.session_state[PAIR_REFUSED] = "The wide canvas sent an image of the wrong size; " \
            "it was ignored and the canvas was reset."
        st.session_state[PAIR_COUNTER] = st.session_state.get(PAIR_COUNTER, 0) + 1
        key = f"heads_pair_canvas_{st.session_state[PAIR_COUNTER]}"
    return key


def two_digit_input() -> tuple[np.ndarray | None, str]:
    """The wide canvas and the pair buttons; (the (28, 56) input or None, where it came from)."""
    from streamlit_drawable_canvas import st_canvas  # by name at run time: tests patch it

    result = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000",
                       update_streamlit=True, height=PAIR_H, width=PAIR_W,
                       drawing_mode="freedraw", return_image_data=True, key=_canvas_key())
    if st.session_state.get(PAIR_REFUSED):
        st.warning(st.session_state.pop(PAIR_REFUSED), icon=":material/gpp_bad:")
    buttons = st.columns(3)
    for column, kind in zip(buttons, ("two different", "same digit twice", "one digit")):
        column.button(f"Load: {kind}", key=f"heads_load_{kind.replace(' ', '_')}",
                      on_click=_load_pair, args=(kind,), width="stretch")
    canvas = result.image_data
    if canvas is not None and np.shape(canvas)[:2] == (PAIR_H, PAIR_W):
        image = two_digit_image(canvas)
        if image is not None:
            st.session_state[PAIR_EXAMPLE] = None
            return image, "your drawing, each half like MNIST"
    example = st.session_state.get(PAIR_EXAMPLE)
    if example is not None:
        image, (left, right) = example
        shown = f"{left} and {right}" if right != EMPTY else f"{left} alone"
        return image, f"MNIST test digits: {shown}"
    return None, ""


SHOWN = ("ece_fitted_t", "ece_per_class", "none_above_half", "mae", "two different",
         "same digit twice", "one digit")  # figures_table's "more" column


def figures_row(role: registry.Role) -> dict:
    """The figures_table row of the model with this role, or why it has no figures."""
    try:
        name = registry.the(role)
    except registry.RoleError:
        return {"model": "(none)", "task": role.task, "accuracy": "", "more": ""}
    try:
        meta = models.get_model(name).meta
    except CheckpointError:
        return {"model": name, "task": "(not trained)", "accuracy": "", "more": ""}
    test = meta["metrics"]["test"]
    more = {k: v for k, v in {**test, **test.get("by_kind", {})}.items()
            if k in SHOWN and isinstance(v, (int, float))}
    return {"model": name, "task": meta.get("task", "classify"),
            "accuracy": f"{test['accuracy']:.2%}",
            "more": ", ".join(f"{k} {v:.3g}" for k, v in more.items())}


def figures_table() -> None:
    """Each head's test-set figures, from its checkpoint's metadata."""
    st.subheader("How well each head does its own job (MNIST test set)")
    rows = [figures_row(role) for role in registry.HEADS]
    st.markdown(widgets.markdown_table(rows))
    st.caption("Two-digit models: accuracy is the exact set (every digit found, nothing "
               "extra) for the sigmoid model, and top-k (k = the number of different digits) "
               "for the softmax model, on 10,000 held-out composites of MNIST test digits.")
