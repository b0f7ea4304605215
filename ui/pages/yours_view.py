"""The "Your model" page's parts: the upload's handling, and the diagnosis as a report."""
from __future__ import annotations

import logging

import streamlit as st

from explorer.errors import ExplainedError
from explorer.inputs.data import load_test_float
from explorer.yours import formats, statedict
from explorer.yours.diagnose import Diagnosis, diagnose
from explorer.yours.opened import Opened, as_loaded, open_bytes, short_label
from ui import models, safe_text, state

log = logging.getLogger("digit_explorer")
PENDING_KEY = "_yours_pending"  # plain key: {"data", "name", "kind", "variants"} of an upload
ASKED_KEY = "_yours_asked"  # plain key: diagnose the pending file on this run
REPORT_KEY = "_yours_report"  # plain key: (file name, Diagnosis) of the last diagnosis
UPLOAD_KEY, VARIANT_KEY = "yours_upload", "yours_variant"
SEVERITY_BADGES = {"error": ("red", ":material/error:"),
                   "warning": ("orange", ":material/warning:"),
                   "info": ("blue", ":material/info:")}
SCALES = {"unit": "0–1 pixels", "mnist-normalised": "MNIST mean/std normalised",
          "minus-one-to-one": "−1…1", "0-255": "0–255"}


def forget() -> None:
    """Drop this session's model, its worker and its report (the Remove button, a new file)."""
    yours = models.your_model()
    if yours is not None:
        yours.opened.close()
        if st.session_state.get(state.MODEL_KEY) == yours.name:
            st.session_state[state.MODEL_KEY] = None  # the picker falls back to the default
    for key in (models.YOURS_KEY, PENDING_KEY, REPORT_KEY, ASKED_KEY):
        st.session_state[key] = None


def take_upload() -> None:
    """Uploader callback: identify the file (nothing in it runs); a state dict waits for its
    variant, anything else is diagnosed on this run (see diagnose_if_asked)."""
    uploaded = st.session_state.get(UPLOAD_KEY)
    forget()
    if uploaded is None:
        return
    data = uploaded.getvalue()
    try:
        kind = formats.readable_kind(data, uploaded.name)
        found = () if kind == "onnx" else tuple(_ranked(data, uploaded.name))
    except ExplainedError as err:
        st.session_state[REPORT_KEY] = (uploaded.name, safe_text.explain(err))
        return
    st.session_state[PENDING_KEY] = {"data": data, "name": uploaded.name, "kind": kind,
                                     "variants": found}
    st.session_state[ASKED_KEY] = kind == "onnx"


def _ranked(data: bytes, name: str) -> list[tuple]:
    """A state dict's variants, each with its quick accuracy on 500 test digits, best first."""
    tensors = formats.load_state_dict_tensors(data, name)
    images01, labels = load_test_float()
    return statedict.ranked(tensors, statedict.variants(tensors), images01[:500], labels[:500])


def ask() -> None:
    st.session_state[ASKED_KEY] = True


def diagnose_if_asked() -> None:
    """Diagnose the pending file when an upload or the Diagnose button asked, with a spinner."""
    if not st.session_state.get(ASKED_KEY):
        return
    st.session_state[ASKED_KEY] = False
    with st.spinner("Probing your model on the MNIST test digits and diagnosing it…"):
        run_diagnosis()


def run_diagnosis() -> None:
    """Open the pending file (its chosen variant), probe and diagnose it, keep what it is."""
    pending = st.session_state.get(PENDING_KEY)
    if not pending:
        return
    opened: Opened | None = None
    try:
        opened = open_bytes(pending["data"], pending["name"], st.session_state.get(VARIANT_KEY))
        diagnosis = diagnose(opened.run, input_rank=opened.input_rank)
    except ExplainedError as err:
        if opened is not None:
            opened.close()
        st.session_state[REPORT_KEY] = (pending["name"], safe_text.explain(err))
        return
    st.session_state[REPORT_KEY] = (pending["name"], diagnosis)
    try:
        st.session_state[models.YOURS_KEY] = as_loaded(opened, diagnosis)
    except ExplainedError as err:  # not a ten-way classifier: the report says what it is
        log.info("diagnosed %s, not ten-way: %s", pending["name"], err)
        opened.close()


def variant_picker(pending: dict) -> None:
    """For a state dict: which network it is (the file can't say), then Diagnose."""
    labels = {short_label(v): f"{v.label} ({accuracy:.0%} on 500 test digits)"
              for v, accuracy in pending["variants"]}
    st.radio("Which network is it? A state dict holds weights only: pick the activations "
             "and whether your forward() ends in nn.Softmax. Best guesses first.",
             list(labels), key=VARIANT_KEY, format_func=labels.get)
    st.button("Diagnose", key="yours_diagnose", on_click=ask, type="primary")


def report(name: str, diagnosis: Diagnosis) -> None:
    """The contract probing found, the test-set figures, then each finding with its fix."""
    contract = diagnosis.probe.contract
    st.subheader(f"What {safe_text.literal(name)} is")
    cols = st.columns(4)
    cols[0].metric("Input", f"{contract.layout}, {SCALES[contract.scale]}"
                   + (", inverted" if contract.inverted else ""))
    cols[1].metric("Outputs", diagnosis.probe.output_kind)
    cols[2].metric("Test accuracy", "—" if diagnosis.accuracy is None
                   else f"{diagnosis.accuracy:.2%}")
    cols[3].metric("ECE · fitted T", "—" if diagnosis.ece is None
                   else f"{diagnosis.ece:.2%} · {diagnosis.fitted_temperature:.3g}")
    order = list(contract.label_order)
    if order != sorted(order):
        st.caption(f"Output index k means digit {order}[k].")
    st.subheader("Findings" if diagnosis.findings else "No findings")
    for finding in diagnosis.findings:
        finding_block(finding)


def finding_block(finding) -> None:
    """One finding: its badge and id, what was found, the evidence, the fix."""
    colour, icon = SEVERITY_BADGES[finding.severity]
    with st.container(border=True):
        st.markdown(f":{colour}-badge[{icon} {finding.severity}] `{finding.id}`: "
                    f"{safe_text.escape_markdown(finding.title)}")
        st.markdown(f"**Fix:** {safe_text.escape_markdown(finding.fix)}")
        with st.expander("Evidence", expanded=False):
            st.json(finding.to_json()["evidence"])
