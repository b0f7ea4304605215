"""A toy for each role: every page and script that asks the registry for the role shows it.

Each toy is a tiny copy of the role's shipped model, trained for 3 batches; a test takes the
role from the shipped model and hands it to the toy (explorer.model.registry.Role).
"""
from __future__ import annotations

import contextlib
import io
import os
from dataclasses import field, fields, make_dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from explorer.model import checkpoint_paths, registry
from explorer.model.checkpoints import CHECKPOINT_DIR, CHECKPOINT_DIR_ENV, load_model
from explorer.model.inference import predict_logits
from scripts import heads_report, train
from tests.apptest import (
    app,
    assert_clean,
    canvas_from_digit,
    chart_spec,
    metric,
    mnist_digit,
    need_checkpoints,
    open_page,
    values,
)
from ui import state

TINY = {"conv1": 8, "conv2": 4, "hidden": 16, "hidden1": 16, "hidden2": 16}
REPLAY_TOY = "toyreplay"  # a picker model with snapshots: the replay page offers it


def tiny(config_cls: type) -> type:
    """The config class with tiny layers: three batches of training take about a second."""
    own = {f.name for f in fields(config_cls)}
    return make_dataclass(f"Tiny{config_cls.__name__}", [(k, int, field(default=v)) for k, v
                                                         in TINY.items() if k in own],
                          bases=(config_cls,), frozen=True)


def toy_name(role: registry.Role) -> str:
    return "toy" + "".join(c for c in role.name if c.isalnum())  # no "_": markdown escapes it


def toy_like(holder: str, name: str, roles=frozenset()) -> registry.Arch:
    arch = registry.get_arch(holder)
    return replace(arch, name=name, roles=roles, config_cls=tiny(arch.config_cls))


def train_toy(arch: registry.Arch, root: Path, mnist: Path, *extra: str) -> None:
    registry.register(replace(arch, roles=frozenset()))  # roles only while a test hands them
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            train.main(["--arch", arch.name, "--dry-run", "--data-dir", str(mnist), "--out",
                        str(root / arch.name), "--device", "cpu", *extra])
    finally:
        registry.unregister(arch.name)


@pytest.fixture(scope="module")
def role_toys(tmp_path_factory, fake_mnist_root) -> tuple[Path, dict]:
    """A checkpoint folder: the shipped models, and a toy trained for 3 batches per role."""
    need_checkpoints(*registry.names(None))
    root = tmp_path_factory.mktemp("roles")
    (root / "replay").mkdir()
    for name in registry.names(None):
        os.symlink(CHECKPOINT_DIR / name, root / name)
        if (CHECKPOINT_DIR / "replay" / name).is_dir():
            os.symlink(CHECKPOINT_DIR / "replay" / name, root / "replay" / name)
    toys = {role: toy_like(registry.with_role(role)[0], toy_name(role), frozenset({role}))
            for role in registry.ROLES}
    for arch in toys.values():
        train_toy(arch, root, fake_mnist_root)
    toys["replay"] = toy_like(registry.names()[0], REPLAY_TOY)
    train_toy(toys["replay"], root, fake_mnist_root, "--snapshots",
              str(root / "replay" / REPLAY_TOY))
    return root, toys


@pytest.fixture
def hand(canvas, role_toys, monkeypatch):
    """hand(*roles): each role taken from its shipped model and given to its toy, this test.

    NB: after `canvas`, which points the app back at the project's checkpoints. The registry
    is put back as it was (order too: the picker's) whatever the test registers.
    """
    root, toys = role_toys
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(root))
    saved = dict(registry.ARCHS)

    def give(*roles) -> None:
        for role in roles:
            for name in registry.with_role(role):
                arch = registry.get_arch(name)
                registry.register(replace(arch, roles=arch.roles - {role}))
            registry.register(toys[role])
    yield give
    registry.ARCHS.clear()
    registry.ARCHS.update(saved)


def title(at, key: str) -> str:
    return chart_spec(at, key)["layout"]["title"]["text"]


def test_the_default_role_is_each_sessions_first_model_and_the_scripts_default(hand, canvas):
    hand(registry.DEFAULT)
    toy = toy_name(registry.DEFAULT)
    canvas.image, _ = canvas_from_digit(3)
    at = app().run()
    assert_clean(at)
    assert at.sidebar.selectbox(key=state.MODEL_KEY).value == toy
    assert metric(at, "Prediction") is not None
    assert load_model().name == toy and train.parse_args([]).arch == toy
    assert f"--arch {toy} " in checkpoint_paths.train_command(Path("elsewhere"))


