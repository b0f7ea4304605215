"""Tests for explorer.lab.robustness: transforms against numpy references, sweeps on checkpoints."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.inputs.data import load_test_float
from explorer.inputs.preprocess import center_of_mass
from explorer.lab.robustness import SWEEP_PARAMS, sweep, transform
from explorer.model.checkpoints import load_model
from explorer.model.inference import predict_logits


@pytest.fixture(scope="module")
def digit():
    # A 0 whose ink spans rows 4..23 and cols 7..22, so a ±3 px shift never clips it.
    return load_test_float()[0][3].copy()


def test_identity_transform_returns_the_input(digit):
    np.testing.assert_allclose(transform(digit), digit, atol=1e-6)
    # Tiny but non-zero settings go through grid_sample and must still be ~identity.
    np.testing.assert_allclose(transform(digit, shift=(1e-6, 0), rotate=1e-6), digit, atol=1e-4)


@pytest.mark.parametrize("shift, axis", [((3, 0), 1), ((0, 3), 0), ((-3, 0), 1)])
def test_shift_moves_the_centre_of_mass(digit, shift, axis):
    before = np.array(center_of_mass(digit))
    after = np.array(center_of_mass(transform(digit, shift=shift)))
    expected = np.array([shift[1], shift[0]], dtype=float)  # (rows, cols) = (down, right)
    np.testing.assert_allclose(after - before, expected, atol=0.1)
    assert transform(digit, shift=shift).sum() == pytest.approx(digit.sum(), rel=1e-3)


def test_rotations_match_numpy_rot90(digit):
    """Pixel centres map onto pixel centres at quarter turns, so these are exact."""
    np.testing.assert_allclose(transform(digit, rotate=180), np.rot90(digit, 2), atol=1e-5)
    np.testing.assert_allclose(transform(digit, rotate=90), np.rot90(digit, -1), atol=1e-5)


def test_scale_and_thickness_change_the_ink_the_right_way(digit):
    mass = digit.sum()
    assert transform(digit, scale=1.3).sum() > 1.3 * mass
    assert transform(digit, scale=0.7).sum() < 0.7 * mass
    bold, thin = transform(digit, thickness=1.0), transform(digit, thickness=-1.0)
    assert bold.sum() > mass > thin.sum()
    assert (bold >= digit - 1e-6).all() and (thin <= digit + 1e-6).all()
    for image in (bold, thin, transform(digit, scale=2.0, rotate=30)):
        assert image.dtype == np.float32 and image.min() >= 0 and image.max() <= 1


@pytest.mark.parametrize("param, values", [
    ("shift_x", [-4, -2, 0, 2, 4]), ("shift_y", [0, 3]), ("rotate", [-30, 0, 30]),
    ("scale", [0.6, 1.0, 1.4]), ("thickness", [-1, -0.5, 0, 0.5, 1, 2]),
])
def test_sweep_shapes_rows_and_the_untouched_point(digit, param, values):
    loaded = load_model("cnn", "cpu")
    out_values, probs = sweep(loaded, digit, param, values)
    assert out_values.shape == (len(values),) and probs.shape == (len(values), 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    identity = 1.0 if param == "scale" else 0.0
    row = probs[list(values).index(identity)]
    logits = torch.tensor(predict_logits(loaded, digit[None]), dtype=torch.float64)
    np.testing.assert_allclose(row, torch.softmax(logits, 1)[0].numpy(), atol=1e-6)


def test_sweep_on_a_bare_module_and_on_the_exhibit(digit):
    cnn = load_model("cnn", "cpu")
    _, from_loaded = sweep(cnn, digit, "rotate", [0, 45])
    _, from_module = sweep(cnn.model, digit, "rotate", [0, 45])
    np.testing.assert_allclose(from_loaded, from_module, atol=1e-9)
    exhibit = load_model("mlp_softmax", "cpu")
    _, probs = sweep(exhibit, digit, "shift_x", [0])
    # The exhibit's outputs already are probabilities: they pass through, not softmaxed again.
    np.testing.assert_allclose(probs[0], predict_logits(exhibit, digit[None])[0], atol=1e-5)


def test_bad_sweeps_get_clear_errors(digit):
    loaded = load_model("cnn", "cpu")
    with pytest.raises(ValueError, match="param must be one of"):
        sweep(loaded, digit, "zoom", [1])
    with pytest.raises(ValueError, match="non-empty"):
        sweep(loaded, digit, "rotate", [])
    with pytest.raises(ValueError, match="scale must be > 0"):
        sweep(loaded, digit, "scale", [0.0])
    with pytest.raises(ValueError, match=r"\(28, 28\)"):
        transform(np.zeros((28, 27)))
    assert set(SWEEP_PARAMS) == {"shift_x", "shift_y", "rotate", "scale", "thickness"}
