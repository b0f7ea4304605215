"""Text from numbers: a model's layers, the exact per-class values of one logit row, facts."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from explorer.maths.confidence import (
    Sweep,
    log_softmax,
    margin,
    one_minus_top,
    sigmoid,
    softmax,
)


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


NEAR_ONE = 5e-4  # closer to 1 than this, a value is written as 1 − (its exact complement)
SMALL = 1e-3  # below this, entropy and margin switch to scientific notation
TINY = 1e-300  # below this float64 has underflowed (or lost digits): say so, never "0"


def _small_text(value: float) -> str:
    """A small positive number in scientific notation, e.g. '3.10e-05' or '< 1e-300'."""
    return f"< {TINY:.0e}" if value < TINY else f"{value:.2e}"


def _complement_text(value: float, complement: float) -> str:
    """'1 − 2.43e-06' when value is within NEAR_ONE of 1, else value to four decimals.

    NB: a complement that underflowed reads '> 1 − 1e-300': tiny, but never exactly 1.
    """
    if complement < TINY:
        return f"> 1 − {TINY:.0e}"
    return f"1 − {_small_text(complement)}" if complement < NEAR_ONE else f"{value:.4f}"


def format_sigmoid(logit: float) -> str:
    """σ(logit) as text that never claims 0 or 1: '0.2315', '1 − 3.10e-05' or '4.54e-05'.

    NB: both tails come from σ of ±logit, never from 1 − p in floats.
    """
    z = float(logit)
    value = float(1.0 / (1.0 + np.exp(-z))) if z >= 0 else float(np.exp(z) / (1.0 + np.exp(z)))
    if value < NEAR_ONE:
        return _small_text(value)
    return _complement_text(value, float(1.0 / (1.0 + np.exp(z))))


def format_top1(logits, temperature: float = 1.0) -> str:
    """Top-1 probability as text that never claims 1: '0.9731', or '1 − 6.40e-07' when close.

    NB: the gap comes from one_minus_top (the other classes' sum), not from 1 − p in floats.
    """
    rest = float(one_minus_top(logits, temperature))
    return _complement_text(1.0 - rest, rest)


def format_margin(logits, temperature: float = 1.0) -> str:
    """Top-1 minus runner-up as text that never claims 1 or 0: '0.4210', '1 − 4.90e-06'.

    NB: 1 − (p1 − p2) = (1 − p1) + p2 = one_minus_top + p2, so the gap is exact even
    when p1 − p2 rounds to 1.0 in floats.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (10,)
    runner_up = float(np.sort(softmax(z, temperature))[-2])
    value = float(margin(z, temperature))
    if 0.0 < value < SMALL:
        return _small_text(value)
    return _complement_text(value, float(one_minus_top(z, temperature)) + runner_up)


def format_entropy_bits(bits: float) -> str:
    """Entropy with its unit, never rounded to 0: '1.234 bits', '3.10e-05 bits'.

    NB: below float64's range (every other class's probability underflowed) it is
    '< 1e-300 bits': tiny, but still not 0.
    """
    bits = float(bits)
    return f"{_small_text(bits)} bits" if bits < SMALL else f"{bits:.3f} bits"


def _table_number(value: float, log: bool = False) -> str:
    """'%.6e', except that an underflowed value reads '< 1e-300' (a log: '> -1e-300'), never 0.

    NB: log-probabilities are ≤ 0; one that rounded to 0 belongs to a probability within
    1e-300 of 1.
    """
    if abs(value) < TINY:
        return f"> -{TINY:.0e}" if log else f"< {TINY:.0e}"
    return f"{value:.6e}"


OVR_COLUMN = "one-vs-rest σ"  # the exact values' σ column: the one-vs-rest model's


def values_table(logits, temperature: float = 1.0, ovr_logits=None) -> list[dict]:
    """Per class: logit ('%.4f'), softmax, 1 − p and log-softmax at T (as '%.6e'), and the
    one-vs-rest model's σ(z / T) when `ovr_logits` are given.

    NB: strings on purpose, so a table widget never rounds 0.9999999 to 1. The top
    class's 1 − p is the other classes' sum (one_minus_top), never 1 − p in floats; for
    the others p ≤ 1/2, so 1 − p in floats is exact to the digits shown. No σ of a softmax
    model's own logits: they have no fixed zero point, so it would mean nothing.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (10,)
    probs, log_probs = softmax(z, temperature), log_softmax(z, temperature)
    sig = None if ovr_logits is None else sigmoid(ovr_logits, temperature)  # (10,)
    complement = 1.0 - probs  # (10,)
    top = int(np.argmax(log_probs))
    complement[top] = float(one_minus_top(z, temperature))
    return [
        {"class": k, "logit": f"{z[k]:.4f}", "softmax": _table_number(probs[k]),
         "1 − p": _table_number(complement[k]),
         "log-softmax": _table_number(log_probs[k], log=True),
         **({} if sig is None else {OVR_COLUMN: _table_number(sig[k])})}
        for k in range(len(z))
    ]


def argmax_fact(sweep: Sweep) -> str:
    """The one-line fact under the temperature slider."""
    if sweep.argmax_constant:
        return f"argmax is {sweep.argmax[0]} at every T"
    changes = sorted(set(sweep.argmax.tolist()))
    return f"argmax changes with T (classes {changes}): near-tied logits rounded together"
