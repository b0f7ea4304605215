"""The class page's parts: the teacher's code, link and QR code, and the live class view."""
from __future__ import annotations

import io
import urllib.parse

import segno
import streamlit as st

from explorer.classroom.api import StoreError
from explorer.classroom.report import ClassReport, class_report
from explorer.figures.calibration import confusion_figure, reliability_figure
from explorer.model import registry
from ui import classroom, live, models, safe_text, state, widgets

REFRESH_S = 1.5  # the class view polls the store: a submission shows within 2 s
MODEL_KEY = "class_model"


def join_link(code: str) -> str:
    """The link students open to join: this app's address with ?class=CODE."""
    base = str(st.context.url or "").split("?")[0].rstrip("/")
    page = base.rsplit("/", 1)[0] if base.endswith("class_page") else base
    return f"{page}/?{urllib.parse.urlencode({'class': code})}"


def qr_png(text: str, scale: int) -> bytes:
    """A QR code of `text` as PNG (segno: pure Python, no network)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def invitation(code: str) -> None:
    """The code, the link and a QR code: large, for the back of a room."""
    link = join_link(code)
    big = live.presenting()
    left, right = st.columns([2, 1])
    size = "4.5rem" if big else "3rem"  # NB: the code is read from the back of the room
    left.html(f"<div style='font-size:1.2rem'>Class code</div><div style='font-size:{size};"
              f"font-weight:700;letter-spacing:0.15em;font-family:monospace'>{code}</div>")
    left.markdown(f"Students open {safe_text.literal(link, 80)} or scan the code, then draw "
                  "on the Explorer and tap the digit they drew. No names are stored.")
    right.image(qr_png(link, 12 if big else 6), caption="Scan to join")


def _metas(names) -> dict[str, dict]:
    """Each model's checkpoint meta (its MNIST test figures and fitted T), those that load."""
    found = {}
    for name in names:
        try:
            found[name] = models.get_model(name).meta
        except Exception:  # noqa: BLE001 - a missing checkpoint: that model is left out
            continue
    return found


@st.cache_data(show_spinner=False, max_entries=32, ttl=600)
def _report(code: str, version: tuple, model: str) -> tuple[ClassReport | None, dict]:
    """The class report as of `version` (latest id, count): a new or deleted drawing, a new
    report."""
    drawings = classroom.class_store().drawings(code)
    metas = _metas(registry.names())
    return class_report(drawings, model, metas), {d.id: d for d in drawings}


def live_view(code: str) -> None:
    """The class view, refreshed from the store every REFRESH_S seconds, with no reload."""
    names = registry.names()
    model = st.selectbox("Model", names, key=MODEL_KEY,
                         index=names.index(registry.the(registry.DEFAULT)))

    @st.fragment(run_every=REFRESH_S)
    def refresh() -> None:
        try:
            store = classroom.class_store()
            report, by_id = _report(code, (store.latest_id(code), store.count(code)), model)
        except StoreError as err:
            st.warning(f"The class store is not answering: {safe_text.explain(err)} The "
                       "view comes back when it does.", icon=":material/cloud_off:")
            return
        show(report, by_id, code)

    refresh()


def show(report: ClassReport | None, by_id: dict, code: str) -> None:
    """Numbers, the models side by side, confusion, reliability, the confident mistakes."""
    if report is None:
        st.metric("Drawings", 0)
        st.info("No drawings yet: they show here within two seconds of each submission.")
        return
    mine = next((m for m in report.models if m.name == report.model), None)
    if mine is None:
        st.warning(f"{safe_text.literal(report.model)} can't be loaded: pick another model.")
        return
    cols = st.columns(4)
    cols[0].metric("Drawings", report.n)
    cols[1].metric("Accuracy", f"{mine.accuracy:.1%}", delta=_vs(mine.accuracy,
                   mine.mnist_accuracy), help="on the class's drawings; delta: against MNIST test")
    cols[2].metric("ECE", f"{mine.ece:.1%}", delta=_vs(mine.ece, mine.mnist_ece),
                   delta_color="inverse", help="15 bins; delta: against MNIST test")
    cols[3].metric("Fitted T", "—" if mine.fitted_t is None else f"{mine.fitted_t:.2f}",
                   help=f"fitted on the class's drawings; on MNIST validation: "
                        f"{mine.mnist_t:.2f}" if mine.mnist_t else None)
    st.markdown(widgets.markdown_table([_row(m) for m in report.models]))
    left, right = st.columns(2)
    widgets.chart(confusion_figure(report.confusion, title=f"{report.model} on the class"),
                  "class_confusion", where=left)
    widgets.chart(reliability_figure(report.reliability, title="Reliability on the class"),
                  "class_reliability", where=right)
    mistakes(report, by_id, code)


def _vs(value: float, mnist: float | None) -> str | None:
    return None if mnist is None else f"{value - mnist:+.1%} vs MNIST"


def _row(m) -> dict:
    fitted = "—" if m.fitted_t is None else f"{m.fitted_t:.2f}"
    mnist = "—" if m.mnist_accuracy is None else f"{m.mnist_accuracy:.2%}"
    return {"model": m.name, "class accuracy": f"{m.accuracy:.1%}", "MNIST accuracy": mnist,
            "class ECE": f"{m.ece:.1%}", "T on the class": fitted,
            "T on MNIST": "—" if m.mnist_t is None else f"{m.mnist_t:.2f}"}


def mistakes(report: ClassReport, by_id: dict, code: str) -> None:
    """The class's most confident mistakes; each opens in the Explorer."""
    if not report.mistakes:
        st.caption("No mistakes yet.")
        return
    st.markdown("**Most confident mistakes** (a click opens one in the Explorer)")
    for start in range(0, len(report.mistakes), 6):
        for col, drawing_id in zip(st.columns(6), report.mistakes[start:start + 6]):
            drawing = by_id[drawing_id]
            col.image(widgets.thumbnail(drawing.image28), caption=f"drawn as {drawing.label}")
            if col.button("Explore", key=f"class_explore_{drawing_id}"):
                state.send_to_explorer(drawing.image28, drawing.label,
                                       f"class {code}, drawing {drawing_id}")
                st.switch_page(state.EXPLORER_PAGE)
