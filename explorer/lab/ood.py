"""'Not a digit' scoring: MSP and energy scores, synthetic non-digits, thresholds, AUROC."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer.inputs.preprocess import canvas_to_mnist
from explorer.maths.confidence import Thresholds, energy, softmax

THRESHOLDS_PATH = Path(__file__).parent / "ood_thresholds.json"
NON_DIGIT_KINDS = ("noise", "blobs", "scribble", "letter", "dot")
# Capitals that no reasonable reader would take for a digit.
LETTERS = "AEFHKMNRWXY"
CANVAS = 280  # the app's drawing canvas side, px
FALLBACK_FONT = Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")
MAX_TRIES = 50


def msp_score(logits, temperature: float = 1.0) -> np.ndarray:
    """Maximum softmax probability (N,); higher means more digit-like."""
    return softmax(logits, temperature).max(axis=-1)


def energy_score(logits, temperature: float = 1.0) -> np.ndarray:
    """Energy −T·logsumexp(z / T) (N,); higher means LESS digit-like."""
    return energy(logits, temperature)


# --- synthetic non-digits ---------------------------------------------------------------

def _noise(rng: np.random.Generator) -> np.ndarray:
    """Uniform noise, sometimes sparse like salt, at a random brightness."""
    density = rng.uniform(0.05, 1.0)
    keep = rng.random((28, 28)) < density
    return rng.random((28, 28)) * keep * rng.uniform(0.3, 1.0)


def _blobs(rng: np.random.Generator) -> np.ndarray:
    """One to three soft Gaussian blobs, scaled so the brightest pixel is 1."""
    rows, cols = np.mgrid[0:28, 0:28]
    image = np.zeros((28, 28))
    for _ in range(rng.integers(1, 4)):
        r, c = rng.uniform(4, 24, size=2)
        sigma = rng.uniform(1.5, 6.0)
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma ** 2))
    return image / image.max()


def _walk_points(rng: np.random.Generator) -> list[tuple[float, float]]:
    """A tangled random walk with some momentum, kept on the canvas."""
    point, heading = rng.uniform(40, CANVAS - 40, size=2), rng.uniform(0, 2 * np.pi)
    points = [tuple(point)]
    for _ in range(rng.integers(8, 26)):
        heading += rng.normal(0, 1.2)
        point = np.clip(point + rng.uniform(25, 60) * np.array([np.cos(heading), np.sin(heading)]),
                        10, CANVAS - 10)
        points.append(tuple(point))
    return points


def _bezier_points(rng: np.random.Generator) -> list[tuple[float, float]]:
    """Two to four chained cubic Bézier segments through random control points."""
    t = np.linspace(0, 1, 40)[:, None]
    start = rng.uniform(20, CANVAS - 20, size=2)
    points = []
    for _ in range(rng.integers(2, 5)):
        c1, c2, end = rng.uniform(20, CANVAS - 20, size=(3, 2))
        curve = ((1 - t) ** 3 * start + 3 * (1 - t) ** 2 * t * c1
                 + 3 * (1 - t) * t ** 2 * c2 + t ** 3 * end)  # (40, 2)
        points += [tuple(p) for p in curve]
        start = end
    return points


def _scribble(rng: np.random.Generator) -> np.ndarray | None:
    """A random walk or Bézier scribble drawn like a pen on the canvas, then preprocessed.

    NB: a few scribbles will happen to look like a 1, 2 or 7; that is part of the test.
    """
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    points = _walk_points(rng) if rng.random() < 0.5 else _bezier_points(rng)
    ImageDraw.Draw(canvas).line(points, fill=255, width=int(rng.integers(14, 27)), joint="curve")
    return canvas_to_mnist(np.asarray(canvas))


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's scalable default font (Pillow ≥ 10.1), else Liberation Sans."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):
        return ImageFont.truetype(str(FALLBACK_FONT), size)


def _letter(rng: np.random.Generator) -> np.ndarray | None:
    """A capital letter in a random size, weight, place and tilt, then preprocessed."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    centre = tuple(rng.uniform(CANVAS * 0.4, CANVAS * 0.6, size=2))
    ImageDraw.Draw(canvas).text(
        centre, str(rng.choice(list(LETTERS))), fill=255, anchor="mm",
        font=_font(int(rng.integers(120, 200))), stroke_width=int(rng.integers(0, 7)),
        stroke_fill=255)
    canvas = canvas.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR)
    return canvas_to_mnist(np.asarray(canvas))


def _dot(rng: np.random.Generator) -> np.ndarray | None:
    """One to three brush taps: the smallest marks that survive preprocessing."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(1, 4)):
        x, y = rng.uniform(20, CANVAS - 20, size=2)
        r = rng.uniform(6, 14)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return canvas_to_mnist(np.asarray(canvas))


_MAKERS = {"noise": _noise, "blobs": _blobs, "scribble": _scribble, "letter": _letter,
           "dot": _dot}


def make_non_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n plainly-not-digit images (n, 28, 28) float32 in [0, 1] and their kinds (n,) str.

    Kinds cycle through NON_DIGIT_KINDS. Canvas kinds are drawn on a 280×280 canvas and
    go through canvas_to_mnist like a user's drawing; one it rejects as a speck is redrawn.
    Same seed, same images.
    """
    if int(n) < 0:
        raise ValueError(f"n must be ≥ 0, got {n}")
    rng = np.random.default_rng(seed)
    images = np.zeros((int(n), 28, 28), dtype=np.float32)
    kinds = np.array([NON_DIGIT_KINDS[i % len(NON_DIGIT_KINDS)] for i in range(int(n))],
                     dtype=f"<U{max(map(len, NON_DIGIT_KINDS))}")
    for i, kind in enumerate(kinds):
        for _ in range(MAX_TRIES):
            image = _MAKERS[kind](rng)
            if image is not None:
                break
        else:
            raise RuntimeError(f"could not draw a {kind!r} that survives preprocessing")
        images[i] = np.clip(image, 0.0, 1.0)
    return images, kinds


