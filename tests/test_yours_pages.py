"""Your model in the app: upload, diagnosis on top, then one of this session's models."""
from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from explorer import load_model
from tests.apptest import (
    app,
    assert_clean,
    canvas_from_digit,
    metric,
    need_checkpoints,
    open_page,
)
from tests.markdown import outside_code_spans
from tests.test_yours_statedict import NeuralNetwork
from ui import models, state

PAGE = "ui/pages/yours_page.py"


def onnx_bytes(module: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.onnx.export(module.eval(), torch.zeros(1, 1, 28, 28), buffer, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                      dynamo=False)
    return buffer.getvalue()


class Inverted(nn.Module):
    """A model that wants black ink on white paper and ends in a softmax: two findings."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.softmax(self.inner(1 - x), 1)


@pytest.fixture(scope="module")
def inverted_onnx() -> bytes:
    need_checkpoints("mlp")
    return onnx_bytes(Inverted(load_model("mlp", device="cpu").model))


def upload(at, name: str, data: bytes):
    at.file_uploader(key="yours_upload").upload(name, data, "application/octet-stream")
    return at.run()


def test_an_onnx_upload_is_diagnosed_and_joins_this_sessions_pages(canvas, inverted_onnx):
    at = upload(open_page(PAGE), "my ![x](http://127.0.0.1:9/t) net.onnx", inverted_onnx)
    assert_clean(at)
    findings = [m.value for m in at.markdown if "`softmax-output`" in m.value
                or "`input-scale`" in m.value]
    assert len(findings) == 2, [m.value for m in at.markdown]
    assert all("http" not in outside_code_spans(m.value) for m in at.markdown)
    assert metric(at, "Input") == "nchw, 0–1 pixels, inverted"
    yours = at.session_state[models.YOURS_KEY]
    assert yours.name.startswith("yours: my") and yours.diagnosis.accuracy > 0.95
    at.button(key="yours_use").click().run()
    canvas.image, _ = canvas_from_digit(3, 1)  # NB: the mlp reads the first 3 as an 8
    at.switch_page("ui/pages/explorer_page.py").run()
    assert_clean(at)
    assert at.session_state[state.MODEL_KEY] == yours.name
    assert metric(at, "Prediction") == "3"
    assert any("softmax-output" in e.value for e in [*at.warning, *at.error, *at.info])
    for page in ("calibration", "gallery", "compare", "sets", "robustness", "checklist"):
        at.switch_page(f"ui/pages/{page}_page.py").run()
        assert_clean(at)
    at.switch_page("ui/pages/saliency_page.py").run()
    assert_clean(at)
    assert any("Your model isn't on this page" in i.value for i in at.info)


def test_another_session_never_sees_it(canvas, inverted_onnx):
    first = upload(open_page(PAGE), "mine.onnx", inverted_onnx)
    assert first.session_state[models.YOURS_KEY] is not None
    second = app().run()
    assert_clean(second)
    assert all(not name.startswith("yours") for name in
               second.selectbox(key=state.MODEL_KEY).options)


def tutorial_state_dict() -> bytes:
    """The tutorial MLP's state dict saved as its tutorial saves it (weights: the shipped
    mlp's, which share its shapes and want MNIST-normalised inputs)."""
    need_checkpoints("mlp")
    tutorial = NeuralNetwork()
    weights = [t for t in load_model("mlp", device="cpu").model.state_dict().values()]
    tutorial.load_state_dict(dict(zip(tutorial.state_dict(), weights)))
    buffer = io.BytesIO()
    torch.save(tutorial.state_dict(), buffer)
    return buffer.getvalue()


def test_the_tutorial_state_dict_asks_its_variant_then_finds_its_softmax(canvas):
    at = upload(open_page(PAGE), "model.pth", tutorial_state_dict())
    assert_clean(at)
    radio = at.radio(key="yours_variant")
    assert radio.options[0].startswith("linear stack: tanh → sigmoid")  # the best guess first
    radio.set_value("tanh,sigmoid,softmax").run()
    at.button(key="yours_diagnose").click().run()
    assert_clean(at)
    ids = at.session_state[models.YOURS_KEY].diagnosis.ids
    assert "softmax-output" in ids and "input-scale" in ids
    assert metric(at, "Input") == "flat, MNIST mean/std normalised"


@pytest.mark.parametrize("name,data,says", [
    ("model.pt", b"\x80\x04\x95not really a pickle", "torch.onnx.export"),
    ("notes.onnx", b"this is not a model", "not"),
    ("empty.onnx", b"", "empty"),
])
def test_a_file_it_cannot_use_gets_one_clear_message(canvas, name, data, says):
    at = upload(open_page(PAGE), name, data)
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert says in error
    assert at.session_state[models.YOURS_KEY] is None
