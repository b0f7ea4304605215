"""ARCHITECTURE.md's recipes, kept as tests: a live chart, a lab page (a model: test_roles.py).

Each adds the least the recipe says, and checks the app picks it up with no other edit.
"""
from __future__ import annotations

import json

import numpy as np

from tests.apptest import (
    app,
    assert_clean,
    canvas_from_digit,
    live_data,
    need_checkpoints,
    values,
)
from ui import navigation


def test_a_new_live_chart_is_one_figure_function_and_one_row(canvas, monkeypatch):
    """A row added to PANEL reaches the page and the browser (its figure, caption, grid row)."""
    from explorer.figures import explorer as panel
    from explorer.figures import outputs

    need_checkpoints("cnn")

    def tempered_logits_figure(logits, temperature):  # 1. a figure function
        return outputs.logits_figure(np.asarray(logits) / temperature, "Logits / T")

    toy = panel.LiveChart(  # 2. its row
        "tempered", lambda s: tempered_logits_figure(s.logits, s.temperature),
        "What softmax sees: the logits divided by T.", row=2)
    monkeypatch.setattr(panel, "PANEL", (*panel.PANEL, toy))
    canvas.image, _ = canvas_from_digit(4)
    at = app().run()
    assert_clean(at)
    charts = live_data(at, "charts")
    assert [row["name"] for row in charts["panel"]][-1] == "tempered"
    assert charts["panel"][-1]["caption"] == toy.caption and charts["panel"][-1]["row"] == 2
    drawn = json.loads(charts["figures"]["tempered"])
    np.testing.assert_allclose(values(drawn["data"][0]["y"]), charts["sources"]["logits"],
                               rtol=1e-5)  # at T = 1


TOY_PAGE = """import streamlit as st

from ui import models, widgets


@widgets.guarded
def main() -> None:
    st.header("Toy lab page")
    image28 = widgets.current_image_or_invite("toy_load_example")
    loaded = models.picked_model()
    if image28 is not None and loaded is not None:
        st.metric("Toy prediction", int(models.logits_for(loaded, image28).argmax()))


main()
"""


def test_a_new_lab_page_is_one_script_and_one_navigation_entry(canvas, monkeypatch, tmp_path):
    """The page runs in the app, with the shared drawing, model and example button."""
    need_checkpoints("cnn")
    script = tmp_path / "toy_page.py"  # 1. the page
    script.write_text(TOY_PAGE)
    spec = navigation.PageSpec(str(script), "Toy", ":material/toys:")  # 2. its entry
    monkeypatch.setattr(navigation, "PAGES", (*navigation.PAGES, spec))
    at = app().run()
    at.switch_page(str(script)).run()
    assert_clean(at)
    assert [h.value for h in at.header] == ["Toy lab page"]
    at.button(key="toy_load_example").click().run()
    assert_clean(at)
    assert [m.label for m in at.metric] == ["Toy prediction"]
