"""Adding a model is one registry entry plus its checkpoint: every page and script sees it.

Pages and scripts ask the registry by role; a toy given a role is what every page that uses
the role shows. Outside the registry, tests and checkpoints/, no Python string names a model.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from explorer.errors import PROJECT_ROOT
from explorer.model import registry
from explorer.model.checkpoints import CHECKPOINT_DIR, CHECKPOINT_DIR_ENV, load_model
from explorer.model.networks import N_CLASSES, Normalize
from scripts import evaluate, ood_threshold, train
from scripts.bench import benchmark
from tests.apptest import (
    app,
    assert_clean,
    canvas_from_digit,
    metric,
    need_checkpoints,
    open_page,
)
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


# --- No name outside the registry ------------------------------------------------------------
SKIPPED_DIRS = {"tests", "checkpoints", "node_modules", "__pycache__"}
REGISTRY = "explorer/model/registry.py"


def model_names() -> set[str]:
    """Every registered name and every shipped checkpoint folder (one with a meta.json)."""
    return set(registry.names(None)) | {p.name for p in CHECKPOINT_DIR.iterdir()
                                        if (p / "meta.json").is_file()}


def python_files(root: Path):
    """The project's .py files, but for tests/, checkpoints/, hidden folders and the registry."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder, name)
            if name.endswith(".py") and path.relative_to(root).as_posix() != REGISTRY:
                yield path


def names_in(path: Path, names: set[str], root: Path) -> list[str]:
    """"file:line: 'name'" for each str constant of the file equal to a name, docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [f"{path.relative_to(root).as_posix()}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and node.value in names
            and id(node) not in docstrings]


def test_no_python_string_outside_the_registry_names_a_model():
    names = model_names()
    found = [hit for path in python_files(PROJECT_ROOT) for hit in names_in(path, names,
                                                                          PROJECT_ROOT)]
    assert not found, "ask the registry by role (registry.the, with_role) instead:\n" + \
        "\n".join(found)


def test_the_name_scan_finds_a_name_but_not_in_a_docstring(tmp_path):
    (tmp_path / "page.py").write_text('"""Shows cnn."""\nX = 1\nMODEL = "cnn"\n'
                                      'def f():\n    """cnn"""\n    return f"{X} cnn"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text('NAME = "cnn"\n')
    found = [hit for path in python_files(tmp_path) for hit in names_in(path, {"cnn"}, tmp_path)]
    assert found == ["page.py:3: 'cnn'"]


# --- The role API -------------------------------------------------------------------------
def test_every_single_role_has_exactly_one_shipped_model_that_fits_it():
    for role in registry.ROLES:
        holders = registry.with_role(role)
        assert len(holders) == 1 if role.single else len(holders) >= 1, (role, holders)
        for name in holders:
            arch = registry.get_arch(name)
            assert arch.task == role.task and role.outputs in (None, arch.outputs)
    assert registry.the(registry.EXHIBIT) != registry.the(registry.EXHIBIT_BASELINE)


@pytest.fixture
def restored_registry():
    """Whatever a test registers or takes away, the registry is as it was afterwards."""
    saved = dict(registry.ARCHS)
    yield
    registry.ARCHS.clear()
    registry.ARCHS.update(saved)


def test_the_lookup_says_when_no_model_or_several_have_a_role(restored_registry):
    ovr = registry.get_arch(registry.the(registry.ONE_VS_REST))
    registry.register(replace(ovr, roles=frozenset()))
    with pytest.raises(registry.RoleError, match="no models with the role 'one-vs-rest'"):
        registry.the(registry.ONE_VS_REST)
    registry.ARCHS["twin"] = replace(ovr, name="twin")  # past register(), which refuses it
    registry.ARCHS["triplet"] = replace(ovr, name="triplet")
    with pytest.raises(registry.RoleError, match="2 models .*: twin, triplet"):
        registry.the(registry.ONE_VS_REST)
    with pytest.raises(ValueError, match="use with_role"):
        registry.the(registry.HIDDEN_UNITS)


def test_register_refuses_a_second_holder_a_misfit_or_an_unknown_role(restored_registry):
    cnn = registry.get_arch(registry.the(registry.DEFAULT))
    with pytest.raises(ValueError, match="'default' is held by"):
        registry.register(replace(cnn, name="second", roles=frozenset({registry.DEFAULT})))
    with pytest.raises(ValueError, match="needs task 'one-vs-rest'"):
        registry.register(replace(cnn, name="misfit", roles=frozenset({registry.ONE_VS_REST})))
    with pytest.raises(ValueError, match="needs task 'classify' and probabilities"):
        registry.register(replace(cnn, name="misfit", roles=frozenset({registry.EXHIBIT})))
    with pytest.raises(ValueError, match="unknown role"):
        registry.register(replace(cnn, name="odd", roles=frozenset({registry.Role("odd")})))
    assert "second" not in registry.ARCHS and "misfit" not in registry.ARCHS


@pytest.mark.parametrize("name", registry.names(None))
def test_each_model_has_the_internals_its_registry_entry_promises(name):
    arch, model = registry.get_arch(name), registry.build_model(name).eval()
    if registry.FEATURE_MAPS in arch.roles:
        assert model.features(torch.zeros(1, 1, 28, 28)).shape[-2:] == (26, 26)
    if registry.HIDDEN_UNITS in arch.roles:
        assert isinstance(model.net, nn.Sequential)
        assert any(isinstance(layer, (nn.Tanh, nn.Sigmoid)) for layer in model.net)
    if arch.grad_cam_layer is not None:
        assert isinstance(getattr(model, arch.grad_cam_layer), nn.Conv2d)

