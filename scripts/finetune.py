"""Fine-tune a shipped model on a class's export into a NEW checkpoint folder; report before
and after on the class's held-out students and on MNIST's test split.

    python scripts/export_class.py K7QZM --out /tmp/k7qzm
    python scripts/finetune.py /tmp/k7qzm --out /tmp/cnn-k7qzm           # the default model
    python scripts/finetune.py /tmp/k7qzm --arch mlp --out /tmp/mlp-k7qzm --epochs 10

The class's students are split with --seed: a student's drawings are all trained on or all
held out, so the "after" figures are on hands the model never saw. Each batch mixes MNIST
training images in (--mnist-share), so the model does not forget MNIST. Never writes into
checkpoints/ or over a checkpoint; the new one's meta.json says where it came from.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from explorer.classroom.export import ExportedClass, ExportError, load_export, split_by_student
from explorer.errors import ExplainedError, display_path
from explorer.inputs.augment import AugmentConfig, random_augment
from explorer.inputs.data import load_mnist, load_test_float, split_train_val
from explorer.lab.evaluation import metrics_block, temperature_from_val
from explorer.maths.calibration import accuracy, ece, nll
from explorer.maths.confidence import as_logits, softmax
from explorer.model import checkpoint_paths
from explorer.model.checkpoint_guard import describe_checkpoint, holds_checkpoint, is_inside
from explorer.model.checkpoints import LoadedModel, load_model, save_checkpoint
from explorer.model.heads import TASKS
from explorer.model.inference import model_logits
from explorer.model.registry import DEFAULT, names, the

FIGURES = ("accuracy", "ece", "nll")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("export", type=Path, help="a folder written by scripts/export_class.py")
    p.add_argument("--out", type=Path, required=True,
                   help="the new checkpoint folder (never inside checkpoints/, never over one)")
    p.add_argument("--arch", choices=names(), default=the(DEFAULT),
                   help="the shipped model to start from (checkpoints/ARCH)")
    p.add_argument("--epochs", type=int, default=10, help="passes over the class's drawings")
    p.add_argument("--lr", type=float, default=3e-4, help="AdamW learning rate (constant)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    p.add_argument("--batch-size", type=int, default=64, help="images per step, both kinds")
    p.add_argument("--mnist-share", type=float, default=0.75,
                   help="share of each batch that is MNIST training images")
    p.add_argument("--augment-strength", type=float, default=0.5,
                   help="canvas-like distortions (explorer/inputs/augment.py); 0: none")
    p.add_argument("--held-out", type=float, default=0.3,
                   help="share of the class's students held out (at least one)")
    p.add_argument("--val-size", type=int, default=5000,
                   help="MNIST training images never trained on, to fit the temperature")
    p.add_argument("--mnist-test", type=int, default=10000,
                   help="MNIST test images the before/after figures use (10,000: all)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, batches, noise")
    p.add_argument("--data-dir", default=None,
                   help="MNIST root (holding MNIST/raw/); None means $MNIST_ROOT, then data/")
    p.add_argument("--device", default=None,
                   help="None means $EXPLORER_DEVICE, then cuda, mps, cpu")
    return p.parse_args(argv)


def fail(message: str):
    """Refuse in one line on stderr and exit with status 2 (argparse's), no traceback."""
    print(f"finetune.py: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def refusal(out: Path) -> str | None:
    """Why writing `out` could lose a model; None: go ahead (model.checkpoint_guard)."""
    for shipped in {checkpoint_paths.CHECKPOINT_DIR, checkpoint_paths.checkpoint_root()}:
        if is_inside(out, shipped):
            return (f"--out {display_path(out)} is inside the shipped checkpoints folder "
                    f"{display_path(shipped)}; a fine-tuned model goes into a NEW folder "
                    f"outside it.")
    if holds_checkpoint(out):
        return (f"{display_path(out)} already holds {describe_checkpoint(out)}; fine-tuning "
                f"never overwrites a checkpoint: pass --out NEW_FOLDER.")
    return None


def figures(loaded: LoadedModel, images: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, ECE and NLL of the model's own probabilities (T = 1) on these images."""
    ranking = as_logits(model_logits(loaded.model, images, loaded.device),
                        loaded.arch.outputs_logits)
    return {"n": int(len(labels)), "accuracy": accuracy(ranking, labels),
            "ece": ece(softmax(ranking), labels), "nll": nll(ranking, labels)}


def measure(loaded: LoadedModel, held: tuple, test: tuple) -> dict:
    loaded.model.eval()
    return {"class_held_out": figures(loaded, *held), "mnist_test": figures(loaded, *test)}


def batches(n_class: int, args, gen: torch.Generator):
    """(class indices, MNIST-train positions) per step: one pass over the class's drawings,
    each batch topped up with random MNIST images."""
    per_class = max(1, round(args.batch_size * (1 - args.mnist_share)))
    per_mnist = args.batch_size - per_class
    order = torch.randperm(n_class, generator=gen)
    for start in range(0, n_class, per_class):
        yield order[start:start + per_class], torch.randint(0, 2**62, (per_mnist,),
                                                            generator=gen)


def train(loaded: LoadedModel, drawn: tuple, mnist: tuple, args) -> list[dict]:
    """Fine-tune loaded.model in place; the mean loss of each epoch."""
    model, device = loaded.model, loaded.device
    model.requires_grad_(True)
    loss_of = TASKS[loaded.arch.task].loss
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    aug, gen = AugmentConfig().scaled(args.augment_strength), torch.Generator().manual_seed(
        args.seed)
    x_class, y_class = torch.from_numpy(drawn[0]), torch.from_numpy(drawn[1])
    x_mnist, y_mnist = torch.from_numpy(mnist[0]), torch.from_numpy(mnist[1])
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        losses = []
        for mine, theirs in batches(len(y_class), args, gen):
            theirs = theirs % len(y_mnist)
            x = torch.cat([x_class[mine], x_mnist[theirs].float() / 255])[:, None]
            y = torch.cat([y_class[mine], y_mnist[theirs]])
            if args.augment_strength > 0:
                x = random_augment(x, aug, gen)
            loss = loss_of(model(x.to(device)), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses))})
        print(f"epoch {epoch:3d}  loss {history[-1]['train_loss']:.4f}", flush=True)
    model.eval()  # NB: still requires grad: save_checkpoint counts the trainable parameters
    return history


