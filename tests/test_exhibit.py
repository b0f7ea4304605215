"""Tests for explorer.lab.exhibit: the e / (e + 9) double-softmax ceiling, maths and checkpoint."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.inputs.data import load_test_float
from explorer.lab.exhibit import (
    DOUBLE_SOFTMAX_BOUND,
    DOUBLE_SOFTMAX_MIN_LOSS,
    double_softmax,
    max_double_softmax,
)
from explorer.model.checkpoints import load_model
from explorer.model.inference import predict_logits


@st.composite
def probability_vectors(draw):
    """Dirichlet-like rows: non-negative weights (often sparse, incl. one-hot), normalised."""
    weights = draw(arrays(np.float64, (draw(st.integers(1, 8)), 10),
                          elements=st.sampled_from([0.0, 0.0, 1.0]) | st.floats(0, 1e6)))
    empty = weights.sum(axis=1) == 0
    weights[empty, draw(st.integers(0, 9))] = 1.0
    return weights / weights.sum(axis=1, keepdims=True)


def test_bound_constants():
    assert DOUBLE_SOFTMAX_BOUND == pytest.approx(0.2320, abs=1e-4)
    assert DOUBLE_SOFTMAX_BOUND == pytest.approx(math.e / (math.e + 9), rel=1e-15)
    assert DOUBLE_SOFTMAX_MIN_LOSS == pytest.approx(-math.log(DOUBLE_SOFTMAX_BOUND), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(probs=probability_vectors())
def test_bound_holds_for_any_probability_vector_and_matches_torch(probs):
    top = max_double_softmax(probs)
    reference = torch.softmax(torch.tensor(probs), dim=-1).max(dim=-1).values.numpy()
    np.testing.assert_allclose(top, reference, rtol=1e-12)
    assert (top <= DOUBLE_SOFTMAX_BOUND + 1e-12).all() and (top >= 0.1 - 1e-12).all()
    labels = torch.tensor(probs.argmax(axis=1))
    loss = F.cross_entropy(torch.tensor(probs), labels, reduction="none").numpy()
    assert (loss >= DOUBLE_SOFTMAX_MIN_LOSS - 1e-12).all()


def test_one_hot_attains_the_bound_and_uniform_the_floor():
    np.testing.assert_allclose(max_double_softmax(np.eye(10)), DOUBLE_SOFTMAX_BOUND, rtol=1e-12)
    assert max_double_softmax(np.full(10, 0.1)) == pytest.approx(0.1, rel=1e-12)
    np.testing.assert_allclose(double_softmax(np.eye(10)).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"\(\.\.\., 10\)"):
        max_double_softmax(np.ones(9) / 9)


def test_real_exhibit_checkpoint_respects_the_bound():
    loaded = load_model("mlp_softmax", "cpu")
    assert loaded.meta["outputs_logits"] is False
    images, labels = load_test_float()
    probs = predict_logits(loaded, images[:1000]).astype(np.float64)  # its own probabilities
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    top = max_double_softmax(probs)
    assert (top <= DOUBLE_SOFTMAX_BOUND + 1e-9).all() and (top >= 0.1 - 1e-9).all()
    # It was trained this way, so it learned to push toward one-hot: near the ceiling.
    assert np.median(top) > 0.9 * DOUBLE_SOFTMAX_BOUND
    # Every loss it ever reported sits above the floor the maths allows.
    history = loaded.meta["history"]
    assert min(min(row["train_loss"], row["val_loss"]) for row in history) \
        >= DOUBLE_SOFTMAX_MIN_LOSS - 1e-6
    assert loaded.meta["metrics"]["test"]["nll"] >= DOUBLE_SOFTMAX_MIN_LOSS - 1e-6
