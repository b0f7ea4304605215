"""Pick 'not a digit' thresholds (MSP and energy) per model and write them for the app.

    python scripts/ood_threshold.py

Scores the shipped MNIST test digits and generated non-digits (noise, blobs, scribbles,
letters, dots), keeps target-tpr of the digits as digits, and reports how many
non-digits each cut catches.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from explorer.inputs.data import load_test_float
from explorer.inputs.drawn import drawn_test_set
from explorer.inputs.preprocess import is_blob
from explorer.lab.ood import (
    NON_DIGIT_KINDS,
    THRESHOLDS_PATH,
    auroc,
    energy_score,
    make_non_digits,
    msp_score,
    pick_threshold,
)
from explorer.model import registry
from explorer.model.checkpoints import load_model
from explorer.model.inference import predict_logits

# score name -> (function of logits, higher means more digit-like?)
SCORES = {"msp": (msp_score, True), "energy": (energy_score, False)}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(registry.names()),
                   help="checkpoint names or folders to score")
    p.add_argument("--save", nargs="*", default=[n for n in registry.names()
                                                 if registry.get_arch(n).outputs_logits],
                   help="models whose thresholds go into the JSON (not those that output "
                        "probabilities: the exhibit)")
    p.add_argument("--n-non-digits", type=int, default=2000)
    p.add_argument("--n-digits", type=int, default=10000, help="first N shipped test digits")
    p.add_argument("--target-tpr", type=float, default=0.99,
                   help="fraction of real digits that must stay 'digit'")
    p.add_argument("--n-drawn", type=int, default=3000,
                   help="drawn digits (explorer.inputs.drawn) for the false-alarm rate on drawings")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated non-digits")
    p.add_argument("--out", type=Path, default=THRESHOLDS_PATH)
    p.add_argument("--device", default=None)
    return p.parse_args(argv)


def evaluate(loaded, sets: dict, kinds, target_tpr: float, blobs: dict) -> dict:
    """Per score: threshold, rates, AUROC, detection per non-digit kind, drawn false alarms.

    `sets` and `blobs` map "in", "out" and "drawn" to images and their is_blob flags. The
    "verdict" row is the app's rule: the energy cut, or a filled blob.
    """
    logits = {k: predict_logits(loaded, images) for k, images in sets.items()}  # (n, 10)
    result, flags = {}, {}
    for name, (score_fn, higher_is_in) in SCORES.items():
        scores = {k: score_fn(z) for k, z in logits.items()}
        thr = pick_threshold(scores["in"], scores["out"], higher_is_in, target_tpr)
        flags[name] = {k: ~thr.is_digit(v) for k, v in scores.items()}
        result[name] = _row(thr.value, flags[name], kinds)
        result[name]["auroc"] = auroc(scores["in"], scores["out"], higher_is_in)
    verdict = {k: flags["energy"][k] | blobs[k] for k in sets}
    result["verdict"] = {**_row(result["energy"]["threshold"], verdict, kinds),
                         "auroc": float("nan")}
    return result


def _row(threshold: float, flagged: dict, kinds) -> dict:
    """Rates for one flagging rule: digits flagged (false alarms), non-digits flagged."""
    out = flagged["out"]
    return {"threshold": threshold, "detection": float(np.mean(out)),
            "false_alarm": float(np.mean(flagged["in"])),
            "drawn_false_alarm": float(np.mean(flagged["drawn"])),
            "by_kind": {k: float(np.mean(out[kinds == k])) for k in NON_DIGIT_KINDS
                        if (kinds == k).any()}}


def print_table(results: dict) -> None:
    """One row per (model, score); detection per non-digit kind on the right."""
    kinds = [k for k in NON_DIGIT_KINDS if any(k in r["msp"]["by_kind"] for r in results.values())]
    head = (f"{'model':<12} {'score':<7} {'threshold':>10} {'detect':>7} {'f.alarm':>8} "
            f"{'drawn f.a.':>10} {'AUROC':>6} | " + " ".join(f"{k:>8}" for k in kinds))
    print(head)
    print("-" * len(head))
    for model, by_score in results.items():
        for score, r in by_score.items():
            print(f"{model:<12} {score:<7} {r['threshold']:>10.4f} {r['detection']:>7.3f} "
                  f"{r['false_alarm']:>8.3f} {r['drawn_false_alarm']:>10.3f} {r['auroc']:>6.3f} | "
                  + " ".join(f"{r['by_kind'].get(k, float('nan')):>8.3f}" for k in kinds))


def _rate(value) -> float:
    """Rates to 6 places: readable JSON (thresholds keep full precision)."""
    return round(float(value), 6)


def write_thresholds(path: Path, results: dict, loaded_by_name: dict, args) -> dict:
    """Merge the chosen models' thresholds into the JSON the app's verdict reads."""
    table = json.loads(path.read_text()) if path.is_file() else {}
    for name in args.save:
        if name not in results:
            continue
        msp, en = results[name]["msp"], results[name]["energy"]
        table[name] = {
            "msp": msp["threshold"], "energy": en["threshold"],
            "detection": _rate(msp["detection"]), "false_alarm": _rate(msp["false_alarm"]),
            "energy_detection": _rate(en["detection"]),
            "energy_false_alarm": _rate(en["false_alarm"]),
            "auroc_msp": _rate(msp["auroc"]), "auroc_energy": _rate(en["auroc"]),
            "verdict_detection": _rate(results[name]["verdict"]["detection"]),
            "verdict_false_alarm": _rate(results[name]["verdict"]["false_alarm"]),
            "verdict_drawn_false_alarm": _rate(results[name]["verdict"]["drawn_false_alarm"]),
            "target_tpr": args.target_tpr, "n_digits": args.n_digits,
            "n_non_digits": args.n_non_digits, "seed": args.seed,
            "weights_sha256": loaded_by_name[name].meta["weights_sha256"],
        }
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    return table


def main(argv=None) -> dict:
    args = parse_args(argv)
    digits = load_test_float()[0][:args.n_digits]
    args.n_digits = len(digits)  # what was really scored, for the JSON
    non_digits, kinds = make_non_digits(args.n_non_digits, args.seed)
    drawn = drawn_test_set(args.n_drawn // 2, args.n_drawn - args.n_drawn // 2, args.seed)[0]
    print(f"{len(digits)} test digits, {len(non_digits)} non-digits "
          f"({', '.join(f'{k}: {(kinds == k).sum()}' for k in NON_DIGIT_KINDS)}); "
          f"thresholds keep {args.target_tpr:.0%} of digits")
    sets = {"in": digits, "out": non_digits, "drawn": drawn}
    blobs = {k: np.array([is_blob(im) for im in images]) for k, images in sets.items()}
    results, loaded_by_name = {}, {}
    for name in args.models:
        loaded = load_model(name, args.device)
        loaded_by_name[loaded.name] = loaded
        results[loaded.name] = evaluate(loaded, sets, kinds, args.target_tpr, blobs)
        if not loaded.outputs_logits:
            print(f"note: {loaded.name} outputs probabilities; scored as the app reads them "
                  f"(as logits), so its MSP is capped near 0.232")
    print_table(results)
    if args.save:
        write_thresholds(args.out, results, loaded_by_name, args)
        print(f"wrote {', '.join(n for n in args.save if n in results)} thresholds to {args.out}")
    return results


if __name__ == "__main__":
    main()
