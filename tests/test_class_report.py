"""The class view's numbers against references: counts by hand, ECE by hand, T by torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.classroom.api import Drawing
from explorer.classroom.report import MIN_TO_FIT, class_report, on_class
from explorer.model import registry

MODELS = registry.names()  # the shipped ten-way classifiers


def drawings_from(logits: np.ndarray, labels) -> list[Drawing]:
    """Drawings whose every model has these logits (the exhibit's as probabilities)."""
    probs = torch.softmax(torch.tensor(logits), 1).numpy()
    rows = []
    for i, (z, y) in enumerate(zip(logits, labels)):
        by_model = {name: (z if registry.get_arch(name).outputs_logits else probs[i]).tolist()
                    for name in MODELS}
        rows.append(Drawing(i + 1, "ABCDE", f"s{i % 3}", int(y), np.zeros((28, 28)), b"",
                            by_model))
    return rows


def test_accuracy_ece_and_confusion_by_hand():
    logits = np.full((4, 10), -5.0)
    logits[0, 3] = logits[1, 3] = logits[2, 8] = logits[3, 1] = 5.0  # says 3, 3, 8, 1
    drawings = drawings_from(logits, [3, 5, 8, 7])  # right, wrong, right, wrong
    report = class_report(drawings, MODELS[0], {name: {} for name in MODELS})
    assert report.n == 4 and report.model == MODELS[0]
    assert report.confusion[3, 3] == 1 and report.confusion[5, 3] == 1
    assert report.confusion[7, 1] == 1 and report.confusion.sum() == 4
    mine = report.models[0]
    top = float(torch.softmax(torch.tensor(logits[0]), 0).max())
    assert mine.accuracy == 0.5
    assert mine.ece == pytest.approx(abs(0.5 - top), abs=1e-6)  # all four in the top bin
    assert set(report.mistakes) == {2, 4}  # drawing ids of the two mistakes
    assert mine.fitted_t is None  # four drawings: too few to fit


def test_the_class_temperature_is_torchs_nll_minimum_and_mnists_stands_beside_it():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, MIN_TO_FIT * 3)
    logits = rng.normal(0, 1, (len(labels), 10))
    logits[np.arange(len(labels)), labels] += 4.0 * rng.random(len(labels)) + 1
    logits *= 3  # an overconfident model: T > 1 fixes it
    mine = on_class(drawings_from(logits, labels), MODELS[0],
                    {"temperature": 1.3, "metrics": {"test": {"accuracy": 0.99, "ece": 0.002}}})
    z, y = torch.tensor(logits), torch.tensor(labels)
    grid = torch.exp(torch.linspace(np.log(0.05), np.log(20), 4001))
    nll = torch.stack([torch.nn.functional.cross_entropy(z / t, y) for t in grid])
    assert mine.fitted_t == pytest.approx(float(grid[nll.argmin()]), rel=5e-3)
    assert mine.fitted_t > 1.5
    assert (mine.mnist_accuracy, mine.mnist_ece, mine.mnist_t) == (0.99, 0.002, 1.3)


def test_an_empty_class_has_no_report():
    assert class_report([], MODELS[0], {}) is None
