import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from explorer import CheckpointError, load_model, predict_logits
from explorer.checkpoints import choose_device, save_checkpoint, sha256_file
from explorer.models import build_model

META = {"arch": "mlp", "config": {"hidden1": 96, "hidden2": 256, "dropout": 0.2},
        "temperature": 1.3, "metrics": {"test": {"accuracy": 0.5}}}


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    model = build_model("mlp").eval()
    save_checkpoint(tmp_path / "mlp", model, META)
    return tmp_path / "mlp", model


def images(n=16, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28), dtype=np.float32)


def test_round_trip_gives_bit_identical_logits(ckpt):
    path, model = ckpt
    loaded = load_model(path, device="cpu")
    with torch.no_grad():
        expected = model(torch.from_numpy(images())[:, None]).numpy()
    got = predict_logits(loaded, images())
    assert got.dtype == np.float32 and got.shape == (16, 10)
    assert np.array_equal(got, expected)
    assert not loaded.model.training
    assert loaded.meta["params"] == 102_762 and loaded.meta["temperature"] == 1.3
    assert loaded.meta["weights_sha256"] == sha256_file(path / "model.safetensors")
    assert {"torch_version", "torchvision_version", "created"} <= set(loaded.meta)


def test_paths_to_files_inside_the_folder_work(ckpt):
    path, _ = ckpt
    for p in (path / "model.safetensors", path / "meta.json", str(path)):
        assert load_model(p, device="cpu").meta["arch"] == "mlp"


def test_predict_logits_batches_and_checks_shape(ckpt):
    loaded = load_model(ckpt[0], device="cpu")
    # BLAS may round differently per batch size, so compare to float32 precision.
    np.testing.assert_allclose(predict_logits(loaded, images(10), batch_size=3),
                               predict_logits(loaded, images(10)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        predict_logits(loaded, np.zeros((28, 28), np.float32))


def test_missing_checkpoint_names_the_train_command(tmp_path):
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path / "cnn")
    msg = str(err.value)
    assert "missing" in msg and str(tmp_path / "cnn") in msg
    assert "python scripts/train.py --arch cnn --out" in msg


def test_shipped_name_that_does_not_exist_names_the_command():
    with pytest.raises(CheckpointError, match="scripts/train.py --arch cnn"):
        load_model("no_such_model_xyz")


def test_sha256_mismatch(ckpt):
    path, _ = ckpt
    raw = bytearray((path / "model.safetensors").read_bytes())
    raw[-5] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="does not match the sha256"):
        load_model(path)


def rewrite_sha(path):
    meta = json.loads((path / "meta.json").read_text())
    meta["weights_sha256"] = sha256_file(path / "model.safetensors")
    (path / "meta.json").write_text(json.dumps(meta))


def test_truncated_weights(ckpt):
    path, _ = ckpt
    raw = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    rewrite_sha(path)  # a consistent-but-truncated copy: the parser must catch it
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_model(path)


def test_weights_that_do_not_fit_the_arch_name_the_tensor(ckpt):
    path, _ = ckpt
    state = {k: v.contiguous() for k, v in build_model("mlp", {"hidden1": 64}).state_dict().items()}
    save_file(state, str(path / "model.safetensors"))
    rewrite_sha(path)
    expected = r"tensor 'net\.2\.bias' has shape \(64,\), arch 'mlp' expects \(96,\)"
    with pytest.raises(CheckpointError, match=expected):
        load_model(path)


def test_extra_tensor_is_named(ckpt):
    path, model = ckpt
    state = {**model.state_dict(), "extra.bias": torch.zeros(3)}
    save_file(state, str(path / "model.safetensors"))
    rewrite_sha(path)
    with pytest.raises(CheckpointError, match="'extra.bias' is not part of arch 'mlp'"):
        load_model(path)


def test_unknown_arch(ckpt):
    path, _ = ckpt
    meta = json.loads((path / "meta.json").read_text())
    (path / "meta.json").write_text(json.dumps({**meta, "arch": "resnet"}))
    with pytest.raises(CheckpointError, match="unknown arch 'resnet'"):
        load_model(path)


def test_malformed_json(ckpt):
    path, _ = ckpt
    (path / "meta.json").write_text('{"arch": "mlp", ')
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(path)


def test_meta_without_required_keys(ckpt):
    path, _ = ckpt
    (path / "meta.json").write_text(json.dumps({"arch": "mlp"}))
    with pytest.raises(CheckpointError, match="lacks the keys"):
        load_model(path)


def test_bad_config_in_meta(ckpt):
    path, _ = ckpt
    meta = json.loads((path / "meta.json").read_text())
    (path / "meta.json").write_text(json.dumps({**meta, "config": {"layers": 3}}))
    with pytest.raises(CheckpointError, match="bad config"):
        load_model(path)


def test_device_choice(monkeypatch):
    monkeypatch.delenv("EXPLORER_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    assert choose_device().type in {expected or "cpu", "mps", "cpu"}
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    assert choose_device() == torch.device("cpu")
    assert choose_device("meta") == torch.device("meta")  # the argument beats the variable


def test_missing_checkpoint_given_by_full_path_names_its_own_arch(tmp_path):
    with pytest.raises(CheckpointError, match="--arch mlp_softmax --out"):
        load_model(tmp_path / "mlp_softmax")
    with pytest.raises(CheckpointError, match="--arch mlp --out"):
        load_model(str(tmp_path / "mlp" / "model.safetensors"))
