"""Where the model looks: attributions (captum), CNN feature maps and MLP hidden units.

Every function takes the cached, shared, read-only model (an nn.Module or a LoadedModel)
and leaves it exactly as it was: no .train(), no requires_grad_ on parameters, no hooks
left on it, no .grad written. Gradients flow only to a fresh input tensor.
Attributions explain the model's raw outputs, whatever the registry says they are (logits,
or the exhibit's probabilities).
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import (
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    Occlusion,
    Saliency,
)
from torch import nn

from explorer.inputs.preprocess import check_image28
from explorer.model import registry
from explorer.model.inference import device_of, module_of
from explorer.model.networks import MLP, N_CLASSES

IG, GRADIENTS, GRAD_X_INPUT, OCCLUSION, GRAD_CAM = (
    "Integrated gradients", "Gradients", "Gradient × input", "Occlusion", "Grad-CAM")
METHOD_NAMES = (IG, GRADIENTS, GRAD_X_INPUT, OCCLUSION, GRAD_CAM)
IG_STEPS = 32  # captum's Gauss–Legendre rule: |delta| ≲ 1 % of the change for the cnn
MAX_IG_STEPS = 512  # all IG steps go through the model as one batch; this caps its memory
# 13 × 13 windows of 4 px every 2 px tile 28 × 28 exactly, in one batch of 169 forwards.
OCCLUSION_WINDOW, OCCLUSION_STRIDE = 4, 2


@dataclass(frozen=True)
class Internals:
    """What a model has inside that the saliency page can show."""

    conv_layer: str | None  # Grad-CAM's layer, a conv that forward() ReLUs at once; or None
    feature_maps: bool  # a first convolution to show (cnn_feature_maps)
    hidden_units: bool  # tanh / sigmoid hidden layers to show (mlp_top_units)


def internals(model) -> Internals:
    """Which internals the model has, as its registry entry says: Grad-CAM's conv layer
    (Arch.grad_cam_layer), feature maps (FEATURE_MAPS), hidden units (HIDDEN_UNITS).

    NB: asked with a LoadedModel, which knows its entry; a bare module says nothing (no
    internals). Grad-CAM's layer must be one whose output forward() passes straight through
    a ReLU (see grad_cam); tests/test_registry.py checks each promise against the module.
    """
    arch = getattr(model, "arch", None)
    if arch is None:
        return Internals(None, False, False)
    return Internals(arch.grad_cam_layer, registry.FEATURE_MAPS in arch.roles,
                     registry.HIDDEN_UNITS in arch.roles)


def methods_for(model) -> tuple[str, ...]:
    """The attribution methods this model can take: Grad-CAM only with a conv layer."""
    has_conv = internals(model).conv_layer is not None
    return tuple(m for m in METHOD_NAMES if m != GRAD_CAM or has_conv)


@dataclass(frozen=True)
class Attribution:
    """One attribution map and, for integrated gradients, captum's convergence delta."""

    map28: np.ndarray  # (28, 28) float32; Grad-CAM's is in its own units, ≥ 0
    delta: float | None = None  # IG: Σ map − (f(image) − f(baseline)); else None


def _check_target(target) -> int:
    target = int(target)
    if not 0 <= target < N_CLASSES:
        raise ValueError(f"target must be a class 0..{N_CLASSES - 1}, got {target}")
    return target


@contextmanager
def _autograd():
    """Autograd on, even inside a caller's torch.inference_mode().

    NB: inference-mode tensors can't enter autograd, so callers make their input tensors
    inside this block. captum differentiates with torch.autograd.grad (never .backward),
    so no .grad lands on the shared parameters.
    """
    with torch.inference_mode(False), torch.enable_grad():
        yield


def _batch(image: np.ndarray, device, grad: bool = False) -> torch.Tensor:
    """A fresh (1, 1, 28, 28) float32 tensor of one (28, 28) image, a leaf of autograd."""
    x = torch.tensor(image[None, None], dtype=torch.float32, device=device)
    return x.requires_grad_(grad)


def _map28(attributions: torch.Tensor) -> np.ndarray:
    """captum's (1, 1, 28, 28) attributions as a (28, 28) float32 array."""
    return attributions.detach()[0, 0].float().cpu().numpy()


def _prepared(model, image28, target, device):
    """(module, image (28, 28), target, device), each checked."""
    module = module_of(model)
    return (module, check_image28(image28), _check_target(target),
            device_of(module, device))