def finetuned_meta(loaded: LoadedModel, source: dict, export: ExportedClass, split: dict,
                   args, extra: dict) -> dict:
    """meta.json of the new checkpoint: the source's description, and where it came from."""
    keep = ("arch", "config", "description", "outputs_logits", "task", "note")
    return {**{k: source[k] for k in keep if k in source}, **extra, "finetuned": {
        "from": {"model": loaded.name, "weights_sha256": source["weights_sha256"],
                 "test_accuracy": source["metrics"]["test"]["accuracy"]},
        "export": {"folder": display_path(export.folder), "code": export.info.get("code"),
                   "exported": export.info.get("exported"),
                   "manifest_sha256": export.info["manifest_sha256"]},
        **split,
        "settings": {k: (display_path(v) if isinstance(v, Path) else v)
                     for k, v in vars(args).items()},
    }}


def print_report(before: dict, after: dict) -> None:
    print(f"\n{'':26}{'before':>10}{'after':>10}")
    for part, title in (("class_held_out", "class, held-out students"),
                        ("mnist_test", "MNIST test")):
        print(f"{title} ({after[part]['n']:,} images)")
        for key in FIGURES:
            fmt = (lambda v: f"{v:>10.2%}") if key != "nll" else (lambda v: f"{v:>10.4f}")
            print(f"  {key:24}{fmt(before[part][key])}{fmt(after[part][key])}")


def load_inputs(args) -> tuple[LoadedModel, ExportedClass, tuple, tuple]:
    """The model, the export, MNIST's training split and the test images; or fail()."""
    try:
        export = load_export(args.export)
        loaded = load_model(args.arch, args.device)
        x, y = load_mnist(train=True, data_dir=args.data_dir)
    except ExplainedError as err:  # CheckpointError, ExportError, DataError
        fail(str(err))
    test_x, test_y = load_test_float()
    return loaded, export, (x, y), (test_x[:args.mnist_test], test_y[:args.mnist_test])


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.epochs < 1 or not 0 <= args.mnist_share < 1 or not 0 < args.held_out < 1:
        fail("--epochs must be at least 1, --mnist-share in [0, 1), --held-out in (0, 1)")
    if (why := refusal(args.out)) is not None:
        fail(why)  # before anything is loaded or trained
    loaded, export, (x, y), test = load_inputs(args)
    try:
        tr, held = split_by_student(export.students, args.held_out, args.seed)
    except ExportError as err:
        fail(str(err))
    torch.manual_seed(args.seed)
    source = dict(loaded.meta)
    fit_idx, val_idx = split_train_val(len(x), min(args.val_size, len(x) // 5), args.seed)
    held_set = (export.images[held], export.labels[held])
    before = measure(loaded, held_set, test)
    start = time.perf_counter()
    history = train(loaded, (export.images[tr], export.labels[tr]), (x[fit_idx], y[fit_idx]),
                    args)
    seconds = time.perf_counter() - start
    after = measure(loaded, held_set, test)
    fit = temperature_from_val(model_logits(loaded.model, x[val_idx] / np.float32(255),
                                            loaded.device), y[val_idx])
    test_outputs = model_logits(loaded.model, test[0], loaded.device)
    split = {"train_students": sorted(set(export.students[tr])),
             "held_out_students": sorted(set(export.students[held])),
             "train_drawings": len(tr), "held_out_drawings": len(held)}
    extra = {"temperature": fit["temperature"], "history": history,
             "metrics": {"test": metrics_block(test_outputs, test[1], fit["temperature"]),
                         "validation": fit, "before": before, "after": after},
             "train": {"seconds": round(seconds, 1), "device": str(loaded.device)}}
    if (why := refusal(args.out)) is not None:
        fail(why)  # again: another run may have written there meanwhile
    meta = save_checkpoint(args.out, loaded.model,
                           finetuned_meta(loaded, source, export, split, args, extra))
    print_report(before, after)
    print(f"\nwrote {args.out} (fine-tuned from {loaded.name} on {len(tr)} drawings of "
          f"{len(split['train_students'])} students, {seconds:.0f} s)")
    return {"before": before, "after": after, "meta": meta}


if __name__ == "__main__":
    main()
