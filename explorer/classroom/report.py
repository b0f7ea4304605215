"""What the class view shows, from the class's drawings: per model, beside MNIST's test set.

The lesson: confidence earned on MNIST is not earned on this class's handwriting. So each
model's accuracy, ECE and fitted temperature on the class stand beside the same on MNIST.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.lab.evaluation import confusion_matrix
from explorer.lab.gallery import most_confident_mistakes
from explorer.maths.calibration import Reliability, ece, fit_temperature, reliability
from explorer.maths.confidence import as_logits, softmax
from explorer.model import registry

MIN_TO_FIT = 20  # a temperature fitted on fewer drawings than this says nothing


@dataclass(frozen=True)
class ModelOnClass:
    """One model's figures on the class's drawings, and its MNIST test figures beside them."""

    name: str
    n: int
    accuracy: float
    ece: float
    fitted_t: float | None  # on the class's drawings (None: too few to fit)
    mnist_accuracy: float | None
    mnist_ece: float | None
    mnist_t: float | None  # the checkpoint's, fitted on MNIST validation


@dataclass(frozen=True)
class ClassReport:
    """Everything the teacher's view draws for one model and one moment of the class."""

    n: int
    model: str  # the model the confusion, reliability and mistakes are of
    models: tuple[ModelOnClass, ...]
    confusion: np.ndarray = field(repr=False)  # (10, 10) counts, rows true, columns predicted
    reliability: Reliability = field(repr=False)
    mistakes: tuple[int, ...] = ()  # drawing ids, most confident mistake first


def logits_of(drawings, name: str) -> np.ndarray:
    """(N, 10) ranking logits of one model for the drawings (its outputs, read as the registry
    says: the exhibit's probabilities become log p)."""
    raw = np.asarray([d.logits[name] for d in drawings], dtype=np.float64)  # (N, 10)
    return as_logits(raw, registry.get_arch(name).outputs_logits)


def on_class(drawings, name: str, mnist: dict | None) -> ModelOnClass:
    """One model's accuracy, ECE and fitted T on the drawings; `mnist`: its checkpoint's test
    metrics and temperature (meta.json), or None."""
    labels = np.asarray([d.label for d in drawings])
    logits = logits_of(drawings, name)
    probs = softmax(logits)  # (N, 10)
    fitted = fit_temperature(logits, labels) if len(labels) >= MIN_TO_FIT else None
    test = (mnist or {}).get("metrics", {}).get("test", {})
    return ModelOnClass(name, len(labels), float((probs.argmax(1) == labels).mean()),
                        float(ece(probs, labels)), None if fitted is None else float(fitted),
                        test.get("accuracy"), test.get("ece"), (mnist or {}).get("temperature"))


def class_report(drawings, model: str, metas: dict[str, dict], mistakes: int = 12
                 ) -> ClassReport | None:
    """The class view for `model` (and every model in `metas` side by side); None if empty."""
    if not drawings:
        return None
    names = [name for name in metas if all(name in d.logits for d in drawings)]
    labels = np.asarray([d.label for d in drawings])
    logits = logits_of(drawings, model)
    worst = most_confident_mistakes(logits, labels, k=mistakes)
    return ClassReport(len(drawings), model,
                       tuple(on_class(drawings, name, metas[name]) for name in names),
                       confusion_matrix(logits, labels), reliability(softmax(logits), labels),
                       tuple(int(drawings[i].id) for i in worst))
