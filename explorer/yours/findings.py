"""The checks diagnose() runs on a probed model: each a stable id, severity, evidence and fix.

The checklist is the "Debug by symptom" page's (ui/pages/checklist_page.py), run on the model's
own test-set outputs. A check takes (probe, calibration figures, labels) and returns a Finding
or None; `calibration` is diagnose.calibration's dict, None when there are no ten scores.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from explorer.lab.exhibit import DOUBLE_SOFTMAX_MIN_LOSS
from explorer.maths.calibration import nll
from explorer.model.networks import MNIST_MEAN, MNIST_STD, N_CLASSES
from explorer.yours.probe import CREDIBLE, SEARCH_SIZE, Probe

SEVERITIES = ("error", "warning", "info")
CHANCE = 0.2  # at most this accuracy (chance: 0.1) with near-uniform outputs is "untrained"
NEAR_UNIFORM = 0.9  # ...and a mean entropy of at least this fraction of log2(10) bits
MISCALIBRATED_ECE = 0.03  # a held-out ECE at T = 1 above this...
MISCALIBRATED_T = 1.5  # ...and a fitted T above this (or below its inverse) is a finding
TEMPERATURE_FIX = ("temperature scaling: one number T fitted on validation data (never the "
                   "test set), no argmax changes")


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the model (or worth knowing about it)."""

    id: str  # stable: "softmax-output", "untrained", "input-scale", ...
    severity: str  # one of SEVERITIES
    title: str  # one line: what was found
    evidence: dict  # the numbers behind it
    fix: str  # what to change in the user's code

    def to_json(self) -> dict:
        return jsonable({"id": self.id, "severity": self.severity, "title": self.title,
                         "evidence": self.evidence, "fix": self.fix})


def jsonable(value):
    """`value` with numpy scalars as Python ones and NaN/inf as None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


NOT_TEN_WAY = {  # what the outputs look like -> (title, fix)
    "one": ("1 number per image, not 10 scores: a regression on the digit, or one yes/no "
            "score", "A digit is a class, not a quantity: regressing it makes a 4-or-6 come out "
            "as 5. End the model in nn.Linear(..., 10) and train it with nn.CrossEntropyLoss."),
    "two": ("2 scores per image, not 10: a yes/no classifier (two logits or probabilities)",
            "To tell all ten digits apart, end the model in nn.Linear(..., 10) and train it with "
            "nn.CrossEntropyLoss on digit labels 0-9."),
    "sigmoids": ("10 scores in [0, 1] whose rows don't sum to 1: independent sigmoids, a "
                 "multi-label (one-vs-rest) head", "One digit per image is one class: drop the "
                 "sigmoid, train the 10 logits with nn.CrossEntropyLoss and read softmax. Keep "
                 "the sigmoids only for images that may hold several digits (BCEWithLogitsLoss "
                 "on multi-hot targets), and read each one alone: their softmax means nothing."),
    "other": ("{k} outputs per image, not 10 scores, one per digit",
              "End the model in nn.Linear(..., 10): one logit per digit, trained with "
              "nn.CrossEntropyLoss; the app reads (N, 10) scores."),
}


def not_ten_way(p: Probe, cal, labels) -> Finding | None:
    """Outputs that aren't ten scores, one per digit: what they look like instead."""
    if p.ten_scores and p.output_kind != "sigmoids":
        return None
    rows = p.outputs[np.isfinite(p.outputs).all(axis=1)]
    k = p.outputs.shape[1]
    shape = "sigmoids" if p.ten_scores else {1: "one", 2: "two"}.get(k, "other")
    title, fix = NOT_TEN_WAY[shape]
    evidence = {"output_shape": ["N", *p.output_shape], "output_kind": p.output_kind,
                "min": rows.min() if rows.size else None, "max": rows.max() if rows.size else None}
    if k > 1 and rows.size:
        evidence["row_sum_mean"] = rows.sum(axis=1).mean()
    if k == 1:
        guess = np.clip(np.rint(p.outputs[:, 0]), 0, 9)  # NaN rows never equal a label
        evidence["rounded_to_a_digit_accuracy"] = float((guess == labels).mean())
    return Finding("not-ten-way", "error", title.format(k=k), evidence, fix)


NON_FINITE_FIX = ("Look for 0/0 or x/0 (a per-image x / x.std() or x / x.max() is 0/0 on a blank "
                  "image: add an epsilon), log(0) (use log_softmax, not log(softmax)), exp() "
                  "overflow, or sqrt of a negative. Check with torch.isfinite(model(x)).all() "
                  "on blank, all-white and test images.")


