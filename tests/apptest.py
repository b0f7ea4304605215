"""Helpers shared by the AppTest suites: checkpoint skips, a stand-in canvas, readers."""
from __future__ import annotations

import base64
import json
import shutil
import sys
import types

import numpy as np
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from explorer.inputs.data import load_test_split
from explorer.inputs.preprocess import CANVAS_SIDE
from explorer.model.checkpoints import CHECKPOINT_DIR, CHECKPOINT_DIR_ENV
from tests.needs import REQUIRE_CHECKPOINTS_ENV, skip_or_fail
from ui import live, state


def need_checkpoints(*names: str) -> None:
    """Skip, naming the train command, while a shipped checkpoint is missing (CI: fail)."""
    for name in names:
        if not (CHECKPOINT_DIR / name / "model.safetensors").is_file():
            skip_or_fail(f"checkpoints/{name} missing: python scripts/train.py --arch {name}",
                         REQUIRE_CHECKPOINTS_ENV)


def only_checkpoints(monkeypatch, root, *names: str) -> None:
    """Point the app at `root` holding copies of just these shipped checkpoints."""
    need_checkpoints(*names)
    for name in names:
        shutil.copytree(CHECKPOINT_DIR / name, root / name)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(root))


def install_canvas(monkeypatch, st_canvas) -> None:
    """Replace the canvas component by `st_canvas` and use the project's own checkpoints."""
    module = types.ModuleType("streamlit_drawable_canvas")
    module.st_canvas = st_canvas
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", module)
    monkeypatch.delenv(CHECKPOINT_DIR_ENV, raising=False)


def blank_canvas(**_kwargs) -> types.SimpleNamespace:
    """What the canvas returns before anything is drawn."""
    return types.SimpleNamespace(image_data=None)


APP = "../streamlit_app.py"
SIDE = CANVAS_SIDE


def mnist_index(label: int, nth: int = 0) -> int:
    """The index of the nth MNIST test digit of a class."""
    _, labels = load_test_split()
    return int(np.flatnonzero(labels == label)[nth])


def mnist_digit(label: int, nth: int = 0) -> np.ndarray:
    """The nth MNIST test digit of a class, (28, 28) float32 in [0, 1]."""
    images, _ = load_test_split()
    return images[mnist_index(label, nth)].astype(np.float32) / 255.0


def canvas_from_digit(label: int, nth: int = 0) -> tuple[np.ndarray, int]:
    """The nth MNIST test digit of a class, upscaled to a white-on-black 280×280 RGBA canvas."""
    images, _ = load_test_split()
    index = mnist_index(label, nth)
    grey = Image.fromarray(images[index]).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
    rgba[..., :3] = np.asarray(grey)[..., None]
    rgba[..., 3] = 255
    return rgba, index


def canvas_dot(radius: int = 10) -> np.ndarray:
    """One tap of a 20 px brush in the middle of the black canvas."""
    image = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 255))
    c = SIDE // 2
    ImageDraw.Draw(image).ellipse((c - radius, c - radius, c + radius, c + radius),
                                  fill=(255, 255, 255, 255))
    return np.asarray(image)


class FakeCanvas:
    """Stands in for streamlit_drawable_canvas: returns `image` and records each call."""

    def __init__(self):
        self.image: np.ndarray | None = None
        self.json: dict | None = None  # the Fabric JSON the real component sends beside it
        self.calls: list[dict] = []

    def st_canvas(self, **kwargs):
        self.calls.append(kwargs)
        return types.SimpleNamespace(image_data=self.image, json_data=self.json)


def app(timeout: float = 60) -> AppTest:
    return AppTest.from_file(APP, default_timeout=timeout)


def open_page(page: str, model: str | None = None, image28=None) -> AppTest:
    """The app run once, then switched to a page ("calibration" or its script's path)."""
    at = app(timeout=120)
    if model is not None:
        at.session_state[state.MODEL_KEY] = model
    at.run()
    if image28 is not None:
        at.session_state[state.CURRENT_IMAGE_KEY] = image28
    at.switch_page(page if page.endswith(".py") else f"ui/pages/{page}_page.py")
    return at.run()


def metrics(at: AppTest, label: str) -> list[str]:
    """Every shown value of the st.metrics with this label."""
    return [m.value for m in at.metric if m.label == label]


def metric(at: AppTest, label: str) -> str | None:
    values = metrics(at, label)
    return values[0] if values else None


def verdict(at: AppTest) -> str | None:
    """The verdict badge's text, e.g. 'Verdict: :green-badge[:material/check_circle: confident]'."""
    shown = [md.value for md in at.markdown if md.value.startswith("Verdict")]
    return shown[0].split("[")[-1].rstrip("]").split(": ")[-1] if shown else None


def live_data(at: AppTest, view: str) -> dict | None:
    """What the Explorer's live component (ui/live.py) was given for a view, or None."""
    suffix = f"-{live.KEYS[view]}"
    found = [json.loads(e.proto.json) for e in at.get("bidi_component")
             if e.proto.component_name == "digit_explorer.live" and e.proto.id.endswith(suffix)]
    return found[0] if found else None


def _live_figures(at: AppTest) -> dict[str, str]:
    """The live component's figures (JSON) by their keys: the Explorer's and every page's
    ui.widgets.chart."""
    out = {}
    for element in at.get("bidi_component"):
        if element.proto.component_name != "digit_explorer.live":
            continue
        data = json.loads(element.proto.json)
        if data["view"] == "figure":
            out[data["key"]] = data["figure"]
        elif data["view"] == "sees":
            out["explorer_model_sees"] = data["figure"]
        elif data["view"] == "charts":
            out.update({f"explorer_{name}_chart": spec
                        for name, spec in data.get("figures", {}).items()})
    return out


def chart_spec(at: AppTest, key: str) -> dict:
    """A chart's figure JSON: one the live component draws, or an st.plotly_chart's."""
    live_figures = _live_figures(at)
    if key in live_figures:
        return json.loads(live_figures[key])
    (chart,) = [c for c in at.get("plotly_chart") if c.key == key]
    return json.loads(chart.proto.spec)


def set_live_temperature(at: AppTest, temperature: float) -> AppTest:
    """What the browser sends when the T control is released (or a T button pressed)."""
    at.session_state[live.KEYS["charts"]] = {"temperature": {"t": temperature,
                                                             "n": f"test-{temperature}"}}
    return at.run()


def chart_keys(at: AppTest) -> set[str]:
    return {c.key for c in at.get("plotly_chart")} | set(_live_figures(at))


def values(array) -> np.ndarray:
    """A trace's numbers; plotly 6+ ships numpy arrays as base64 typed arrays."""
    if isinstance(array, dict):
        data = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        shape = array.get("shape")
        if shape:
            data = data.reshape([int(s) for s in str(shape).split(",")])
        return data
    return np.asarray(array, dtype=np.float64)


def bar_y(spec: dict, trace: int) -> np.ndarray:
    """A trace's y values."""
    return values(spec["data"][trace]["y"])


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
