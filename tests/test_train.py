import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from torchvision.datasets import MNIST

from explorer import load_model, predict_logits
from explorer.inputs.data import load_mnist, split_train_val
from explorer.inputs.synth import SynthConfig
from explorer.maths.calibration import nll
from explorer.maths.confidence import softmax
from explorer.model import checkpoint_paths, checkpoints
from explorer.model.registry import get_arch, names
from scripts import train
from tests.apptest import need_checkpoints

REPO = Path(__file__).resolve().parent.parent
SHIPPED = checkpoints.CHECKPOINT_DIR  # the real one, whatever a test monkeypatches
# A real (not dry) run small enough for a test: 1 epoch over 960 fake-MNIST images.
TINY = ["--arch", "mlp", "--epochs", "1", "--val-size", "240", "--device", "cpu"]


def tree_digest(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refusal(capsys, argv) -> str:
    """Run train.main(argv), expect exit status 2, and return its one stderr line."""
    with pytest.raises(SystemExit) as exit_:
        train.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err.strip()


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch) -> Path:
    """A copy of checkpoints/ standing in for the shipped folder (and the default root)."""
    copy = tmp_path / "shipped"
    shutil.copytree(SHIPPED, copy)
    monkeypatch.setattr(checkpoint_paths, "CHECKPOINT_DIR", copy)
    monkeypatch.delenv(checkpoints.CHECKPOINT_DIR_ENV, raising=False)
    return copy


@pytest.fixture
def offline(monkeypatch):
    """torchvision's MNIST download fails at once (connection refused), network or not."""
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])


@pytest.fixture
def dry_checkpoint(fake_mnist_root, tmp_path) -> Path:
    """An existing (dry-run) mlp checkpoint outside checkpoints/."""
    out = tmp_path / "existing"
    train.main(["--arch", "mlp", "--dry-run", "--data-dir", str(fake_mnist_root),
                "--out", str(out), "--device", "cpu"])
    return out


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


def test_synthetic_digits_join_the_training_set_and_are_recorded(fake_mnist_root, tmp_path):
    args = TINY + ["--data-dir", str(fake_mnist_root), "--synth-val", "20"]
    meta = train.main(args + ["--out", str(tmp_path / "s"), "--synth-fraction", "0.5"])
    assert meta["train"]["n_synth"] == round(0.5 * meta["train"]["n_train"]) > 0
    assert meta["train"]["n_train"] + meta["train"]["n_val"] == 1200  # fake MNIST alone
    assert meta["train"]["synthetic"] == json.loads(json.dumps(asdict(SynthConfig())))
    assert meta["train"]["n_synth_val"] == 20 and "val_synth_acc" in meta["history"][0]
    plain = train.main(args + ["--out", str(tmp_path / "p"), "--synth-fraction", "0"])
    assert plain["train"]["n_synth"] == 0 and plain["train"]["synthetic"] is None
    assert "val_synth_acc" not in plain["history"][0]
    assert plain["weights_sha256"] != meta["weights_sha256"]  # same seed: the data differ


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        train.main(["--help"])
    text = capsys.readouterr().out
    assert "--arch" in text and "(default: 128)" in text
    assert f"cnn {get_arch('cnn').train.epochs}" in text
    flat = " ".join(text.split())
    for name in names(None):  # every registered arch's own defaults, from the registry
        t = get_arch(name).train
        assert f"{name} {t.epochs}/{t.lr:g}/{t.augment_strength:g}" in flat
    assert "{" + ",".join(names(None)) + "}" in flat


def test_dry_run_without_out_never_touches_checkpoints(shipped_copy, fake_mnist_root,
                                                       tmp_path, monkeypatch, capsys):
    real_before, copy_before = tree_digest(SHIPPED), tree_digest(shipped_copy)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    meta = train.main(["--arch", "mlp", "--dry-run", "--data-dir", str(fake_mnist_root),
                       "--device", "cpu"])
    out = capsys.readouterr().out
    assert tree_digest(shipped_copy) == copy_before and tree_digest(SHIPPED) == real_before
    [made] = (tmp_path / "tmp").iterdir()
    assert made.name.startswith("dry-run-mlp-") and f"written to {made}" in out
    assert load_model(made, device="cpu").meta == meta


def test_dry_run_refuses_the_shipped_folder_and_existing_checkpoints(
        shipped_copy, dry_checkpoint, capsys):
    before = tree_digest(shipped_copy)
    for out in (shipped_copy / "mlp", shipped_copy / "new"):
        line = refusal(capsys, ["--arch", "mlp", "--dry-run", "--out", str(out), "--force"])
        assert "--dry-run never writes into the shipped checkpoints folder" in line
    assert tree_digest(shipped_copy) == before and not (shipped_copy / "new").exists()
    before = tree_digest(dry_checkpoint)
    line = refusal(capsys, ["--arch", "mlp", "--dry-run", "--out", str(dry_checkpoint),
                            "--force"])
    assert "never overwrites a checkpoint" in line and tree_digest(dry_checkpoint) == before


