"""The architecture registry: the one place that says what each model is, and what it is for.

Every page and script reads it: the model picker, train.py's defaults, the scripts' model
lists, model colours. A page that needs a model for a job asks by role (`the(ONE_VS_REST)`,
`with_role(FEATURE_MAPS)`), never by name. Adding a model is one `register(...)` call (or one
entry below) plus its checkpoint; giving it a role moves that job to it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

from torch import nn

from explorer.errors import ExplainedError
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


@dataclass(frozen=True)
class Role:
    """A job pages and scripts need a model for, and what that model must be to do it."""

    name: str
    task: str = CLASSIFY  # the task its model must have
    outputs: str | None = None  # the output kind its model must have (None: any)
    single: bool = True  # one model at most, asked for with the(); False: with_role()


# Who asks for each role is said beside it; register() checks a model fits its roles.
DEFAULT = Role("default")  # every session's first pick; load_model()'s and train.py's default
EXHIBIT = Role("exhibit", outputs=PROBABILITIES)  # the double softmax: its page, the checklist
EXHIBIT_BASELINE = Role("exhibit baseline", outputs=LOGITS)  # the same network done right
ONE_VS_REST = Role("one-vs-rest", "one-vs-rest")  # the Explorer's sigmoid chart, the heads page
# The heads page's other kinds of head (also heads_report.py; the pairs: the checklist).
HEAD_SOFTMAX = Role("head: softmax", outputs=LOGITS)  # the ten-way softmax they are set against
HEAD_NUMBER = Role("head: a number", "regress")
HEAD_BINARY_SIGMOID = Role("head: binary sigmoid", "binary sigmoid")
HEAD_BINARY_SOFTMAX = Role("head: binary softmax", "binary softmax")
HEAD_PAIR_SIGMOID = Role("head: two digits, sigmoid", "two digits, sigmoid")
HEAD_PAIR_SOFTMAX = Role("head: two digits, softmax", "two digits, softmax")
# The saliency page's internals. NB: a promise about the module, not only a label:
# FEATURE_MAPS: `module.features(x)` gives the first convolution's maps (networks.CNN);
# HIDDEN_UNITS: `module.net` is an nn.Sequential whose Tanh/Sigmoid layers are the hidden
# units (networks.MLP).
FEATURE_MAPS = Role("feature maps", single=False)
HIDDEN_UNITS = Role("hidden units", single=False)
HEADS = (HEAD_SOFTMAX, ONE_VS_REST, HEAD_NUMBER, HEAD_BINARY_SIGMOID, HEAD_BINARY_SOFTMAX,
         HEAD_PAIR_SIGMOID, HEAD_PAIR_SOFTMAX)  # the heads page's kinds, in its order
ROLES = (DEFAULT, EXHIBIT, EXHIBIT_BASELINE, *HEADS, FEATURE_MAPS, HIDDEN_UNITS)


class RoleError(ExplainedError, LookupError):
    """No registered model has a role, or several have one that only one may have."""


@dataclass(frozen=True)
class TrainDefaults:
    """What `scripts/train.py --arch NAME` uses unless told otherwise."""

    epochs: int = 20
    lr: float = 2e-3
    augment_strength: float = 1.0
    synth_fraction: float = 0.0  # synthetic digits (explorer.inputs.synth) per MNIST one


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
    train: TrainDefaults = field(default_factory=TrainDefaults)
    note: str = ""  # a warning shown wherever the model is (the exhibit's)
    task: str = CLASSIFY  # explorer.model.heads.TASKS: loss, targets, how outputs are read
    roles: frozenset[Role] = frozenset()  # the jobs pages and scripts ask it for
    grad_cam_layer: str | None = None  # a conv whose output forward() ReLUs at once; None: none

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
    for role in arch.roles:
        _check_role(arch, role)
    ARCHS[arch.name] = arch
    return arch


def _check_role(arch: Arch, role: Role) -> None:
    """Raise ValueError unless `arch` can do this role's job and no other model holds it."""
    if role not in ROLES:
        raise ValueError(f"{arch.name}: unknown role {role!r}; known: {[r.name for r in ROLES]}")
    if arch.task != role.task or role.outputs not in (None, arch.outputs):
        raise ValueError(f"{arch.name}: the role {role.name!r} needs task {role.task!r}"
                         f"{f' and {role.outputs}' if role.outputs else ''}; it has task "
                         f"{arch.task!r} and {arch.outputs}")
    holders = [name for name in with_role(role) if name != arch.name]
    if role.single and holders:
        raise ValueError(f"{arch.name}: the role {role.name!r} is held by {holders[0]!r}; "
                         f"take it from that entry first")


def unregister(name: str) -> None:
    """Remove an architecture (tests register toy ones and take them out again)."""
    ARCHS.pop(name, None)


def names(task: str | None = CLASSIFY) -> tuple[str, ...]:
    """Registered names with this task (None: all), in registration order (the picker's).

    NB: the default is the ten-way classifiers, the models every page but the heads page
    shows; the heads lesson's models are asked for by task.
    """
    return tuple(name for name, arch in ARCHS.items() if task is None or arch.task == task)


