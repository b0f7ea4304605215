"""Train the "not a digit" detector (outlier exposure on synthetic doodles) and write it.

    python scripts/train_detector.py            # refuses to replace the shipped detector
    python scripts/train_detector.py --force    # ... unless told to
    python scripts/train_detector.py --out /tmp/detector

Then `python scripts/ood_threshold.py` picks its cut on validation digits.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from explorer.inputs.data import DataError, load_mnist, split_train_val
from explorer.inputs.doodles import make_doodles
from explorer.inputs.synth import synth_digits
from explorer.lab.detector import (
    DETECTOR_DIR,
    DIGIT_PENS,
    KIND,
    META,
    DetectorConfig,
    doodle_logits,
    save_detector,
    train_detector,
)
from explorer.lab.ood import pick_threshold

N_VAL = 5000  # MNIST's validation digits, as train.py holds them out: the cut is picked there
VAL_SEED = 1000  # added to the seed: the validation synthetic digits' and doodles' own


def training_set(cfg: DetectorConfig, data_dir) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 28, 28) and is-doodle labels: MNIST's training part, synthetic
    digits and TRAIN-family doodles."""
    x, _ = load_mnist(train=True, data_dir=data_dir)
    train_idx, _ = split_train_val(len(x), N_VAL, cfg.seed)
    digits = x[train_idx]
    start = time.perf_counter()
    synth, _ = synth_digits(int(round(cfg.synth_fraction * len(digits))), cfg.seed, DIGIT_PENS)
    doodles, _ = make_doodles(cfg.doodles, cfg.seed, family="train")
    doodles = np.round(doodles * 255).astype(np.uint8)
    print(f"{len(digits):,} MNIST + {len(synth):,} synthetic digits, {len(doodles):,} doodles "
          f"(drawn in {time.perf_counter() - start:.0f} s)", flush=True)
    images = np.concatenate([digits, synth, doodles])
    labels = np.r_[np.zeros(len(digits) + len(synth)), np.ones(len(doodles))]
    return images, labels


def validation_cut(model, cfg: DetectorConfig, data_dir, target: float, n_synth: int,
                   n_doodles: int) -> dict:
    """The cut that keeps `target` of validation digits (MNIST's held-out 5,000 and synthetic
    digits of another seed) as digits, and how it does on TRAIN-family doodles of another
    seed. NB: no test set is looked at: the cut is picked here, once."""
    x, _ = load_mnist(train=True, data_dir=data_dir)
    _, val_idx = split_train_val(len(x), N_VAL, cfg.seed)
    synth, _ = synth_digits(n_synth, cfg.seed + VAL_SEED, DIGIT_PENS)
    digits = np.concatenate([x[val_idx], synth]).astype(np.float32) / 255
    doodles, _ = make_doodles(n_doodles, cfg.seed + VAL_SEED, family="train")
    p_digits = 1 / (1 + np.exp(-doodle_logits(model, digits)))
    p_doodles = 1 / (1 + np.exp(-doodle_logits(model, doodles)))
    cut = pick_threshold(p_digits, p_doodles, higher_is_in=False, target_tpr=target)
    return {"threshold": cut.value, "target_tpr": target, "val_false_alarm": cut.false_alarm,
            "val_detection": cut.detection, "val_digits": len(digits), "val_doodles": n_doodles}


def parse_args(argv=None) -> argparse.Namespace:
    d = DetectorConfig()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=d.epochs, help="passes over the data")
    p.add_argument("--doodles", type=int, default=d.doodles, help="TRAIN-family doodles")
    p.add_argument("--synth-fraction", type=float, default=d.synth_fraction,
                   help="synthetic digits per MNIST training digit")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of split, data and init")
    p.add_argument("--data-dir", default=None,
                   help="MNIST root (holding MNIST/raw/); None means $MNIST_ROOT, then data/")
    p.add_argument("--out", type=Path, default=DETECTOR_DIR, help="folder to write")
    p.add_argument("--force", action="store_true", help="replace a detector already there")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--target-tpr", type=float, default=0.99,
                   help="share of validation digits the cut keeps as digits")
    p.add_argument("--val-synth", type=int, default=2000, help="synthetic validation digits")
    p.add_argument("--val-doodles", type=int, default=2200, help="validation doodles (TRAIN "
                   "family, another seed)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if (args.out / META).is_file() and not args.force:
        print(f"train_detector.py: error: {args.out} already holds a detector; pass --force "
              f"to replace it, or --out a new folder", file=sys.stderr)
        raise SystemExit(2)
    torch.set_num_threads(args.threads)
    cfg = DetectorConfig(epochs=args.epochs, seed=args.seed, doodles=args.doodles,
                         synth_fraction=args.synth_fraction)
    try:
        images, labels = training_set(cfg, args.data_dir)
    except DataError as err:
        print(f"train_detector.py: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    model, history, seconds = train_detector(images, labels, cfg)
    cut = validation_cut(model, cfg, args.data_dir, args.target_tpr, args.val_synth,
                         args.val_doodles)
    meta = save_detector(args.out, model, {
        "kind": KIND, "config": asdict(cfg), "digit_pens": asdict(DIGIT_PENS),
        "history": history, "seconds": round(seconds, 1),
        "n_digits": int((labels == 0).sum()), "n_doodles": int((labels == 1).sum()),
        "torch": torch.__version__, **cut})
    print(f"wrote {args.out} ({seconds:.0f} s): cut P(not a digit) > {cut['threshold']:.4f} "
          f"flags {cut['val_false_alarm']:.2%} of validation digits and catches "
          f"{cut['val_detection']:.2%} of validation doodles; now run scripts/ood_threshold.py")
    return meta


if __name__ == "__main__":
    main()
