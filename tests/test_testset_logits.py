"""Stored test-set outputs: round trip, every way a file is refused, the shipped files' truth,
the training script's writer, and a browser smoke run of scripts/bench/page_times.py.

NB: the module is imported as `tl`: pytest would collect a bare `testset_logits` (it starts
with "test") as a test.
"""
from __future__ import annotations

import logging
import re
import shutil

import numpy as np
import pytest
from safetensors.numpy import save_file

from explorer.inputs.data import load_test_float
from explorer.lab import testset_logits as tl
from explorer.lab.testset_logits import (
    SHAPE,
    TENSOR,
    TEST_LOGITS,
    read_test_logits,
    shipped_split_sha256,
    write_test_logits,
)
from explorer.model import registry
from explorer.model.checkpoints import CHECKPOINT_DIR, META, WEIGHTS, load_model, save_checkpoint
from explorer.model.inference import predict_logits
from scripts.bench import browser
from tests.apptest import need_checkpoints
from tests.needs import REQUIRE_BROWSER_ENV, skip_or_fail


@pytest.fixture
def mlp(tmp_path):
    """A private copy of the shipped mlp checkpoint (weights and meta.json only), loaded."""
    need_checkpoints("mlp")
    folder = tmp_path / "mlp"
    folder.mkdir()
    for name in (WEIGHTS, META):
        shutil.copy(CHECKPOINT_DIR / "mlp" / name, folder / name)
    return load_model(folder, device="cpu")


def fake_logits(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=SHAPE).astype(np.float32)


def write_raw(loaded, array, **overrides) -> None:
    """Write the file by hand, with the right metadata unless overridden."""
    metadata = {"weights_sha256": loaded.meta["weights_sha256"],
                "test_split_sha256": shipped_split_sha256(), "n": "10000", "dtype": "float32",
                **overrides}
    save_file({TENSOR: np.ascontiguousarray(array)}, str(loaded.path / TEST_LOGITS),
              metadata=metadata)


def test_round_trip_is_exact(mlp):
    logits = fake_logits()
    path = write_test_logits(mlp.path, logits, mlp.meta["weights_sha256"])
    assert path == mlp.path / TEST_LOGITS
    assert path.stat().st_size < 410_000  # 400 kB of float32 and a small header
    got = read_test_logits(mlp)
    assert got.dtype == np.float32 and got.shape == SHAPE
    np.testing.assert_array_equal(got, logits)
    np.testing.assert_array_equal(tl.testset_logits(mlp), logits)  # read, not computed
    assert not list(mlp.path.glob("*.partial"))


def test_float64_input_is_stored_as_float32(mlp):
    logits = fake_logits().astype(np.float64) + 1e-12
    write_test_logits(mlp.path, logits, mlp.meta["weights_sha256"])
    np.testing.assert_array_equal(read_test_logits(mlp), logits.astype(np.float32))


@pytest.mark.parametrize("bad", [np.zeros((10, 10)), np.full(SHAPE, np.nan)])
def test_writer_refuses_wrong_shape_or_nan(tmp_path, bad):
    with pytest.raises(ValueError, match="finite"):
        write_test_logits(tmp_path, bad, "0" * 64)
    assert not (tmp_path / TEST_LOGITS).exists()


def test_other_weights_are_ignored_and_recomputed_in_memory(mlp, caplog):
    write_test_logits(mlp.path, fake_logits(), "f" * 64)
    before = (mlp.path / TEST_LOGITS).read_bytes()
    with caplog.at_level(logging.INFO, logger="explorer.lab.testset_logits"):
        assert read_test_logits(mlp) is None
    assert "weights_sha256 differs" in caplog.text
    expected = predict_logits(mlp, load_test_float()[0])
    np.testing.assert_array_equal(tl.testset_logits(mlp), expected)
    assert (mlp.path / TEST_LOGITS).read_bytes() == before  # the app never rewrites it


def test_missing_file_is_computed(mlp):
    assert read_test_logits(mlp) is None
    np.testing.assert_array_equal(tl.testset_logits(mlp),
                                  predict_logits(mlp, load_test_float()[0]))
    assert not (mlp.path / TEST_LOGITS).exists()


def test_truncated_file_is_ignored(mlp, caplog):
    path = write_test_logits(mlp.path, fake_logits(), mlp.meta["weights_sha256"])
    path.write_bytes(path.read_bytes()[:200_000])
    with caplog.at_level(logging.INFO, logger="explorer.lab.testset_logits"):
        assert read_test_logits(mlp) is None
    assert "unreadable" in caplog.text


@pytest.mark.parametrize("content", [b"", b"not a safetensors file", b"\xff" * 64])
def test_garbage_file_is_ignored(mlp, content):
    (mlp.path / TEST_LOGITS).write_bytes(content)
    assert read_test_logits(mlp) is None


