"""The Confidence lab pages (calibration, gallery, compare) end to end with AppTest.

Figures are checked against the shipped checkpoints; tests skip, naming the train command,
while one is missing. Test-set logits are cached per process, so most tests use mlp.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.inputs.data import load_test_float, load_test_split
from explorer.lab import gallery
from explorer.lab.gallery import most_confident_mistakes
from explorer.maths.calibration import fit_temperature, refit_on_half
from explorer.maths.confidence import softmax
from explorer.model import registry
from explorer.model.checkpoints import CHECKPOINT_DIR, load_model
from explorer.model.inference import predict_logits
from tests.apptest import (
    assert_clean,
    blank_canvas,
    chart_keys,
    install_canvas,
    metrics,
    mnist_digit,
    mnist_index,
    need_checkpoints,
    only_checkpoints,
    open_page,
)
from ui import state

APP = "../streamlit_app.py"
CAPTION = re.compile(r"#(\d+) · true \*\*(\d)\*\* · pred \*\*(\d)\*\* · p = ([\d.]+)")


def shipped() -> list[str]:
    return [n for n in registry.names() if (CHECKPOINT_DIR / n / "model.safetensors").is_file()]


@pytest.fixture(autouse=True)
def fake_canvas(monkeypatch):
    """The explorer page's canvas, blank (the lab pages send examples instead)."""
    install_canvas(monkeypatch, blank_canvas)


@pytest.fixture(scope="module")
def mlp_logits() -> np.ndarray:
    need_checkpoints("mlp")
    return predict_logits(load_model("mlp"), load_test_float()[0])  # (10000, 10)


def top1_bins(logits, temperature: float) -> np.ndarray:
    """Each image's bin, 1 to 15, of its top-1 softmax(z / T) by torch: (0, 1/15], ..."""
    z = torch.tensor(np.asarray(logits), dtype=torch.float64) / temperature
    return np.clip(np.ceil(torch.softmax(z, 1).max(1).values.numpy() * 15), 1, 15).astype(int)


def reference_report(logits, labels, temperature: float) -> dict:
    """ECE, MCE, NLL and Brier of softmax(z / T), by torch and numpy (not explorer's maths)."""
    z = torch.tensor(np.asarray(logits), dtype=torch.float64) / temperature
    y = np.asarray(labels)
    probs = torch.softmax(z, 1).numpy()
    conf, hit, bins = probs.max(1), probs.argmax(1) == y, top1_bins(logits, temperature)
    gaps = {b: abs(hit[bins == b].mean() - conf[bins == b].mean()) for b in set(bins.tolist())}
    return {"ece": sum(gap * (bins == b).mean() for b, gap in gaps.items()),
            "mce": max(gaps.values()),
            "nll": torch.nn.functional.cross_entropy(z, torch.tensor(y)).item(),
            "brier": float(((probs - np.eye(10)[y]) ** 2).sum(1).mean())}


def torch_fitted_t(logits, labels) -> float:
    """The T minimising torch's cross-entropy of z / T, by L-BFGS on log T."""
    z, y = torch.tensor(np.asarray(logits), dtype=torch.float64), torch.tensor(labels)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    search = torch.optim.LBFGS([log_t], max_iter=200, tolerance_grad=1e-12,
                               tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def nll() -> torch.Tensor:
        search.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    search.step(nll)
    return float(log_t.detach().exp())


def digit_image(label: int = 7) -> tuple[np.ndarray, int]:
    return mnist_digit(label), mnist_index(label)


def shown_examples(at: AppTest) -> list[tuple[int, int, int, float]]:
    """(index, true, predicted, p) of every captioned example on the page."""
    found = [CAPTION.search(c.value) for c in at.caption]
    return [(int(m[1]), int(m[2]), int(m[3]), float(m[4])) for m in found if m]


@pytest.mark.parametrize("page", ["calibration", "gallery", "compare"])
@pytest.mark.parametrize("drawn", [False, True])
def test_lab_page_runs_with_and_without_a_drawing(page, drawn):
    need_checkpoints("mlp")
    at = open_page(page, "mlp", image28=digit_image()[0] if drawn else None)
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in at.error if "train.py" not in e.value]  # only missing checkpoints
    assert at.header, "the page body did not render"
    told = any("Explorer" in i.value for i in at.info)  # "draw on the Explorer page"
    assert told == (not drawn and page != "gallery")
    assert chart_keys(at) and not at.get("plotly_chart")  # all through the cartesian bundle


