"""Where the model looks: input attributions, CNN feature maps and MLP hidden units.

Every function takes the cached, shared, read-only model (an nn.Module or a LoadedModel)
and leaves it exactly as it was: no .train(), no requires_grad_ on parameters, no hooks
registered, no .grad written. Gradients flow only to a fresh input tensor.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from explorer.inputs.preprocess import check_image28
from explorer.model.inference import device_of, module_of
from explorer.model.networks import CNN, MLP, N_CLASSES

# All IG steps go through the model as one batch; this caps that batch's memory.
MAX_IG_STEPS = 512


def _check_target(target) -> int:
    target = int(target)
    if not 0 <= target < N_CLASSES:
        raise ValueError(f"target must be a class 0..{N_CLASSES - 1}, got {target}")
    return target


def _target_output_and_grad(module, images: np.ndarray, target: int, device):
    """Target outputs (N,) and d(output)/d(input) (N, 28, 28) for a batch (N, 28, 28).

    NB: callers may sit inside torch.inference_mode(), whose tensors can't enter autograd;
    so inference mode is switched off here and the input is made fresh inside that block.
    torch.autograd.grad (not .backward) keeps any .grad off the shared parameters.
    """
    with torch.inference_mode(False), torch.enable_grad():
        x = torch.tensor(images, dtype=torch.float32, device=device)[:, None]  # (N,1,28,28)
        x.requires_grad_(True)
        out = module(x)[:, target]  # (N,)
        (grad,) = torch.autograd.grad(out.sum(), x)
    return out.detach().double().cpu().numpy(), grad[:, 0].double().cpu().numpy()


def integrated_gradients(model, image28, target: int, steps: int = 32, baseline=None,
                         device=None) -> np.ndarray:
    """Integrated gradients of the target output (28, 28) float32, all steps in one forward.

    Baseline defaults to a black image. Midpoint Riemann sum over `steps` points on the
    straight path, so attributions sum to ≈ f(image) − f(baseline) (completeness).
    NB: for mlp_softmax the "output" is its softmax probability, not a logit.
    """
    module = module_of(model)
    image = check_image28(image28)
    target = _check_target(target)
    if not 1 <= int(steps) <= MAX_IG_STEPS:
        raise ValueError(f"steps must be 1..{MAX_IG_STEPS} (one batch), got {steps}")
    base = np.zeros_like(image) if baseline is None else check_image28(baseline)
    alphas = (np.arange(int(steps), dtype=np.float32) + 0.5) / int(steps)  # (S,)
    path = base + alphas[:, None, None] * (image - base)  # (S, 28, 28)
    _, grads = _target_output_and_grad(module, path, target, device_of(module, device))
    return ((image - base) * grads.mean(axis=0)).astype(np.float32)


def grad_times_input(model, image28, target: int, device=None) -> np.ndarray:
    """Gradient of the target output times the input, (28, 28) float32."""
    module = module_of(model)
    image = check_image28(image28)
    _, grads = _target_output_and_grad(module, image[None], _check_target(target),
                                       device_of(module, device))
    return (image * grads[0]).astype(np.float32)


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
    if not isinstance(module, CNN):
        raise ValueError(f"feature maps exist only for the CNN; this model is a "
                         f"{type(module).__name__}. Pick the cnn checkpoint.")
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
    if not isinstance(module, MLP):
        raise ValueError(f"hidden units are shown only for the MLPs; this model is a "
                         f"{type(module).__name__}. Pick the mlp checkpoint.")
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
