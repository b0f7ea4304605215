"""Watch a model learn: the current drawing through snapshots of training, epoch 0 to the end.

Snapshots live in checkpoints/replay/<arch>/ (scripts/train.py --snapshots): every picker
model with such a folder is offered. The slider inside the figure scrubs epochs in the browser.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer.figures.replay import replay_figure
from explorer.lab.exhibit import DOUBLE_SOFTMAX_MIN_LOSS
from explorer.lab.replay import REPLAY_META, SNAPSHOTS, Replay, read_replay
from explorer.maths.confidence import as_logits, softmax
from explorer.model import registry
from explorer.model.checkpoints import checkpoint_root
from explorer.model.registry import get_arch
from ui import widgets

PICK_KEY = "replay_model"


@st.cache_resource(show_spinner="Loading the training snapshots…", max_entries=4)
def _replay(folder: str, version: tuple) -> Replay:
    return read_replay(folder)  # NB: shared and read-only, like the models


def _version(folder: str) -> tuple:
    """Both files' (mtime, size): a replaced or repaired file is read again."""
    stats = [Path(folder, name).stat() if Path(folder, name).is_file() else None
             for name in (REPLAY_META, SNAPSHOTS)]
    return tuple((s.st_mtime_ns, s.st_size) if s else None for s in stats)


def _available() -> dict[str, str]:
    """The models with a replay: the picker's models (registry order) with a snapshot folder."""
    root = checkpoint_root() / "replay"
    return {name: str(root / name) for name in registry.names()
            if (root / name / REPLAY_META).is_file()}


def _outputs(replay: Replay, image28: np.ndarray) -> np.ndarray:
    """(S, 10) outputs of every snapshot, memoised per drawing (scrubbing never reruns them)."""
    key = ("replay", replay.arch, np.ascontiguousarray(image28, np.float32).tobytes())
    memo = st.session_state.setdefault("_replay_outputs", {})
    if key not in memo:
        memo.clear()  # one drawing at a time
        memo[key] = replay.outputs(image28)
    return memo[key]


@widgets.guarded
def main() -> None:
    st.header("Watch a model learn")
    st.markdown("Your drawing through the network at a few points of its training, from the "
                "untrained one (epoch 0) to the last. Drag the slider under the chart: at "
                "epoch 0 the softmax is close to uniform, not zero and not a decision; watch "
                "it sharpen, and see where it starts to be wrong with confidence.")
    available = _available()
    if not available:
        name = registry.the(registry.DEFAULT)
        st.warning("No training snapshots here. Make them with, for example: "
                   f"`python scripts/train.py --arch {name} --snapshots "
                   f"checkpoints/replay/{name} --out /tmp/replay-{name}`",
                   icon=":material/report:")
        return
    name = st.radio("Model", list(available), horizontal=True, key=PICK_KEY,
                    format_func=lambda n: f"{n} ({get_arch(n).blurb})")
    image28 = widgets.current_image_or_invite("replay_load_example")
    if image28 is None:
        return
    folder = available[name]
    replay = _replay(folder, _version(folder))
    outputs = _outputs(replay, image28)
    logits = as_logits(outputs, get_arch(name).outputs_logits)  # (S, 10)
    fig = replay_figure(replay.epochs, logits, softmax(logits), replay.figures,
                        f"{name}: one drawing through {len(replay.epochs)} snapshots",
                        DOUBLE_SOFTMAX_MIN_LOSS if not get_arch(name).outputs_logits else None)
    widgets.chart(fig, "replay_chart")
    first, last = replay.figures[replay.epochs[0]], replay.figures[replay.epochs[-1]]
    st.caption(f"Test accuracy {first['accuracy']:.1%} untrained → {last['accuracy']:.1%} at "
               f"epoch {replay.epochs[-1]}; on your drawing the untrained top-1 is "
               f"{softmax(logits[0]).max():.3f} (uniform is 0.100). Snapshots are float16 and "
               f"come from a replay run of the MNIST-only recipe shipped until December 2026 "
               f"(no synthetic digits), not the shipped weights.")
    if not get_arch(name).outputs_logits:
        st.info(f"The exhibit's loss as trained (red) never goes below log(1 + 9/e) = "
                f"{DOUBLE_SOFTMAX_MIN_LOSS:.3f}: softmax applied twice caps every probability "
                "the loss sees at e/(e+9).", icon=":material/science:")


main()