# --- thresholds ---------------------------------------------------------------------------

def _scores(scores, what: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError(f"{what} must be a non-empty array of finite numbers")
    return scores


@dataclass(frozen=True)
class Threshold:
    """A digit / not-a-digit cut on one score and how it does on both sides."""

    value: float
    tpr_in: float  # fraction of real digits kept as digits
    fpr_out: float  # fraction of non-digits wrongly kept as digits
    higher_is_in: bool = True

    @property
    def detection(self) -> float:
        """Fraction of non-digits flagged as 'not a digit'."""
        return 1.0 - self.fpr_out

    @property
    def false_alarm(self) -> float:
        """Fraction of real digits flagged as 'not a digit'."""
        return 1.0 - self.tpr_in

    def is_digit(self, scores) -> np.ndarray:
        """True where a score counts as a digit (the threshold itself counts as one)."""
        scores = np.asarray(scores, dtype=np.float64)
        return scores >= self.value if self.higher_is_in else scores <= self.value


def pick_threshold(scores_in, scores_out, higher_is_in: bool = True,
                   target_tpr: float = 0.95) -> Threshold:
    """The strictest cut that still keeps ≥ target_tpr of the in-distribution digits.

    NB: for energy pass higher_is_in=False (low energy = digit-like).
    """
    if not 0.0 < target_tpr <= 1.0:
        raise ValueError(f"target_tpr must be in (0, 1], got {target_tpr}")
    sign = 1.0 if higher_is_in else -1.0
    s_in = sign * _scores(scores_in, "scores_in")
    s_out = sign * _scores(scores_out, "scores_out")
    # Reject at most floor((1 − tpr)·n) digits: the cut is that order statistic.
    n_reject = int(np.floor((1.0 - target_tpr) * len(s_in) + 1e-9))
    cut = np.sort(s_in)[n_reject]
    return Threshold(float(sign * cut), float((s_in >= cut).mean()),
                     float((s_out >= cut).mean()), bool(higher_is_in))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse]


def auroc(scores_in, scores_out, higher_is_in: bool = True) -> float:
    """P(a random digit scores more digit-like than a random non-digit), ties count ½."""
    sign = 1.0 if higher_is_in else -1.0
    s_in = sign * _scores(scores_in, "scores_in")
    s_out = sign * _scores(scores_out, "scores_out")
    ranks = _average_ranks(np.concatenate([s_in, s_out]))
    n_in, n_out = len(s_in), len(s_out)
    return float((ranks[:n_in].sum() - n_in * (n_in + 1) / 2.0) / (n_in * n_out))


def load_thresholds(model_name: str, path: str | Path = THRESHOLDS_PATH) -> dict | None:
    """The saved OOD thresholds for one model, or None if none were saved for it.

    NB: a file that exists but is unreadable raises ValueError naming the fix.
    """
    path = Path(path)
    if not path.is_file():
        return None
    stat = path.stat()
    entry = _thresholds_table(path, stat.st_mtime_ns, stat.st_size).get(model_name)
    return dict(entry) if isinstance(entry, dict) else None


@lru_cache(maxsize=8)
def _thresholds_table(path: Path, mtime_ns: int, size: int) -> dict:
    """The parsed JSON, read once per file version: the verdict asks on every stroke."""
    try:
        table = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}); remake it with "
                         f"`python scripts/ood_threshold.py`") from err
    return table if isinstance(table, dict) else {}


def verdict_thresholds(model_name: str, path: str | Path = THRESHOLDS_PATH) -> Thresholds:
    """The explorer's verdict thresholds for a model: its data-picked energy cut if saved."""
    entry = load_thresholds(model_name, path)
    return Thresholds(max_energy=float(entry["energy"])) if entry else Thresholds()


def describe_verdict(model_name: str, path: str | Path = THRESHOLDS_PATH) -> str:
    """One line saying how a model's verdict is decided, for the page's help text."""
    entry, thresholds = load_thresholds(model_name, path), verdict_thresholds(model_name, path)
    rule = (f"energy −logsumexp(logits) above {thresholds.max_energy:.2f} (the cut that keeps "
            f"{entry.get('target_tpr', 0.99):.0%} of MNIST test digits, picked by "
            f"scripts/ood_threshold.py)"
            if entry else f"top-1 < {thresholds.not_a_digit:g}")
    return (f"Read at T = 1. Probably not a digit: {rule}, or a filled blob. Otherwise "
            f"confident when top-1 ≥ {thresholds.confident:g}, else uncertain.")
