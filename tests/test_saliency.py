"""explorer.lab.saliency (captum attributions, feature maps, hidden units) against torch
references and hand-computed maps. The page: tests/test_saliency_page.py."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.inputs.data import load_test_float
from explorer.lab import saliency
from explorer.lab.saliency import (
    attribute,
    cnn_feature_maps,
    grad_cam,
    grad_times_input,
    gradients,
    integrated_gradients,
    integrated_gradients_and_delta,
    mlp_top_units,
    occlusion,
    target_output,
)
from explorer.model.checkpoints import load_model
from explorer.model.networks import MNIST_MEAN, MNIST_STD
from tests.apptest import need_checkpoints


@pytest.fixture(scope="module")
def models():
    need_checkpoints("cnn", "mlp", "mlp_softmax")
    return {name: load_model(name, "cpu") for name in ("cnn", "mlp", "mlp_softmax")}


@pytest.fixture(scope="module")
def digits():
    images, labels = load_test_float()
    return images[:3].copy(), labels[:3].copy()


def _snapshot(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _autograd_grad(module, image: np.ndarray, target: int) -> np.ndarray:
    """d(output[target])/d(input) by plain torch autograd, (28, 28) float64."""
    x = torch.tensor(image[None, None], dtype=torch.float32, requires_grad=True)
    (grad,) = torch.autograd.grad(module(x)[0, target], x)
    return grad[0, 0].double().numpy()


# --- Integrated gradients -------------------------------------------------------------------
def test_integrated_gradients_on_a_linear_model_are_exactly_input_minus_baseline_times_w():
    """f(x) = W x + b: IG's map is (x − baseline) · ∇f = (x − baseline) · W[k], delta ≈ 0."""
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).eval()
    rng = np.random.default_rng(0)
    image, baseline = rng.random((28, 28), np.float32), rng.random((28, 28), np.float32) / 2
    for target in (0, 7):
        w = _autograd_grad(linear, image, target)  # independent: W[k] as a (28, 28) map
        got = integrated_gradients_and_delta(linear, image, target, steps=4, baseline=baseline)
        np.testing.assert_allclose(got.map28, (image - baseline) * w, rtol=1e-4, atol=1e-6)
        assert abs(got.delta) < 1e-4
        f_x, f_b = target_output(linear, np.stack([image, baseline]), target)
        assert got.map28.sum() == pytest.approx(f_x - f_b, abs=1e-4)


@pytest.mark.parametrize("name", ["cnn", "mlp", "mlp_softmax"])
def test_integrated_gradients_sum_to_the_output_change_within_captums_delta(models, digits,
                                                                            name):
    """Σ map − delta = f(x) − f(black), f from a plain forward; delta small for logits."""
    loaded = models[name]
    for image, label in zip(*digits, strict=True):
        got = integrated_gradients_and_delta(loaded, image, int(label))
        f_x, f_0 = target_output(loaded, np.stack([image, np.zeros_like(image)]), int(label))
        change = f_x - f_0
        assert got.map28.sum() - got.delta == pytest.approx(change, rel=1e-4, abs=1e-5)
        if loaded.outputs_logits:
            assert abs(change) > 1.0  # a trained model's logit really moves
            assert abs(got.delta) < 0.1 * abs(change)


def test_integrated_gradients_baseline_equal_to_input_gives_zero(models, digits):
    image = digits[0][0]
    assert np.allclose(integrated_gradients(models["cnn"], image, 3, steps=4, baseline=image), 0)


# --- Gradients and gradient × input ---------------------------------------------------------
@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_gradients_equal_torch_autograd_of_the_target_output(models, digits, name):
    module = models[name].model
    for image, label in zip(*digits, strict=True):
        for target in (int(label), (int(label) + 1) % 10):
            expected = _autograd_grad(module, image, target)  # signed
            np.testing.assert_allclose(gradients(models[name], image, target), expected,
                                       rtol=1e-4, atol=1e-7)


