"""Each shipped ten-way classifier's raw outputs for one drawing, computed on the server.

NB: what a class stores is this, never numbers from a browser; the store recomputes it and
refuses a submission whose logits differ (store.py).
"""
from __future__ import annotations

import logging
from functools import cache

import numpy as np

from explorer.classroom.checks import quantized
from explorer.model.checkpoints import CheckpointError, LoadedModel, load_model
from explorer.model.inference import predict_logits
from explorer.model.registry import names

log = logging.getLogger(__name__)


@cache
def _loaded(name: str) -> LoadedModel | None:
    """The model, loaded once per process; None (logged) when its checkpoint is missing."""
    try:
        return load_model(name)
    except CheckpointError as err:
        log.warning("the class store scores without %s: %s", name, err)
        return None


def scored_models() -> tuple[LoadedModel, ...]:
    """The registry's ten-way classifiers whose checkpoints load, in registry order."""
    return tuple(m for m in map(_loaded, names()) if m is not None)


def logits_for_all(image28) -> dict[str, list[float]]:
    """(28, 28) image in [0, 1] -> {model name: its 10 raw outputs}, on the stored image.

    NB: computed on the image as the store keeps it (784 bytes), so an export reproduces
    these exactly; for the double-softmax exhibit the outputs are its probabilities.
    """
    image = quantized(image28)[None]  # (1, 28, 28)
    return {m.name: [float(v) for v in np.asarray(predict_logits(m, image))[0]]
            for m in scored_models()}
