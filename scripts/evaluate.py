"""Re-measure checkpoints on the MNIST test set and on drawn digits; warn on drift.

    python scripts/evaluate.py cnn mlp mlp_softmax
    python scripts/evaluate.py /tmp/cnn2 --json /tmp/cnn2.json   # a new run, figures kept

The drawn and style sets are generated with a fixed seed from tables, fonts and seeds that
training never uses (explorer/inputs/styles.py, synth.py): measure on them, never pick by them.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from explorer import load_model, predict_logits
from explorer.inputs.data import load_test_float
from explorer.inputs.drawn import drawn_canvases
from explorer.inputs.preprocess import canvas_to_mnist, naive_resize
from explorer.lab.evaluation import confusion_matrix, metrics_block
from explorer.maths.calibration import ece
from explorer.maths.confidence import softmax
from explorer.model import registry

COMPARED = ("accuracy", "nll", "ece", "nll_fitted_t", "ece_fitted_t")


def drift(recorded: dict, measured: dict, tolerance: float) -> list[str]:
    """Figures that differ from the checkpoint's metadata by more than `tolerance`."""
    return [f"{k}: metadata {recorded[k]:.5f}, measured {measured[k]:.5f}"
            for k in COMPARED if k in recorded and abs(recorded[k] - measured[k]) > tolerance]


def print_test_figures(name: str, measured: dict, temperature: float, cm: np.ndarray) -> None:
    """The test-set block: calibration at both temperatures, per-class accuracy, confusions."""
    print(f"\n== {name}: MNIST test set ({measured['n']:,} images), fitted T = "
          f"{temperature:.3f}")
    print(f"{'':10}{'accuracy':>10}{'NLL':>10}{'ECE':>9}{'MCE':>9}{'Brier':>9}")
    for label, sfx in (("T=1", ""), ("fitted T", "_fitted_t")):
        print(f"{label:10}{measured['accuracy']:>10.2%}{measured['nll' + sfx]:>10.4f}"
              f"{measured['ece' + sfx]:>9.2%}{measured['mce' + sfx]:>9.2%}"
              f"{measured['brier' + sfx]:>9.4f}")
    per_class = cm.diagonal() / cm.sum(1)
    print("per-class accuracy: " + "  ".join(f"{c}:{a:.2%}" for c, a in enumerate(per_class)))
    print("confusion matrix (rows true, columns predicted):")
    print("      " + "".join(f"{c:>6}" for c in range(10)))
    for c, row in enumerate(cm):
        print(f"{c:>6}" + "".join(f"{v:>6}" for v in row))


PREPROCESSING = {"MNIST-style preprocessing": canvas_to_mnist,
                 "naive whole-canvas resize": naive_resize}


def drawn_sets(n_mnist: int, n_strokes: int, seed: int, n_styles: int = 0) -> dict:
    """The drawn test set rendered once, then preprocessed both ways: {label: (x, y, kinds)}."""
    canvases = list(drawn_canvases(n_mnist, n_strokes, seed, n_styles))
    labels = np.array([label for _, label, _ in canvases])
    kinds = np.array([kind for _, _, kind in canvases])
    out = {}
    for name, prep in PREPROCESSING.items():
        images = [prep(canvas) for canvas, _, _ in canvases]
        keep = np.array([im is not None for im in images])  # none drop at these sizes
        out[name] = (np.stack([im for im in images if im is not None]).astype(np.float32),
                     labels[keep], kinds[keep])
    return out


def drawn_figures(loaded, sets: dict) -> dict:
    """Accuracy on drawn digits with the app's preprocessing and with a naive resize; ECE at
    the fitted T on the drawn sets with the app's preprocessing ("ece_fitted_t")."""
    out, temperature = {}, loaded.meta["temperature"]
    for label, (images, labels, kinds) in sets.items():
        logits = predict_logits(loaded, images)  # raw, as metrics_block reads them (and T)
        correct = logits.argmax(1) == labels
        groups = {"mnist": kinds == "mnist", "strokes": kinds == "strokes",
                  "styles": np.char.startswith(kinds.astype(str), "style: ")}
        groups.update({k: kinds == k for k in sorted(set(kinds)) if k.startswith("style: ")})
        out[label] = {k: float(correct[m].mean()) for k, m in groups.items() if m.any()}
        out[label]["all"] = float(correct.mean())
        if label == "MNIST-style preprocessing":
            out["ece_fitted_t"] = {
                k: float(ece(softmax(logits[m], temperature), labels[m]))
                for k, m in {"all": np.ones(len(labels), bool), **groups}.items()
                if m.any() and not k.startswith("style: ")}
    return out


def evaluate(name: str, tolerance: float, drawn: dict | None, drawn_what: str = "") -> dict:
    """Measure one checkpoint; print its figures and any drift from its metadata."""
    loaded = load_model(name)
    images, labels = load_test_float()
    logits = predict_logits(loaded, images)  # (10000, 10)
    measured = metrics_block(logits, labels, loaded.meta["temperature"])
    print_test_figures(name, measured, loaded.meta["temperature"],
                       confusion_matrix(logits, labels))
    for line in drift(loaded.meta["metrics"]["test"], measured, tolerance):
        print(f"WARNING {name} differs from its metadata: {line}")
    result = {"test": measured}
    if drawn:
        result["drawn"] = drawn_figures(loaded, drawn)
        print(f"drawn digits ({drawn_what}):")
        for label, acc in result["drawn"].items():
            if label == "ece_fitted_t":
                print("  ECE at the fitted T: " + "  ".join(f"{k} {v:.2%}" for k, v in acc.items()))
                continue
            print(f"  {label:28} all {acc['all']:.2%}   redrawn MNIST {acc['mnist']:.2%}"
                  f"   strokes {acc['strokes']:.2%}   styles {acc.get('styles', np.nan):.2%}")
            styles = [k for k in acc if k.startswith("style: ")]
            if styles:
                print("  " + " " * 28 + "  ".join(f"{k[7:]} {acc[k]:.1%}" for k in styles))
    return result


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoints", nargs="*", default=list(registry.names()),
                   help="shipped names or checkpoint folders")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest difference from the metadata that is not a warning")
    p.add_argument("--drawn-mnist", type=int, default=2000, help="redrawn MNIST test digits")
    p.add_argument("--drawn-strokes", type=int, default=1000, help="hand-made stroke digits")
    p.add_argument("--drawn-styles", type=int, default=2200,
                   help="style digits (explorer/inputs/styles.py, 22 kinds in turn): forms "
                   "(European and serif 1, crossed 7, Z-bar, looped and plain 2, slashed and "
                   "dotted 0, open and closed 4, closed 9), printed, pixel font, thin, thick, "
                   "mouse jitter, slant and rotation, very small, very large, off-centre, low "
                   "resolution, blocky")
    p.add_argument("--seed", type=int, default=0, help="seed of the drawn test set")
    p.add_argument("--no-drawn", action="store_true", help="skip the drawn-digit test")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    drawn = None if args.no_drawn else drawn_sets(args.drawn_mnist, args.drawn_strokes,
                                                  args.seed, args.drawn_styles)
    what = (f"seed {args.seed}; {args.drawn_mnist} redrawn MNIST + {args.drawn_strokes} "
            f"strokes + {args.drawn_styles} styles")
    result = {name: evaluate(name, args.tolerance, drawn, what) for name in args.checkpoints}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")
    return result


if __name__ == "__main__":
    main()
