"""The Streamlit app end to end with AppTest: blank, drawings, examples, T, models, errors.

Predictions are checked with the shipped checkpoints (checkpoints/<name>/); tests that need
them skip, naming the train command, while a checkpoint is missing.
"""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from explorer.inputs.data import load_test_split
from explorer.inputs.preprocess import CANVAS_SIDE
from explorer.model import registry
from explorer.model.checkpoints import CHECKPOINT_DIR_ENV
from tests.apptest import (
    app,
    assert_clean,
    bar_y,
    canvas_dot,
    canvas_from_digit,
    chart_keys,
    chart_spec,
    live_data,
    metric,
    need_checkpoints,
    only_checkpoints,
    set_live_temperature,
    values,
    verdict,
)
from ui import models, safe_text, state

SIDE = CANVAS_SIDE


def test_blank_canvas_invites_drawing_and_shows_no_charts_of_noise(canvas):
    need_checkpoints("cnn")
    at = app().run()
    assert_clean(at)
    assert any("Draw a digit" in info.value for info in at.info)
    assert metric(at, "Prediction") is None
    assert live_data(at, "sees")["static"]
    assert not values(json.loads(live_data(at, "sees")["figure"])["data"][0]["z"]).any()
    # The charts stay mounted (a stroke then updates them in place), idle: dimmed under a
    # note, drawn from uniform logits only if the browser has drawn nothing yet.
    charts = live_data(at, "charts")
    assert charts["idle"] and charts["sources"]["logits"] == [0.0] * 10 and charts["fact"] == ""
    assert live_data(at, "readouts") is None
    call = canvas.calls[-1]
    assert call["return_image_data"] and call["update_streamlit"]
    assert (call["stroke_color"], call["background_color"]) == ("#FFFFFF", "#000000")
    assert (call["width"], call["height"], call["drawing_mode"]) == (SIDE, SIDE, "freedraw")
    # Each placeholder has the traces a drawing's chart will have (bars, lines): the first
    # stroke then patches every chart instead of redrawing one whole.
    canvas.image, _ = canvas_from_digit(3)
    drawn = live_data(at.run(), "charts")
    for name, spec in charts["figures"].items():
        traces = [t["type"] for t in json.loads(spec)["data"]]
        assert traces == [t["type"] for t in json.loads(drawn["figures"][name])["data"]], name


def test_explorer_page_is_reachable_with_switch_page(canvas):
    need_checkpoints("cnn")
    at = app().run()
    at.switch_page("ui/pages/explorer_page.py").run()
    assert_clean(at)
    assert any("Draw a digit" in info.value for info in at.info)


def test_the_model_card_lists_every_layer_and_the_total_in_a_light_table(canvas):
    need_checkpoints("cnn")
    at = app().run()
    table = next(md.value for md in at.markdown if md.value.startswith("| layer |"))
    assert "| `conv2` | Conv2d | (1, 64, 24, 24) | 18,496 |" in table
    assert table.endswith(f"| **total** | | | **{models.get_model('cnn').meta['params']:,}** |")
    assert not at.dataframe  # the data grid's JavaScript is not worth ten rows


@pytest.mark.parametrize("label", [0, 3, 7])
def test_drawn_digit_is_predicted_with_all_charts(canvas, label):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(label)
    at = app().run()
    assert_clean(at)
    assert metric(at, "Prediction") == str(label)
    assert verdict(at) == "confident"
    keys = chart_keys(at)
    assert {"explorer_model_sees", "explorer_logits_chart", "explorer_softmax_chart",
            "explorer_sigmoid_chart", "explorer_sweep_chart", "explorer_uncertainty_chart"} <= keys
    assert f"argmax is {label} at every T" in live_data(at, "charts")["fact"]
    assert at.session_state[state.CURRENT_IMAGE_KEY].shape == (28, 28)
    charts = live_data(at, "charts")  # the exact-values table is drawn from these logits
    logits = charts["sources"]["logits"]
    assert len(logits) == 10 and int(np.argmax(logits)) == label


def test_dot_is_not_called_a_confident_digit(canvas):
    need_checkpoints("cnn")
    canvas.image = canvas_dot()
    at = app().run()
    assert_clean(at)
    assert metric(at, "Prediction") is not None
    assert verdict(at) in ("uncertain", "probably not a digit")


def test_speck_gets_an_explanation_not_charts(canvas):
    need_checkpoints("cnn")
    canvas.image = canvas_dot(radius=1)
    at = app().run()
    assert_clean(at)
    assert any("too small" in info.value for info in at.info)
    assert metric(at, "Prediction") is None