def test_calibration_shows_three_settings_and_where_the_drawing_falls(mlp_logits):
    image28, _ = digit_image(2)
    at = open_page("calibration", "mlp", image28=image28)
    assert_clean(at)
    labels = load_test_split()[1]
    fitted = load_model("mlp").meta["temperature"]
    headings = [h.value for h in at.subheader]
    assert any(h.startswith("T = 1") for h in headings)
    assert any(h.startswith(f"Fitted T = {fitted:.3g}") for h in headings)
    assert any(h.startswith("Explorer's T = 1") for h in headings)
    for label, key in [("ECE", "ece"), ("MCE", "mce"), ("NLL", "nll"), ("Brier", "brier")]:
        shown = [float(v) for v in metrics(at, label)]
        expected = [reference_report(mlp_logits, labels, t)[key] for t in (1.0, fitted, 1.0)]
        assert shown == pytest.approx(expected, abs=5.1e-5), label  # shown to 4 places
    drawing = predict_logits(load_model("mlp"), image28[None])  # (1, 10)
    lines = [md.value for md in at.markdown if "Your drawing" in md.value]
    assert len(lines) == 3
    for line, t in zip(lines, (1.0, fitted, 1.0)):  # one per setting, at its own T
        (b,) = top1_bins(drawing, t)
        in_bin = int((top1_bins(mlp_logits, t) == b).sum())
        assert f"bin **{b} of 15**" in line and f"over {in_bin:,} images" in line, (t, line)


def test_calibration_follows_the_explorers_temperature(mlp_logits):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[state.MODEL_KEY] = "mlp"
    at.session_state[state.TEMPERATURE_KEY] = 2.5
    at.run()
    at.switch_page("ui/pages/calibration_page.py").run()
    assert_clean(at)
    assert any(h.value.startswith("Explorer's T = 2.5") for h in at.subheader)
    nll = reference_report(mlp_logits, load_test_split()[1], 2.5)["nll"]
    assert float(metrics(at, "NLL")[2]) == pytest.approx(nll, abs=5.1e-5)
    assert any("Draw something on the Explorer page" in i.value for i in at.info)


def test_refit_shows_before_and_after_and_can_set_the_explorers_t(mlp_logits):
    at = open_page("calibration", "mlp")
    assert not metrics(at, "Refit T")
    at.button(key="calibration_refit").click().run()
    assert_clean(at)
    (shown,) = metrics(at, "Refit T")
    labels = load_test_split()[1]
    expected = torch_fitted_t(mlp_logits[::2], labels[::2])
    assert np.isfinite(float(shown)) and float(shown) == pytest.approx(expected, abs=1e-4)
    (table,) = at.dataframe
    rows = table.value
    assert list(rows["setting"]) == ["T = 1", "checkpoint T", "refit T"]
    for t, ece, nll in zip(rows["T"], rows["ECE"], rows["NLL (nats)"]):
        report = reference_report(mlp_logits[1::2], labels[1::2], t)
        assert (ece, nll) == pytest.approx((report["ece"], report["nll"]))
    at.button(key="calibration_apply_refit").click().run()
    assert_clean(at)
    assert at.session_state[state.TEMPERATURE_KEY] == pytest.approx(expected, abs=1e-4)
    assert any(h.value.startswith(f"Explorer's T = {expected:.3g}") for h in at.subheader)


def test_refit_on_half_uses_even_images_to_fit_and_odd_to_score():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 400)
    logits = rng.normal(size=(400, 10)) * 3
    logits[np.arange(400), labels] += 4
    logits[1::2] *= 5  # the evaluation half alone would want a very different T
    result = refit_on_half(logits, labels, 1.7)
    assert result["temperature"] == pytest.approx(fit_temperature(logits[::2], labels[::2]))
    assert result["temperature"] != pytest.approx(fit_temperature(logits[1::2], labels[1::2]))
    assert [r["T"] for r in result["rows"]] == [1.0, 1.7, result["temperature"]]
    for row in result["rows"]:  # scored on the odd half, against torch's cross-entropy
        odd = torch.as_tensor(logits[1::2]) / row["T"]
        reference = torch.nn.functional.cross_entropy(odd, torch.as_tensor(labels[1::2]))
        assert row["NLL (nats)"] == pytest.approx(reference.item())
    assert result["n_fit"] == result["n_eval"] == 200