def test_the_one_vs_rest_role_feeds_the_explorers_sigmoid_chart(hand, canvas):
    hand(registry.ONE_VS_REST)
    canvas.image, _ = canvas_from_digit(4)
    at = app().run()
    assert_clean(at)
    image28 = at.session_state[state.CURRENT_IMAGE_KEY]
    logits = predict_logits(load_model(toy_name(registry.ONE_VS_REST)), image28[None])[0]
    np.testing.assert_allclose(values(chart_spec(at, "explorer_sigmoid_chart")["data"][0]["y"]),
                               1 / (1 + np.exp(-logits.astype(np.float64))), rtol=1e-5)


def test_the_heads_page_and_report_show_the_toy_of_each_head_role(hand):
    hand(*registry.HEADS)
    at = open_page("heads", image28=mnist_digit(4))
    assert_clean(at)
    text = " ".join(md.value for md in at.markdown)
    assert all(toy_name(role) in text for role in registry.HEADS)  # the figures table
    assert toy_name(registry.HEAD_SOFTMAX) in title(at, "heads_softmax")
    assert toy_name(registry.ONE_VS_REST) in title(at, "heads_ovr")
    assert f"({toy_name(registry.HEAD_NUMBER)})" in text
    assert any(toy_name(registry.HEAD_BINARY_SIGMOID) in c.value
               and toy_name(registry.HEAD_BINARY_SOFTMAX) in c.value for c in at.caption)
    at.button(key="heads_load_two_different").click().run()
    assert toy_name(registry.HEAD_PAIR_SIGMOID) in title(at, "heads_pair_sigmoid")
    assert toy_name(registry.HEAD_PAIR_SOFTMAX) in title(at, "heads_pair_softmax")
    report = heads_report.main(["--pairs", "40"])  # the binary pair is one entry of two models
    assert {toy_name(role) for role in (registry.ONE_VS_REST, registry.HEAD_NUMBER,
                                        registry.HEAD_PAIR_SIGMOID, registry.HEAD_PAIR_SOFTMAX)
            } <= set(report)


def test_the_exhibit_roles_feed_the_exhibit_and_checklist_pages(hand):
    hand(registry.EXHIBIT, registry.EXHIBIT_BASELINE)
    exhibit, baseline = toy_name(registry.EXHIBIT), toy_name(registry.EXHIBIT_BASELINE)
    at = open_page("exhibit", image28=mnist_digit(2))
    assert_clean(at)
    assert exhibit in title(at, "exhibit_own_chart") and baseline in title(at, "exhibit_mlp_chart")
    lines = {trace.get("legendgroup") or trace.get("name")
             for trace in chart_spec(at, "exhibit_history_chart")["data"]}
    assert {exhibit, baseline} <= lines
    at = open_page("checklist", image28=mnist_digit(2))
    assert_clean(at)
    lines = {trace.get("legendgroup") or trace.get("name")
             for trace in chart_spec(at, "checklist_history")["data"]}
    assert {exhibit, baseline} <= lines
    assert any(exhibit in m.proto.help for m in at.metric)


def test_the_replay_page_offers_each_picker_model_with_snapshots(hand, role_toys):
    hand()
    registry.register(role_toys[1]["replay"])
    registry.register(role_toys[1][registry.HIDDEN_UNITS])  # a toy without snapshots
    at = open_page("replay", image28=mnist_digit(5))
    options = [shown.split(" (")[0] for shown in at.radio(key="replay_model").options]
    assert REPLAY_TOY in options and toy_name(registry.HIDDEN_UNITS) not in options
    at.radio(key="replay_model").set_value(REPLAY_TOY).run()
    assert_clean(at)
    assert title(at, "replay_chart").startswith(f"{REPLAY_TOY}:")


@pytest.mark.parametrize("role, heading", [(registry.FEATURE_MAPS, "feature maps"),
                                           (registry.HIDDEN_UNITS, "hidden units")])
def test_the_saliency_page_shows_the_internals_a_role_promises(hand, role, heading):
    hand(role)
    at = open_page("saliency", model=toy_name(role), image28=mnist_digit(2))
    assert_clean(at)
    assert any(heading in h.value for h in at.subheader)


def test_without_the_role_the_saliency_page_shows_no_feature_maps(hand, role_toys):
    registry.register(replace(role_toys[1][registry.FEATURE_MAPS], roles=frozenset(),
                              grad_cam_layer=None))
    at = open_page("saliency", model=toy_name(registry.FEATURE_MAPS), image28=mnist_digit(2))
    assert_clean(at)
    assert not any("feature maps" in h.value for h in at.subheader)