def test_example_shows_true_label_until_the_user_draws_or_clears(canvas, monkeypatch):
    need_checkpoints("cnn")
    monkeypatch.setattr(state, "example_rng", lambda: np.random.default_rng(0))
    at = app().run()
    at.selectbox(key="explorer_example_class").set_value(7).run()
    at.button(key="explorer_load_example").click().run()
    assert_clean(at)
    assert metric(at, "True label") == "7"
    assert metric(at, "Prediction") == "7"
    keys_before = canvas.calls[-1]["key"]
    assert keys_before != canvas.calls[0]["key"]  # the canvas was cleared for the example
    at.run()
    assert metric(at, "True label") == "7"  # still shown on a plain rerun
    canvas.image, _ = canvas_from_digit(3)
    at.run()
    assert metric(at, "True label") is None and metric(at, "Prediction") == "3"
    assert at.session_state[state.EXAMPLE_KEY] is None
    canvas.image = None
    at.button(key="explorer_load_example").click().run()
    assert metric(at, "True label") == "7"
    before_clear = canvas.calls[-1]["initial_drawing"]
    at.button(key="explorer_clear_canvas").click().run()
    assert metric(at, "Prediction") is None
    # Emptied in place: the same key, a new initial drawing (a remount loses strokes).
    call = canvas.calls[-1]
    assert call["key"] == keys_before and call["initial_drawing"] != before_clear
    assert call["initial_drawing"]["objects"] == []


def test_image_sent_by_another_page_is_shown_as_example(canvas):
    need_checkpoints("cnn")
    images, labels = load_test_split()
    at = app()
    at.session_state[state.EXAMPLE_KEY] = images[0].astype(np.float32) / 255
    at.session_state[state.EXAMPLE_LABEL_KEY] = int(labels[0])
    at.run()
    assert_clean(at)
    assert metric(at, "True label") == str(labels[0]) == metric(at, "Prediction")


def test_temperature_changes_softmax_but_not_prediction(canvas):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(2)
    at = app().run()
    before = chart_spec(at, "explorer_softmax_chart")
    hot = 8.0
    set_live_temperature(at, hot)
    assert_clean(at)
    after = chart_spec(at, "explorer_softmax_chart")
    assert at.session_state[state.TEMPERATURE_KEY] == pytest.approx(hot)
    assert bar_y(after, 1).sum() == pytest.approx(1.0)
    assert bar_y(after, 1).max() < bar_y(before, 1).max()  # hotter: flatter
    np.testing.assert_array_equal(bar_y(before, 0), bar_y(after, 0))  # the T = 1 ghost
    assert metric(at, "Prediction") == "2"


def test_use_fitted_t_and_t_set_by_another_page(canvas):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(4)
    at = app()
    at.session_state[state.TEMPERATURE_KEY] = 3.0
    at.run()
    assert live_data(at, "charts")["temperature"] == 3.0  # the T control shows it
    assert live_data(at, "readouts")["temperature"] == 3.0
    title = chart_spec(at, "explorer_softmax_chart")["layout"]["title"]["text"]
    assert title.startswith("Softmax at T = 3<")
    fitted = models.get_model("cnn").meta["temperature"]
    assert live_data(at, "charts")["fitted_t"] == fitted  # its "Use fitted T" button's value
    set_live_temperature(at, fitted)  # what that button sends
    assert_clean(at)
    assert at.session_state[state.TEMPERATURE_KEY] == pytest.approx(fitted)


@pytest.mark.parametrize("name", ["mlp", "cnn", "mlp_softmax"])
def test_every_model_can_be_picked(canvas, name):
    need_checkpoints(name)
    canvas.image, _ = canvas_from_digit(1)
    at = app().run()
    at.selectbox(key=state.MODEL_KEY).set_value(name).run()
    assert_clean(at)
    assert metric(at, "Prediction") is not None
    exhibit = any("already outputs probabilities" in w.value for w in at.warning)
    assert exhibit == (name == "mlp_softmax")
    assert any(f"**{name}**" in md.value for md in at.markdown)


def test_missing_checkpoint_is_an_error_message_and_other_models_work(canvas, monkeypatch,
                                                                      tmp_path):
    only_checkpoints(monkeypatch, tmp_path, "mlp")
    canvas.image, _ = canvas_from_digit(5)
    at = app().run()
    assert not at.exception
    assert any("scripts/train.py" in e.value for e in at.error)
    at.selectbox(key=state.MODEL_KEY).set_value("mlp").run()
    assert_clean(at)
    assert metric(at, "Prediction") is not None


