"""scripts/finetune.py on a tiny synthetic class (MNIST test digits in a mirrored, shifted
hand), one epoch, with the fake MNIST root: a new checkpoint that says where it came from,
whole students held out, and never a shipped checkpoint touched."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from explorer.classroom.export import INFO, load_export, split_by_student
from explorer.maths.calibration import accuracy
from explorer.maths.confidence import as_logits
from explorer.model.checkpoint_paths import CHECKPOINT_DIR
from explorer.model.checkpoints import WEIGHTS, load_model, sha256_file
from explorer.model.inference import predict_logits
from explorer.model.registry import DEFAULT, the
from scripts import finetune
from tests.apptest import need_checkpoints
from tests.class_store_kit import synthetic_export

N_STUDENTS, PER_STUDENT = 6, 8


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return synthetic_export(tmp_path_factory.mktemp("class") / "export", N_STUDENTS,
                            PER_STUDENT)


def small_run(export, out, mnist_root, *more) -> list[str]:
    return [str(export), "--out", str(out), "--epochs", "1", "--data-dir", str(mnist_root),
            "--mnist-test", "300", "--val-size", "200", *more]


def test_a_split_by_student_keeps_each_students_drawings_on_one_side():
    students = np.array([f"s{k % 5}" for k in range(40)])
    train, held = split_by_student(students, 0.3, seed=1)
    assert sorted([*train, *held]) == list(range(40))
    assert not set(students[train]) & set(students[held])
    assert len(set(students[held])) == 2  # round(0.3 * 5)
    again = split_by_student(students, 0.3, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip((train, held), again))


def test_finetune_writes_a_new_checkpoint_that_says_where_it_came_from(
        export, fake_mnist_root, tmp_path, capsys):
    name = the(DEFAULT)
    need_checkpoints(name)
    shipped_sha = sha256_file(CHECKPOINT_DIR / name / WEIGHTS)
    result = finetune.main(small_run(export, tmp_path / "tuned", fake_mnist_root))
    printed = capsys.readouterr().out
    assert "class, held-out students" in printed and "MNIST test (300 images)" in printed
    tuned, shipped = load_model(tmp_path / "tuned"), load_model(name)
    origin = tuned.meta["finetuned"]
    assert tuned.meta["arch"] == name and origin["from"]["model"] == name
    assert origin["from"]["weights_sha256"] == shipped_sha == sha256_file(
        CHECKPOINT_DIR / name / WEIGHTS)  # the shipped model is untouched
    assert origin["export"]["code"] == json.loads((export / INFO).read_text())["code"]
    train, held = set(origin["train_students"]), set(origin["held_out_students"])
    assert train and held and not train & held and len(train | held) == N_STUDENTS
    assert origin["held_out_drawings"] == PER_STUDENT * len(held)
    assert origin["train_drawings"] + origin["held_out_drawings"] == N_STUDENTS * PER_STUDENT
    changed = [k for k, v in shipped.model.state_dict().items()
               if not torch.equal(v, tuned.model.state_dict()[k])]
    assert changed  # it learned something, in a new folder
    classes = load_export(export)
    mask = np.isin(classes.students, sorted(held))
    before = as_logits(predict_logits(shipped, classes.images[mask]), shipped.outputs_logits)
    figures = result["before"]["class_held_out"]
    assert figures["accuracy"] == pytest.approx(accuracy(before, classes.labels[mask]))
    for when in ("before", "after"):
        for part, n in (("class_held_out", int(mask.sum())), ("mnist_test", 300)):
            assert result[when][part]["n"] == n
            assert all(np.isfinite(result[when][part][k]) for k in finetune.FIGURES)
    assert tuned.meta["metrics"]["after"] == result["after"]


def test_finetune_never_writes_into_the_shipped_checkpoints(export, fake_mnist_root, capsys):
    out = CHECKPOINT_DIR / "finetuned_here"
    with pytest.raises(SystemExit) as refused:
        finetune.main(small_run(export, out, fake_mnist_root))
    assert refused.value.code == 2 and not out.exists()
    assert "inside the shipped checkpoints folder" in capsys.readouterr().err


def test_finetune_never_writes_over_a_checkpoint(export, fake_mnist_root, tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "meta.json").write_text('{"metrics": {"test": {"accuracy": 0.5}}}')
    with pytest.raises(SystemExit) as refused:
        finetune.main(small_run(export, taken, fake_mnist_root))
    assert refused.value.code == 2 and sorted(p.name for p in taken.iterdir()) == ["meta.json"]
    assert "already holds a checkpoint (test accuracy 50.00%)" in capsys.readouterr().err


def test_finetune_needs_two_students_and_a_real_export(fake_mnist_root, tmp_path, capsys):
    need_checkpoints(the(DEFAULT))
    alone = synthetic_export(tmp_path / "alone", 1, 4)
    for folder, problem in ((alone, "at least 2 are needed"),
                            (tmp_path / "nothing", "not a class export")):
        with pytest.raises(SystemExit) as refused:
            finetune.main(small_run(folder, tmp_path / "out", fake_mnist_root))
        assert refused.value.code == 2 and problem in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
