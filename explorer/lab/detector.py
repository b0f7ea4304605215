"""The "not a digit" detector: a small CNN trained with outlier exposure on synthetic doodles.

It reads the same 28×28 image as the classifiers and says how doodle-like it is, apart from
them: the classifiers' ten outputs are left as they are (a softmax sure of a smiley is the
lesson), and the verdict says that this detector disagrees, with its score and cut.
Trained on MNIST's training split and synthetic digits (label 0) against doodles of the
TRAIN family (label 1), each image distorted by training's augmentation; the threshold is
picked on validation digits only (scripts/ood_threshold.py).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from explorer.inputs.augment import AugmentConfig, random_augment
from explorer.inputs.synth import SynthConfig
from explorer.model.networks import HeadCNN, OneNumberConfig

DETECTOR_DIR = Path(__file__).parent / "not_a_digit"
WEIGHTS, META = "detector.safetensors", "detector.json"
KIND = "a detector trained with outlier exposure on synthetic doodles"


@dataclass(frozen=True)
class DetectorConfig:
    """How the detector is trained (scripts/train_detector.py's defaults)."""

    epochs: int = 12
    lr: float = 3e-3
    batch_size: int = 128
    weight_decay: float = 1e-4
    seed: int = 1
    synth_fraction: float = 0.4  # synthetic digits per MNIST training digit
    doodles: int = 33000  # TRAIN-family doodles (explorer.inputs.doodles)
    augment_strength: float = 1.0


# NB: the detector's digits span more pens than the classifiers' (faint thin pens, brushes
# up to 30 % of the digit): a digit it has never seen drawn so is one it calls a doodle.
DIGIT_PENS = SynthConfig(p_thin_pen=0.3, max_brush_of_size=0.3)


NETWORK = "HeadCNN, one logit, each image scaled to its brightest pixel"  # checked on load


class DetectorCNN(HeadCNN):
    """The heads lesson's small CNN with one logit (doodle-ness), reading each image scaled to
    its own brightest pixel.

    NB: a thin pen is faint once preprocessed (a 3 px line at 28×28): without the scaling a
    detector learns "faint means doodle", and flags thin-pen digits.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        peak = x.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)  # (N, 1, 1, 1)
        return super().forward(x / peak)


def build_detector() -> torch.nn.Module:
    """The detector's network (NETWORK)."""
    return DetectorCNN(OneNumberConfig())


def _balanced_bce(logits: torch.Tensor, is_doodle: torch.Tensor) -> torch.Tensor:
    """BCE with digits and doodles weighted equally, whatever their counts in a batch."""
    per = F.binary_cross_entropy_with_logits(logits, is_doodle, reduction="none")
    doodle = is_doodle > 0.5
    parts = [per[m].mean() for m in (doodle, ~doodle) if bool(m.any())]
    return torch.stack(parts).mean()


def train_detector(images_u8: np.ndarray, is_doodle: np.ndarray, cfg: DetectorConfig,
                   log=print) -> tuple[torch.nn.Module, list[dict], float]:
    """Train on uint8 (N, 28, 28) images and 0/1 labels; (model in eval, history, seconds)."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.from_numpy(np.ascontiguousarray(images_u8))
    y = torch.from_numpy(np.asarray(is_doodle, dtype=np.float32))
    model, aug = build_detector(), AugmentConfig().scaled(cfg.augment_strength)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = (len(x) + cfg.batch_size - 1) // cfg.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps * cfg.epochs)
    history, start = [], time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for b in range(steps):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            batch = random_augment(x[idx].float().div_(255)[:, None], aug, gen)
            loss = _balanced_bce(model(batch)[:, 0], y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        history.append({"epoch": epoch, "train_loss": total / steps})
        log(f"detector epoch {epoch}/{cfg.epochs}  loss {total / steps:.4f}  "
            f"{time.perf_counter() - start:.0f} s")
    return model.eval(), history, time.perf_counter() - start


def doodle_logits(model: torch.nn.Module, images) -> np.ndarray:
    """(N,) detector logits for (N, 28, 28) images in [0, 1]; higher means more doodle-like."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(-1, 1, 28, 28)
    with torch.no_grad():
        out = [model(x[i:i + 1000])[:, 0] for i in range(0, len(x), 1000)]
    return torch.cat(out).double().numpy() if out else np.zeros(0)


def save_detector(folder: Path, model: torch.nn.Module, meta: dict) -> dict:
    """Write the weights and a meta JSON (config, history, time, NETWORK, the weights' sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS))
    meta = {**meta, "network": NETWORK,
            "weights_sha256": hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()}
    (folder / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta


@lru_cache(maxsize=4)
def load_detector(folder: Path = DETECTOR_DIR) -> tuple[torch.nn.Module, dict]:
    """(model in eval on the CPU, meta); FileNotFoundError names the command that makes it.

    NB: cached per folder: the verdict asks on every stroke. The weights are checked
    against the sha256 their meta records.
    """
    weights, meta_path = folder / WEIGHTS, folder / META
    if not weights.is_file() or not meta_path.is_file():
        raise FileNotFoundError(f"no not-a-digit detector in {folder.name}/: run "
                                f"`python scripts/train_detector.py`")
    meta = json.loads(meta_path.read_text())
    if hashlib.sha256(weights.read_bytes()).hexdigest() != meta.get("weights_sha256"):
        raise ValueError(f"{folder.name}/{WEIGHTS} does not match its {META}: retrain it")
    if meta.get("network") != NETWORK:
        raise ValueError(f"{folder.name}/ holds a detector for another network "
                         f"({meta.get('network')!r}): retrain it")
    model = build_detector()
    model.load_state_dict(load_file(str(weights)))
    return model.eval(), meta


def config_dict(cfg: DetectorConfig) -> dict:
    return asdict(cfg)
