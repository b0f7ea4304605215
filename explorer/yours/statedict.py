"""A user's state dict, matched by its tensors' shapes to networks this code builds.

A state dict records weights only: no activations and no final softmax. So each network whose
parameter shapes fit is offered in variants (the activations between its layers, and whether
it ends in nn.Softmax), each built from this project's own code, never from the file.
NB: weights are copied by position (the file's order is its module order); names differ
(the tutorial's `linear_stack.0.weight` is our `1.weight`).
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer.errors import ExplainedError
from explorer.model import registry
from explorer.model.networks import MNIST_MEAN, MNIST_STD, Normalize

ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}


class StateDictError(ExplainedError):
    """A state dict that fits no network this code can build; the message says what it holds."""


@dataclass(frozen=True)
class Variant:
    """One network a state dict fits: how to build it, and what it is in words."""

    family: str  # "linear stack" | a registered architecture's name
    activations: tuple[str, ...]  # between the linear layers ("" for a registered one)
    final_softmax: bool

    @property
    def label(self) -> str:
        inner = " → ".join(self.activations) if self.activations else self.family
        tail = ", ends in nn.Softmax" if self.final_softmax else ", outputs logits"
        return f"{self.family}: {inner}{tail}" if self.activations else f"{inner}{tail}"


def _shapes(state: Mapping[str, torch.Tensor]) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in state.values()]


def linear_shapes(state: Mapping[str, torch.Tensor]) -> list[tuple[int, int]] | None:
    """The (out, in) of each Linear layer if the dict is weight, bias pairs of a stack, else None.

    NB: the stack must take 784 pixels and give 10 scores, each layer feeding the next.
    """
    shapes = _shapes(state)
    if len(shapes) < 2 or len(shapes) % 2:
        return None
    layers = []
    for weight, bias in zip(shapes[::2], shapes[1::2]):
        if len(weight) != 2 or bias != (weight[0],):
            return None
        layers.append(weight)
    chained = all(a[0] == b[1] for a, b in zip(layers, layers[1:]))
    return layers if chained and layers[0][1] == 28 * 28 and layers[-1][0] == 10 else None


def variants(state: Mapping[str, torch.Tensor]) -> list[Variant]:
    """Every network this code builds that the state dict's shapes fit, in every variant."""
    found = []
    layers = linear_shapes(state)
    if layers is not None:
        for acts in itertools.product(ACTIVATIONS, repeat=len(layers) - 1):
            found += [Variant("linear stack", acts, soft) for soft in (False, True)]
    else:  # a registered ten-way network of the same shapes (the cnn)
        for name in registry.names():
            with torch.device("meta"):
                if _shapes(registry.build_model(name).state_dict()) == _shapes(state):
                    found += [Variant(name, (), soft) for soft in (False, True)]
                    break
    if not found:
        raise StateDictError(_no_fit_message(state))
    return found


def _no_fit_message(state: Mapping[str, torch.Tensor]) -> str:
    shown = ", ".join(f"{k} {tuple(t.shape)}" for k, t in list(state.items())[:6])
    more = f" and {len(state) - 6} more" if len(state) > 6 else ""
    return (f"This state dict fits no network the app can build ({shown}{more}). It reads "
            f"a stack of Linear layers from 784 pixels to 10 scores, or the shipped cnn's "
            f"layers. For any other architecture, export ONNX instead: torch.onnx.export("
            f"model, torch.zeros(1, 1, 28, 28), \"model.onnx\", input_names=[\"x\"], "
            f"output_names=[\"y\"], dynamic_axes={{\"x\": {{0: \"n\"}}, \"y\": {{0: \"n\"}}}}, "
            f"dynamo=False)")


class _LinearStack(nn.Module):
    """Flatten, then Linear layers with the chosen activations between them."""

    def __init__(self, layers: list[tuple[int, int]], activations: tuple[str, ...],
                 final_softmax: bool):
        super().__init__()
        parts: list[nn.Module] = [nn.Flatten()]
        for (out, inp), act in itertools.zip_longest(layers, activations):
            parts.append(nn.Linear(inp, out))
            if act:
                parts.append(ACTIVATIONS[act]())
        if final_softmax:
            parts.append(nn.Softmax(dim=1))
        self.net = nn.Sequential(*parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _Registered(nn.Module):
    """A registered network's layers without its own normalisation (probing finds the scale)."""

    def __init__(self, name: str, final_softmax: bool):
        super().__init__()
        self.net = registry.build_model(name)
        for parent in self.net.modules():
            for child_name, child in parent.named_children():
                if isinstance(child, Normalize):
                    setattr(parent, child_name, nn.Identity())
        self.final_softmax = final_softmax

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.net(x)
        return torch.softmax(z, 1) if self.final_softmax else z


def build(state: Mapping[str, torch.Tensor], variant: Variant) -> nn.Module:
    """The variant's network with the state dict's weights, in eval mode, no grad."""
    if variant.family == "linear stack":
        module = _LinearStack(linear_shapes(state), variant.activations, variant.final_softmax)
    else:
        module = _Registered(variant.family, variant.final_softmax)
    target = module.state_dict()
    if _shapes(state) != _shapes(target):
        raise StateDictError(f"The state dict does not fit {variant.label}.")
    module.load_state_dict({key: value.detach().to(torch.float32).clone()
                            for key, value in zip(target, state.values())})
    return module.eval().requires_grad_(False)


def ranked(state: Mapping[str, torch.Tensor], found: list[Variant], images01: np.ndarray,
           labels: np.ndarray) -> list[tuple[Variant, float]]:
    """The variants with a quick accuracy each, best first (ties keep their order).

    NB: a rough guide for the picker, on the images given at 0–1 and MNIST-normalised
    scales; the diagnosis then probes the chosen one properly.
    """
    x = torch.from_numpy(np.asarray(images01, np.float32)[:, None])
    scored = []
    for variant in found:
        module = build(state, variant)
        with torch.inference_mode():
            best = max(float((module(xs).argmax(1).numpy() == labels).mean())
                       for xs in (x, (x - MNIST_MEAN) / MNIST_STD))
        scored.append((variant, best))
    return sorted(scored, key=lambda pair: -pair[1])
