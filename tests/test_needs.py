"""Skips that CI turns into failures: a lost checkpoint or training split cannot pass quietly."""
from __future__ import annotations

import pytest

from tests.apptest import need_checkpoints
from tests.needs import REQUIRE_CHECKPOINTS_ENV, REQUIRE_TRAIN_SET_ENV, need_train_set

MISSING = "no_such_model"  # a name with no folder under checkpoints/


def test_a_missing_checkpoint_fails_when_checkpoints_are_required(monkeypatch):
    monkeypatch.setenv(REQUIRE_CHECKPOINTS_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"checkpoints/{MISSING} missing.*"
                                                    f"--arch {MISSING}.*{REQUIRE_CHECKPOINTS_ENV}"):
        need_checkpoints("cnn", MISSING)


def test_a_missing_checkpoint_skips_otherwise(monkeypatch):
    monkeypatch.delenv(REQUIRE_CHECKPOINTS_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"--arch {MISSING}"):
        need_checkpoints(MISSING)


def test_a_missing_training_split_fails_when_it_is_required(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))  # holds no MNIST/raw/
    monkeypatch.setenv(REQUIRE_TRAIN_SET_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"not found under {tmp_path}.*"
                                                    f"{REQUIRE_TRAIN_SET_ENV}=1"):
        need_train_set()
    monkeypatch.delenv(REQUIRE_TRAIN_SET_ENV)
    with pytest.raises(pytest.skip.Exception, match="MNIST training split not found"):
        need_train_set()