def test_grad_times_input_matches_finite_difference(models, digits):
    """Σ x·∇f(x) is the directional derivative along x: (f((1+ε)x) − f((1−ε)x)) / 2ε."""
    image, label = digits[0][0].astype(np.float64), int(digits[1][0])
    module = models["mlp"].model
    eps = 1e-2
    f_plus, f_minus = target_output(module, np.stack([(1 + eps) * image, (1 - eps) * image]),
                                    label)
    expected = (f_plus - f_minus) / (2 * eps)
    assert grad_times_input(module, image, label).sum() == pytest.approx(expected, rel=0.02)


# --- Occlusion ------------------------------------------------------------------------------
class OnePixel(nn.Module):
    """Every class's output is 5 × one pixel's value: only that pixel matters."""

    def __init__(self, row: int, col: int):
        super().__init__()
        self.row, self.col = row, col

    def forward(self, x):
        return 5 * x[:, 0, self.row, self.col][:, None].expand(-1, 10)  # (N, 10)


def _occlusion_by_hand(row, col, window, stride, drop) -> np.ndarray:
    """Each pixel: the mean output drop over the windows that cover it, (28, 28)."""
    total, count = np.zeros((28, 28)), np.zeros((28, 28))
    for top in range(0, 28 - window + 1, stride):
        for left in range(0, 28 - window + 1, stride):
            covers = top <= row < top + window and left <= col < left + window
            total[top:top + window, left:left + window] += drop if covers else 0.0
            count[top:top + window, left:left + window] += 1
    return total / count


@pytest.mark.parametrize("row, col", [(13, 14), (0, 27), (6, 9)])
def test_occlusion_lights_only_the_windows_over_the_one_pixel_that_matters(row, col):
    image = np.ones((28, 28), np.float32)
    got = occlusion(OnePixel(row, col), image, target=4)
    expected = _occlusion_by_hand(row, col, saliency.OCCLUSION_WINDOW,
                                  saliency.OCCLUSION_STRIDE, drop=5.0)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    lit = np.argwhere(got > 0)
    assert got[row, col] == pytest.approx(5.0)  # every window over it drops the output by 5
    assert np.abs(lit - [row, col]).max() < saliency.OCCLUSION_WINDOW  # one window's reach


# --- Grad-CAM -------------------------------------------------------------------------------
def _grad_cam_by_hand(module, image: np.ndarray, target: int) -> np.ndarray:
    """Grad-CAM on the CNN's ReLU'd conv2 maps A, written out in torch, (28, 28).

    Gradients are taken through A's ReLU, which passes none where A = 0.
    """
    x = torch.from_numpy(image)[None, None]
    with torch.no_grad():
        z = module.conv2(module.features(x))  # (1, 64, 24, 24), before the ReLU
    z.requires_grad_(True)
    a = torch.relu(z)
    rest = module.fc1(torch.flatten(torch.max_pool2d(a, 2), 1))
    (grad,) = torch.autograd.grad(module.fc2(torch.relu(rest))[0, target], z)
    weights = grad.mean(dim=(2, 3), keepdim=True)  # (1, 64, 1, 1)
    cam = torch.relu((weights * a).sum(dim=1, keepdim=True))  # (1, 1, 24, 24)
    return F.interpolate(cam, size=(28, 28), mode="bilinear")[0, 0].detach().numpy()


def test_grad_cam_is_28_by_28_non_negative_and_matches_a_torch_reference(models, digits):
    module = models["cnn"].model
    for image, label in zip(*digits, strict=True):
        for target in (int(label), (int(label) + 3) % 10):
            cam = grad_cam(models["cnn"], image, target)
            assert cam.shape == (28, 28) and cam.dtype == np.float32
            assert (cam >= 0).all()
            np.testing.assert_allclose(cam, _grad_cam_by_hand(module, image, target),
                                       rtol=1e-4, atol=1e-7)
        assert grad_cam(models["cnn"], image, int(label)).max() > 0  # its own class: evidence


def test_grad_cam_is_offered_only_with_a_conv_layer(models, digits):
    assert saliency.GRAD_CAM in saliency.methods_for(models["cnn"])
    for name in ("mlp", "mlp_softmax"):
        assert saliency.GRAD_CAM not in saliency.methods_for(models[name])
        with pytest.raises(ValueError, match="Grad-CAM needs"):
            grad_cam(models[name], digits[0][0], 1)


