"""Pick 'not a digit' thresholds (MSP and energy) per model and write them for the app.

    python scripts/ood_threshold.py

Scores the shipped MNIST test digits and generated non-digits (noise, blobs, scribbles,
letters, dots), keeps target-tpr of the digits as digits, and reports how many
non-digits each cut catches.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer.checkpoints import load_model  # noqa: E402
from explorer.data import load_test_float  # noqa: E402
from explorer.drawn import drawn_test_set  # noqa: E402
from explorer.inference import predict_logits  # noqa: E402
from explorer.ood import (  # noqa: E402
    NON_DIGIT_KINDS,
    THRESHOLDS_PATH,
    auroc,
    energy_score,
    make_non_digits,
    msp_score,
    pick_threshold,
)
from explorer.preprocess import is_blob  # noqa: E402

# score name -> (function of logits, higher means more digit-like?)
SCORES = {"msp": (msp_score, True), "energy": (energy_score, False)}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--models", nargs="+", default=["cnn", "mlp", "mlp_softmax"],
                   help="checkpoint names or folders to score")
    p.add_argument("--save", nargs="*", default=["cnn", "mlp"],
                   help="models whose thresholds go into the JSON (the exhibit is left out)")
    p.add_argument("--n-non-digits", type=int, default=2000)
    p.add_argument("--n-digits", type=int, default=10000, help="first N shipped test digits")
    p.add_argument("--target-tpr", type=float, default=0.99,
                   help="fraction of real digits that must stay 'digit'")
    p.add_argument("--n-drawn", type=int, default=3000,
                   help="drawn digits (explorer.drawn) for the false-alarm rate on drawings")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated non-digits")
    p.add_argument("--out", type=Path, default=THRESHOLDS_PATH)
    p.add_argument("--device", default=None)
    return p.parse_args(argv)


def evaluate(loaded, digits, non_digits, kinds, target_tpr: float, drawn) -> dict:
    """Per score: threshold, rates, AUROC, detection per non-digit kind, drawn false alarms.

    The "verdict" row is the app's rule: the energy cut, or a filled blob (is_blob).
    """
    logits_in = predict_logits(loaded, digits)  # (N, 10)
    logits_out = predict_logits(loaded, non_digits)  # (M, 10)
    logits_drawn = predict_logits(loaded, drawn)  # (D, 10)
    blob_in, blob_out, blob_drawn = ([is_blob(im) for im in images]
                                     for images in (digits, non_digits, drawn))
    result = {}
    for name, (score_fn, higher_is_in) in SCORES.items():
        s_in, s_out = score_fn(logits_in), score_fn(logits_out)
        thr = pick_threshold(s_in, s_out, higher_is_in, target_tpr)
        result[name] = _row(thr.value, ~thr.is_digit(s_in), ~thr.is_digit(s_out), kinds,
                            ~thr.is_digit(score_fn(logits_drawn)))
        result[name]["auroc"] = auroc(s_in, s_out, higher_is_in)
        if name == "energy":
            cut = thr
    result["verdict"] = _row(
        cut.value, ~cut.is_digit(energy_score(logits_in)) | blob_in,
        ~cut.is_digit(energy_score(logits_out)) | blob_out, kinds,
        ~cut.is_digit(energy_score(logits_drawn)) | blob_drawn)
    result["verdict"]["auroc"] = float("nan")
    return result


def _row(threshold: float, flagged_in, flagged_out, kinds, flagged_drawn) -> dict:
    """Rates for one flagging rule: digits flagged (false alarms), non-digits flagged."""
    return {"threshold": threshold, "detection": float(np.mean(flagged_out)),
            "false_alarm": float(np.mean(flagged_in)),
            "drawn_false_alarm": float(np.mean(flagged_drawn)),
            "by_kind": {k: float(np.mean(flagged_out[kinds == k])) for k in NON_DIGIT_KINDS
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
    results, loaded_by_name = {}, {}
    for name in args.models:
        loaded = load_model(name, args.device)
        loaded_by_name[loaded.name] = loaded
        results[loaded.name] = evaluate(loaded, digits, non_digits, kinds, args.target_tpr,
                                        drawn)
        if not loaded.meta.get("outputs_logits", True):
            print(f"note: {loaded.name} outputs probabilities; scored as the app reads them "
                  f"(as logits), so its MSP is capped near 0.232")
    print_table(results)
    if args.save:
        write_thresholds(args.out, results, loaded_by_name, args)
        print(f"wrote {', '.join(n for n in args.save if n in results)} thresholds to {args.out}")
    return results


if __name__ == "__main__":
    main()
