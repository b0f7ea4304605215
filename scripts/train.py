"""Train a digit classifier, fit its temperature, evaluate it and write a checkpoint.

    python scripts/train.py --arch cnn            # refuses to replace checkpoints/cnn
    python scripts/train.py --arch cnn --force    # ... unless told to
    python scripts/train.py --arch mlp --dry-run  # smoke test into a temporary folder
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

try:
    from scripts import train_args
except ImportError:  # run as `python scripts/train.py`: scripts/ is on the path itself
    import train_args

from explorer.inputs.augment import AugmentConfig, random_augment
from explorer.inputs.data import DataError, load_mnist, load_test_split, split_train_val
from explorer.inputs.synth import SynthConfig, synth_digits
from explorer.lab.evaluation import metrics_block, own_probs_block, temperature_from_val
from explorer.lab.replay import half_state, record_replay, snapshot_epochs
from explorer.lab.testset_logits import write_test_logits
from explorer.model import checkpoint_paths
from explorer.model.checkpoint_guard import refusal
from explorer.model.checkpoints import choose_device, save_checkpoint
from explorer.model.heads import TASKS, Task, compose_pairs, head_metrics, random_pairs, scoring_set
from explorer.model.inference import model_logits, model_outputs
from explorer.model.registry import CLASSIFY, build_model, config_dict, get_arch


@dataclass(frozen=True)
class TrainConfig:
    arch: str
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    seed: int
    augment: bool
    augment_strength: float
    n_train: int
    n_val: int
    dry_run: bool = False
    snapshots: int = 0  # how many epochs to keep the weights of (0: none); explorer.lab.replay
    n_synth: int = 0  # synthetic digits added to the training images (explorer.inputs.synth)
    n_synth_val: int = 0  # synthetic digits of another seed, to watch (never to pick by)


SYNTH_VAL_SEED = 1000  # NB: added to the run's seed: the synthetic validation digits' own


def synthetic(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, labels, validation images, labels) of synthetic digits, uint8 28×28."""
    start = time.perf_counter()
    x_s, y_s = synth_digits(cfg.n_synth, cfg.seed)
    x_sv, y_sv = synth_digits(cfg.n_synth_val, cfg.seed + SYNTH_VAL_SEED)
    if cfg.n_synth:
        print(f"{cfg.n_synth:,} + {cfg.n_synth_val:,} synthetic digits drawn and preprocessed "
              f"in {time.perf_counter() - start:.0f} s", flush=True)
    return x_s, y_s, x_sv, y_sv


def task_of(cfg: TrainConfig) -> Task:
    return TASKS[get_arch(cfg.arch).task]