# --- Every method, every model --------------------------------------------------------------
@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_every_method_gives_a_finite_input_shaped_map_and_prints_its_time(models, digits,
                                                                         name, capsys):
    """Timings are printed (pytest -s), never asserted: CPU speed varies."""
    image, label = digits[0][0], int(digits[1][0])
    times = {}
    for method in saliency.methods_for(models[name]):
        attribute(models[name], image, method, label)  # warm: first calls pay for setup
        start = time.perf_counter()
        got = attribute(models[name], image, method, label)
        times[method] = (time.perf_counter() - start) * 1000
        assert got.map28.shape == (28, 28) and got.map28.dtype == np.float32
        assert np.isfinite(got.map28).all() and np.abs(got.map28).sum() > 0
        assert (got.delta is not None) == (method == saliency.IG)
    with capsys.disabled():
        print(f"\n{name} ({torch.get_num_threads()} threads): "
              + ", ".join(f"{m} {ms:.1f} ms" for m, ms in times.items()))


def test_model_is_left_untouched_even_inside_inference_mode(models, digits):
    """No parameter change, no .grad, still eval, still frozen, no hooks left behind."""
    for name, loaded in models.items():
        module = loaded.model
        before = _snapshot(module)
        layers = [type(m) for m in module.modules()]
        with torch.inference_mode():
            for method in saliency.methods_for(loaded):
                attribute(loaded, digits[0][0], method, 7, steps=8)
        inside = mlp_top_units(loaded, digits[0][0]) if name != "cnn" else cnn_feature_maps(
            loaded, digits[0][0])
        assert inside is not None
        assert [type(m) for m in module.modules()] == layers  # Grad-CAM's ReLU went elsewhere
        assert not module.training and not any(m.training for m in module.modules())
        for key, value in module.state_dict().items():
            assert torch.equal(value, before[key]), key
        for param in module.parameters():
            assert not param.requires_grad and param.grad is None
        assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                       for m in module.modules())


# --- Internals ------------------------------------------------------------------------------
def test_internals_say_what_each_model_has(models):
    assert saliency.internals(models["cnn"]) == saliency.Internals("conv2", True, False)
    for name in ("mlp", "mlp_softmax"):
        assert saliency.internals(models[name]) == saliency.Internals(None, False, True)
    toy = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LazyLinear(10))
    assert saliency.internals(toy) == saliency.Internals(None, False, False)  # no registry entry
    assert saliency.internals(models["cnn"].model) == saliency.Internals(None, False, False)


def test_cnn_feature_maps_match_a_conv_reference(models, digits):
    module, image = models["cnn"].model, digits[0][0]
    maps = cnn_feature_maps(models["cnn"], image)
    assert maps.shape == (32, 26, 26) and maps.dtype == np.float32 and (maps >= 0).all()
    x = (torch.from_numpy(image)[None, None] - MNIST_MEAN) / MNIST_STD
    with torch.no_grad():
        ref = torch.relu(F.conv2d(x, module.conv1.weight, module.conv1.bias))[0].numpy()
    np.testing.assert_allclose(maps, ref, atol=1e-5)


def test_mlp_top_units_match_a_forward_hook_reference(digits):
    need_checkpoints("mlp")
    fresh = load_model("mlp", "cpu")  # hooks go on a private copy, never the shared one
    image = digits[0][2]
    seen = {}  # layer -> (pre-activation, activation)
    layers = [m for m in fresh.model.net if isinstance(m, (torch.nn.Tanh, torch.nn.Sigmoid))]
    for i, layer in enumerate(layers):
        layer.register_forward_hook(
            lambda m, inp, out, i=i: seen.__setitem__(i, (inp[0][0].numpy(), out[0].numpy())))
    with torch.no_grad():
        fresh.model(torch.from_numpy(image)[None, None])
    top = mlp_top_units(fresh, image, k=12)
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
    second = mlp_top_units(fresh, image, k=5, layer="hidden2")
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
        gradients(models["cnn"], image, 10)
    with pytest.raises(ValueError, match="NaN"):
        grad_times_input(models["cnn"], np.full((28, 28), np.nan), 1)
    with pytest.raises(ValueError, match="stride ≤ window"):
        occlusion(models["cnn"], image, 1, window=2, stride=3)
    with pytest.raises(ValueError, match="method must be one of"):
        attribute(models["cnn"], image, "LIME", 1)
