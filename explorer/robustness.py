"""How a prediction moves when the digit is shifted, rotated, scaled or drawn bolder.

Transforms act on the PREPROCESSED 28×28 image, built on explorer.augment.affine/thicken.
Why after preprocessing: canvas_to_mnist re-centres and re-sizes every drawing, so a
shift or scale applied to the canvas would be undone before the model saw it; and these
are the very operations the training augmentation used, so a sweep shows the model's
tolerance in the space it was trained in.
"""
from __future__ import annotations

import numpy as np
import torch

from explorer.augment import affine, thicken
from explorer.confidence import softmax
from explorer.inference import model_logits
from explorer.preprocess import check_image28

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


def _outputs_logits(loaded_or_model) -> bool:
    """False for the double-softmax exhibit, whose outputs already are probabilities."""
    meta = getattr(loaded_or_model, "meta", None)
    if isinstance(meta, dict):
        return bool(meta.get("outputs_logits", True))
    net = getattr(loaded_or_model, "net", None)
    return not (isinstance(net, torch.nn.Sequential) and isinstance(net[-1], torch.nn.Softmax))


def sweep(loaded_or_model, image28, param: str, values) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities as one parameter sweeps: (values (V,), probs (V, 10)).

    All V distorted images go through the model in one forward pass.
    NB: the exhibit's own probabilities pass through as-is (softmax of their log).
    """
    if param not in SWEEP_PARAMS:
        raise ValueError(f"param must be one of {', '.join(SWEEP_PARAMS)}; got {param!r}")
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("values must be a non-empty list of finite numbers")
    image = check_image28(image28)
    batch = np.stack([transform(image, **_kwargs(param, v)) for v in values])  # (V, 28, 28)
    module = getattr(loaded_or_model, "model", loaded_or_model)
    device = getattr(loaded_or_model, "device", None)
    if device is None:
        param0 = next(module.parameters(), None)
        device = param0.device if param0 is not None else torch.device("cpu")
    outputs = model_logits(module, batch, device).astype(np.float64)  # (V, 10)
    if not _outputs_logits(loaded_or_model):
        outputs = np.log(np.clip(outputs, 1e-12, 1.0))
    return values, softmax(outputs)