def non_finite(p: Probe, cal, labels) -> Finding | None:
    """NaN or inf outputs: on the test set, a blank or white image, or another input scale."""
    nf = p.non_finite
    ours = [f"{nf['test set']:,} of {len(p.outputs):,} test images"] if nf["test set"] else []
    ours += [name for name in ("blank image", "white image") if nf[name]]
    elsewhere = [f"inputs on the {name} scale" for name in nf["scales"]]
    if not ours and not elsewhere:
        return None
    evidence = {"test_set_rows": nf["test set"], "blank_image": nf["blank image"],
                "white_image": nf["white image"], "rows_by_scale_on_search_images": nf["scales"],
                "search_images": SEARCH_SIZE}
    return Finding("non-finite", "error" if ours else "warning",
                   "NaN or inf outputs on " + ", ".join(ours or elsewhere), evidence,
                   NON_FINITE_FIX)


def untrained(p: Probe, cal, labels) -> Finding | None:
    """Near-uniform outputs and chance accuracy."""
    if not cal or p.accuracy > CHANCE or cal["mean_entropy_bits"] < NEAR_UNIFORM * math.log2(10):
        return None
    evidence = {"accuracy": p.accuracy, "chance": 1 / N_CLASSES,
                "mean_entropy_bits": cal["mean_entropy_bits"],
                "uniform_entropy_bits": math.log2(N_CLASSES), "mean_top1": cal["mean_top1"]}
    return Finding("untrained", "error", f"near-uniform outputs (about 10 % sure of everything) "
                   f"and chance accuracy ({p.accuracy:.1%}): the weights look untrained",
                   evidence, "Load the trained weights (model.load_state_dict(...) before "
                   "exporting), or train it: the loss should fall well below log(10) ≈ 2.30 "
                   "in the first epoch.")


def low_accuracy(p: Probe, cal, labels) -> Finding | None:
    """Accuracy far below any trained MNIST model's, under every input scale tried."""
    if not cal or p.accuracy >= CREDIBLE or untrained(p, cal, labels):
        return None
    evidence = {"accuracy": p.accuracy, "mean_top1": cal["mean_top1"],
                "accuracy_by_scale": {t.name: t.accuracy for t in p.trials}}
    return Finding("low-accuracy", "error", f"accuracy {p.accuracy:.1%} on MNIST test digits "
                   "under the best of the 8 input scales tried", evidence,
                   "Feed it exactly as it was trained (crop, resize to 20 px in a 28 px box, "
                   "centre by mass, like MNIST), check it was trained on MNIST digits, and "
                   "train longer.")


def softmax_output(p: Probe, cal, labels) -> Finding | None:
    """Outputs that are already probabilities: the model ends in a softmax."""
    if p.output_kind != "probabilities" or not cal:
        return None
    finite = np.isfinite(p.outputs).all(axis=1)
    probs = p.contract.in_digit_order(p.outputs[finite])  # (N, 10), rows sum to 1
    sums, y = probs.sum(axis=1), np.asarray(labels)[finite]
    evidence = {"row_sum_min": sums.min(), "row_sum_max": sums.max(),
                "mean_top1": probs.max(axis=1).mean(),
                "cross_entropy_loss_on_these_outputs": nll(probs, y),
                "cross_entropy_loss_floor": DOUBLE_SOFTMAX_MIN_LOSS,
                "nll_of_these_probabilities": nll(np.log(np.clip(probs, 1e-12, None)), y)}
    floor = DOUBLE_SOFTMAX_MIN_LOSS
    return Finding("softmax-output", "warning", "the outputs are probabilities (rows sum to 1): "
                   "the model ends in a softmax; trained with CrossEntropyLoss that is a double "
                   f"softmax, whose loss can't go below log(1 + 9/e) ≈ {floor:.2f}", evidence,
                   "Drop the final nn.Softmax: the model returns logits and "
                   "nn.CrossEntropyLoss takes logits. Apply torch.softmax(logits, 1) only where "
                   "you show probabilities.")


def log_probabilities(p: Probe, cal, labels) -> Finding | None:
    """Outputs that are log-probabilities: fine; said so that they are read as such."""
    if p.output_kind != "log-probabilities":
        return None
    rows = p.outputs[np.isfinite(p.outputs).all(axis=1)]
    return Finding("log-probabilities", "info", "the outputs are log-probabilities (rows ≤ 0, "
                   "logsumexp 0): the model ends in a LogSoftmax", {"max": rows.max(initial=0.0)},
                   "Nothing to fix: train with nn.NLLLoss (CrossEntropyLoss gives the same "
                   "loss on them), and exp() them for probabilities.")


