"""Tests for explorer.model.inference: what images the models may be given."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.model.checkpoints import load_model
from explorer.model.inference import check_images, model_logits, predict_logits


class CountingModel(nn.Module):
    """(N, 1, 28, 28) -> (N, 10) zeros, counting its calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return torch.zeros(len(x), 10)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e39])  # 1e39 overflows float32
def test_non_finite_image_is_an_error(bad):
    images = np.zeros((5, 28, 28), np.float64)
    images[3, 10, 12] = bad
    model = CountingModel()
    with pytest.raises(ValueError, match=r"images contain NaN or inf: 1 of 5 images, at index 3"):
        model_logits(model, images, torch.device("cpu"))
    assert model.calls == 0  # rejected before the model ran


def test_predict_logits_rejects_nan_before_the_model():
    loaded = load_model("mlp", device="cpu")
    images = np.zeros((2, 28, 28), np.float32)
    assert predict_logits(loaded, images).shape == (2, 10)
    images[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="images contain NaN or inf"):
        predict_logits(loaded, images)


def test_check_images_lists_the_first_five_bad_indices():
    images = np.full((8, 28, 28), np.nan, np.float32)
    images[0] = 0.5
    with pytest.raises(ValueError, match=r"7 of 8 images, at index 1, 2, 3, 4, 5, …"):
        check_images(images)
    checked = check_images(images[:1].astype(np.float64))
    assert checked.dtype == np.float32 and checked.shape == (1, 28, 28)
