"""The debugging checklist with AppTest: every symptom opens, live on the drawing and test set."""
from __future__ import annotations

from tests.apptest import (
    assert_clean,
    blank_canvas,
    chart_keys,
    install_canvas,
    metric,
    mnist_digit,
    need_checkpoints,
    open_page,
)

PAGE = "ui/pages/checklist_page.py"
SYMPTOMS = ("Confident and wrong", "Always unsure", "Loss not going down",
            "Multi-label broken", "Shifted input")


def test_every_symptom_has_its_exhibit_check_fix_and_link(monkeypatch):
    install_canvas(monkeypatch, blank_canvas)
    need_checkpoints("cnn", "mlp", "mlp_softmax", "cnn_multilabel", "cnn_pair_softmax")
    at = open_page(PAGE, image28=mnist_digit(3))
    assert_clean(at)
    assert [e.label for e in at.expander] == list(SYMPTOMS)
    text = " ".join(md.value for md in at.markdown)
    assert text.count("**Confirm:**") == 5 and "**Fix:**" in text
    assert "checklist_history" in chart_keys(at)
    assert float(metric(at, "an always-unsure model: mean top-1")) < 0.24
    assert metric(at, "your drawing, centred like MNIST").startswith("3")
    assert len(at.get("page_link")) >= 5


def test_without_a_drawing_the_symptoms_still_open(monkeypatch):
    install_canvas(monkeypatch, blank_canvas)
    need_checkpoints("cnn", "mlp", "mlp_softmax")
    at = open_page(PAGE)
    assert not at.exception
    assert any("Draw a digit on the Explorer" in c.value for c in at.caption)
