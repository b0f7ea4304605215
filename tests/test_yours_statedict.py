"""A user's state dict: which networks it fits, in which variants, built from our code only."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer import load_model
from explorer.model.networks import MNIST_MEAN, MNIST_STD
from explorer.yours import statedict
from explorer.yours.statedict import StateDictError, Variant
from tests.apptest import need_checkpoints


class NeuralNetwork(nn.Module):
    """The tutorial's MLP, as its tutorial writes it: it ends in nn.Softmax."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_stack = nn.Sequential(
            nn.Linear(784, 96), nn.Tanh(), nn.Dropout(0.2), nn.Linear(96, 256), nn.Sigmoid(),
            nn.Dropout(0.2), nn.Linear(256, 10), nn.Softmax(dim=1))

    def forward(self, x):
        return self.linear_stack(self.flatten(x))


def test_the_tutorial_mlp_fits_a_linear_stack_in_every_variant():
    state = NeuralNetwork().state_dict()
    assert statedict.linear_shapes(state) == [(96, 784), (256, 96), (10, 256)]
    found = statedict.variants(state)
    assert len(found) == 3 * 3 * 2  # two activations of three kinds, softmax or not
    assert Variant("linear stack", ("tanh", "sigmoid"), True) in found
    assert Variant("linear stack", ("tanh", "sigmoid"), True).label == (
        "linear stack: tanh → sigmoid, ends in nn.Softmax")


def test_the_tutorials_variant_computes_what_the_tutorial_computes():
    torch.manual_seed(0)
    tutorial = NeuralNetwork().eval()
    built = statedict.build(tutorial.state_dict(),
                            Variant("linear stack", ("tanh", "sigmoid"), True))
    x = torch.rand(16, 1, 28, 28)
    torch.testing.assert_close(built(x), tutorial(x))
    other = statedict.build(tutorial.state_dict(), Variant("linear stack", ("relu", "relu"),
                                                           True))
    assert not torch.allclose(other(x), tutorial(x))  # the activations are the variant's
    assert not any(p.requires_grad for p in built.parameters())


def test_the_shipped_cnns_weights_fit_the_cnn_without_its_normalisation():
    need_checkpoints("cnn")
    loaded = load_model("cnn", device="cpu")
    found = statedict.variants(loaded.model.state_dict())
    assert [v.final_softmax for v in found] == [False, True]
    built = statedict.build(loaded.model.state_dict(), found[0])
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(built((x - MNIST_MEAN) / MNIST_STD), loaded.model(x),
                               atol=1e-5, rtol=1e-5)
    soft = statedict.build(loaded.model.state_dict(), found[1])
    torch.testing.assert_close(soft(x).sum(1), torch.ones(4))


@pytest.mark.parametrize("state", [
    {"w": torch.zeros(10, 783), "b": torch.zeros(10)},  # not 784 pixels
    {"a.weight": torch.zeros(50, 784), "a.bias": torch.zeros(50),
     "b.weight": torch.zeros(10, 49), "b.bias": torch.zeros(10)},  # layers don't chain
    {"conv.weight": torch.zeros(8, 1, 5, 5)},
])
def test_a_state_dict_that_fits_nothing_says_what_it_holds_and_how_to_export(state):
    with pytest.raises(StateDictError, match=r"fits no network.*torch\.onnx\.export"):
        statedict.variants(state)
