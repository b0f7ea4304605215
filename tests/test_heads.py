"""Output heads: each head's contract, the binary identity, two-digit inputs, the shipped heads."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer import load_model
from explorer.inputs.data import load_test_split
from explorer.maths.confidence import sigmoid, softmax
from explorer.model import registry
from explorer.model.checkpoints import save_checkpoint
from explorer.model.heads import (
    BINARY_SIGMOID,
    BINARY_SOFTMAX,
    EMPTY,
    ONE_VS_REST,
    PAIR_SIGMOID,
    PAIR_SOFTMAX,
    REGRESS,
    TASKS,
    _binary_ece,
    compose_pairs,
    example_pair,
    head_metrics,
    multi_hot,
    pair_test_set,
    scoring_set,
    seven_probability,
    two_digit_image,
)
from explorer.model.inference import model_outputs
from tests.apptest import need_checkpoints

HEADS = registry.names(None)[len(registry.names()):]  # the heads lesson's models
WIDTH = {name: TASKS[registry.get_arch(name).task].width for name in registry.names(None)}


@pytest.mark.parametrize("name", registry.names(None))
def test_each_head_outputs_what_its_task_says(name):
    task = TASKS[registry.get_arch(name).task]
    model = registry.build_model(name).eval()
    out = model(torch.zeros(3, 1, 28, task.width))
    assert out.shape == (3, task.outputs) and out.dtype == torch.float32
    assert (registry.get_arch(name).outputs == registry.NUMBER) == (task is REGRESS)


def test_the_picker_and_pages_see_only_ten_way_classifiers():
    assert set(registry.names()) == {"mlp", "cnn", "mlp_softmax"}
    assert {"cnn_ovr", "cnn_regress", "binary7_sigmoid", "binary7_softmax", "cnn_multilabel",
            "cnn_pair_softmax"} == set(HEADS)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1000, 1000, allow_nan=False))
def test_binary_identity_sigmoid_is_a_two_way_softmax(z):
    """explorer.maths.confidence's sigmoid(z) and softmax([0, z])[1], each against torch's."""
    reference = float(torch.sigmoid(torch.tensor(z, dtype=torch.float64)))
    two_way = torch.softmax(torch.tensor([0.0, z], dtype=torch.float64), 0)
    assert float(sigmoid([z])[0]) == pytest.approx(reference, rel=1e-12, abs=1e-300)
    assert float(softmax([0.0, z])[1]) == pytest.approx(reference, rel=1e-12, abs=1e-300)
    assert float(softmax([0.0, z])[0]) == pytest.approx(float(two_way[0]), rel=1e-12,
                                                        abs=1e-300)


def test_seven_probability_reads_each_binary_head_by_hand():
    ln3 = np.log(3.0)  # sigmoid(ln 3) = 3 / 4
    sig = seven_probability(BINARY_SIGMOID, np.array([[0.0], [ln3], [-ln3]]))
    np.testing.assert_allclose(sig, [0.5, 0.75, 0.25], rtol=1e-6)
    soft = seven_probability(BINARY_SOFTMAX, np.array([[0.0, 0.0], [0.0, ln3], [ln3, 0.0],
                                                      [5.0, 5.0 + ln3]]))
    np.testing.assert_allclose(soft, [0.5, 0.75, 0.25, 0.75], rtol=1e-6)  # [p(not 7), p(7)]


def test_binary_ece_by_hand():
    """Bins of width 1/15: 0.10 and 0.12 share bin 1, 0.90 is in 13, 0.95 and 1.0 in 14."""
    probs = np.array([0.10, 0.12, 0.90, 0.95])
    hits = np.array([0, 1, 1, 1])
    # bin 1: |0.5 − 0.11|·2 = 0.78; bin 13: 0.10; bin 14: 0.05; over N = 4
    assert _binary_ece(probs, hits) == pytest.approx((0.78 + 0.10 + 0.05) / 4)
    assert _binary_ece(np.array([1.0, 1.0]), np.array([1, 0])) == pytest.approx(0.5)
    assert _binary_ece(np.array([0.3, 0.7]), np.array([0, 1]), n_bins=2) == pytest.approx(0.3)


def test_multi_hot_and_set_scoring_by_hand():
    pairs = torch.tensor([[3, 8], [5, 5], [EMPTY, 2]])
    hot = multi_hot(pairs)
    assert hot.sum(1).tolist() == [2, 1, 1] and hot[0, 3] == hot[0, 8] == 1
    logits = torch.full((3, 10), -5.0)
    logits[0, [3, 8]] = 5.0  # both found
    logits[1, [5, 6]] = 5.0  # one extra: wrong
    logits[2, 2] = 5.0
    assert PAIR_SIGMOID.correct(logits, pairs).tolist() == [True, False, True]
    shares = torch.log(torch.tensor([[.01] * 3 + [.45] + [.01] * 4 + [.46, .01]] * 3))
    # top-k: the two highest for two different digits, the highest for the others
    assert PAIR_SOFTMAX.correct(shares, pairs).tolist() == [True, False, False]


def test_one_vs_rest_figures_by_hand():
    """Two images' ten sigmoids: each row's sum, whether any is above 0.5, per-class ECE."""
    ln3 = np.log(3.0)  # sigmoid(±ln 3) = 0.75 / 0.25
    out = np.full((2, 10), -ln3)
    out[0, 4] = ln3  # image 0: class 4 at 0.75, the rest 0.25; image 1: all 0.25
    figures = head_metrics(ONE_VS_REST, out, np.array([4, 7]))
    assert figures["mean_sum"] == pytest.approx((0.75 + 9 * 0.25 + 10 * 0.25) / 2)  # 2.75
    assert figures["none_above_half"] == 0.5  # image 1 only
    assert figures["accuracy"] == 0.5  # image 1's tie goes to class 0, not 7
    # Every class: one image whose sigmoid is 0.25 or 0.75 away from its 0/1 answer, or
    # two at 0.25 with answers averaging 0.5 or 0: a gap of 0.25 each time.
    assert figures["ece_per_class"] == pytest.approx(0.25)


def test_regression_is_scored_by_rounding_and_mae():
    out = np.array([[3.4], [3.6], [-2.0], [12.0]], np.float32)
    figures = head_metrics(REGRESS, out, np.array([3, 3, 0, 9]))
    assert figures["accuracy"] == 0.75  # 3.6 rounds to 4; -2 and 12 clamp to 0 and 9
    assert figures["mae"] == pytest.approx((0.4 + 0.6 + 2 + 3) / 4)


def test_composites_blank_empty_halves_and_keep_their_labels():
    images, labels = load_test_split()
    x, pairs = pair_test_set(images[:500], labels[:500], 400, seed=1)
    assert x.shape == (400, 28, 56) and pairs.shape == (400, 2)
    empty_right = pairs[:, 1] == EMPTY
    assert empty_right.any() and not x[empty_right, :, 28:].any()
    assert (pairs[:, 0] == pairs[:, 1]).any()  # the same digit twice comes up
    left = torch.ones(2, 1, 28, 28)
    both = compose_pairs(left, left, torch.tensor([[1, EMPTY], [EMPTY, 2]]))
    assert both[0, 0, :, :28].all() and not both[0, 0, :, 28:].any()
    assert not both[1, 0, :, :28].any() and both[1, 0, :, 28:].all()


def test_the_wide_canvas_is_preprocessed_half_by_half():
    canvas = np.zeros((280, 560, 4), np.uint8)
    canvas[..., 3] = 255
    assert two_digit_image(canvas) is None  # blank
    canvas[60:220, 120:140, :3] = 255  # a bar in the left half only
    image = two_digit_image(canvas)
    assert image.shape == (28, 56) and image[:, :28].any() and not image[:, 28:].any()
    canvas[40:240, 400:420, :3] = 255
    assert two_digit_image(canvas)[:, 28:].any()


def test_example_pairs_are_of_the_kind_asked():
    images, labels = load_test_split()
    rng = np.random.default_rng(0)
    for kind, check in (("two different", lambda a, b: a != b and b != EMPTY),
                        ("same digit twice", lambda a, b: a == b),
                        ("one digit", lambda a, b: b == EMPTY)):
        image, (a, b) = example_pair(images, labels, kind, rng)
        assert image.shape == (28, 56) and check(a, b), kind


@pytest.mark.parametrize("name", ["cnn_ovr", "cnn_regress", "cnn_multilabel"])
def test_head_checkpoints_round_trip(tmp_path, name):
    torch.manual_seed(0)
    model = registry.build_model(name).eval()
    save_checkpoint(tmp_path / name, model, {"arch": name, "config": registry.config_dict(name),
                                             "temperature": 1.0, "metrics": {"test": {}}})
    loaded = load_model(tmp_path / name, device="cpu")
    x = np.random.default_rng(0).random((4, 28, WIDTH[name]), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)[:, None]).numpy()
    assert np.array_equal(model_outputs(loaded.model, x, "cpu", WIDTH[name]), expected)


def test_the_multilabel_model_finds_both_digits_of_held_out_composites():
    need_checkpoints("cnn_multilabel")
    images, labels = load_test_split()
    x, pairs = pair_test_set(images, labels, 300, seed=5)
    two = (pairs >= 0).all(1) & (pairs[:, 0] != pairs[:, 1])
    out = model_outputs(load_model("cnn_multilabel", device="cpu").model, x[two], "cpu", 56)
    found = PAIR_SIGMOID.correct(torch.from_numpy(out), torch.from_numpy(pairs[two]))
    assert found.float().mean() >= 0.9


def test_the_regression_head_gives_a_number_not_a_class():
    need_checkpoints("cnn_regress")
    images, labels = load_test_split()
    x = images[:200].astype(np.float32) / 255
    out = model_outputs(load_model("cnn_regress", device="cpu").model, x, "cpu")
    assert out.shape == (200, 1) and out.dtype == np.float32
    assert np.mean(np.abs(out[:, 0] - np.round(out[:, 0])) > 0.05) > 0.3  # between digits
    assert np.mean(np.abs(out[:, 0] - labels[:200])) < 1.0  # yet near the digit


@pytest.mark.parametrize("name", HEADS)
def test_shipped_heads_reproduce_their_metadata(name):
    need_checkpoints(name)
    loaded = load_model(name, device="cpu")
    task = TASKS[loaded.arch.task]
    assert loaded.meta["task"] == task.name and loaded.meta["temperature"] == 1.0
    images, labels = scoring_set(task, *load_test_split(), seed=0)
    measured = head_metrics(task, model_outputs(loaded.model, images, "cpu", task.width), labels)
    recorded = loaded.meta["metrics"]["test"]
    assert measured["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-4)
    assert measured["accuracy"] >= FLOORS.get(name, 0.97)


# What each shipped head must reach: the rounding of a regression is not a classifier (that is
# its lesson), and the softmax on two digits is the wrong head on purpose.
FLOORS = {"cnn_regress": 0.4, "cnn_multilabel": 0.9, "cnn_pair_softmax": 0.5}
