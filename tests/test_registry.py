"""Adding a model is one registry entry plus its checkpoint: every page and script sees it."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest
from torch import nn

from explorer.model import registry
from explorer.model.checkpoints import CHECKPOINT_DIR, CHECKPOINT_DIR_ENV, load_model
from explorer.model.networks import N_CLASSES, Normalize
from scripts import evaluate, ood_threshold, train
from scripts.bench import benchmark
from tests.apptest import app, assert_clean, canvas_from_digit, metric, need_checkpoints, open_page
from ui import state

TOY = "toy"


@dataclass(frozen=True)
class ToyConfig:
    hidden: int = 8


class Toy(nn.Module):
    """A tiny MLP: enough to be trained for three batches and drawn on every page."""

    def __init__(self, cfg: ToyConfig):
        super().__init__()
        self.net = nn.Sequential(Normalize(), nn.Flatten(), nn.Linear(28 * 28, cfg.hidden),
                                 nn.ReLU(), nn.Linear(cfg.hidden, N_CLASSES))

    def forward(self, x):
        return self.net(x)  # (N, 10) logits


@pytest.fixture
def toy_root(tmp_path, fake_mnist_root, monkeypatch, capsys):
    """The toy registered, its checkpoint trained by train.py beside the shipped ones."""
    need_checkpoints("cnn", "mlp")
    registry.register(registry.Arch(
        TOY, ToyConfig, Toy, "784 → 8 relu → 10 (a toy)", "a toy for the registry test",
        "#123456", train=registry.TrainDefaults(epochs=1, augment_strength=0.0)))
    for name in ("cnn", "mlp", "mlp_softmax"):
        os.symlink(CHECKPOINT_DIR / name, tmp_path / name)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    train.main(["--arch", TOY, "--dry-run", "--data-dir", str(fake_mnist_root),
                "--out", str(tmp_path / TOY), "--device", "cpu"])
    capsys.readouterr()
    yield tmp_path
    registry.unregister(TOY)


def test_train_knows_the_toy_and_its_defaults(toy_root, capsys):
    with pytest.raises(SystemExit):
        train.main(["--help"])
    assert "toy" in capsys.readouterr().out
    loaded = load_model(TOY)
    assert loaded.meta["arch"] == TOY and loaded.arch.colour == "#123456"
    assert loaded.meta["train"]["augment_strength"] == 0.0  # from its TrainDefaults


def test_every_script_lists_the_toy_by_default(toy_root):
    assert TOY in evaluate.parse_args([]).checkpoints
    assert TOY in benchmark.parse_args([]).models
    args = ood_threshold.parse_args([])
    assert TOY in args.models and TOY in args.save  # it outputs logits: it gets a cut


def test_the_explorer_picks_and_runs_the_toy(canvas, toy_root):  # canvas first: it unsets the env
    canvas.image, _ = canvas_from_digit(3)
    at = app().run()
    assert TOY in at.sidebar.selectbox(key=state.MODEL_KEY).options
    at.selectbox(key=state.MODEL_KEY).set_value(TOY).run()
    assert_clean(at)
    assert metric(at, "Prediction") is not None
    assert any("784 → 8 relu → 10" in md.value for md in at.markdown)


@pytest.mark.parametrize("page", ["calibration", "gallery", "compare", "saliency",
                                  "robustness"])
def test_every_lab_page_runs_the_toy(canvas, toy_root, page):
    image28 = canvas_from_digit(2)[0][::10, ::10, 0].astype(np.float32) / 255
    at = open_page(page, model=TOY, image28=image28)
    assert_clean(at)
    if page == "compare":
        assert TOY in [h.value for h in at.subheader]
