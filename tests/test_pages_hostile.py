"""Hostile or unlucky input through the whole app (AppTest): each case named after its defect."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.apptest import (
    app,
    assert_clean,
    canvas_from_digit,
    live_data,
    metric,
    need_checkpoints,
    only_checkpoints,
)
from tests.markdown import outside_code_spans
from ui import live, state
from ui.safe_text import SHOWN_CHARS

DRAWING_JSON = {"objects": [{"type": "path", "path": [["M", 100, 50], ["L", 100, 230]]}]}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_drawing_survives_a_page_change(canvas):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(7)
    canvas.json = DRAWING_JSON
    at = app().run()
    assert metric(at, "Prediction") == "7"
    first_key = canvas.calls[-1]["key"]
    at.switch_page("ui/pages/calibration_page.py").run()
    assert_clean(at)
    assert any("Your drawing" in md.value for md in at.markdown)
    # A remounted real canvas shows its initial drawing but sends nothing until a stroke.
    canvas.image = canvas.json = None
    at.switch_page("ui/pages/explorer_page.py").run()
    assert_clean(at)
    call = canvas.calls[-1]
    assert call["key"] != first_key and call["initial_drawing"] == DRAWING_JSON
    assert metric(at, "Prediction") == "7"
    assert at.session_state[state.CURRENT_IMAGE_KEY] is not None
    at.run()  # later runs keep the same canvas: no remount on every rerun
    assert canvas.calls[-1]["key"] == call["key"] and metric(at, "Prediction") == "7"
    at.button(key="explorer_clear_canvas").click().run()
    call = canvas.calls[-1]
    assert metric(at, "Prediction") is None and call["initial_drawing"]["objects"] == []


def test_markdown_file_name_is_shown_literally(canvas):
    need_checkpoints("cnn")
    name = "![x](http://127.0.0.1:9/beacon.png) :red[boom].png"
    at = app().run()
    at.file_uploader(key="explorer_upload_image").upload(name, b"not an image", "image/png").run()
    assert not at.exception
    (warning,) = at.warning
    markup = outside_code_spans(warning.value)
    assert "](http" not in markup and ":red[" not in markup and "http" not in markup
    assert f"`{name[:SHOWN_CHARS]}`" in warning.value  # a cut prefix, in a code span
    digit = Image.fromarray(255 - canvas_from_digit(3)[0][..., 0])
    at.file_uploader(key="explorer_upload_image").upload(name, _png(digit), "image/png").run()
    assert_clean(at)
    shown = [c.value for c in at.caption if "Showing an example" in c.value]
    assert shown and "http" not in outside_code_spans(shown[0])


def _break(folder, field: str, value) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    keys = field.split(".")
    target = meta
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    (folder / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("field,value", [("config.hidden", -5), ("arch", ["cnn"])])
def test_bad_default_model_leaves_the_other_models_usable(canvas, monkeypatch, tmp_path,
                                                          field, value):
    only_checkpoints(monkeypatch, tmp_path, "cnn", "mlp")
    _break(tmp_path / "cnn", field, value)
    canvas.image, _ = canvas_from_digit(5)
    at = app().run()
    assert not at.exception
    (error,) = at.error
    assert field.split(".")[0] in error.value and "cnn" in error.value
    assert str(tmp_path) not in error.value  # no server path in the page
    assert at.sidebar.selectbox(key=state.MODEL_KEY).options  # the picker is there
    at.selectbox(key=state.MODEL_KEY).set_value("mlp").run()
    assert_clean(at)
    assert metric(at, "Prediction") is not None


def test_non_finite_image_is_an_error_not_a_prediction(canvas):
    need_checkpoints("cnn")
    at = app()
    image = np.zeros((28, 28), np.float32)
    image[10:20, 12:16] = np.nan
    at.session_state[state.EXAMPLE_KEY] = image
    at.run()
    assert not at.exception
    assert any("NaN or inf" in e.value for e in at.error)
    assert metric(at, "Prediction") is None


def test_no_traceback_reaches_the_browser():
    config = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
    text = config.read_text()
    assert 'showErrorDetails = "none"' in text


@pytest.mark.parametrize("sent,expected", [
    (float("nan"), 2.5), ("nan", 2.5), (float("inf"), 2.5), ("-inf", 2.5), ("abc", 2.5),
    (None, 2.5), ([3], 2.5), (1e9, 20.0), (-3, 0.05), (0, 0.05), ("7.5", 7.5),
])
def test_a_temperature_from_the_browser_is_checked_and_clipped(canvas, sent, expected):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(3)
    at = app().run()
    state_key = live.KEYS["charts"]
    at.session_state[state_key] = {"temperature": {"t": 2.5, "n": "first"}}
    at.run()
    assert at.session_state[state.TEMPERATURE_KEY] == 2.5
    at.session_state[state_key] = {"temperature": {"t": sent, "n": "forged"}}
    at.run()
    assert_clean(at)
    assert at.session_state[state.TEMPERATURE_KEY] == pytest.approx(expected)
    assert live_data(at, "charts")["temperature"] == pytest.approx(expected)


def test_the_same_temperature_message_is_applied_once(canvas):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(3)
    at = app().run()
    at.session_state[live.KEYS["charts"]] = {"temperature": {"t": 4.0, "n": "once"}}
    at.run()
    at.session_state[state.TEMPERATURE_KEY] = 1.5
    at.run()  # the component's old message is still in its state: it must not win again
    assert at.session_state[state.TEMPERATURE_KEY] == 1.5
