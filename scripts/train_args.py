"""train.py's command line: every option with its default, the arch's own from the registry."""
from __future__ import annotations

import argparse
from pathlib import Path

from explorer.model.registry import DEFAULT, get_arch, names, the


def _per_arch(what) -> str:
    """"mlp 40, cnn 20, ..." of one registry training default, for the help text."""
    return ", ".join(f"{name} {what(get_arch(name).train)}" for name in names(None))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv=None, description: str = "") -> argparse.Namespace:
    """The parsed command line; `description` heads --help."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--arch", choices=names(None), default=the(DEFAULT),
                   help="architecture; each one's own epochs/lr/augment strength: "
                   + _per_arch(lambda t: f"{t.epochs}/{t.lr:g}/{t.augment_strength:g}"))
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="epochs; None means the arch's own: " + _per_arch(lambda t: t.epochs))
    p.add_argument("--batch-size", type=int, default=128, help="images per step")
    p.add_argument("--lr", type=float, default=None,
                   help="peak one-cycle learning rate; None means the arch's own: "
                   + _per_arch(lambda t: f"{t.lr:g}"))
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    p.add_argument("--seed", type=int, default=1, help="seed for split, init and batches")
    p.add_argument("--val-size", type=int, default=5000,
                   help="images held out of the 60,000 for validation and fitting T")
    p.add_argument("--augment-strength", type=float, default=None,
                   help="scale of the canvas-like distortions; None means the arch's own: "
                   + _per_arch(lambda t: f"{t.augment_strength:g}"))
    p.add_argument("--no-augment", action="store_true", help="no distortions of the images")
    p.add_argument("--synth-fraction", type=float, default=None,
                   help="synthetic digits (explorer/inputs/synth.py) per MNIST training digit; "
                   "None means the arch's own: " + _per_arch(lambda t: f"{t.synth_fraction:g}"))
    p.add_argument("--synth-val", type=int, default=2000,
                   help="synthetic digits of another seed to report each epoch (when any are "
                   "trained on); never used to pick")
    p.add_argument("--data-dir", default=None,
                   help="MNIST root (holding MNIST/raw/); None means $MNIST_ROOT, then data/")
    p.add_argument("--out", default=None,
                   help="checkpoint folder; None means checkpoints/ARCH "
                   "($EXPLORER_CHECKPOINT_DIR/ARCH if set), or a fresh temporary folder "
                   "for --dry-run")
    p.add_argument("--force", action="store_true",
                   help="overwrite the checkpoint already in the output folder (never with "
                   "--dry-run)")
    p.add_argument("--device", default=None,
                   help="None means $EXPLORER_DEVICE, then cuda, mps, cpu")
    p.add_argument("--snapshots", type=Path, default=None, metavar="DIR",
                   help="also keep the weights (float16) at a few epochs from 0 (untrained) "
                   "to the last, with their test figures, in DIR (explorer/lab/replay.py)")
    p.add_argument("--snapshot-count", type=_positive_int, default=12,
                   help="at most this many snapshot epochs with --snapshots")
    p.add_argument("--dry-run", action="store_true",
                   help="1 epoch of 3 batches end to end, evaluated on 1,000 test images; "
                   "writes to a fresh temporary folder unless --out, never into checkpoints/")
    return p.parse_args(argv)
