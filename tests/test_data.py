import hashlib

import numpy as np
import pytest

from explorer.inputs import data as D


def test_shipped_test_split_shape_and_checksum():
    images, labels = D.load_test_split()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and set(np.unique(labels)) == set(range(10))
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the famous first test digits
    assert np.bincount(labels).tolist()[:2] == [980, 1135]
    images01, _ = D.load_test_float()
    assert images01.dtype == np.float32 and 0 <= images01.min() and images01.max() <= 1


def test_corrupt_shipped_split_is_refused(tmp_path, monkeypatch):
    for name in D.TEST_FILES:
        (tmp_path / f"{name}.gz").write_bytes((D.ASSETS / f"{name}.gz").read_bytes())
    import gzip
    raw = bytearray(gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[100] ^= 1
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    assert hashlib.sha256(raw).hexdigest() != D.TEST_FILES["t10k-labels-idx1-ubyte"]
    monkeypatch.setattr(D, "ASSETS", tmp_path)
    D.load_test_split.cache_clear()
    try:
        with pytest.raises(D.DataError, match="sha256"):
            D.load_test_split()
        (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip")
        with pytest.raises(D.DataError, match="missing or unreadable"):
            D.load_test_split()
    finally:
        D.load_test_split.cache_clear()


def test_data_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "env"))
    assert D.resolve_root(tmp_path / "flag") == tmp_path / "flag"
    assert D.resolve_root() == tmp_path / "env"
    monkeypatch.delenv("MNIST_ROOT")
    assert D.resolve_root() == D.DEFAULT_ROOT and D.DEFAULT_ROOT.name == "data"


def test_missing_training_files_without_network_say_where_they_go(monkeypatch, tmp_path):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(D.DataError) as err:
        D.load_mnist(train=True, data_dir=tmp_path)
    assert str(tmp_path / "MNIST" / "raw") in str(err.value)
    assert "--data-dir" in str(err.value) and "MNIST_ROOT" in str(err.value)


def test_failed_load_removes_only_the_empty_folders_it_made(monkeypatch, tmp_path):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # refused at once
    with pytest.raises(D.DataError) as err:
        D.load_mnist(train=True, data_dir=tmp_path / "new" / "root")
    assert "\n" not in str(err.value)  # torchvision's multi-line reason, on one line
    assert list(tmp_path.iterdir()) == []  # root, its parent, MNIST and raw all gone

    kept = tmp_path / "kept" / "MNIST"  # existed before: stays, though empty
    kept.mkdir(parents=True)
    (tmp_path / "kept" / "notes.txt").write_text("mine")
    with pytest.raises(D.DataError):
        D.load_mnist(train=True, data_dir=tmp_path / "kept")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "kept", "kept/MNIST", "kept/notes.txt"]


def test_fake_root_loads_through_torchvision(fake_mnist_root):
    images, labels = D.load_mnist(train=True, data_dir=fake_mnist_root)
    assert images.shape == (1200, 28, 28) and labels.dtype == np.int64


def test_split_is_deterministic_and_disjoint():
    tr, va = D.split_train_val(100, 20, seed=3)
    tr2, va2 = D.split_train_val(100, 20, seed=3)
    assert (tr == tr2).all() and (va == va2).all()
    assert len(va) == 20 and not set(tr) & set(va) and len(set(tr) | set(va)) == 100
