"""The architecture registry: the one place that says what each model is.

Every page and script reads it: the model picker, train.py's defaults, the scripts' model
lists, model colours, the saliency page's sections. Adding a model is one `register(...)`
call (or one entry below) plus its checkpoint.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

from torch import nn

from explorer.models import CNN, MLP, CNNConfig, MLPConfig

# What a model's raw outputs are. Probabilities are computed from them in explorer.confidence.
LOGITS = "logits"  # (N, 10) scores for softmax
PROBABILITIES = "probabilities"  # (N, 10) already softmaxed (the double-softmax exhibit)
OUTPUT_KINDS = (LOGITS, PROBABILITIES)
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
    ARCHS[arch.name] = arch
    return arch


def unregister(name: str) -> None:
    """Remove an architecture (tests register toy ones and take them out again)."""
    ARCHS.pop(name, None)


def names() -> tuple[str, ...]:
    """Registered architecture names, in registration order (the picker's order)."""
    return tuple(ARCHS)


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