def test_real_run_refuses_the_shipped_checkpoint_before_loading_mnist(shipped_copy, tmp_path,
                                                                       capsys):
    before = tree_digest(shipped_copy)
    accuracy = json.loads((shipped_copy / "mlp" / "meta.json").read_text())[
        "metrics"]["test"]["accuracy"]
    line = refusal(capsys, TINY + ["--data-dir", str(tmp_path / "no-mnist")])
    assert str(shipped_copy / "mlp") in line and f"test accuracy {accuracy:.2%}" in line
    assert "--force" in line and "--out NEW_FOLDER" in line
    assert tree_digest(shipped_copy) == before
    assert not (tmp_path / "no-mnist").exists()  # refused before MNIST was even looked for


def test_real_run_overwrites_only_with_force_or_writes_a_new_out(dry_checkpoint,
                                                                  fake_mnist_root, tmp_path,
                                                                  capsys):
    args = TINY + ["--data-dir", str(fake_mnist_root)]
    before = tree_digest(dry_checkpoint)
    accuracy = json.loads((dry_checkpoint / "meta.json").read_text())[
        "metrics"]["test"]["accuracy"]
    line = refusal(capsys, args + ["--out", str(dry_checkpoint)])
    assert f"already holds a checkpoint (test accuracy {accuracy:.2%})" in line
    assert tree_digest(dry_checkpoint) == before

    meta = train.main(args + ["--out", str(dry_checkpoint), "--force"])
    assert not meta["train"]["dry_run"] and tree_digest(dry_checkpoint) != before
    assert load_model(dry_checkpoint, device="cpu").meta == meta

    new = tmp_path / "new" / "mlp"
    assert train.main(args + ["--out", str(new)]) == load_model(new, device="cpu").meta


def test_refusal_says_unknown_accuracy_when_meta_is_unreadable(tmp_path, capsys):
    (tmp_path / "model.safetensors").write_bytes(b"weights, but no meta.json")
    line = refusal(capsys, TINY + ["--out", str(tmp_path)])
    assert "(unknown accuracy)" in line and "--force" in line


def test_missing_mnist_is_one_line_and_leaves_no_folders(offline, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for data_dir in (empty, tmp_path / "absent" / "root"):
        line = refusal(capsys, TINY + ["--data-dir", str(data_dir),
                                       "--out", str(tmp_path / "out")])
        assert f"{data_dir / 'MNIST' / 'raw'}{os.sep}" in line
        assert "train-images-idx3-ubyte" in line and "t10k-labels-idx1-ubyte" in line
        assert "--data-dir" in line and "MNIST_ROOT" in line
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["empty"]  # no out/, no MNIST/


def test_cli_refusal_is_one_line_with_exit_status_2(tmp_path):
    """The real command line: no traceback, nothing trained, the checkpoint untouched."""
    shutil.copytree(SHIPPED / "mlp", tmp_path / "mlp")
    before = tree_digest(tmp_path)
    env = {**os.environ, checkpoints.CHECKPOINT_DIR_ENV: str(tmp_path),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get(
               "PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "scripts/train.py", "--arch", "mlp"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "test accuracy" in proc.stderr, proc.stderr
    assert tree_digest(tmp_path) == before


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


def test_the_output_guard_says_why_before_anything_is_lost(tmp_path):
    from explorer.model.checkpoint_guard import refusal

    shipped = checkpoints.CHECKPOINT_DIR / "cnn"
    assert refusal(None, dry_run=True, force=False) is None  # a fresh temporary folder
    assert refusal(tmp_path / "new", dry_run=False, force=False) is None
    assert "never writes into the shipped" in refusal(shipped, dry_run=True, force=True)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "meta.json").write_text("{not json")
    message = refusal(tmp_path / "old", dry_run=True, force=True)
    assert "unknown accuracy" in message and "never overwrites" in message


def test_the_output_guard_keeps_a_shipped_checkpoint_unless_forced():
    from explorer.model.checkpoint_guard import refusal

    need_checkpoints("cnn")
    shipped = checkpoints.CHECKPOINT_DIR / "cnn"
    assert "Pass --force" in refusal(shipped, dry_run=False, force=False)
    assert refusal(shipped, dry_run=False, force=True) is None  # retraining on purpose
