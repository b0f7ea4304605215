"""Tests for explorer.lab.saliency on the shipped checkpoints, against torch references."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.inputs.data import load_test_float
from explorer.lab.saliency import (
    cnn_feature_maps,
    grad_times_input,
    integrated_gradients,
    mlp_top_units,
    target_output,
)
from explorer.model.checkpoints import load_model
from explorer.model.networks import MNIST_MEAN, MNIST_STD


@pytest.fixture(scope="module")
def models():
    return {name: load_model(name, "cpu") for name in ("cnn", "mlp")}


@pytest.fixture(scope="module")
def digits():
    images, labels = load_test_float()
    return images[:3].copy(), labels[:3].copy()


def _snapshot(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_attributions_have_input_shape_and_are_finite(models, digits, name):
    image, label = digits[0][0], int(digits[1][0])
    for saliency in (integrated_gradients(models[name], image, label, steps=8),
                     grad_times_input(models[name].model, image, label)):
        assert saliency.shape == (28, 28) and saliency.dtype == np.float32
        assert np.isfinite(saliency).all() and np.abs(saliency).sum() > 0


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_integrated_gradients_completeness(models, digits, name):
    """Σ attributions ≈ f(x) − f(baseline) for the target output."""
    loaded = models[name]
    for image, label in zip(*digits, strict=True):
        ig = integrated_gradients(loaded, image, int(label), steps=128)
        f_x, f_0 = target_output(loaded, np.stack([image, np.zeros_like(image)]), int(label))
        gap = f_x - f_0
        assert abs(gap) > 1.0  # a trained model's logit really moves from black to digit
        assert ig.sum() == pytest.approx(gap, rel=0.05)


def test_integrated_gradients_baseline_equal_to_input_gives_zero(models, digits):
    image = digits[0][0]
    assert np.allclose(integrated_gradients(models["cnn"], image, 3, steps=4, baseline=image), 0)


def test_grad_times_input_matches_finite_difference(models, digits):
    """Σ x·∇f(x) is the directional derivative along x: (f((1+ε)x) − f((1−ε)x)) / 2ε."""
    image, label = digits[0][0].astype(np.float64), int(digits[1][0])
    module = models["mlp"].model
    eps = 1e-2
    f_plus, f_minus = target_output(module, np.stack([(1 + eps) * image, (1 - eps) * image]),
                                    label)
    expected = (f_plus - f_minus) / (2 * eps)
    assert grad_times_input(module, image, label).sum() == pytest.approx(expected, rel=0.02)


def test_model_is_left_untouched_even_inside_inference_mode(models, digits):
    """No parameter change, no .grad, still eval, still frozen, no hooks left behind."""
    for name, loaded in models.items():
        module = loaded.model
        before = _snapshot(module)
        with torch.inference_mode():
            integrated_gradients(loaded, digits[0][0], 7, steps=8)
            grad_times_input(module, digits[0][1], 2)
        mlp_or_cnn = (mlp_top_units(loaded, digits[0][0]) if name == "mlp"
                      else cnn_feature_maps(loaded, digits[0][0]))
        assert mlp_or_cnn is not None
        assert not module.training and not any(m.training for m in module.modules())
        for key, value in module.state_dict().items():
            assert torch.equal(value, before[key]), key
        for param in module.parameters():
            assert not param.requires_grad and param.grad is None
        assert not any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())


def test_cnn_feature_maps_match_a_conv_reference(models, digits):
    module, image = models["cnn"].model, digits[0][0]
    maps = cnn_feature_maps(models["cnn"], image)
    assert maps.shape == (32, 26, 26) and maps.dtype == np.float32 and (maps >= 0).all()
    x = (torch.from_numpy(image)[None, None] - MNIST_MEAN) / MNIST_STD
    with torch.no_grad():
        ref = torch.relu(F.conv2d(x, module.conv1.weight, module.conv1.bias))[0].numpy()
    np.testing.assert_allclose(maps, ref, atol=1e-5)


def test_mlp_top_units_match_a_forward_hook_reference(digits):
    fresh = load_model("mlp", "cpu")  # hooks go on a private copy, never the shared one
    image = digits[0][2]
    seen = {}  # layer -> (pre-activation, activation)
    layers = [m for m in fresh.model.net if isinstance(m, (torch.nn.Tanh, torch.nn.Sigmoid))]
    for i, layer in enumerate(layers):
        layer.register_forward_hook(
            lambda m, inp, out, i=i: seen.__setitem__(i, (inp[0][0].numpy(), out[0].numpy())))
    with torch.no_grad():
        fresh.model(torch.from_numpy(image)[None, None])
    top = mlp_top_units(fresh.model, image, k=12)
    assert len(top) == 12
    drives = []
    for layer_name, unit, activation in top:
        layer = 0 if "tanh" in layer_name else 1
        assert layer_name.startswith(f"hidden{layer + 1}")
        pre, post = seen[layer]
        assert activation == pytest.approx(float(post[unit]), abs=1e-6)
        drives.append(abs(float(pre[unit])) / (1 if layer == 0 else 2))
    assert drives == sorted(drives, reverse=True)
    everything = np.concatenate([np.abs(seen[0][0]), np.abs(seen[1][0]) / 2])
    assert min(drives) >= np.sort(everything)[-12] - 1e-5
    assert len({(name, unit) for name, unit, _ in top}) == 12
    second = mlp_top_units(fresh.model, image, k=5, layer="hidden2")
    assert [unit for _, unit, _ in second] == np.argsort(-np.abs(seen[1][0]))[:5].tolist()
    assert all(name == "hidden2 (sigmoid)" for name, _, _ in second)


def test_wrong_model_kind_and_bad_input_get_clear_errors(models, digits):
    image = digits[0][0]
    with pytest.raises(ValueError, match="only for the CNN"):
        cnn_feature_maps(models["mlp"], image)
    with pytest.raises(ValueError, match="only for the MLPs"):
        mlp_top_units(models["cnn"], image)
    with pytest.raises(ValueError, match="layer must be"):
        mlp_top_units(models["mlp"], image, layer="hidden3")
    with pytest.raises(ValueError, match=r"shape \(28, 28\)"):
        integrated_gradients(models["cnn"], image[:20], 1)
    with pytest.raises(ValueError, match="steps must be"):
        integrated_gradients(models["cnn"], image, 1, steps=0)
    with pytest.raises(ValueError, match="target"):
        grad_times_input(models["cnn"], image, 10)
    with pytest.raises(ValueError, match="NaN"):
        grad_times_input(models["cnn"], np.full((28, 28), np.nan), 1)