def test_sigmoid_chart_reads_the_one_vs_rest_model_not_softmax_logits(canvas):
    need_checkpoints("cnn", "cnn_ovr")
    canvas.image, _ = canvas_from_digit(4)
    at = app().run()
    charts = live_data(at, "charts")
    spec = chart_spec(at, "explorer_sigmoid_chart")
    expected = 1 / (1 + np.exp(-np.asarray(charts["sources"]["ovr_logits"], np.float64)))
    np.testing.assert_allclose(values(spec["data"][0]["y"]), expected, rtol=1e-6)
    ovr = models.logits_for(models.get_model(registry.the(registry.ONE_VS_REST)),
                            at.session_state[state.CURRENT_IMAGE_KEY])
    np.testing.assert_allclose(charts["sources"]["ovr_logits"], ovr, rtol=1e-6)
    own = 1 / (1 + np.exp(-np.asarray(charts["sources"]["logits"], np.float64)))
    assert not np.allclose(values(spec["data"][0]["y"]), own, atol=0.05)  # not the cnn's
    assert "One-vs-rest" in spec["layout"]["title"]["text"]
    assert any(link.label.startswith("Softmax, sigmoid or regression?")
               for link in at.get("page_link"))


def test_without_the_one_vs_rest_model_no_sigmoid_bars_are_shown(canvas, monkeypatch,
                                                                tmp_path):
    only_checkpoints(monkeypatch, tmp_path, "cnn")
    canvas.image, _ = canvas_from_digit(4)
    at = app().run()
    assert_clean(at)
    spec = chart_spec(at, "explorer_sigmoid_chart")
    assert spec["data"] == [] and live_data(at, "charts")["sources"]["ovr_logits"] is None
    assert "mean nothing" in spec["layout"]["annotations"][0]["text"]


def test_corrupt_checkpoint_is_an_error_message(canvas, monkeypatch, tmp_path):
    only_checkpoints(monkeypatch, tmp_path, "cnn")
    weights = tmp_path / "cnn" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    at = app().run()
    assert not at.exception
    assert any("model.safetensors" in e.value for e in at.error)