SCALE_RECIPES = {
    "unit": "0–1 pixels (ToTensor)",
    "mnist-normalised": f"(x − {MNIST_MEAN}) / {MNIST_STD} of 0–1 pixels "
                        f"(transforms.Normalize(({MNIST_MEAN},), ({MNIST_STD},)))",
    "minus-one-to-one": "2·x − 1 of 0–1 pixels (transforms.Normalize((0.5,), (0.5,)))",
    "0-255": "raw 0–255 pixel values (no ToTensor scaling)",
}


def input_scale(p: Probe, cal, labels) -> Finding | None:
    """A model that reads digits on another scale than plain 0–1 pixels, white on black."""
    c = p.contract
    if c.scale == "unit" and not c.inverted:
        return None
    acc = {(t.scale, t.inverted): t.accuracy for t in p.trials}
    ours, plain = acc[(c.scale, c.inverted)], acc[("unit", False)]
    wants = SCALE_RECIPES[c.scale] + (", inverted: black ink on white (1 − x)" if c.inverted
                                      else "")
    evidence = {"scale": c.scale, "inverted": c.inverted, "accuracy_on_its_scale": ours,
                "accuracy_on_0_1_pixels": plain, "search_images": SEARCH_SIZE,
                "accuracy_by_scale": {t.name: t.accuracy for t in p.trials}}
    fix = (f"Feed it {wants}, or better, do that inside forward() (as this app's models do) "
           "so every caller, an ONNX export included, can hand it plain 0–1 MNIST pixels.")
    if c.inverted:
        fix += " MNIST and this app draw white ink on black: or train it on MNIST as it is."
    return Finding("input-scale", "warning", f"it reads digits on {wants}, not on plain 0–1 "
                   f"pixels: {ours:.1%} accurate there, {plain:.1%} on 0–1 pixels", evidence, fix)


def label_order(p: Probe, cal, labels) -> Finding | None:
    """An output index that doesn't mean the digit it stands for."""
    order = p.contract.label_order
    moved = {k: d for k, d in enumerate(order) if k != d}
    if not moved:
        return None
    evidence = {"label_order": order, "moved": moved, "accuracy_with_this_order": p.accuracy,
                "accuracy_reading_index_as_digit": p.identity_accuracy}
    return Finding("label-order", "error", "output index k doesn't mean digit k: "
                   + ", ".join(f"index {k} is a {d}" for k, d in moved.items()), evidence,
                   f"Read the outputs in digit order, outputs[:, np.argsort({list(order)})] "
                   "(column d is then digit d), or fix the class list used in training "
                   "(ImageFolder sorts folder names; a LabelEncoder or a remapped dataset "
                   "reorders labels) and train or export again.")


def miscalibrated(p: Probe, cal, labels) -> Finding | None:
    """Over- or under-confidence that a fitted temperature fixes on held-out images."""
    if not cal or p.output_kind == "sigmoids" or p.accuracy < CREDIBLE:
        return None
    t, before, after = (cal[k] for k in ("fitted_temperature", "ece_held_out_t1",
                                          "ece_held_out_fitted"))
    plausible_t = 1 / MISCALIBRATED_T <= t <= MISCALIBRATED_T
    if before <= MISCALIBRATED_ECE or after >= before or plausible_t:
        return None
    over = t > 1
    evidence = {key: cal[key] for key in ("ece", "fitted_temperature", "ece_held_out_t1",
                                          "ece_held_out_fitted", "mean_top1", "n_fit", "n_eval")}
    evidence["accuracy"] = p.accuracy
    title = (f"{'over' if over else 'under'}confident: mean top-1 {cal['mean_top1']:.1%} "
             f"against accuracy {p.accuracy:.1%}; held-out ECE {before:.1%} at T = 1, "
             f"{after:.1%} at the fitted T = {t:.2f}")
    why = ("Confident and wrong: long training without regularisation makes logits grow."
           if over else "Always unsure: label smoothing, heavy dropout or weight decay, too "
           "little training, or a softmax before the loss (see softmax-output).")
    return Finding("overconfident" if over else "underconfident", "warning", title, evidence,
                   f"Divide the logits (for probabilities, log p) by T = {t:.2f} before the "
                   f"softmax: {TEMPERATURE_FIX}. {why}")


CHECKS = (not_ten_way, non_finite, untrained, low_accuracy, label_order, input_scale,
          softmax_output, miscalibrated, log_probabilities)
