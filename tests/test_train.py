import json

import numpy as np
import pytest

from explorer import load_model, predict_logits
from explorer.calibration import nll
from explorer.confidence import softmax
from explorer.data import load_mnist, split_train_val
from scripts import train


@pytest.mark.parametrize("arch", ["mlp", "cnn", "mlp_softmax"])
def test_dry_run_writes_a_checkpoint_that_loads(arch, fake_mnist_root, tmp_path, capsys):
    out = tmp_path / arch
    meta = train.main(["--arch", arch, "--dry-run", "--data-dir", str(fake_mnist_root),
                       "--out", str(out), "--device", "cpu"])
    assert "test accuracy" in capsys.readouterr().out
    loaded = load_model(out, device="cpu")
    assert loaded.meta == json.loads((out / "meta.json").read_text()) == meta
    assert loaded.meta["train"]["dry_run"] and loaded.meta["train"]["n_val"] == 240
    assert len(loaded.meta["history"]) == 1
    assert set(loaded.meta["metrics"]["test"]) >= {"accuracy", "nll", "ece", "ece_fitted_t"}
    assert ("note" in meta) == (arch == "mlp_softmax")
    assert predict_logits(loaded, np.zeros((2, 28, 28), np.float32)).shape == (2, 10)


def test_same_seed_same_weights(fake_mnist_root, tmp_path):
    args = ["--arch", "mlp", "--dry-run", "--data-dir", str(fake_mnist_root), "--device", "cpu"]
    a = train.main(args + ["--out", str(tmp_path / "a")])
    b = train.main(args + ["--out", str(tmp_path / "b")])
    c = train.main(args + ["--out", str(tmp_path / "c"), "--seed", "2"])
    assert a["weights_sha256"] == b["weights_sha256"] != c["weights_sha256"]


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        train.main(["--help"])
    text = capsys.readouterr().out
    assert "--arch" in text and "(default: 128)" in text and "cnn 20" in text


@pytest.mark.train_set
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_fitted_temperature_lowers_validation_nll_without_changing_argmax(name, train_root):
    loaded = load_model(name, device="cpu")
    x, y = load_mnist(train=True, data_dir=train_root)
    cfg = loaded.meta["train"]
    _, val = split_train_val(len(x), cfg["n_val"], cfg["seed"])
    logits = predict_logits(loaded, x[val].astype(np.float32) / 255)
    t = loaded.meta["temperature"]
    assert nll(logits, y[val], t) < nll(logits, y[val], 1.0)
    assert (softmax(logits, t).argmax(1) == logits.argmax(1)).all()
    assert nll(logits, y[val], t) == pytest.approx(
        loaded.meta["metrics"]["validation"]["val_nll_fitted_t"], rel=1e-4)
