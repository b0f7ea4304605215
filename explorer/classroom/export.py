"""A class as a dataset: one manifest row per drawing, beside the drawings as PNG files.

    folder/manifest.parquet   id, label, created (UTC), student, png, canvas, and for each
    folder/manifest.csv       model <name>_pred and <name>_logit_0 .. <name>_logit_9
    folder/png/<id>.png       the 28×28 image as stored (8-bit grey, white ink on black)
    folder/canvas/<id>.png    the canvas as the student drew it
    folder/export.json        the class code, when, how many drawings, which models

    manifest = pd.read_parquet(folder / "manifest.parquet")   # the one line
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from explorer.classroom.api import ClassStore, Drawing
from explorer.errors import ExplainedError, display_path

MANIFEST, MANIFEST_CSV, INFO = "manifest.parquet", "manifest.csv", "export.json"
BASE_COLUMNS = ["id", "label", "created", "student", "png", "canvas"]


class ExportError(ExplainedError):
    """An export folder that can't be written, or read back as a class's dataset."""


def _row(drawing: Drawing) -> dict:
    row = {"id": drawing.id, "label": drawing.label, "created": drawing.created,
           "student": drawing.student, "png": f"png/{drawing.id}.png",
           "canvas": f"canvas/{drawing.id}.png"}
    for name, logits in sorted(drawing.logits.items()):
        row[f"{name}_pred"] = int(np.argmax(logits))
        row.update({f"{name}_logit_{k}": float(v) for k, v in enumerate(logits)})
    return row


def _write_pngs(folder: Path, drawing: Drawing) -> None:
    pixels = np.rint(drawing.image28 * 255).astype(np.uint8)  # exactly the 784 stored bytes
    Image.fromarray(pixels, "L").save(folder / "png" / f"{drawing.id}.png")
    (folder / "canvas" / f"{drawing.id}.png").write_bytes(drawing.canvas_png)


def export_class(store: ClassStore, code: str, folder: str | Path) -> Path:
    """Write class `code` as a dataset into `folder` (new, or empty); the folder.

    NB: refuses a folder with anything in it, so an export never mixes two classes.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(f"{display_path(folder)} is not empty: export into a new folder.")
    drawings = store.drawings(code)  # NoSuchClass, StoreError: before anything is written
    for sub in ("png", "canvas"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for drawing in drawings:
        _write_pngs(folder, drawing)
    manifest = pd.DataFrame([_row(d) for d in drawings] or None,
                            columns=None if drawings else BASE_COLUMNS)
    manifest["created"] = pd.to_datetime(manifest["created"], utc=True)
    manifest.to_parquet(folder / MANIFEST, index=False)
    manifest.to_csv(folder / MANIFEST_CSV, index=False)
    info = {"code": drawings[0].code if drawings else str(code).strip().upper(),
            "exported": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "drawings": len(drawings), "students": int(manifest["student"].nunique()),
            "models": sorted({name for d in drawings for name in d.logits}),
            "columns": list(manifest.columns)}
    (folder / INFO).write_text(json.dumps(info, indent=2) + "\n")
    return folder


@dataclass(frozen=True)
class ExportedClass:
    """An export read back: what fine-tuning needs."""

    folder: Path
    info: dict  # export.json, plus the manifest's sha256
    ids: np.ndarray  # (N,) int64
    images: np.ndarray  # (N, 28, 28) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64, 0..9: what each student said they drew
    students: np.ndarray  # (N,) str, anonymous tokens


def _read_png28(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"))
    except (OSError, ValueError) as err:
        raise ExportError(f"{display_path(path)} can't be read as an image ({err}).") from err
    if pixels.shape != (28, 28):
        raise ExportError(f"{display_path(path)} is {pixels.shape[1]}×{pixels.shape[0]}, "
                          f"not 28×28.")
    return pixels.astype(np.float32) / 255


def load_export(folder: str | Path) -> ExportedClass:
    """Read an export_class folder: its images, labels and students, in manifest order."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    try:
        manifest = pd.read_parquet(manifest_path)
        info = json.loads((folder / INFO).read_text())
    except (OSError, ValueError) as err:
        raise ExportError(f"{display_path(folder)} is not a class export (no readable "
                          f"{MANIFEST} and {INFO}: make one with scripts/export_class.py)."
                          ) from err
    labels = manifest["label"].to_numpy(np.int64)
    if len(manifest) and not ((labels >= 0) & (labels <= 9)).all():
        raise ExportError(f"{display_path(manifest_path)}: a label is not a digit 0..9.")
    images = np.stack([_read_png28(folder / p) for p in manifest["png"]]) if len(manifest) \
        else np.zeros((0, 28, 28), np.float32)
    info["manifest_sha256"] = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    return ExportedClass(folder, info, manifest["id"].to_numpy(np.int64), images, labels,
                         manifest["student"].astype(str).to_numpy())


def split_by_student(students: np.ndarray, held_out: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices): a fraction of the students, with all their
    drawings, held out, chosen with `seed`. NB: a student's hand is on one side only."""
    people = np.unique(students)
    if len(people) < 2:
        raise ExportError(f"held-out drawings need another student's hand: this export has "
                          f"{len(people)} student{'s' * (len(people) != 1)}, at least 2 are "
                          f"needed.")
    n_held = min(len(people) - 1, max(1, round(held_out * len(people))))
    held = np.random.default_rng(seed).permutation(people)[:n_held]
    mask = np.isin(students, held)
    return np.flatnonzero(~mask), np.flatnonzero(mask)
