"""Measure the "not a digit" verdict per model and write what the app reads.

    python scripts/ood_threshold.py

The verdict is the detector's (scripts/train_detector.py picked its cut on validation
digits), or a filled blob. Measured here, never picked here: doodles of the TEST family
(explorer.inputs.doodles: faces, hearts, stars, houses, clouds, arrows, spirals, shapes,
letters, scribbles, hatching), the old plain non-digits (noise, blobs, scribbles, letters,
dots), MNIST's test digits and the drawn test sets (redrawn MNIST, strokes, styles). For
comparison, each model's own scores: the max softmax probability (MSP) and the energy
−logsumexp(logits), cut to keep target-tpr of MNIST's test digits (as before).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from explorer.inputs.data import load_test_float
from explorer.inputs.doodles import DOODLE_KINDS, make_doodles
from explorer.inputs.drawn import drawn_test_set
from explorer.lab.detector import load_detector
from explorer.lab.non_digits import NON_DIGIT_KINDS, make_non_digits
from explorer.lab.ood import (
    DETECTOR_KEY,
    THRESHOLDS_PATH,
    auroc,
    energy_score,
    msp_score,
    pick_threshold,
    verdict_at,
)
from explorer.model import registry
from explorer.model.checkpoints import load_model
from explorer.model.inference import predict_logits

# score name -> (function of logits, higher means more digit-like?)
SCORES = {"msp": (msp_score, True), "energy": (energy_score, False)}
OUT_SETS = ("doodles", "plain")  # what must be flagged; "in" and "drawn" must not be


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(registry.names()),
                   help="checkpoint names or folders to measure")
    p.add_argument("--save", nargs="*", default=list(registry.names()),
                   help="models whose entries go into the JSON")
    p.add_argument("--n-doodles", type=int, default=2200, help="TEST-family doodles")
    p.add_argument("--n-non-digits", type=int, default=1000, help="old plain non-digits")
    p.add_argument("--n-digits", type=int, default=10000, help="first N shipped test digits")
    p.add_argument("--target-tpr", type=float, default=0.99,
                   help="share of test digits the MSP and energy cuts keep (comparison only)")
    p.add_argument("--drawn-mnist", type=int, default=2000, help="redrawn MNIST test digits")
    p.add_argument("--drawn-strokes", type=int, default=1000, help="hand-made stroke digits")
    p.add_argument("--drawn-styles", type=int, default=2200, help="style digits")
    p.add_argument("--seed", type=int, default=0, help="seed of every generated set")
    p.add_argument("--out", type=Path, default=THRESHOLDS_PATH)
    p.add_argument("--device", default=None)
    p.add_argument("--json", type=Path, default=None, help="also write every figure here")
    return p.parse_args(argv)


def build_sets(args) -> tuple[dict, dict]:
    """{set: images} and {set: kinds}: in (MNIST test), drawn, doodles, plain."""
    doodles, doodle_kinds = make_doodles(args.n_doodles, args.seed, family="test")
    plain, plain_kinds = make_non_digits(args.n_non_digits, args.seed)
    drawn, _, drawn_kinds = drawn_test_set(args.drawn_mnist, args.drawn_strokes, args.seed,
                                           n_styles=args.drawn_styles)
    digits = load_test_float()[0][:args.n_digits]
    sets = {"in": digits, "drawn": drawn, "doodles": doodles, "plain": plain}
    kinds = {"in": np.full(len(digits), "mnist test"), "drawn": drawn_kinds,
             "doodles": doodle_kinds, "plain": plain_kinds}
    return sets, kinds


def rates(flagged: dict, kinds: dict) -> dict:
    """Share flagged per set and per kind within each set."""
    return {name: {"all": float(np.mean(f)),
                   "by_kind": {str(k): float(np.mean(f[kinds[name] == k]))
                               for k in dict.fromkeys(kinds[name].tolist())}}
            for name, f in flagged.items()}


def measure(loaded, sets: dict, kinds: dict, verdict: dict, target_tpr: float) -> dict:
    """Per rule (msp, energy, the old verdict, verdict): cut, shares flagged per set and kind,
    AUROC. NB: "old" is the verdict before the detector: the energy cut, or a filled blob."""
    logits = {k: predict_logits(loaded, images) for k, images in sets.items()}  # (n, 10)
    result = {"verdict": {"threshold": float(verdict["cut"]), **rates(verdict["flags"], kinds)}}
    for name, (score_fn, higher_is_in) in SCORES.items():
        scores = {k: score_fn(z) for k, z in logits.items()}
        thr = pick_threshold(scores["in"], scores["doodles"], higher_is_in, target_tpr)
        flags = {k: ~thr.is_digit(v) for k, v in scores.items()}
        result[name] = {"threshold": thr.value, **rates(flags, kinds),
                        "auroc": auroc(scores["in"], scores["doodles"], higher_is_in)}
        if name == "energy":
            old = {k: f | verdict["blobs"][k] for k, f in flags.items()}
            result["old"] = {"threshold": thr.value, **rates(old, kinds)}
    return result


def print_table(results: dict) -> None:
    """Per (model, rule): digits flagged (MNIST test, drawn), doodles caught, by kind."""
    head = (f"{'model':<12} {'rule':<8} {'cut':>9} {'MNIST':>6} {'drawn':>6} {'doodle':>6} "
            f"{'plain':>6} | " + " ".join(f"{k[:7]:>7}" for k in DOODLE_KINDS))
    print(head + "\n" + "-" * len(head))
    for model, by_rule in results.items():
        for rule, r in by_rule.items():
            print(f"{model:<12} {rule:<8} {r['threshold']:>9.4f} {r['in']['all']:>6.3f} "
                  f"{r['drawn']['all']:>6.3f} {r['doodles']['all']:>6.3f} "
                  f"{r['plain']['all']:>6.3f} | "
                  + " ".join(f"{r['doodles']['by_kind'].get(k, np.nan):>7.3f}"
                             for k in DOODLE_KINDS))


def print_drawn_kinds(results: dict, rules=("old", "verdict")) -> None:
    """Per (model, rule): the share of drawn digits flagged, for each kind of drawing."""
    for model, by_rule in results.items():
        for rule in rules:
            by_kind = by_rule[rule]["drawn"]["by_kind"]
            print(f"{model} {rule}: drawn digits flagged by kind: "
                  + ", ".join(f"{k.removeprefix('style: ')} {v:.1%}" for k, v in by_kind.items()))


def _rate(value) -> float:
    """Rates to 6 places: readable JSON (thresholds keep full precision)."""
    return round(float(value), 6)


def entry(result: dict, loaded, args, detector_meta: dict) -> dict:
    """One model's JSON entry: the verdict's cut and rates, and the comparison scores'.

    NB: a model that outputs probabilities (the exhibit) gets no MSP or energy cut: read as
    logits its MSP can't pass 0.232, and the pages' energy rule would mean nothing.
    """
    v, en, msp = result["verdict"], result["energy"], result["msp"]
    own = {} if not loaded.outputs_logits else {
        "msp": msp["threshold"], "energy": en["threshold"],
        "detection": _rate(msp["doodles"]["all"]), "false_alarm": _rate(msp["in"]["all"]),
        "energy_detection": _rate(en["doodles"]["all"]),
        "energy_false_alarm": _rate(en["in"]["all"]),
        "energy_drawn_false_alarm": _rate(en["drawn"]["all"]),
        "auroc_msp": _rate(msp["auroc"]), "auroc_energy": _rate(en["auroc"])}
    return {**own,
        "detector": v["threshold"], "verdict_detection": _rate(v["doodles"]["all"]),
        "verdict_by_kind": {k: _rate(x) for k, x in v["doodles"]["by_kind"].items()},
        "verdict_plain_detection": _rate(v["plain"]["all"]),
        "verdict_false_alarm": _rate(v["in"]["all"]),
        "verdict_drawn_false_alarm": _rate(v["drawn"]["all"]),
        "verdict_drawn_by_kind": {k: _rate(x) for k, x in v["drawn"]["by_kind"].items()},
        "target_tpr": args.target_tpr, "n_digits": args.n_digits,
        "n_doodles": args.n_doodles, "n_non_digits": args.n_non_digits, "seed": args.seed,
        "weights_sha256": loaded.meta["weights_sha256"],
        "detector_sha256": detector_meta["weights_sha256"],
    }


def write_thresholds(path: Path, entries: dict, detector_meta: dict) -> dict:
    """Merge the models' entries and the detector's own into the JSON the verdict reads."""
    table = json.loads(path.read_text()) if path.is_file() else {}
    table.update(entries)
    table[DETECTOR_KEY] = {"detector": detector_meta["threshold"],
                           "target_tpr": detector_meta["target_tpr"],
                           "val_false_alarm": _rate(detector_meta["val_false_alarm"]),
                           "val_detection": _rate(detector_meta["val_detection"]),
                           "detector_sha256": detector_meta["weights_sha256"]}
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    return table


def main(argv=None) -> dict:
    args = parse_args(argv)
    sets, kinds = build_sets(args)
    args.n_digits = len(sets["in"])  # what was really scored, for the JSON
    _, detector_meta = load_detector()
    cut = float(detector_meta["threshold"])
    reasons = {k: verdict_at(x, cut) for k, x in sets.items()}
    blobs = {k: np.array([r.blob for r in rs], dtype=bool) for k, rs in reasons.items()}
    flags = {k: np.array([r.flagged for r in rs], dtype=bool) for k, rs in reasons.items()}
    print(f"{len(sets['in'])} test digits, {len(sets['drawn'])} drawn digits, "
          f"{len(sets['doodles'])} doodles ({', '.join(DOODLE_KINDS)}), {len(sets['plain'])} "
          f"plain non-digits ({', '.join(NON_DIGIT_KINDS)}); detector cut {cut:.4f}")
    results, entries = {}, {}
    for name in args.models:
        loaded = load_model(name, args.device)
        verdict = {"cut": cut, "flags": flags, "blobs": blobs}
        results[loaded.name] = measure(loaded, sets, kinds, verdict, args.target_tpr)
        if loaded.name in args.save:
            entries[loaded.name] = entry(results[loaded.name], loaded, args, detector_meta)
    print_table(results)
    print_drawn_kinds(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.save:
        write_thresholds(args.out, entries, detector_meta)
        print(f"wrote {', '.join(entries)} and the detector's cut to {args.out}")
    return results


if __name__ == "__main__":
    main()
