"""Diagnose a user's MNIST classifier: how to feed it, what its outputs are, what is wrong.

    python scripts/diagnose.py model.onnx           # a readable report
    python scripts/diagnose.py model.onnx --json    # one JSON object on stdout, nothing else

Exit status 0 when the model was diagnosed (with findings or without); 2, with one line on
stderr, for a file it can't use (missing, not a model, no layout it accepts).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from explorer.errors import ExplainedError
from explorer.inputs.data import load_mnist, load_test_float
from explorer.yours import formats, statedict
from explorer.yours.diagnose import Diagnosis, diagnose
from explorer.yours.opened import open_path, short_label

LAYOUT_SHAPES = {"nchw": "(N, 1, 28, 28)", "flat": "(N, 784)"}
SCALE_WORDS = {"unit": "0–1 pixels", "mnist-normalised": "MNIST mean/std normalised",
               "minus-one-to-one": "−1…1", "0-255": "0–255"}


def _first_line(err: Exception) -> str:
    return " ".join(str(err).split()) or type(err).__name__  # one line, whole: it has the fix


def load_images(data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) test images in [0, 1] and labels: the shipped split, or data_dir's."""
    if data_dir is None:
        return load_test_float()
    images, labels = load_mnist(train=False, data_dir=data_dir)
    return images.astype(np.float32) / 255.0, labels


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_number(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_number(v) for v in value) + "]"
    return str(value)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def report(diagnosis: Diagnosis, name: str) -> list[str]:
    """The diagnosis as lines of text for a terminal."""
    j = diagnosis.to_json()
    put, kind = j["input"], j["output_kind"]
    lines = [f"{name}: {j['n_images']:,} MNIST test images",
             f"input      {LAYOUT_SHAPES[put['layout']]}, {SCALE_WORDS[put['scale']]}, "
             f"{'black ink on white (inverted)' if put['inverted'] else 'white ink on black'}",
             f"outputs    {j['outputs']}{'' if kind == j['outputs'] else f' (read as {kind})'}"
             f", ({', '.join(map(str, j['output_shape']))})",
             f"labels     index k means digit {j['label_order']}"]
    cal = j["calibration"]
    lines.append(f"accuracy   {_percent(j['accuracy'])}")
    if cal:
        lines.append(f"ECE        {_percent(cal['ece'])} at T = 1 ({cal['n_bins']} bins); fitted "
                     f"T = {cal['fitted_temperature']:.3f} on {cal['n_fit']:,} images, held-out "
                     f"ECE {_percent(cal['ece_held_out_t1'])} -> "
                     f"{_percent(cal['ece_held_out_fitted'])}")
    if j["input_scales_tried"]:
        lines.append(f"scales     accuracy on {j['search_images']} test images: " + ", ".join(
            f"{t['scale']}{' inverted' if t['inverted'] else ''} {_percent(t['accuracy'])}"
            for t in j["input_scales_tried"]))
    lines.append(f"findings   {len(j['findings']) or 'none'}")
    for f in j["findings"]:
        lines += [f"  [{f['severity']}] {f['id']}: {f['title']}",
                  "      evidence: " + ", ".join(f"{k} {_number(v)}"
                                                  for k, v in f["evidence"].items()),
                  f"      fix: {f['fix']}"]
    return lines


def best_variant(path: str, images01: np.ndarray, labels: np.ndarray) -> str | None:
    """For a state dict, the variant with the best quick accuracy (None for other files)."""
    path = Path(path)
    if not path.is_file():
        raise formats.ModelFileError(f"{formats.shown(path.name)}: no such file")
    data = path.read_bytes()
    if formats.readable_kind(data, path.name) == "onnx":
        return None
    tensors = formats.load_state_dict_tensors(data, path.name)
    ranked = statedict.ranked(tensors, statedict.variants(tensors), images01[:500], labels[:500])
    return short_label(ranked[0][0])


def variant_lines(opened) -> list[str]:
    """For a state dict: the variant diagnosed, and every other that fits."""
    if not opened.variants:
        return []
    others = [short_label(v) for v in opened.variants if v != opened.variant]
    return [f"variant    {short_label(opened.variant)} ({opened.variant.label}); a state dict "
            "can't say, so pick with --variant; others that fit: " + ", ".join(others)]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("model", help="the model file: ONNX, a state dict (.pt, .pth) or .safetensors")
    p.add_argument("--variant", default=None,
                   help="for a state dict: the network it is, e.g. tanh,sigmoid,softmax (the "
                   "activations, then softmax or logits); default: the best guess, and the "
                   "report lists every variant that fits")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of the report")
    p.add_argument("--data-dir", default=None,
                   help="an MNIST root (MNIST/raw/ inside) whose test split to use; default: "
                   "the test split shipped with the app (explorer/inputs/assets)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    opened = None
    try:
        images01, labels = load_images(args.data_dir)
        opened = open_path(args.model, args.variant or best_variant(args.model, images01, labels))
        diagnosis = diagnose(opened.run, images01, labels, opened.input_rank)
    except ExplainedError as err:
        print(f"diagnose.py: {_first_line(err)}", file=sys.stderr)
        return 2
    finally:
        if opened is not None:
            opened.close()
    if args.json:
        print(json.dumps(diagnosis.to_json(), allow_nan=False))
    else:
        print("\n".join(report(diagnosis, Path(args.model).name)
                        + variant_lines(opened)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
