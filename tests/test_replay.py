"""Training replay: snapshot epochs, float16 round trip, the exhibit's floor, and the page."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.lab.replay import (
    SNAPSHOTS,
    figures,
    half_state,
    read_replay,
    record_replay,
    snapshot_epochs,
    write_replay,
)
from explorer.maths.confidence import softmax
from explorer.model.checkpoints import CHECKPOINT_DIR_ENV
from explorer.model.registry import build_model
from tests.apptest import (
    assert_clean,
    blank_canvas,
    chart_keys,
    chart_spec,
    install_canvas,
    open_page,
)

FLOOR = math.log(1 + 9 / math.e)


@pytest.mark.parametrize("total,most", [(40, 12), (6, 5), (1, 12), (20, 3)])
def test_snapshot_epochs_start_untrained_and_end_at_the_last(total, most):
    epochs = snapshot_epochs(total, most)
    assert epochs[0] == 0 and epochs[-1] == total and len(epochs) <= most + 1
    assert epochs == sorted(set(epochs))


def _toy_states(arch: str = "mlp", epochs=(0, 1, 3)) -> dict:
    torch.manual_seed(0)
    return {e: half_state(build_model(arch)) for e in epochs}


def test_snapshots_round_trip_in_float16(tmp_path):
    states = _toy_states()
    per_epoch = {e: {"accuracy": 0.1 * e, "nll": 2.0, "ece": 0.1, "loss": 2.0} for e in states}
    write_replay(tmp_path, "mlp", {"hidden1": 96, "hidden2": 256, "dropout": 0.2}, states,
                 per_epoch)
    assert (tmp_path / SNAPSHOTS).stat().st_size < 0.5e6 * len(states)  # 2 bytes a weight
    replay = read_replay(tmp_path)
    assert replay.epochs == [0, 1, 3] and replay.figures[3]["accuracy"] == pytest.approx(0.3)
    x = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    out = replay.outputs(x)
    assert out.shape == (3, 10)
    model = build_model("mlp").eval()
    model.load_state_dict({k: v.float() for k, v in states[1].items()})
    with torch.no_grad():
        expected = model(torch.from_numpy(x)[None, None]).numpy()[0]
    np.testing.assert_allclose(out[1], expected, atol=1e-5)


def test_an_untrained_network_is_close_to_uniform():
    states = _toy_states()
    model = build_model("mlp").eval()
    model.load_state_dict({k: v.float() for k, v in states[0].items()})
    x = torch.from_numpy(np.random.default_rng(1).random((64, 1, 28, 28), dtype=np.float32))
    with torch.no_grad():
        probs = softmax(model(x).numpy())
    assert probs.max() < 0.3 and probs.min() > 0.02  # not zero, not a decision


def test_the_exhibits_loss_as_trained_never_beats_its_floor():
    rng = np.random.default_rng(0)
    outputs = softmax(rng.normal(size=(500, 10)) * 20)  # probabilities, as the exhibit gives
    labels = outputs.argmax(1)  # even when every answer is right and sure
    row = figures(outputs, labels, outputs_logits=False)
    assert row["accuracy"] == 1.0 and row["nll"] < 0.1 and row["loss"] >= FLOOR - 1e-9


def test_a_snapshots_figures_are_read_at_t_1():
    """All answers right: ECE is 1 − mean top-1 probability, whatever the bins (torch's)."""
    logits = np.random.default_rng(3).normal(size=(200, 10)) * 3
    labels = logits.argmax(1)
    row = figures(logits, labels, outputs_logits=True)
    top1 = torch.softmax(torch.from_numpy(logits), 1).max(1).values
    nll = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels))
    assert row["accuracy"] == 1.0
    assert row["ece"] == pytest.approx(1.0 - float(top1.mean()), rel=1e-9)
    assert row["nll"] == pytest.approx(float(nll), rel=1e-9) == row["loss"]


def test_record_replay_measures_every_snapshot(tmp_path):
    rng = np.random.default_rng(2)
    images, labels = rng.random((50, 28, 28), dtype=np.float32), rng.integers(0, 10, 50)
    record_replay(tmp_path, "mlp", _toy_states(), images, labels)
    replay = read_replay(tmp_path)
    assert set(replay.figures) == {0, 1, 3}
    assert all(0 <= f["accuracy"] <= 1 and f["nll"] > 0 for f in replay.figures.values())


def test_replay_page_scrubs_in_the_browser(monkeypatch, tmp_path):
    install_canvas(monkeypatch, blank_canvas)
    record_replay(tmp_path / "replay" / "mlp", "mlp", _toy_states(),
                  np.zeros((20, 28, 28), np.float32), np.arange(20) % 10)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    at = open_page("ui/pages/replay_page.py", image28=np.eye(28, dtype=np.float32))
    assert_clean(at)
    spec = chart_spec(at, "replay_chart")
    assert [f["name"] for f in spec["frames"]] == ["0", "1", "3"]
    steps = spec["layout"]["sliders"][0]["steps"]
    assert all(s["method"] == "animate" and not s["args"][1]["frame"]["redraw"] for s in steps)


def test_replay_page_without_snapshots_says_how_to_make_them(monkeypatch, tmp_path):
    install_canvas(monkeypatch, blank_canvas)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    at = open_page("ui/pages/replay_page.py")
    assert not at.exception
    assert any("--snapshots" in w.value for w in at.warning)
    # The shipped snapshots under checkpoints/replay are not read: no picker, no chart.
    assert not at.radio and "replay_chart" not in chart_keys(at)