def test_gallery_most_confident_mistakes_are_mistakes_in_order(mlp_logits):
    at = open_page("gallery", "mlp")
    assert_clean(at)
    shown = shown_examples(at)
    labels = load_test_split()[1]
    assert len(shown) == 16
    assert all(true != pred for _, true, pred, _ in shown)
    expected = most_confident_mistakes(mlp_logits, labels, 16)
    assert [i for i, *_ in shown] == expected.tolist()
    for i, true, pred, p in shown:
        assert (true, pred) == (labels[i], mlp_logits[i].argmax())
        assert p == pytest.approx(softmax(mlp_logits[i]).max(), abs=1e-3)


def test_gallery_confusion_cell_shows_that_cells_examples(mlp_logits):
    labels = load_test_split()[1]
    predicted = mlp_logits.argmax(1)
    wrong = np.flatnonzero(predicted != labels)
    true_class, pred_class = int(labels[wrong[0]]), int(predicted[wrong[0]])
    at = open_page("gallery", "mlp")
    at.selectbox(key="gallery_view").set_value(gallery.VIEWS[3])
    at.selectbox(key="gallery_true").set_value(true_class)
    at.selectbox(key="gallery_pred").set_value(pred_class).run()
    assert_clean(at)
    in_cell = np.flatnonzero((labels == true_class) & (predicted == pred_class))
    assert [i for i, *_ in shown_examples(at)] == in_cell[:16].tolist()


def test_gallery_example_opens_in_the_explorer(mlp_logits):
    at = open_page("gallery", "mlp")
    index, true, _, _ = shown_examples(at)[0]
    at.button(key=f"gallery_send_{index}").click().run()
    assert_clean(at)
    assert metrics(at, "Prediction") == [str(int(mlp_logits[index].argmax()))]
    assert metrics(at, "True label") == [str(true)]
    assert at.session_state[state.EXAMPLE_SOURCE_KEY] == f"MNIST test #{index}"


def test_compare_shows_one_block_per_model():
    need_checkpoints("mlp", "cnn")
    image28, _ = digit_image(3)
    at = open_page("compare", "mlp", image28=image28)
    assert not at.exception
    headings = [h.value for h in at.subheader]
    assert all(name in headings for name in registry.names())
    expected = [str(int(predict_logits(load_model(n), image28[None])[0].argmax()))
                for n in shipped()]
    assert metrics(at, "Prediction") == expected
    missing = set(registry.names()) - set(shipped())
    assert len([e for e in at.error if "scripts/train.py" in e.value]) == len(missing)
    assert "compare_agreement" in chart_keys(at)
    sent = shown_examples_compare(at)
    assert sent, "no disagreements shown"


def test_compare_gives_every_model_the_explorers_not_a_digit_verdict():
    """A smiley: each model still answers a digit, and each verdict is the detector's."""
    need_checkpoints("mlp", "cnn")
    from explorer.inputs.doodles import make_doodles
    from explorer.lab.ood import not_a_digit
    images, kinds = make_doodles(11, seed=5, family="test")
    smiley = images[list(kinds).index("face")]
    at = open_page("compare", "mlp", image28=smiley)
    assert not at.exception
    assert all(p in [str(d) for d in range(10)] for p in metrics(at, "Prediction"))
    flagged = bool(not_a_digit("cnn", smiley[None])[0])
    badges = [m.value for m in at.markdown if "not a digit" in m.value]
    assert flagged and len(badges) == len(shipped())


def shown_examples_compare(at: AppTest) -> list[int]:
    return [int(m[1]) for m in (re.search(r"#(\d+) · true", c.value) for c in at.caption) if m]


def test_compare_load_an_example_without_a_drawing():
    need_checkpoints("mlp", "cnn")
    at = open_page("compare", "mlp")
    assert metrics(at, "Prediction") == []
    at.button(key="compare_load_example").click().run()
    assert not at.exception
    assert len(metrics(at, "Prediction")) == len(shipped())
    assert at.session_state[state.EXAMPLE_KEY] is not None


def test_compare_with_missing_checkpoints_still_compares_the_rest(monkeypatch, tmp_path):
    only_checkpoints(monkeypatch, tmp_path, "mlp")
    at = open_page("compare", "mlp", image28=digit_image(5)[0])
    assert not at.exception
    assert len([e for e in at.error if "scripts/train.py" in e.value]) == 2
    assert len(metrics(at, "Prediction")) == 1
    assert any("at least two" in i.value for i in at.info)
