"""Each output head scored on the MNIST test set with the metric that fits it.

    python scripts/heads_report.py             # the registry's heads, 10,000 held-out composites

One-vs-rest: accuracy, per-class ECE, how often all ten sigmoids are below 0.5. Regression:
MAE and how often rounding gives the digit. Binary pair: accuracy each, agreement, the
largest |Δp(7)|. Two digits: the sigmoid model's exact-set accuracy beside the softmax
model's top-2, per kind (two different digits, the same twice, one digit).
"""
from __future__ import annotations

import argparse

import numpy as np

from explorer import load_model
from explorer.inputs.data import load_test_split
from explorer.model import registry
from explorer.model.heads import TASKS, head_metrics, pair_test_set, seven_probability
from explorer.model.inference import model_outputs


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--pairs", type=int, default=10_000, help="held-out two-digit composites")
    p.add_argument("--seed", type=int, default=0, help="seed of the composites")
    return p.parse_args(argv)


def score(name: str, images: np.ndarray, labels: np.ndarray) -> tuple[dict, np.ndarray]:
    """(head_metrics, raw outputs) of one head's checkpoint on these images."""
    loaded = load_model(name)
    task = TASKS[loaded.arch.task]
    out = model_outputs(loaded.model, images, loaded.device, task.width)
    return head_metrics(task, out, labels), out


def main(argv=None) -> dict:
    args = parse_args(argv)
    test_x, test_y = load_test_split()
    x = test_x.astype(np.float32) / 255
    report = {name: score(name, x, test_y)[0] for name in
              (registry.the(registry.ONE_VS_REST), registry.the(registry.HEAD_NUMBER))}
    binary = (registry.HEAD_BINARY_SIGMOID, registry.HEAD_BINARY_SOFTMAX)
    (sig, out_sig), (soft, out_soft) = (score(registry.the(role), x, test_y) for role in binary)
    p_sig = seven_probability(TASKS[binary[0].task], out_sig)
    p_soft = seven_probability(TASKS[binary[1].task], out_soft)
    report["binary pair"] = {"accuracy sigmoid": sig["accuracy"],
                             "accuracy softmax": soft["accuracy"],
                             "agreement": float(((p_sig > 0.5) == (p_soft > 0.5)).mean()),
                             "max |dp|": float(np.abs(p_sig - p_soft).max())}
    pairs_x, pairs_y = pair_test_set(test_x, test_y, args.pairs, args.seed)
    for role in (registry.HEAD_PAIR_SIGMOID, registry.HEAD_PAIR_SOFTMAX):
        report[registry.the(role)] = score(registry.the(role), pairs_x, pairs_y)[0]
    for name, figures in report.items():
        print(f"{name:18} " + "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else
                                        f"{k} {v}" for k, v in figures.items()))
    return report


if __name__ == "__main__":
    main()
