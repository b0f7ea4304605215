"""Per-stroke server work on a 280×280 canvas: preprocess, inference (the model and the
not-a-digit detector), every figure of the page.

    python -m scripts.bench.benchmark            # all shipped models, CPU
"""
from __future__ import annotations

import argparse
import pickle
import time

import numpy as np
import torch

from explorer import canvas_to_mnist, load_model, predict_logits
from explorer.figures.base import to_json
from explorer.figures.explorer import explorer_figures
from explorer.inputs.data import load_test_float
from explorer.inputs.drawn import drawn_canvases
from explorer.inputs.preprocess import is_blob
from explorer.lab.ood import why_not_a_digit
from explorer.maths.confidence import summarize, temperature_sweep
from explorer.maths.summary import argmax_fact
from explorer.model import registry


def figures(logits, image28, temperature: float) -> list:
    """Every figure the explorer builds after a stroke, by the page's own explorer_figures."""
    sweep = temperature_sweep(logits)
    argmax_fact(sweep)
    return list(explorer_figures(logits, image28, temperature, sweep).values())


def one_stroke(loaded, canvas_rgba, temperature: float) -> dict[str, float]:
    """Seconds spent in each stage of one stroke's server work."""
    t0 = time.perf_counter()
    image28 = canvas_to_mnist(canvas_rgba)  # (28, 28)
    blob = is_blob(image28)
    t1 = time.perf_counter()
    logits = predict_logits(loaded, image28[None])[0]  # (10,)
    flagged = why_not_a_digit(loaded.name, image28[None])[0].flagged  # the verdict's detector
    t2 = time.perf_counter()
    summarize(logits, temperature, blob=blob, not_digit=flagged)
    for fig in figures(logits, image28, temperature):
        to_json(fig)  # what the Explorer's live component is sent: part of the cost
    t3 = time.perf_counter()
    return {"preprocess": t1 - t0, "inference": t2 - t1, "figures": t3 - t2, "total": t3 - t0}


def bench(name: str, canvases: list, warmup: int) -> dict[str, np.ndarray]:
    """Per-stage timings (ms) for one model over the canvases."""
    loaded = load_model(name, device="cpu")
    for canvas_rgba in canvases[:warmup]:
        one_stroke(loaded, canvas_rgba, 1.0)
    rows = [one_stroke(loaded, c, t) for c, t in zip(canvases, np.geomspace(0.05, 20,
                                                                           len(canvases)))]
    return {k: 1000 * np.array([r[k] for r in rows]) for k in rows[0]}


def testset_seconds(name: str) -> tuple[float, float]:
    """(cold, warm) seconds for the lab's 10,000 test-set logits.

    NB: cold is the cache miss (the model over the shipped test split); warm is what
    st.cache_data does on a hit, unpickling a copy of the stored array.
    """
    loaded = load_model(name, device="cpu")
    images, _ = load_test_float()
    t0 = time.perf_counter()
    logits = predict_logits(loaded, images)  # (10000, 10)
    t1 = time.perf_counter()
    stored = pickle.dumps(logits)
    warm = min(_timed(lambda: pickle.loads(stored)) for _ in range(20))
    return t1 - t0, warm


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("models", nargs="*", default=list(registry.names()),
                   help="shipped names or checkpoint folders")
    p.add_argument("--strokes", type=int, default=200, help="canvases timed per model")
    p.add_argument("--warmup", type=int, default=10, help="untimed strokes first")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    n_mnist = args.strokes // 2
    canvases = [c for c, _, _ in drawn_canvases(n_mnist, args.strokes - n_mnist)]
    print(f"{len(canvases)} strokes on 280×280 canvases, CPU, {args.threads} threads; "
          f"median / p95 in ms")
    print(f"{'model':12}{'preprocess':>16}{'inference':>16}{'figures':>16}{'total':>16}")
    out = {}
    for name in args.models:
        out[name] = bench(name, canvases, args.warmup)
        cells = "".join(f"{np.median(v):>8.1f} /{np.percentile(v, 95):>6.1f}"
                        for v in out[name].values())
        print(f"{name:12}{cells}")
    print("\nlab pages' cached test-set logits (10,000 images): cold (cache miss) / warm (hit)")
    for name in args.models:
        cold, warm = testset_seconds(name)
        print(f"{name:12}{cold:>10.2f} s /{1000 * warm:>7.3f} ms")
    return out


if __name__ == "__main__":
    main()