def batch(x, y, idx, cfg: TrainConfig, aug, gen) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (B, 1, 28, width), labels) for one step: digits, or two-digit composites."""
    images = x[idx].float().div_(255)[:, None]  # (B, 1, 28, 28)
    if cfg.augment:
        images = random_augment(images, aug, gen)
    if not task_of(cfg).pairs:
        return images, y[idx]
    partner, pairs = random_pairs(y[idx], gen)  # each half augmented on its own above
    return compose_pairs(images, images[partner], pairs), pairs  # (B, 1, 28, 56), (B, 2)


def run_epoch(model, opt, sched, x, y, cfg: TrainConfig, gen, device, desc) -> dict:
    """One pass over (x, y) uint8/int64 tensors on `device`; returns mean loss and accuracy."""
    model.train()
    task, aug = task_of(cfg), AugmentConfig().scaled(cfg.augment_strength)
    order = torch.randperm(len(x), generator=gen, device=device)
    n_batches = 3 if cfg.dry_run else (len(x) + cfg.batch_size - 1) // cfg.batch_size
    total_loss = total_correct = seen = 0
    bar = tqdm(range(n_batches), desc=desc, leave=False, file=sys.stdout, mininterval=1)
    for b in bar:
        images, labels = batch(x, y, order[b * cfg.batch_size:(b + 1) * cfg.batch_size], cfg,
                               aug, gen)
        outputs = model(images)  # (B, K): the task says what they are
        loss = task.loss(outputs, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total_loss += loss.item() * len(labels)
        total_correct += task.correct(outputs, labels).sum().item()
        seen += len(labels)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{total_correct / seen:.4f}")
    return {"train_loss": total_loss / seen, "train_acc": total_correct / seen}


def val_figures(model, x_val, y_val, cfg: TrainConfig, device, prefix: str = "val") -> dict:
    """Validation loss (as training sees it) and accuracy, keyed `prefix`_loss, _acc."""
    model.eval()
    task = task_of(cfg)
    images, labels = scoring_set(task, np.asarray(x_val), np.asarray(y_val), cfg.seed)
    outputs = torch.from_numpy(model_outputs(model, images, device, task.width))
    labels = torch.from_numpy(labels).long()
    return {f"{prefix}_loss": task.loss(outputs, labels).item(),
            f"{prefix}_acc": task.correct(outputs, labels).float().mean().item()}


def train(cfg: TrainConfig, x, y, device,
          states: dict | None = None) -> tuple[torch.nn.Module, list[dict], float]:
    """Train on uint8 images `x` (N, 28, 28) and labels `y`; return model, history, seconds.

    `states`: filled with float16 weights at replay.snapshot_epochs when cfg.snapshots.
    """
    x_s, y_s, x_sv, y_sv = synthetic(cfg)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    tr, va = split_train_val(len(x), cfg.n_val, cfg.seed)
    x_tr = torch.from_numpy(np.concatenate([x[tr[:cfg.n_train]], x_s])).to(device)
    y_tr = torch.from_numpy(np.concatenate([y[tr[:cfg.n_train]], y_s])).to(device)
    x_va, y_va = x[va], y[va]
    model = build_model(cfg.arch).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = 3 if cfg.dry_run else (len(x_tr) + cfg.batch_size - 1) // cfg.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps * cfg.epochs)
    history, start = [], time.perf_counter()
    keep = set(snapshot_epochs(cfg.epochs, cfg.snapshots)) if cfg.snapshots else set()
    if states is not None and 0 in keep:
        states[0] = half_state(model)  # untrained: the uniform-ish start
    for epoch in range(1, cfg.epochs + 1):
        row = {"epoch": epoch, **run_epoch(model, opt, sched, x_tr, y_tr, cfg, gen, device,
                                           f"{cfg.arch} epoch {epoch}/{cfg.epochs}")}
        row.update(val_figures(model, x_va, y_va, cfg, device))
        if cfg.n_synth_val:
            row.update(val_figures(model, x_sv, y_sv, cfg, device, "val_synth"))
        history.append(row)
        if states is not None and epoch in keep:
            states[epoch] = half_state(model)
        print(f"epoch {epoch:3d}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}"
              f"  val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}"
              + (f"  synthetic val acc {row['val_synth_acc']:.4f}" if cfg.n_synth_val else ""),
              flush=True)
    return model.eval(), history, time.perf_counter() - start


def finish(model, cfg: TrainConfig, x, y, device, history, seconds) -> tuple[dict, np.ndarray]:
    """Fit T on validation, measure on the test split; the metadata and the test outputs."""
    task, arch = task_of(cfg), get_arch(cfg.arch)
    test_x, test_y = load_test_split()
    if cfg.dry_run:
        test_x, test_y = test_x[:1000], test_y[:1000]
    if arch.task == CLASSIFY:
        _, va = split_train_val(len(x), cfg.n_val, cfg.seed)
        fit = temperature_from_val(model_logits(model, x[va].astype(np.float32) / 255, device),
                                   y[va])
        test_outputs = model_logits(model, test_x.astype(np.float32) / 255, device)
        metrics = {"test": metrics_block(test_outputs, test_y, fit["temperature"]),
                   "validation": fit}
    else:  # NB: temperature scaling is the ten-way softmax's; the heads keep T = 1
        images, labels = scoring_set(task, test_x, test_y, seed=0)
        test_outputs = model_outputs(model, images, device, task.width)
        fit = {"temperature": 1.0}
        metrics = {"test": head_metrics(task, test_outputs, labels)}
    meta = {"arch": cfg.arch, "config": config_dict(cfg.arch), "description":
            arch.description, "outputs_logits": arch.outputs_logits, "task": arch.task,
            "train": {**asdict(cfg), "seconds": round(seconds, 1), "device": str(device),
                      "augmentation": asdict(AugmentConfig().scaled(cfg.augment_strength))
                      if cfg.augment else None,
                      "synthetic": asdict(SynthConfig()) if cfg.n_synth else None},
            "temperature": fit["temperature"], "metrics": metrics, "history": history}
    if not arch.outputs_logits and arch.task == CLASSIFY:
        metrics["test_own_probs"] = own_probs_block(test_outputs, test_y)
    if arch.note:
        meta["note"] = arch.note
    return meta, test_outputs


def save_replay(folder: Path, cfg: TrainConfig, states: dict, device) -> None:
    """The snapshots and each one's test accuracy, NLL and ECE (explorer/lab/replay.py)."""
    test_x, test_y = load_test_split()
    n = 1000 if cfg.dry_run else len(test_y)
    record_replay(folder, cfg.arch, states, test_x[:n].astype(np.float32) / 255, test_y[:n],
                  device)
    print(f"replay: {len(states)} snapshots (epochs {sorted(states)}) in {folder}")


