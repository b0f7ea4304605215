"""explorer.yours.probe: a user's model's contract, worked out by running it on test digits."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from explorer.errors import ExplainedError
from explorer.inputs.data import load_test_float
from explorer.yours.contract import Contract
from explorer.yours.probe import (
    LayoutError,
    OutputShapeError,
    ProbeError,
    best_assignment,
    confusion,
    find_layout,
    matched_accuracy,
    output_kind,
    probe,
)
from tests.yours_models import (
    DEFECTS,
    EXPECTED,
    HEAVY_INK,
    PERMUTATION,
    defect_run,
    trained_mlp,
)


@pytest.fixture(scope="module")
def test_set():
    return load_test_float()


@pytest.fixture(scope="module")
def probes(test_set):
    """Every defect model probed once: {name: Probe}."""
    images01, labels = test_set
    return {name: probe(*_run_and_data(name, images01, labels)) for name in DEFECTS}


def _run_and_data(name, images01, labels):
    run, rank = defect_run(name)
    return run, images01, labels, rank


def _clean_logits(images01) -> np.ndarray:
    with torch.no_grad():
        return trained_mlp()(torch.from_numpy(images01[:, None])).numpy()


@pytest.mark.parametrize("seed", range(8))
def test_best_assignment_is_the_best_permutation_by_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 6
    scores = rng.integers(0, 20, size=(n, n))
    order = best_assignment(scores)
    total = sum(scores[d, k] for k, d in enumerate(order))
    brute = max(sum(scores[d, k] for k, d in enumerate(perm))
                for perm in itertools.permutations(range(n)))
    assert sorted(order) == list(range(n)) and total == brute


def test_best_assignment_prefers_the_identity_in_a_tie_and_finds_a_clear_permutation():
    assert best_assignment(np.ones((10, 10), dtype=int)) == tuple(range(10))
    scores = np.eye(10, dtype=int)[:, list(PERMUTATION)] * 50  # index k is digit PERMUTATION[k]
    assert best_assignment(scores) == PERMUTATION


def test_confusion_counts_by_hand_and_a_nan_row_is_never_right():
    outputs = np.array([[0.0, 2.0, 1.0] + [0.0] * 7, [5.0] + [0.0] * 9, [np.nan] * 10])
    counts = confusion(outputs, np.array([1, 3, 0]))
    expected = np.zeros((10, 10), dtype=int)
    expected[1, 1] = expected[3, 0] = 1
    assert (counts == expected).all()
    accuracy, _ = matched_accuracy(outputs, np.array([1, 3, 0]))
    assert accuracy == pytest.approx(2 / 3)  # index 0 read as a 3; the NaN row wrong


def test_output_kind_against_torch():
    logits = torch.randn(200, 10) * 4
    assert output_kind(logits.softmax(1).numpy().astype(np.float64)) == "probabilities"
    assert output_kind(logits.log_softmax(1).numpy().astype(np.float64)) == "log-probabilities"
    assert output_kind(logits.sigmoid().numpy().astype(np.float64)) == "sigmoids"
    assert output_kind(logits.numpy().astype(np.float64)) == "logits"
    assert output_kind((logits.log_softmax(1) + 0.1).numpy().astype(np.float64)) == "logits"


@pytest.mark.parametrize("name", DEFECTS)
def test_the_contract_found_is_exactly_the_defect_built(probes, name):
    _, layout, scale, inverted, outputs, order = EXPECTED[name]
    assert probes[name].contract == Contract(layout, scale, inverted, outputs, order)


@pytest.mark.parametrize("name", ["clean", "mnist-normalised", "minus-one-to-one", "0-255",
                                  "inverted", "flat", "permuted", "softmax"])
def test_under_the_contract_it_is_as_accurate_as_the_clean_model(probes, test_set, name):
    images01, labels = test_set
    clean = float((_clean_logits(images01).argmax(1) == labels).mean())
    assert probes[name].accuracy == pytest.approx(clean, abs=1e-4)
    prepared = probes[name].contract.prepare(images01[:3])
    assert prepared.shape == ((3, 784) if name == "flat" else (3, 1, 28, 28))


def test_label_order_evidence_reads_index_as_digit_too(probes, test_set):
    images01, labels = test_set
    permuted = _clean_logits(images01)[:, list(PERMUTATION)]
    assert probes["permuted"].identity_accuracy == pytest.approx(
        float((permuted.argmax(1) == labels).mean()))
    assert probes["permuted"].identity_accuracy < probes["permuted"].accuracy - 0.3


def test_every_scale_is_tried_and_the_right_one_wins(probes):
    trials = probes["0-255"].trials
    assert {(t.scale, t.inverted) for t in trials} == {
        (s, i) for s in ("unit", "mnist-normalised", "minus-one-to-one", "0-255")
        for i in (False, True)}
    best = max(trials, key=lambda t: t.accuracy)
    assert (best.scale, best.inverted) == ("0-255", False)
    assert next(t for t in trials if t.name == "unit").accuracy < 0.5


def test_a_near_tie_in_accuracy_is_settled_by_likelihood(probes):
    """255·x reads digits about as well as x for a ReLU MLP; its NLL gives it away."""
    trials = {t.name: t for t in probes["clean"].trials}
    assert abs(trials["0-255"].accuracy - trials["unit"].accuracy) <= 0.02
    assert trials["unit"].rescored and trials["0-255"].rescored
    assert trials["unit"].rescored[1] < trials["0-255"].rescored[1]


def test_non_finite_outputs_are_counted_where_they_happen(probes, test_set):
    images01, _ = test_set
    heavy = int((images01.reshape(len(images01), -1).mean(1) > HEAVY_INK).sum())
    nf = probes["nan"].non_finite
    assert heavy > 0 and nf["test set"] == heavy
    assert nf["blank image"] and nf["white image"]
    assert nf["scales"]["unit inverted"] == 500  # inverted, every image is heavy ink
    assert probes["clean"].non_finite == {"test set": 0, "blank image": False,
                                          "white image": False, "scales": {}}


@pytest.mark.parametrize("name, shape, kind", [("one-output", (1,), "logits"),
                                               ("two-outputs", (2,), "logits"),
                                               ("multi-label", (10,), "sigmoids"),
                                               ("log-softmax", (10,), "log-probabilities")])
def test_output_shape_and_kind_are_described(probes, name, shape, kind):
    assert probes[name].output_shape == shape and probes[name].output_kind == kind
    assert probes[name].ten_scores == (shape == (10,))


def test_not_ten_scores_has_no_accuracy_and_no_scale_search(probes):
    assert probes["one-output"].accuracy is None and probes["one-output"].trials == ()


def test_a_model_that_takes_neither_layout_gets_an_explained_error(test_set):
    images01, labels = test_set

    def rank3(x):
        if x.ndim != 3:
            raise ValueError(f"wants (N, 28, 28), got {x.shape}")
        return np.zeros((len(x), 10))
    with pytest.raises(LayoutError, match=r"neither \(N, 1, 28, 28\) nor \(N, 784\)") as err:
        probe(rank3, images01, labels)
    assert isinstance(err.value, ExplainedError) and "wants (N, 28, 28)" in str(err.value)
    with pytest.raises(LayoutError, match="rank 3"):
        probe(rank3, images01, labels, input_rank=3)


def test_outputs_without_the_batch_first_are_refused(test_set):
    images01, labels = test_set
    with pytest.raises(OutputShapeError, match="batch first"):
        probe(lambda x: np.zeros((10, len(x))), images01, labels)
    with pytest.raises(OutputShapeError, match=r"shape \(10,\)"):
        find_layout(lambda x: np.zeros(10), images01, None)
    assert issubclass(OutputShapeError, ProbeError) and issubclass(ProbeError, ExplainedError)


def test_a_model_with_a_fixed_batch_of_one_is_run_an_image_at_a_time(test_set):
    images01, labels = test_set
    run, rank = defect_run("clean")

    def batch_of_one(x):
        if len(x) != 1:
            raise ValueError("batch must be 1")
        return run(x)
    layout, fitted, _ = find_layout(batch_of_one, images01, rank)
    assert layout == "nchw"
    assert np.allclose(fitted(Contract().prepare(images01[:5])),
                       run(Contract().prepare(images01[:5])))


def test_the_runners_own_explained_error_is_raised_and_not_retried(test_set):
    images01, labels = test_set
    calls = []

    class OverTheLimit(ExplainedError):
        pass

    def hostile(x):
        calls.append(x.shape)
        raise OverTheLimit("the model took more than 10 s, the limit")
    with pytest.raises(OverTheLimit, match="10 s"):
        probe(hostile, images01, labels, input_rank=4)
    assert calls == [(2, 1, 28, 28)]
