"""Tables from numbers: a model's layers, and the exact per-class values of one logit row."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from explorer.confidence import log_softmax, one_minus_top, sigmoid, softmax


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))


def layer_table(model: nn.Module) -> list[dict]:
    """One row per leaf module in call order: name, type, output shape, parameter count.

    NB: runs a forward pass with temporary hooks, so pass a private copy (e.g. a fresh
    build_model), never the cached model other sessions are using. Functional ops
    (relu, max-pool) are not modules and show only through the next layer's shape.
    """
    rows: list[dict] = []
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]

    def hook_for(name: str):
        def hook(module: nn.Module, _inputs, output) -> None:
            rows.append({"layer": name, "type": type(module).__name__,
                         "output shape": str(tuple(output.shape)), "params": _params(module)})
        return hook

    handles = [m.register_forward_hook(hook_for(name)) for name, m in leaves]
    try:
        device = next(model.parameters()).device
        with torch.inference_mode():
            model(torch.zeros(1, 1, 28, 28, device=device))
    finally:
        for handle in handles:
            handle.remove()
    called = {row["layer"] for row in rows}
    # Parameters of modules the forward pass never called still count towards the total.
    rows += [{"layer": name, "type": type(m).__name__, "output shape": "(not called)",
              "params": _params(m)} for name, m in leaves if name not in called and _params(m)]
    return rows


def format_top1(logits, temperature: float = 1.0) -> str:
    """Top-1 probability as text that never claims 1: '0.9731', or '1 − 6.40e-07' when close.

    NB: the gap comes from one_minus_top (the other classes' sum), not from 1 − p in floats.
    """
    rest = float(one_minus_top(logits, temperature))
    return f"1 − {rest:.2e}" if rest < 5e-4 else f"{1.0 - rest:.4f}"


def values_table(logits, temperature: float = 1.0) -> list[dict]:
    """Per class: logit, softmax, log-softmax, sigmoid at T (as '%.6e' strings), 1 − p on top.

    NB: strings on purpose, so a table widget never rounds 0.9999999 to 1.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (10,)
    probs, log_probs = softmax(z, temperature), log_softmax(z, temperature)
    sig = sigmoid(z, temperature)
    top = int(np.argmax(log_probs))
    rest = float(one_minus_top(z, temperature))
    return [
        {"class": k, "logit": f"{z[k]:.6e}", "softmax": f"{probs[k]:.6e}",
         "log-softmax": f"{log_probs[k]:.6e}", "sigmoid": f"{sig[k]:.6e}",
         "1 − p": f"{rest:.6e}" if k == top else ""}
        for k in range(len(z))
    ]