def print_summary(out: Path, meta: dict) -> None:
    """A small table of the figures just written."""
    t = meta["metrics"]["test"]
    print(f"\nwrote {out}  ({meta['params']:,} params, {meta['train']['seconds']:.0f} s "
          f"on {meta['train']['device']})")
    if meta.get("task", CLASSIFY) != CLASSIFY:
        print(f"test ({meta['task']}): " + json.dumps(t))
        return
    print(f"{'':14}{'T=1':>10}{'fitted T':>10}")
    print(f"{'temperature':14}{1.0:>10.3f}{meta['temperature']:>10.3f}")
    print(f"{'test accuracy':14}{t['accuracy']:>10.2%}{t['accuracy']:>10.2%}")
    print(f"{'test NLL':14}{t['nll']:>10.4f}{t['nll_fitted_t']:>10.4f}")
    print(f"{'test ECE':14}{t['ece']:>10.2%}{t['ece_fitted_t']:>10.2%}")


def fail(message: str):
    """Refuse in one line on stderr and exit with status 2 (argparse's), no traceback."""
    print(f"train.py: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def check_out(out: Path | None, args: argparse.Namespace) -> None:
    """Refuse before any work if writing `out` could lose a model (model.checkpoint_guard)."""
    message = refusal(out, args.dry_run, args.force)
    if message:
        fail(message)


def parse_args(argv=None) -> argparse.Namespace:
    return train_args.parse_args(argv, __doc__.splitlines()[0])


def main(argv=None) -> dict:
    args = parse_args(argv)
    arch = get_arch(args.arch)
    if args.out:
        out = Path(args.out)
    elif args.dry_run:
        out = None  # a fresh temporary folder, made once training has succeeded
    else:
        out = checkpoint_paths.checkpoint_root() / args.arch
    check_out(out, args)  # fail fast: before MNIST is loaded or anything is trained

    strength = 0.0 if args.no_augment else (
        arch.train.augment_strength if args.augment_strength is None else args.augment_strength)
    device = choose_device(args.device)
    try:
        x, y = load_mnist(train=True, data_dir=args.data_dir)
    except DataError as err:
        fail(str(err))
    n_val = min(args.val_size, len(x) // 5) if args.dry_run else args.val_size
    fraction = arch.train.synth_fraction if args.synth_fraction is None else args.synth_fraction
    n_synth = int(round(fraction * (len(x) - n_val)))
    if args.dry_run:  # NB: 3 batches: drawing thousands of digits would be most of the run
        n_synth = min(n_synth, 3 * args.batch_size)
    cfg = TrainConfig(args.arch, 1 if args.dry_run else (args.epochs or arch.train.epochs),
                      args.batch_size, arch.train.lr if args.lr is None else args.lr,
                      args.weight_decay, args.seed, strength > 0, strength,
                      len(x) - n_val, n_val, args.dry_run,
                      args.snapshot_count if args.snapshots else 0, n_synth,
                      min(args.synth_val, n_synth))
    states = {} if args.snapshots else None
    model, history, seconds = train(cfg, x, y, device, states)
    meta, test_logits = finish(model, cfg, x, y, device, history, seconds)
    if out is None:
        out = Path(tempfile.mkdtemp(prefix=f"dry-run-{args.arch}-"))
    else:
        check_out(out, args)  # again: another run may have written there meanwhile
    meta = save_checkpoint(out, model, meta)  # the only place the output folder is made
    if not cfg.dry_run and get_arch(cfg.arch).task == CLASSIFY:  # 1,000 in a dry run
        write_test_logits(out, test_logits, meta["weights_sha256"])
    if states:
        save_replay(args.snapshots, cfg, states, device)
    print_summary(out, meta)
    if args.dry_run:
        print(f"dry run: checkpoint written to {out} (a throwaway folder; "
              f"{checkpoint_paths.CHECKPOINT_DIR} is untouched)")
    return meta


if __name__ == "__main__":
    main()
