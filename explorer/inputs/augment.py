"""Canvas-like distortions of 28×28 digits: affine (shift, rotate, scale, slant) and stroke width.

Used by training (random, batched, on any device) and by the robustness views (fixed values).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 12.0
    shear_deg: float = 18.0  # slant: people's 1s and 7s lean far more than MNIST's
    scale: tuple[float, float] = (0.85, 1.1)
    aspect: tuple[float, float] = (0.8, 1.15)
    shift_px: float = 2.5
    p_thicken: float = 0.35
    p_thin: float = 0.15

    def scaled(self, strength: float) -> AugmentConfig:
        """Every range and probability times `strength` (0 leaves images alone)."""
        lo_hi = lambda r: (1 - (1 - r[0]) * strength, 1 + (r[1] - 1) * strength)  # noqa: E731
        return AugmentConfig(self.rotate_deg * strength, self.shear_deg * strength,
                             lo_hi(self.scale), lo_hi(self.aspect), self.shift_px * strength,
                             min(self.p_thicken * strength, 1.0), min(self.p_thin * strength, 1.0))


def affine(x, angle_deg, shear_deg, scale_x, scale_y, shift_x, shift_y) -> torch.Tensor:
    """Apply per-sample affine maps to (N, 1, 28, 28); all params are (N,) tensors or floats."""
    n = x.shape[0]
    as_t = lambda v: torch.as_tensor(v, dtype=x.dtype, device=x.device).expand(n)  # noqa: E731
    a, s = as_t(angle_deg) * math.pi / 180, as_t(shear_deg) * math.pi / 180
    sx, sy = as_t(scale_x), as_t(scale_y)
    # Forward map = rotation @ shear @ scale; grid_sample needs its inverse.
    cos, sin, tan = torch.cos(a), torch.sin(a), torch.tan(s)
    m = torch.stack([
        torch.stack([cos * sx, (cos * tan - sin) * sy], -1),
        torch.stack([sin * sx, (sin * tan + cos) * sy], -1),
    ], -2)  # (N, 2, 2)
    inv = torch.linalg.inv(m)
    shift = torch.stack([as_t(shift_x), as_t(shift_y)], -1) * (2 / 28)  # pixels -> [-1, 1]
    theta = torch.cat([inv, -(inv @ shift[..., None])], -1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def thicken(x: torch.Tensor, amount) -> torch.Tensor:
    """Grow (amount > 0) or thin (amount < 0) strokes; fractional amounts blend steps.

    `amount`: a float for the whole batch, or an (N,) tensor of one sign, one per image.
    """
    amounts = torch.as_tensor(amount, dtype=x.dtype, device=x.device).reshape(-1)
    grow = bool((amounts >= 0).all())
    if not grow and bool((amounts > 0).any()):
        raise ValueError("thicken: amounts must all grow or all thin")
    op = (lambda t: F.max_pool2d(t, 3, 1, 1)) if grow else \
        (lambda t: -F.max_pool2d(-t, 3, 1, 1))
    left = amounts.abs().expand(x.shape[0]).reshape(-1, 1, 1, 1)  # (N, 1, 1, 1)
    while bool((left > 0).any()):
        step = left.clamp(max=1.0)  # a whole step, or the fraction that is left
        x = (1 - step) * x + step * op(x)
        left = left - step
    return x


def random_augment(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Random canvas-like distortion of a batch (N, 1, 28, 28) in [0, 1]."""
    n, dev = x.shape[0], x.device
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=gen, device=dev)  # noqa: E731
    scale = u(*cfg.scale)
    aspect = u(*cfg.aspect)
    x = affine(x, u(-cfg.rotate_deg, cfg.rotate_deg), u(-cfg.shear_deg, cfg.shear_deg),
               scale * aspect.sqrt(), scale / aspect.sqrt(),
               u(-cfg.shift_px, cfg.shift_px), u(-cfg.shift_px, cfg.shift_px))
    r = torch.rand(n, generator=gen, device=dev)[:, None, None, None]
    thick = thicken(x, u(0.5, 1.0))  # NB: one thickness per image, not one per batch
    thin = thicken(x, -u(0.25, 0.75))
    x = torch.where(r < cfg.p_thicken, thick, x)
    x = torch.where((r >= cfg.p_thicken) & (r < cfg.p_thicken + cfg.p_thin), thin, x)
    return x.clamp(0, 1)
