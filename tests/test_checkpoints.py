import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from explorer import CheckpointError, load_model, predict_logits
from explorer.errors import display_path
from explorer.model import registry
from explorer.model.checkpoints import (
    CHECKPOINT_DIR,
    CHECKPOINT_DIR_ENV,
    choose_device,
    resolve_dir,
    save_checkpoint,
    sha256_file,
)
from explorer.model.registry import build_model

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
    # Named by model and folder, never by the server's absolute path.
    assert "missing" in msg and "Checkpoint 'cnn' (cnn)" in msg and str(tmp_path) not in msg
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


@pytest.mark.parametrize("cuda,mps,expected", [(True, True, "cuda"), (True, False, "cuda"),
                                               (False, True, "mps"), (False, False, "cpu")])
def test_device_choice_without_a_request_is_cuda_then_mps_then_cpu(monkeypatch, cuda, mps,
                                                                    expected):
    monkeypatch.delenv("EXPLORER_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert choose_device() == torch.device(expected)
    monkeypatch.setenv("EXPLORER_DEVICE", "")  # set but empty: no request either
    assert choose_device() == torch.device(expected)


def test_device_choice_follows_the_variable_then_the_argument(monkeypatch):
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    assert choose_device() == torch.device("cpu")
    assert choose_device("meta") == torch.device("meta")  # the argument beats the variable


def test_missing_checkpoint_given_by_full_path_names_its_own_arch(tmp_path):
    with pytest.raises(CheckpointError, match="--arch mlp_softmax --out"):
        load_model(tmp_path / "mlp_softmax")
    with pytest.raises(CheckpointError, match="--arch mlp --out"):
        load_model(str(tmp_path / "mlp" / "model.safetensors"))


# --- meta.json values are validated against the architecture's config -----------------------


DELETE = object()


def shipped_copy(tmp_path, name):
    """A private copy of a shipped checkpoint folder, same folder name."""
    return shutil.copytree(CHECKPOINT_DIR / name, tmp_path / name)


def edit_meta(path, field, value):
    """Set a dotted meta.json field ("config.hidden") to value; DELETE removes it."""
    meta = json.loads((path / "meta.json").read_text())
    *parents, last = field.split(".")
    target = meta
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    (path / "meta.json").write_text(json.dumps(meta))  # NaN is written as JSON's NaN


@pytest.mark.parametrize(("name", "field", "value", "match"), [
    ("cnn", "config.hidden", -5, r"'config\.hidden' = -5: must be a positive int"),
    ("cnn", "config.hidden", 0, r"'config\.hidden' = 0: must be a positive int"),
    ("cnn", "config.conv1", True, r"'config\.conv1' = True: must be a positive int"),
    ("cnn", "config.conv2", 64.0, r"'config\.conv2' = 64\.0: must be a positive int"),
    ("cnn", "config.hidden", DELETE, r"'config\.hidden' missing: bad config"),
    ("cnn", "config.dropout1", 1.0, r"'config\.dropout1' = 1\.0: must be a dropout rate"),
    ("mlp", "config.dropout", math.nan, r"'config\.dropout' = nan: must be a finite number"),
    ("mlp", "config.dropout", "0.2", r"'config\.dropout' = '0\.2': must be a finite number"),
    ("mlp", "config.layers", 3, r"'config\.layers' = 3: bad config for 'mlp'"),
    ("mlp", "config", [96, 256], r"'config' = \[96, 256\]: must be a JSON object"),
    ("cnn", "arch", ["cnn"], r"'arch' = \['cnn'\]: must be a string"),
    ("mlp", "temperature", math.nan, r"'temperature' = nan: must be a finite number > 0"),
    ("mlp", "temperature", math.inf, r"'temperature' = inf: must be a finite number > 0"),
    ("mlp", "temperature", "abc", r"'temperature' = 'abc': must be a finite number > 0"),
    ("mlp", "temperature", None, r"'temperature' = None: must be a finite number > 0"),
    ("mlp", "temperature", 0, r"'temperature' = 0: must be a finite number > 0"),
    ("mlp", "temperature", -1, r"'temperature' = -1: must be a finite number > 0"),
    ("mlp", "params", "many", r"'params' = 'many': must be an int >= 0"),
    ("mlp", "params", 5, r"'params' = 5: the config builds a model with 102,762 parameters"),
    ("mlp", "metrics", [], r"'metrics' = \[\]: must be a JSON object"),
    ("mlp", "weights_sha256", "abc", r"'weights_sha256' = 'abc': must be 64 hex digits"),
])
def test_bad_meta_value_names_the_field(tmp_path, name, field, value, match):
    path = shipped_copy(tmp_path, name)
    edit_meta(path, field, value)
    with pytest.raises(CheckpointError, match=match) as err:
        load_model(path, device="cpu")
    assert f"Checkpoint {name!r} ({name}): meta.json field" in str(err.value)
    assert str(tmp_path) not in str(err.value)


def test_forged_huge_config_is_rejected_without_allocating(tmp_path):
    path = shipped_copy(tmp_path, "mlp")
    # A real build would need 784e12 floats; only the meta device can count them for free.
    edit_meta(path, "config.hidden1", 10**12)
    with pytest.raises(CheckpointError, match=r"'params' = 102762: the config builds"):
        load_model(path, device="cpu")


@dataclass(frozen=True)
class ToyConfig:
    n: int = 3


class ToyThatWillNotLoad(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(cfg.n))

    def load_state_dict(self, *args, **kwargs):
        raise RuntimeError("boom while loading")


def toy_build_that_fails(cfg):
    raise RuntimeError("boom while building")


@pytest.mark.parametrize("build", [toy_build_that_fails, ToyThatWillNotLoad])
def test_any_exception_while_building_or_loading_is_a_checkpoint_error(
        tmp_path, monkeypatch, build):
    toy = registry.Arch("toy", ToyConfig, build, "toy", "toy", "#000000")
    monkeypatch.setitem(registry.ARCHS, "toy", toy)
    save_checkpoint(tmp_path / "toy", ToyThatWillNotLoad(ToyConfig()),
                    {"arch": "toy", "config": {"n": 3}, "temperature": 1.0, "metrics": {}})
    with pytest.raises(CheckpointError, match="boom") as err:
        load_model(tmp_path / "toy", device="cpu")
    assert isinstance(err.value.__cause__, RuntimeError)


# --- bare names, folder names and displayed paths -------------------------------------------


def test_bare_name_never_resolves_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(CHECKPOINT_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(CHECKPOINT_DIR / "mlp", tmp_path / "cnn")  # a stray ./cnn holding an mlp
    loaded = load_model("cnn", device="cpu")
    assert loaded.meta["arch"] == "cnn" and loaded.path == CHECKPOINT_DIR / "cnn"
    for folder in (tmp_path / "cnn", "./cnn", str(tmp_path / "cnn")):
        with pytest.raises(CheckpointError, match="folder cnn holds an arch 'mlp' checkpoint"):
            load_model(folder, device="cpu")


def test_resolve_dir_tells_names_from_paths(tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path / "root"))
    assert resolve_dir("cnn") == tmp_path / "root" / "cnn"
    assert resolve_dir("./cnn") == Path("cnn")  # a folder in the working directory
    assert resolve_dir("some/dir") == Path("some/dir")
    assert resolve_dir(tmp_path / "x") == tmp_path / "x"
    assert resolve_dir("x/meta.json") == resolve_dir("x/model.safetensors") == Path("x")
    assert resolve_dir("meta.json") == Path(".")


def test_display_path_is_never_absolute(tmp_path, monkeypatch):
    assert display_path(CHECKPOINT_DIR / "cnn") == "checkpoints/cnn"
    assert display_path(tmp_path / "mine" / "cnn") == "cnn"
    monkeypatch.chdir(CHECKPOINT_DIR)
    assert display_path("mlp") == "checkpoints/mlp"  # relative paths count from the cwd


def test_shipped_checkpoint_errors_show_a_project_relative_path(tmp_path, monkeypatch):
    root = tmp_path / "root"
    shutil.copytree(CHECKPOINT_DIR / "mlp", root / "mlp")
    edit_meta(root / "mlp", "temperature", None)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(root))
    with pytest.raises(CheckpointError) as err:
        load_model("mlp", device="cpu")
    assert "Checkpoint 'mlp' (mlp)" in str(err.value) and str(root) not in str(err.value)
    assert "--arch mlp --out mlp" in str(err.value)
