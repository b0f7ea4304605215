"""Robustness: shift, rotate, scale and re-ink the current digit and watch the prediction move.

The distortions act on the preprocessed 28×28 image (explorer.lab.robustness explains why).
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.base import two_line_title
from explorer.figures.images import image_figure
from explorer.figures.outputs import probs_figure
from explorer.figures.robustness import distortion_sweep_figure
from explorer.lab.robustness import SWEEP_PARAMS, sweep, transform
from explorer.maths.summary import format_top1
from explorer.model.checkpoints import LoadedModel
from ui import models, widgets

# param: (label, min, max, step, neutral). Each range holds its neutral value on the
# 41-point sweep grid, so the sweep passes exactly through the undistorted digit.
SLIDERS = {
    "shift_x": ("Shift x (pixels, + = right)", -10.0, 10.0, 0.5, 0.0),
    "shift_y": ("Shift y (pixels, + = down)", -10.0, 10.0, 0.5, 0.0),
    "rotate": ("Rotate (degrees, + = clockwise)", -180.0, 180.0, 5.0, 0.0),
    "scale": ("Scale (×, about the centre)", 0.4, 2.0, 0.05, 1.0),
    "thickness": ("Stroke thickness (3×3 dilations; − thins)", -1.0, 3.0, 0.25, 0.0),
}
NAMES = {"shift_x": "horizontal shift", "shift_y": "vertical shift", "rotate": "rotation",
         "scale": "scale", "thickness": "stroke thickness"}
assert set(SLIDERS) == set(SWEEP_PARAMS) == set(NAMES)
N_SWEEP = 41
SWEEP_KEY, RESET_KEY, LOAD_KEY = "robust_sweep_param", "robust_reset", "robust_load_example"
_MEMO_KEY = "_robust_sweep_memo"


def slider_key(param: str) -> str:
    return f"robust_{param}"


def _reset() -> None:
    for param, (*_, neutral) in SLIDERS.items():
        st.session_state[slider_key(param)] = neutral


def sliders() -> dict[str, float]:
    """The five distortion sliders and a reset button; returns {param: value}."""
    values = {}
    for param, (label, lo, hi, step, neutral) in SLIDERS.items():
        # Default via session state, not value=: _reset() writes these keys too.
        st.session_state.setdefault(slider_key(param), neutral)
        values[param] = float(st.slider(label, lo, hi, step=step, key=slider_key(param)))
    st.button("Reset all", key=RESET_KEY, on_click=_reset)
    return values


def distort(image28: np.ndarray, values: dict[str, float]) -> np.ndarray:
    return transform(image28, shift=(values["shift_x"], values["shift_y"]),
                     rotate=values["rotate"], scale=values["scale"],
                     thickness=values["thickness"])


def memo_sweep(loaded: LoadedModel, image28: np.ndarray, param: str):
    """sweep() over the parameter's whole range, memoised per session (sliders rerun the page)."""
    _, lo, hi, _, _ = SLIDERS[param]
    return models.session_memo(_MEMO_KEY, loaded, image28, (param,),
                               lambda: sweep(loaded, image28, param, np.linspace(lo, hi, N_SWEEP)),
                               max_entries=32)


def prediction(loaded: LoadedModel, image28: np.ndarray, moved: np.ndarray) -> None:
    """Prediction on the distorted image, its probabilities over the undistorted ones."""
    before = loaded.class_probs(models.logits_for(loaded, image28))  # (10,)
    after = loaded.class_probs(models.logits_for(loaded, moved))  # (10,)
    top = int(np.argmax(after))
    change = after[top] - before[top]
    # softmax(log p) = p: format_top1 then writes "1 − 2e-06" instead of rounding to 1.0000.
    top1 = lambda probs: format_top1(np.log(np.maximum(probs, 1e-300)), 1.0)  # noqa: E731
    with st.container(horizontal=True):
        st.metric("Prediction", top, border=True, width="content")
        st.metric("Top-1 probability", top1(after), border=True,
                  delta=None if np.array_equal(moved, image28) else f"{change:+.4f}",
                  delta_color="off")
    widgets.chart(probs_figure(after, two_line_title("Probabilities, distorted",
                                                     "grey bars: undistorted"), ghost=before),
                  "robust_probs")
    st.caption(f"Undistorted, the model says **{int(np.argmax(before))}** "
               f"(p = {top1(before)}); the change under top-1 compares class {top}'s "
               "probability with and without the distortion.")


def sweep_section(loaded: LoadedModel, image28: np.ndarray, values: dict[str, float]) -> None:
    st.subheader("Sweep one distortion")
    param = st.selectbox("Parameter", SWEEP_PARAMS, key=SWEEP_KEY,
                         format_func=lambda p: SLIDERS[p][0])
    xs, probs = memo_sweep(loaded, image28, param)  # (41,), (41, 10)
    label = NAMES[param]
    widgets.chart(distortion_sweep_figure(xs, probs, values[param], label), "robust_sweep")
    others = [NAMES[p] for p in SLIDERS if p != param and values[p] != SLIDERS[p][4]]
    note = (f" The sweep ignores the other sliders ({', '.join(others)}): it starts from the "
            "undistorted digit." if others else "")
    st.caption(f"Each class's probability at {N_SWEEP} values of the {label}, all other "
               f"distortions off; the dashed line is the slider's current value.{note}")


@widgets.guarded
def main() -> None:
    st.header("Robustness")
    loaded = models.picked_model()
    if loaded is None:
        return
    st.markdown(f"How far can the digit move before **{loaded.name}** changes its mind? "
                "The distortions are applied to the 28×28 image the model sees, after "
                "preprocessing (which would otherwise re-centre and re-size them away).")
    image28 = widgets.current_image_or_invite(LOAD_KEY)
    if image28 is None:
        return
    slider_col, image_col, pred_col = st.columns([1.1, 1, 1.2], gap="large")
    with slider_col:
        values = sliders()
    moved = distort(image28, values)  # (28, 28)
    with image_col:
        widgets.chart(image_figure(moved, "Distorted input (28×28)", 240), "robust_image",
                      width="content")
        widgets.chart(image_figure(image28, "Undistorted", 140), "robust_original", width="content")
    with pred_col:
        prediction(loaded, image28, moved)
    st.divider()
    sweep_section(loaded, image28, values)


main()
