"""Training augmentation: stroke thickness varies per image, and fractional steps blend."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from explorer.inputs.augment import AugmentConfig, random_augment, thicken


def _stroke_batch(n: int = 16) -> torch.Tensor:
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 13:15] = 1.0  # the same vertical bar in every image
    return x


def test_thickness_varies_per_image_not_per_batch():
    cfg = AugmentConfig(0.0, 0.0, (1.0, 1.0), (1.0, 1.0), 0.0, p_thicken=1.0, p_thin=0.0)
    out = random_augment(_stroke_batch(), cfg, torch.Generator().manual_seed(0))
    ink = out.sum(dim=(1, 2, 3))
    assert ink.min() > _stroke_batch(1).sum()  # every image thickened...
    assert len({round(float(v), 3) for v in ink}) > 8  # ...each by its own amount


def test_fractional_and_per_image_amounts_blend_whole_steps():
    x = _stroke_batch(2)
    one = F.max_pool2d(x, 3, 1, 1)
    two = F.max_pool2d(one, 3, 1, 1)
    assert torch.allclose(thicken(x, 1.5), 0.5 * one + 0.5 * two)
    per_image = thicken(x, torch.tensor([0.25, 1.0]))
    assert torch.allclose(per_image[0], 0.75 * x[0] + 0.25 * one[0])
    assert torch.allclose(per_image[1], one[1])
    thinner = thicken(one, torch.tensor([-1.0, -1.0]))
    assert torch.allclose(thinner, -F.max_pool2d(-one, 3, 1, 1))