@pytest.mark.parametrize("array, reason", [
    (np.zeros((9999, 10), np.float32), "expected float32"),
    (np.zeros((10000, 11), np.float32), "expected float32"),
    (np.zeros(SHAPE, np.float16), "expected float32"),
    (np.where(np.eye(10000, 10, dtype=bool), np.nan, 0).astype(np.float32), "NaN or inf"),
    (np.full(SHAPE, np.inf, np.float32), "NaN or inf"),
])
def test_wrong_shape_dtype_or_non_finite_is_ignored(mlp, caplog, array, reason):
    write_raw(mlp, array)
    with caplog.at_level(logging.INFO, logger="explorer.lab.testset_logits"):
        assert read_test_logits(mlp) is None
    assert reason in caplog.text


@pytest.mark.parametrize("overrides, reason", [
    ({"test_split_sha256": "0" * 64}, "test_split_sha256 differs"),
    ({"weights_sha256": ""}, "weights_sha256 differs"),
])
def test_wrong_metadata_is_ignored(mlp, caplog, overrides, reason):
    write_raw(mlp, fake_logits(), **overrides)
    with caplog.at_level(logging.INFO, logger="explorer.lab.testset_logits"):
        assert read_test_logits(mlp) is None
    assert reason in caplog.text


def test_file_without_metadata_is_ignored(mlp):
    save_file({TENSOR: fake_logits()}, str(mlp.path / TEST_LOGITS))
    assert read_test_logits(mlp) is None


@pytest.mark.parametrize("name", registry.names())
def test_shipped_files_are_the_shipped_weights_outputs(name):
    """What makes them trustworthy: they equal a fresh forward pass over the test split."""
    need_checkpoints(name)
    loaded = load_model(name, device="cpu")
    stored = read_test_logits(loaded)
    assert stored is not None, f"checkpoints/{name}/{TEST_LOGITS} is missing or stale"
    np.testing.assert_allclose(stored, predict_logits(loaded, load_test_float()[0]),
                               rtol=0, atol=1e-5)


def test_what_train_writes_after_a_checkpoint_is_read_back(mlp, tmp_path):
    """scripts/train.py: save_checkpoint, then write_test_logits with the saved sha256."""
    out = tmp_path / "retrained"
    model = registry.build_model(mlp.meta["arch"], mlp.meta["config"])  # trainable, as in train
    model.load_state_dict(mlp.model.state_dict())
    meta = save_checkpoint(out, model.eval(), {k: v for k, v in mlp.meta.items()
                                               if k != "weights_sha256"})
    outputs = predict_logits(mlp, load_test_float()[0])
    write_test_logits(out, outputs, meta["weights_sha256"])
    np.testing.assert_array_equal(read_test_logits(load_model(out, device="cpu")), outputs)


def test_train_dry_run_writes_no_test_logits(fake_mnist_root, tmp_path):
    """A dry run evaluates 1,000 test images: it must not store them as the 10,000."""
    from scripts import train

    out = tmp_path / "dry"
    train.main(["--arch", "mlp", "--dry-run", "--data-dir", str(fake_mnist_root),
                "--out", str(out), "--device", "cpu"])
    assert (out / WEIGHTS).is_file() and not (out / TEST_LOGITS).exists()


@pytest.mark.browser
def test_page_times_smoke(capsys):
    """scripts/bench/page_times.py times one page cold and warm and prints its row."""
    problem = browser.browser_problem()
    if problem:
        skip_or_fail(problem, REQUIRE_BROWSER_ENV)
    need_checkpoints("cnn")
    from scripts.bench import page_times

    assert page_times.main(["--pages", "Calibration", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    row = re.search(r"^Calibration\s+current\s+empty\s+([\d.]+)\s+([\d.]+)\s+-\s+-$",
                    out, re.MULTILINE)
    assert row, "no Calibration row with cold and warm seconds"
    cold_s, warm_s = float(row[1]), float(row[2])
    said = re.search(r"^round 1/1 Calibration \(current, empty browser\): "
                     r"cold ([\d.]+) s, warm ([\d.]+) s$", out, re.MULTILINE)
    assert (float(said[1]), float(said[2])) == (cold_s, warm_s)  # one round's own medians
    # Seconds from navigation start: above 0, and under the three waits of a visit.
    longest_s = 3 * page_times.parse_args([]).timeout
    assert 0 < cold_s < longest_s and 0 < warm_s < longest_s
    listed = "Calibration (empty)" in re.search(r"^cold over 1 s: (.*)$", out, re.MULTILINE)[1]
    assert cold_s == 1.0 or listed == (cold_s > page_times.TARGET_S)  # 1.00 is either side