def integrated_gradients_and_delta(model, image28, target: int, steps: int = IG_STEPS,
                                   baseline=None, device=None) -> Attribution:
    """Integrated gradients of the target output (captum), with its convergence delta.

    Baseline defaults to a black image. Completeness: the map sums to
    f(image) − f(baseline) up to `delta`, which captum measures with two extra forwards.
    NB: the map depends on the baseline; for the exhibit the output is a probability.
    """
    module, image, target, dev = _prepared(model, image28, target, device)
    if not 1 <= int(steps) <= MAX_IG_STEPS:
        raise ValueError(f"steps must be 1..{MAX_IG_STEPS} (one batch), got {steps}")
    base = np.zeros_like(image) if baseline is None else check_image28(baseline)
    with _autograd():
        attributions, delta = IntegratedGradients(module).attribute(
            _batch(image, dev), baselines=_batch(base, dev), target=target,
            n_steps=int(steps), return_convergence_delta=True)
    return Attribution(_map28(attributions), float(delta.item()))


def integrated_gradients(model, image28, target: int, steps: int = IG_STEPS, baseline=None,
                         device=None) -> np.ndarray:
    """Integrated gradients' map alone, (28, 28) float32."""
    return integrated_gradients_and_delta(model, image28, target, steps, baseline,
                                          device).map28


def gradients(model, image28, target: int, device=None) -> np.ndarray:
    """d(target output)/d(pixel) at the image, signed (captum Saliency), (28, 28) float32."""
    module, image, target, dev = _prepared(model, image28, target, device)
    with _autograd():
        x = _batch(image, dev, grad=True)
        return _map28(Saliency(module).attribute(x, target=target, abs=False))


def grad_times_input(model, image28, target: int, device=None) -> np.ndarray:
    """Gradient of the target output times the input (captum InputXGradient), (28, 28)."""
    module, image, target, dev = _prepared(model, image28, target, device)
    with _autograd():
        x = _batch(image, dev, grad=True)
        return _map28(InputXGradient(module).attribute(x, target=target))


def occlusion(model, image28, target: int, window: int = OCCLUSION_WINDOW,
              stride: int = OCCLUSION_STRIDE, device=None) -> np.ndarray:
    """How much the target output drops when a black window covers each pixel, (28, 28).

    captum Occlusion: f(image) − f(image with the window black), averaged over the windows
    that cover a pixel; all windows go through the model as one batch.
    NB: black is MNIST's background, so covering background changes nothing: only ink
    (and windows that reach it) can score.
    """
    module, image, target, dev = _prepared(model, image28, target, device)
    if not 1 <= int(stride) <= int(window) <= 28:
        raise ValueError(f"need 1 ≤ stride ≤ window ≤ 28, got window {window}, "
                         f"stride {stride}")
    per_side = -(-(28 - int(window)) // int(stride)) + 1
    with torch.inference_mode(False), torch.no_grad():
        return _map28(Occlusion(module).attribute(
            _batch(image, dev), sliding_window_shapes=(1, int(window), int(window)),
            strides=(1, int(stride), int(stride)), baselines=0.0, target=target,
            perturbations_per_eval=per_side ** 2))


def grad_cam(model, image28, target: int, device=None) -> np.ndarray:
    """Grad-CAM on the last conv's ReLU'd maps (captum LayerGradCam), upsampled to (28, 28).

    Grad-CAM weighs the rectified maps; the CNN's ReLU is functional (no module to hook),
    so a private copy gets an nn.ReLU after the conv: ReLU(ReLU(z)) = ReLU(z), so its
    outputs are unchanged, and gradients pass through a ReLU (none where a map is 0).
    On the raw conv outputs, 31 of 50 test digits' maps came out all zero.
    NB: captum hooks the layer while it runs; on the shared cached model that hook would
    fire in other sessions' forward passes: the private copy (~1 ms) keeps it off.
    """
    module, image, target, dev = _prepared(model, image28, target, device)
    layer = internals(model).conv_layer
    if layer is None:
        raise ValueError(f"Grad-CAM needs a known convolutional layer; this model "
                         f"({type(module).__name__}) has none.")
    with _autograd():
        private = copy.deepcopy(module)  # NB: copied in here, or its tensors are inference's
        parent, _, name = layer.rpartition(".")
        rectified = nn.Sequential(private.get_submodule(layer), nn.ReLU())
        setattr(private.get_submodule(parent), name, rectified)
        cam = LayerGradCam(private, rectified[1]).attribute(
            _batch(image, dev), target=target, relu_attributions=True)  # (1, 1, h, w)
        return _map28(LayerAttribution.interpolate(cam, (28, 28), "bilinear"))


_PLAIN = {GRADIENTS: gradients, GRAD_X_INPUT: grad_times_input, OCCLUSION: occlusion,
          GRAD_CAM: grad_cam}


def attribute(model, image28, method: str, target: int, steps: int = IG_STEPS,
              device=None) -> Attribution:
    """One method's attribution of the target output; `steps` counts only for IG."""
    if method == IG:
        return integrated_gradients_and_delta(model, image28, target, steps, device=device)
    if method not in _PLAIN:
        raise ValueError(f"method must be one of {', '.join(METHOD_NAMES)}, got {method!r}")
    return Attribution(_PLAIN[method](model, image28, target, device=device))


def target_output(model, images, target: int, device=None) -> np.ndarray:
    """The model's target output for each image (N,) float64, no grad (for checks)."""
    module = module_of(model)
    images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(images)).to(device_of(module, device))
        return module(x[:, None])[:, _check_target(target)].double().cpu().numpy()


