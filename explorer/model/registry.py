"""The architecture registry: the one place that says what each model is.

Every page and script reads it: the model picker, train.py's defaults, the scripts' model
lists, model colours, the saliency page's sections. Adding a model is one `register(...)`
call (or one entry below) plus its checkpoint.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

from torch import nn

from explorer.model.heads import TASKS
from explorer.model.networks import (
    CNN,
    MLP,
    CNNConfig,
    HeadCNN,
    HeadCNNConfig,
    MLPConfig,
    OneNumberConfig,
    TwoDigitConfig,
    TwoLogitsConfig,
)

# What a model's raw outputs are. Probabilities are computed from them in explorer.maths.confidence.
LOGITS = "logits"  # (N, 10) scores for softmax
PROBABILITIES = "probabilities"  # (N, 10) already softmaxed (the double-softmax exhibit)
NUMBER = "number"  # (N, 1) a regression's value
OUTPUT_KINDS = (LOGITS, PROBABILITIES, NUMBER)
CLASSIFY = "classify"  # explorer.model.heads.TASKS: ten-way softmax, what every page shows
DEFAULT_MODEL = "cnn"


@dataclass(frozen=True)
class TrainDefaults:
    """What `scripts/train.py --arch NAME` uses unless told otherwise."""

    epochs: int = 20
    lr: float = 2e-3
    augment_strength: float = 1.0


@dataclass(frozen=True)
class Arch:
    """One registered architecture and everything the app and scripts need to know about it."""

    name: str
    config_cls: type
    build: Callable[[object], nn.Module]
    description: str  # the layers, one line
    blurb: str  # what it is for, one line, for the picker
    colour: str  # its line colour in charts that compare models
    outputs: str = LOGITS
    family: str = ""  # "cnn" or "mlp": which internals the saliency page can show
    train: TrainDefaults = field(default_factory=TrainDefaults)
    note: str = ""  # a warning shown wherever the model is (the exhibit's)
    task: str = CLASSIFY  # explorer.model.heads.TASKS: loss, targets, how outputs are read

    @property
    def outputs_logits(self) -> bool:
        return self.outputs == LOGITS


EXHIBIT_NOTE = ("Teaching exhibit: this model ends in nn.Softmax and was trained with "
                "CrossEntropyLoss, which applies log-softmax again (the double-softmax "
                "mistake). Its outputs are probabilities, not logits.")

ARCHS: dict[str, Arch] = {}


def register(arch: Arch) -> Arch:
    """Add an architecture (or replace one of the same name); returns it."""
    if arch.outputs not in OUTPUT_KINDS:
        raise ValueError(f"outputs must be one of {OUTPUT_KINDS}, got {arch.outputs!r}")
    if arch.task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {arch.task!r}")
    ARCHS[arch.name] = arch
    return arch


def unregister(name: str) -> None:
    """Remove an architecture (tests register toy ones and take them out again)."""
    ARCHS.pop(name, None)


def names(task: str | None = CLASSIFY) -> tuple[str, ...]:
    """Registered names with this task (None: all), in registration order (the picker's).

    NB: the default is the ten-way classifiers, the models every page but the heads page
    shows; the heads lesson's models are asked for by task.
    """
    return tuple(name for name, arch in ARCHS.items() if task is None or arch.task == task)


def get_arch(name: str) -> Arch:
    """Look an architecture up by name; KeyError lists the known ones."""
    if not isinstance(name, str) or name not in ARCHS:
        raise KeyError(f"unknown arch {name!r}; known: {', '.join(sorted(ARCHS))}")
    return ARCHS[name]


def make_config(arch: str, config: dict | None = None):
    """Frozen config for `arch` from a (possibly partial) dict; unknown keys raise."""
    cls = get_arch(arch).config_cls
    config = dict(config or {})
    unknown = set(config) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown config keys for {arch!r}: {sorted(unknown)}")
    return cls(**config)


def build_model(arch: str, config: dict | None = None) -> nn.Module:
    """Build an untrained model from its arch name and config dict."""
    return get_arch(arch).build(make_config(arch, config))


def config_dict(arch: str, config: dict | None = None) -> dict:
    """The full config (defaults filled in) as a JSON-ready dict."""
    return asdict(make_config(arch, config))


def count_params(model: nn.Module) -> int:
    """Trainable parameter count."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


register(Arch("mlp", MLPConfig, MLP, "784 → 96 tanh → 256 sigmoid → 10 (tutorial MLP)",
              "the tutorial MLP", "#1f77b4", family="mlp",
              # Milder distortions: no translation invariance and 100k weights.
              train=TrainDefaults(epochs=40, augment_strength=0.5)))
register(Arch("cnn", CNNConfig, CNN, "conv32 → conv64 → max-pool → fc128 → 10 (pytorch/examples)",
              "the classic MNIST CNN", "#2ca02c", family="cnn",
              train=TrainDefaults(epochs=20, augment_strength=1.0)))
register(Arch("mlp_softmax", MLPConfig, lambda cfg: MLP(cfg, final_softmax=True),
              "the mlp ending in nn.Softmax, trained with CrossEntropyLoss (double-softmax "
              "mistake)", "the double-softmax exhibit", "#d62728", outputs=PROBABILITIES,
              family="mlp", train=TrainDefaults(epochs=40, augment_strength=0.5),
              note=EXHIBIT_NOTE))

# The output-heads lesson (ui/pages/heads_page.py): one small backbone, a head per task.
_HEADS_TRAIN = TrainDefaults(epochs=4, lr=3e-3, augment_strength=1.0)
_REGRESS_TRAIN = TrainDefaults(epochs=12, lr=3e-3, augment_strength=1.0)
_PAIR_TRAIN = TrainDefaults(epochs=10, lr=3e-3, augment_strength=1.0)
for _name, _cfg, _outputs, _task, _description, _blurb, _colour in [
    ("cnn_ovr", HeadCNNConfig, LOGITS, "one-vs-rest", "small cnn → 10 logits → 10 sigmoids "
     "(BCE, one-hot)", "one sigmoid per class", "#9467bd"),
    ("cnn_regress", OneNumberConfig, NUMBER, "regress", "small cnn → 1 number (MSE on the "
     "digit's value)", "a number, not a class", "#8c564b"),
    ("binary7_sigmoid", OneNumberConfig, LOGITS, "binary sigmoid", "small cnn → 1 logit → "
     "sigmoid (BCE): is it a 7?", "is it a 7? sigmoid", "#e377c2"),
    ("binary7_softmax", TwoLogitsConfig, LOGITS, "binary softmax", "small cnn → 2 logits → "
     "softmax (CE): is it a 7?", "is it a 7? softmax", "#7f7f7f"),
    ("cnn_multilabel", TwoDigitConfig, LOGITS, "two digits, sigmoid", "small cnn on 28×56 → "
     "10 sigmoids (BCE, multi-hot)", "two digits, one sigmoid per class", "#bcbd22"),
    ("cnn_pair_softmax", TwoDigitConfig, LOGITS, "two digits, softmax", "small cnn on 28×56 "
     "→ softmax (CE on the digits' shares)", "two digits, softmax (the wrong head)",
     "#17becf"),
]:
    # NB: a number and two digits need longer to settle (after 4 epochs: MAE 0.74, and
    # 85 % of held-out pairs found exactly).
    register(Arch(_name, _cfg, HeadCNN, _description, _blurb, _colour, outputs=_outputs,
                  family="heads", task=_task,
                  train={"regress": _REGRESS_TRAIN, "two digits, sigmoid": _PAIR_TRAIN,
                         "two digits, softmax": _PAIR_TRAIN}.get(_task, _HEADS_TRAIN)))
