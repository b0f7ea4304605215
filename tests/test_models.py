from dataclasses import FrozenInstanceError

import pytest
import torch

from explorer.model.networks import MNIST_MEAN, MNIST_STD, MLPConfig
from explorer.model.registry import (
    ARCHS,
    build_model,
    config_dict,
    count_params,
    get_arch,
    make_config,
    names,
)


@pytest.mark.parametrize("arch,params", [("mlp", 102_762), ("cnn", 1_199_882),
                                         ("mlp_softmax", 102_762)])
def test_parameter_counts(arch, params):
    assert count_params(build_model(arch)) == params


@pytest.mark.parametrize("arch", names())  # the ten-way classifiers; heads: test_heads.py
def test_output_shape(arch):
    torch.manual_seed(0)
    out = build_model(arch).eval()(torch.rand(5, 1, 28, 28))
    assert out.shape == (5, 10)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_models_return_logits_not_probabilities(arch):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    with torch.no_grad():
        logits = model(torch.rand(8, 1, 28, 28)) * 10  # scale to leave [0, 1]
    assert (logits < 0).any() or (logits > 1).any()
    assert not torch.allclose(logits.sum(1), torch.ones(8), atol=1e-3)


def test_exhibit_returns_probabilities():
    torch.manual_seed(0)
    model = build_model("mlp_softmax").eval()
    with torch.no_grad():
        probs = model(torch.rand(8, 1, 28, 28))
    assert torch.allclose(probs.sum(1), torch.ones(8), atol=1e-6)
    assert (probs >= 0).all() and (probs <= 1).all()
    assert not ARCHS["mlp_softmax"].outputs_logits and ARCHS["mlp"].outputs_logits


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_normalisation_happens_inside_the_model(arch):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    x = torch.rand(3, 1, 28, 28)
    normaliser = model.net[0] if arch == "mlp" else model.norm
    assert torch.allclose(normaliser(x), (x - MNIST_MEAN) / MNIST_STD)
    # Removing the normaliser changes the output: callers must pass raw [0, 1] images.
    with torch.no_grad():
        full = model(x)
        if arch == "mlp":
            skipped = model.net[1:](x)
        else:
            model.norm = torch.nn.Identity()
            skipped = model(x)
    assert not torch.allclose(full, skipped, atol=1e-3)


def test_registry_rebuilds_from_config_and_rejects_unknowns():
    cfg = config_dict("mlp")
    assert cfg == {"hidden1": 96, "hidden2": 256, "dropout": 0.2}
    assert make_config("mlp", cfg) == MLPConfig()
    with pytest.raises(KeyError, match="unknown arch 'resnet'"):
        get_arch("resnet")
    with pytest.raises(ValueError, match="unknown config keys"):
        make_config("cnn", {"widht": 3})
    with pytest.raises(FrozenInstanceError):
        MLPConfig().hidden1 = 5  # type: ignore[misc]