def output_change(model, image28, target: int, baseline=None, device=None) -> tuple[float, float]:
    """(output at the baseline, output at the image) for the target class.

    NB: integrated gradients' map sums to their difference (completeness), up to its
    Riemann sum; the page shows both so a user can check.
    """
    image = check_image28(image28)
    base = np.zeros_like(image) if baseline is None else check_image28(baseline)
    at_base, at_image = target_output(model, np.stack([base, image]), target, device)
    return float(at_base), float(at_image)


def cnn_feature_maps(model, image28, device=None) -> np.ndarray:
    """The CNN's first-convolution ReLU maps for one image, (32, 26, 26) float32."""
    module = module_of(model)
    if not internals(model).feature_maps:
        raise ValueError(f"feature maps exist only for the CNN; this model is a "
                         f"{type(module).__name__}.")
    image = check_image28(image28)
    with torch.inference_mode():
        x = torch.from_numpy(image).to(device_of(module, device))[None, None]
        return module.features(x)[0].float().cpu().numpy()


def _hidden_layers(module: MLP, image: np.ndarray, device) -> list[tuple]:
    """(layer name, drive, activations) for each Tanh / Sigmoid of model.net, (units,) each.

    Drive is the tanh-scale pre-activation |z| (tanh) or |z| / 2 (sigmoid, since
    2·sigmoid(z) − 1 = tanh(z / 2)): it ranks like the distance from the resting value
    but, unlike the activation, does not tie at saturation.
    NB: walking the nn.Sequential instead of registering forward hooks keeps the shared
    cached model untouched: a hook added by one session would fire in every other
    session's forward pass while it is registered.
    """
    found = []
    with torch.inference_mode():
        x = torch.from_numpy(image).to(device)[None, None]
        for layer in module.net:
            z, x = x, layer(x)
            if isinstance(layer, (nn.Tanh, nn.Sigmoid)):
                tanh = isinstance(layer, nn.Tanh)
                drive = z[0].abs() if tanh else z[0].abs() / 2
                found.append((f"hidden{len(found) + 1} ({'tanh' if tanh else 'sigmoid'})",
                              drive.double().cpu().numpy(), x[0].double().cpu().numpy()))
    return found


def mlp_top_units(model, image28, k: int = 12, layer: str | None = None,
                  device=None) -> list[tuple[str, int, float]]:
    """The k most strongly driven hidden units: [(layer_name, unit_index, activation)].

    Units are ranked by how far their input pushes them from rest, on one scale for both
    layers (see _hidden_layers), so saturated tanh units are still told apart.
    layer="hidden1" or "hidden2" keeps one layer (the tanh layer usually dominates).
    """
    module = module_of(model)
    if not internals(model).hidden_units:
        raise ValueError(f"hidden units are shown only for the MLPs; this model is a "
                         f"{type(module).__name__}.")
    if int(k) < 0:
        raise ValueError(f"k must be ≥ 0, got {k}")
    if layer not in (None, "hidden1", "hidden2"):
        raise ValueError(f"layer must be None, 'hidden1' or 'hidden2', got {layer!r}")
    rows = []
    for name, drive, acts in _hidden_layers(module, check_image28(image28),
                                            device_of(module, device)):
        if layer is None or name.split(" ")[0] == layer:
            rows += [(drive[i], name, i, float(acts[i])) for i in range(len(acts))]
    rows.sort(key=lambda r: -r[0])  # stable: ties keep layer then unit order
    return [(name, int(i), act) for _, name, i, act in rows[:int(k)]]