def with_role(role: Role) -> tuple[str, ...]:
    """Names of the registered models with this role, in registration order (maybe none)."""
    return tuple(name for name, arch in ARCHS.items() if role in arch.roles)


def the(role: Role) -> str:
    """The name of the one registered model with this role; RoleError if none or several."""
    if not role.single:
        raise ValueError(f"several models may have the role {role.name!r}: use with_role()")
    found = with_role(role)
    if len(found) != 1:
        raise RoleError(f"The registry has {len(found) or 'no'} model{'s'[:len(found) != 1]} "
                        f"with the role {role.name!r}{': ' if found else ''}"
                        f"{', '.join(found)}; exactly one entry in explorer/model/registry.py "
                        f"must list it in its roles.")
    return found[0]


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
              "the tutorial MLP", "#1f77b4", roles=frozenset({EXHIBIT_BASELINE, HIDDEN_UNITS}),
              # Milder distortions and few synthetic digits: no translation invariance and
              # 100k weights (at 15-30 % synthetic digits its MNIST accuracy fell to 98.4 %).
              train=TrainDefaults(epochs=100, augment_strength=0.5, synth_fraction=0.08)))
register(Arch("cnn", CNNConfig, CNN, "conv32 → conv64 → max-pool → fc128 → 10 (pytorch/examples)",
              "the classic MNIST CNN", "#2ca02c",
              roles=frozenset({DEFAULT, HEAD_SOFTMAX, FEATURE_MAPS}), grad_cam_layer="conv2",
              train=TrainDefaults(epochs=22, augment_strength=1.0, synth_fraction=0.55)))
register(Arch("mlp_softmax", MLPConfig, lambda cfg: MLP(cfg, final_softmax=True),
              "the mlp ending in nn.Softmax, trained with CrossEntropyLoss (double-softmax "
              "mistake)", "the double-softmax exhibit", "#d62728", outputs=PROBABILITIES,
              train=TrainDefaults(epochs=100, augment_strength=0.5, synth_fraction=0.08),
              note=EXHIBIT_NOTE,
              roles=frozenset({EXHIBIT, HIDDEN_UNITS})))

# The output-heads lesson (ui/pages/heads_page.py): one small backbone, a head per task.
_HEADS_TRAIN = TrainDefaults(epochs=4, lr=3e-3, augment_strength=1.0)
_REGRESS_TRAIN = TrainDefaults(epochs=12, lr=3e-3, augment_strength=1.0)
_PAIR_TRAIN = TrainDefaults(epochs=10, lr=3e-3, augment_strength=1.0)
# NB: the one-vs-rest model draws the Explorer's sigmoid chart beside the cnn's softmax: it
# learns from the cnn's synthetic digits too, so the two read the same hands.
_OVR_TRAIN = TrainDefaults(epochs=4, lr=3e-3, augment_strength=1.0, synth_fraction=0.55)
for _name, _cfg, _outputs, _role, _description, _blurb, _colour in [
    ("cnn_ovr", HeadCNNConfig, LOGITS, ONE_VS_REST, "small cnn → 10 logits → 10 sigmoids "
     "(BCE, one-hot)", "one sigmoid per class", "#9467bd"),
    ("cnn_regress", OneNumberConfig, NUMBER, HEAD_NUMBER, "small cnn → 1 number (MSE on the "
     "digit's value)", "a number, not a class", "#8c564b"),
    ("binary7_sigmoid", OneNumberConfig, LOGITS, HEAD_BINARY_SIGMOID, "small cnn → 1 logit → "
     "sigmoid (BCE): is it a 7?", "is it a 7? sigmoid", "#e377c2"),
    ("binary7_softmax", TwoLogitsConfig, LOGITS, HEAD_BINARY_SOFTMAX, "small cnn → 2 logits → "
     "softmax (CE): is it a 7?", "is it a 7? softmax", "#7f7f7f"),
    ("cnn_multilabel", TwoDigitConfig, LOGITS, HEAD_PAIR_SIGMOID, "small cnn on 28×56 → "
     "10 sigmoids (BCE, multi-hot)", "two digits, one sigmoid per class", "#bcbd22"),
    ("cnn_pair_softmax", TwoDigitConfig, LOGITS, HEAD_PAIR_SOFTMAX, "small cnn on 28×56 "
     "→ softmax (CE on the digits' shares)", "two digits, softmax (the wrong head)",
     "#17becf"),
]:
    # NB: a number and two digits need longer to settle (after 4 epochs: MAE 0.74, and
    # 85 % of held-out pairs found exactly).
    register(Arch(_name, _cfg, HeadCNN, _description, _blurb, _colour, outputs=_outputs,
                  task=_role.task, roles=frozenset({_role}),
                  train=_OVR_TRAIN if _role is ONE_VS_REST else
                  {"regress": _REGRESS_TRAIN, "two digits, sigmoid": _PAIR_TRAIN,
                   "two digits, softmax": _PAIR_TRAIN}.get(_role.task, _HEADS_TRAIN)))
