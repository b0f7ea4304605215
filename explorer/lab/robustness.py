"""How a prediction moves when the digit is shifted, rotated, scaled or drawn bolder.

Transforms act on the PREPROCESSED 28×28 image, built on explorer.inputs.augment.affine/thicken.
Why after preprocessing: canvas_to_mnist re-centres and re-sizes every drawing, so a
shift or scale applied to the canvas would be undone before the model saw it; and these
are the very operations the training augmentation used, so a sweep shows the model's
tolerance in the space it was trained in.
"""
from __future__ import annotations

import numpy as np
import torch

from explorer.inputs.augment import affine, thicken
from explorer.inputs.preprocess import check_image28
from explorer.maths.confidence import softmax
from explorer.model.checkpoints import LoadedModel
from explorer.model.inference import device_of, model_logits, module_of

SWEEP_PARAMS = ("shift_x", "shift_y", "rotate", "scale", "thickness")


def transform(image28, shift=(0.0, 0.0), rotate: float = 0.0, scale: float = 1.0,
              thickness: float = 0.0) -> np.ndarray:
    """Distort a preprocessed digit, (28, 28) float32 in [0, 1].

    shift = (right, down) in pixels; rotate in degrees, positive turns clockwise on
    screen; scale > 1 enlarges about the centre; thickness > 0 grows strokes by that many
    3×3 dilations, < 0 thins them (fractions blend).
    """
    image = check_image28(image28)
    dx, dy = (float(v) for v in shift)
    if not float(scale) > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    x = torch.from_numpy(image)[None, None]  # (1, 1, 28, 28)
    with torch.inference_mode():
        if (dx, dy, float(rotate), float(scale)) != (0.0, 0.0, 0.0, 1.0):
            x = affine(x, float(rotate), 0.0, float(scale), float(scale), dx, dy)
        if float(thickness) != 0.0:
            x = thicken(x, float(thickness))
        return x.clamp(0.0, 1.0)[0, 0].numpy().astype(np.float32)


def _kwargs(param: str, value: float) -> dict:
    """transform() keyword arguments that set one swept parameter."""
    if param == "shift_x":
        return {"shift": (value, 0.0)}
    if param == "shift_y":
        return {"shift": (0.0, value)}
    return {param: value}


def sweep(loaded_or_model, image28, param: str, values) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities as one parameter sweeps: (values (V,), probs (V, 10)).

    All V distorted images go through the model in one forward pass.
    NB: a LoadedModel gives its own class probabilities (the exhibit's pass through as-is);
    a bare module is taken to output logits.
    """
    if param not in SWEEP_PARAMS:
        raise ValueError(f"param must be one of {', '.join(SWEEP_PARAMS)}; got {param!r}")
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("values must be a non-empty list of finite numbers")
    image = check_image28(image28)
    batch = np.stack([transform(image, **_kwargs(param, v)) for v in values])  # (V, 28, 28)
    module = module_of(loaded_or_model)
    device = device_of(module, getattr(loaded_or_model, "device", None))
    outputs = model_logits(module, batch, device)  # (V, 10)
    if isinstance(loaded_or_model, LoadedModel):
        return values, loaded_or_model.class_probs(outputs)
    return values, softmax(outputs)