def test_an_error_in_the_charts_is_a_message_not_a_traceback(canvas, monkeypatch):
    need_checkpoints("cnn")
    from explorer.figures import outputs  # explorer_figures looks it up there at call time

    def boom(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(outputs, "softmax_figure", boom)
    canvas.image, _ = canvas_from_digit(6)
    at = app().run()
    assert not at.exception
    # The exception's own text stays in the server log (tests/test_page_errors.py).
    assert any("Something went wrong" in e.value and "boom" not in e.value for e in at.error)


def test_real_canvas_component_with_injected_drawing(monkeypatch):
    """The real st_canvas, fed a drawing through its session state like the browser does."""
    need_checkpoints("cnn")
    monkeypatch.delenv(CHECKPOINT_DIR_ENV, raising=False)
    rgba, _ = canvas_from_digit(8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    at = app()
    at.session_state["explorer_canvas_0"] = {"drawing": {"raw": {"objects": []}, "data": url},
                                    "backgroundFit": None}
    at.run()
    assert_clean(at)
    assert metric(at, "Prediction") == "8"


def test_naive_resize_comparison_survives_a_blank_canvas(canvas):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(9)
    at = app().run()
    assert "explorer_naive_sees" not in chart_keys(at)
    at.toggle(key="explorer_show_naive").set_value(True).run()
    assert_clean(at)
    assert "explorer_naive_sees" in chart_keys(at)
    assert any("Squashing all" in c.value for c in at.caption)
    canvas.image = None
    at.run()  # blank: the toggle is not rendered, Streamlit drops its widget state
    canvas.image, _ = canvas_from_digit(9)
    at.run()
    assert at.toggle(key="explorer_show_naive").value
    assert "explorer_naive_sees" in chart_keys(at)


def test_temperature_survives_runs_without_the_slider(canvas):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(2)
    at = app().run()
    cold = 0.15
    set_live_temperature(at, cold)
    canvas.image = None
    at.run()  # blank canvas: the T control stays mounted, idle, at the same T
    assert live_data(at, "charts")["idle"]
    assert live_data(at, "charts")["temperature"] == pytest.approx(cold)
    canvas.image, _ = canvas_from_digit(2)
    at.run()
    assert at.session_state[state.TEMPERATURE_KEY] == pytest.approx(cold)
    assert live_data(at, "charts")["temperature"] == pytest.approx(cold)


# --- bad input, each case named ----------------------------------------------------------

def _file(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_upload_of_a_digit_photo_is_predicted(canvas):
    need_checkpoints("cnn")
    images, labels = load_test_split()
    index = int(np.flatnonzero(labels == 3)[0])
    paper = Image.fromarray(255 - images[index]).resize((400, 400)).convert("RGB")  # dark on light
    at = app().run()
    at.file_uploader(key="explorer_upload_image").upload("three.jpg", _file(paper, "JPEG"),
                                                 "image/jpeg").run()
    assert_clean(at)
    assert metric(at, "Prediction") == "3"
    assert at.session_state[state.EXAMPLE_SOURCE_KEY] == "upload `three.jpg`"


@pytest.mark.parametrize("name,data,reason", [
    ("notes.png", b"not an image at all", "not an image"),
    ("blank.png", None, "No ink"),
])
def test_bad_upload_is_a_warning_and_loses_nothing(canvas, name, data, reason):
    need_checkpoints("cnn")
    data = data if data is not None else _file(Image.new("RGB", (200, 200), "white"))
    at = app().run()
    at.button(key="explorer_load_example").click().run()
    shown = metric(at, "Prediction")
    example = at.session_state[state.EXAMPLE_KEY].copy()
    at.file_uploader(key="explorer_upload_image").upload(name, data, "image/png").run()
    assert not at.exception
    as_code = safe_text.literal(name)  # markdown source: the page shows the name as code
    assert any(reason in w.value and as_code in w.value for w in at.warning)
    assert metric(at, "Prediction") == shown  # the example on screen is still there
    np.testing.assert_array_equal(at.session_state[state.EXAMPLE_KEY], example)


@pytest.mark.parametrize("t_index", [0, -1])  # T = 0.05 and T = 20, the slider's ends
def test_extreme_temperature_keeps_every_number_finite(canvas, t_index):
    need_checkpoints("cnn")
    canvas.image, _ = canvas_from_digit(4)
    at = app().run()
    set_live_temperature(at, (0.05, 20.0)[t_index])
    assert_clean(at)
    assert metric(at, "Prediction") == "4"
    for key in ("explorer_logits_chart", "explorer_softmax_chart", "explorer_sigmoid_chart"):
        for trace in range(len(chart_spec(at, key)["data"])):
            assert np.isfinite(bar_y(chart_spec(at, key), trace)).all(), key
    softmax = bar_y(chart_spec(at, "explorer_softmax_chart"), 1)
    assert softmax.sum() == pytest.approx(1.0)


def test_white_background_canvas_is_predicted(canvas):
    need_checkpoints("cnn")
    rgba, _ = canvas_from_digit(6)
    grey = 255 - rgba[..., 0]  # black ink on white
    canvas.image = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    at = app().run()
    assert_clean(at)
    assert metric(at, "Prediction") == "6"


def test_canvas_of_another_size_is_refused_and_loses_nothing(canvas):
    """The page asked for 280×280: any other size is refused before preprocessing."""
    need_checkpoints("cnn")
    at = app().run()
    at.button(key="explorer_load_example").click().run()
    shown = metric(at, "Prediction")
    rgba, _ = canvas_from_digit(6)
    canvas.image = np.zeros((400, 640, 4), np.uint8)
    canvas.image[60:340, 40:320] = rgba
    at.run()
    assert not at.exception
    assert any("400, 640" in w.value and "280×280" in w.value for w in at.warning)
    assert metric(at, "Prediction") == shown  # the example on screen is still there


def _png_data_url(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(_file(image)).decode()


def test_forged_canvas_size_is_rejected_before_decoding(monkeypatch):
    """A 9000×9000 PNG forged into the real canvas component's value is never decoded."""
    need_checkpoints("cnn")
    monkeypatch.delenv(CHECKPOINT_DIR_ENV, raising=False)
    forged = _png_data_url(Image.new("1", (9000, 9000), 1))  # ~40 kB, 81 Mpx
    at = app().run()  # a blank canvas first: the component can only be imported in a run
    from streamlit_drawable_canvas import CanvasResult

    decoded, original = [], CanvasResult.image_data.fget
    monkeypatch.setattr(CanvasResult, "image_data",
                        property(lambda self: decoded.append(self._image_data_url)
                                 or original(self)))
    at.session_state["explorer_canvas_0"] = {"drawing": {"raw": {"objects": []}, "data": forged},
                                    "backgroundFit": None}
    at.run()
    assert not at.exception
    assert any("9000×9000" in w.value for w in at.warning)
    assert metric(at, "Prediction") is None
    assert forged not in decoded  # sized from its header, never decoded


def test_huge_filled_blob_is_probably_not_a_digit(canvas):
    need_checkpoints("cnn")
    canvas.image = canvas_dot(radius=130)
    at = app().run()
    assert_clean(at)
    assert verdict(at) == "probably not a digit"
