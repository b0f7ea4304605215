"""Your model: bring an MNIST classifier, see what its outputs really are and what is wrong.

The file is never run as code: ONNX runs in a worker process with memory and time limits, a
state dict's weights go into this app's own networks. Diagnosed, a ten-way classifier joins
this session's picker and every page where it applies; no other session sees it.
"""
from __future__ import annotations

import streamlit as st

from explorer.yours.formats import MAX_MODEL_BYTES
from explorer.yours.sandbox import GIB
from ui import models, state, widgets
from ui.pages import yours_view as view


def use_in_the_explorer() -> None:
    st.session_state[state.MODEL_KEY] = models.your_model().name


@widgets.guarded
def main() -> None:
    st.header("Your model")
    st.markdown(
        "Upload your own MNIST classifier: **ONNX** (any architecture), or a PyTorch state "
        "dict (`.pt`, `.pth`) or `.safetensors` whose layers fit a stack of Linear layers or "
        "the shipped cnn. The app works out how to feed it and what its outputs are, then "
        "diagnoses it on the 10,000 MNIST test digits. Nothing in the file runs as code: ONNX "
        f"runs in a worker process limited to {GIB // 2**20:,} MB and 10 s a call; a state "
        "dict's weights go into this app's own layers. Your model stays in this browser "
        "session only.")
    st.file_uploader(f"Model file (at most {MAX_MODEL_BYTES // 2**20} MB)",
                     type=["onnx", "pt", "pth", "safetensors", "bin"], key=view.UPLOAD_KEY,
                     on_change=view.take_upload)
    pending = st.session_state.get(view.PENDING_KEY)
    if pending and pending["variants"]:
        view.variant_picker(pending)
    view.diagnose_if_asked()
    shown = st.session_state.get(view.REPORT_KEY)
    if shown is None:
        st.caption("Export from PyTorch: torch.onnx.export(model, torch.zeros(1, 1, 28, 28), "
                   "\"model.onnx\", input_names=[\"x\"], output_names=[\"y\"], dynamic_axes="
                   "{\"x\": {0: \"n\"}, \"y\": {0: \"n\"}}, dynamo=False); or "
                   "torch.save(model.state_dict(), \"model.pth\"). The same diagnosis from a "
                   "shell: python scripts/diagnose.py model.onnx --json")
        return
    name, diagnosis = shown
    if isinstance(diagnosis, str):  # the file could not be used: why, and the fix
        st.error(diagnosis, icon=":material/block:")
        return
    if models.your_model() is not None:
        left, right = st.columns(2)
        if left.button("Draw on it in the Explorer", key="yours_use", type="primary",
                       on_click=use_in_the_explorer):
            st.switch_page(state.EXPLORER_PAGE)
        right.button("Remove my model", key="yours_remove", on_click=view.forget)
    view.report(name, diagnosis)


main()
