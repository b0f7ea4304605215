"""Batched inference: images in [0, 1] to logits, on the model's device."""
from __future__ import annotations

import numpy as np
import torch

from explorer.inputs.preprocess import BadImage
from explorer.model.checkpoints import LoadedModel

BATCH = 2048


def module_of(model) -> torch.nn.Module:
    """The nn.Module inside a LoadedModel, or the module itself."""
    module = getattr(model, "model", model)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"expected a torch model or a LoadedModel, got {type(model).__name__}")
    return module


def device_of(module: torch.nn.Module, device=None) -> torch.device:
    """The explicit device, else the device of the model's first parameter."""
    if device is not None:
        return torch.device(device)
    param = next(module.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def check_images(images, width: int = 28) -> np.ndarray:
    """Images as float32 (N, 28, width), or ValueError for a wrong shape or any NaN/inf.

    NB: non-finite pixels would give NaN logits that argmax reads as class 0 with a made-up
    confidence, so they are an error, not an output. Values beyond float32 count as inf.
    """
    with np.errstate(over="ignore"):  # overflow gives inf, reported below with the NaNs
        images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != (28, width):
        raise BadImage(f"images must have shape (N, 28, {width}), got {images.shape}")
    finite = np.isfinite(images).all(axis=(1, 2))  # (N,)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        more = ", …" if bad.size > 5 else ""
        raise BadImage(f"images contain NaN or inf: {bad.size} of {len(images)} images, "
                         f"at index {', '.join(map(str, bad[:5]))}{more}")
    return images


def model_outputs(model: torch.nn.Module, images, device: torch.device, width: int = 28,
                  batch_size: int = BATCH) -> np.ndarray:
    """(N, 28, width) float images in [0, 1] -> (N, K) float32 raw outputs, batched, no grad."""
    images = check_images(images, width)
    chunks = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            batch = torch.from_numpy(images[i:i + batch_size]).to(device)
            chunks.append(model(batch[:, None]).float().cpu().numpy())
    return np.concatenate(chunks) if chunks else np.empty((0, 0), np.float32)


def model_logits(model: torch.nn.Module, images, device: torch.device,
                 batch_size: int = BATCH) -> np.ndarray:
    """(N, 28, 28) float images in [0, 1] -> (N, 10) float32 outputs, batched, no grad."""
    out = model_outputs(model, images, device, 28, batch_size)
    return out if len(out) else np.empty((0, 10), np.float32)


def predict_logits(loaded: LoadedModel, images, batch_size: int = BATCH) -> np.ndarray:
    """(N, 28, 28) float32 images in [0, 1] -> (N, 10) float32 logits, on the model's device.

    NB: for the mlp_softmax exhibit the "logits" are its softmax outputs.
    """
    return model_logits(loaded.model, images, loaded.device, batch_size)
