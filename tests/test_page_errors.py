"""What an error shows the page: what is wrong and the fix, never a server path or raw text."""
from __future__ import annotations

import logging
import shutil

import pytest

from explorer.errors import PROJECT_ROOT, ExplainedError, without_server_paths
from explorer.lab.replay import REPLAY_META, SNAPSHOTS, ReplayError, read_replay
from explorer.model.checkpoints import CHECKPOINT_DIR, CHECKPOINT_DIR_ENV
from tests.apptest import blank_canvas, install_canvas, need_checkpoints, open_page
from ui import safe_text

REMAKE = "Remake it with: python scripts/train.py --arch mlp --snapshots"


def broken_replay(tmp_path, damage: str):
    """A copy of the shipped mlp replay under tmp_path/replay/mlp, damaged one way."""
    folder = tmp_path / "replay" / "mlp"
    shutil.copytree(CHECKPOINT_DIR / "replay" / "mlp", folder)
    if damage == "missing snapshots":
        (folder / SNAPSHOTS).unlink()
    elif damage == "truncated snapshots":
        data = (folder / SNAPSHOTS).read_bytes()
        (folder / SNAPSHOTS).write_bytes(data[:5])
    elif damage == "broken json":
        (folder / REPLAY_META).write_text('{"arch": "mlp", "epochs": [0, ')
    elif damage == "json of another shape":
        (folder / REPLAY_META).write_text('["mlp"]')
    return folder


@pytest.mark.parametrize("damage,says", [
    ("missing snapshots", "snapshots.safetensors is missing"),
    ("truncated snapshots", "snapshots.safetensors is truncated or corrupt"),
    ("broken json", "replay.json is not valid JSON"),
    ("json of another shape", "replay.json does not describe a replay"),
])
def test_a_broken_replay_says_which_file_and_how_to_remake_it(tmp_path, damage, says):
    folder = broken_replay(tmp_path, damage)
    with pytest.raises(ReplayError) as err:
        read_replay(folder)
    message = str(err.value)
    assert says in message and REMAKE in message
    assert str(tmp_path) not in message
    for raw in ("Error:", "SafetensorError", "JSONDecodeError", "Errno", "header"):
        assert raw not in message  # the parser's own words go to the log


def test_the_replay_page_shows_the_fix_not_the_exception(tmp_path, monkeypatch):
    broken_replay(tmp_path, "missing snapshots")
    install_canvas(monkeypatch, blank_canvas)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    at = open_page("ui/pages/replay_page.py", image28=None)
    at.session_state["current_image28"] = None
    at.button(key="replay_load_example").click().run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    # Before: "Something went wrong (FileNotFoundError: No such file or directory: /…/mlp/…)".
    assert "snapshots.safetensors is missing" in error and REMAKE in error
    assert "FileNotFoundError" not in error and str(tmp_path) not in error


def test_any_other_error_shows_no_text_of_its_own_and_goes_to_the_log(canvas, monkeypatch,
                                                                      caplog):
    need_checkpoints("cnn")
    from explorer.figures import outputs  # explorer_figures looks it up there at call time
    from tests.apptest import app, canvas_from_digit

    secret = f"{PROJECT_ROOT}/checkpoints/cnn/secret-detail"

    def boom(*_args, **_kwargs):
        raise FileNotFoundError(2, "No such file or directory", secret)

    monkeypatch.setattr(outputs, "softmax_figure", boom)
    canvas.image, _ = canvas_from_digit(6)
    with caplog.at_level(logging.ERROR, logger="digit_explorer"):
        at = app().run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("Something went wrong on this page")
    assert "secret-detail" not in error and "FileNotFoundError" not in error
    assert any("secret-detail" in record.exc_text for record in caplog.records
               if record.exc_text)


def test_an_explained_message_never_carries_a_server_path():
    err = ExplainedError(f"Checkpoint 'x' ({PROJECT_ROOT}/checkpoints/x): cannot be read from "
                         f"/home/someone/elsewhere/x.bin; see http://example.org/a/b and 1/2; "
                         f"retrain with --out /tmp/x-run")
    shown = safe_text.explain(err)
    assert shown == ("Checkpoint 'x' (checkpoints/x): cannot be read from x.bin; see "
                     "http://example.org/a/b and 1/2; retrain with --out /tmp/x-run")
    assert without_server_paths("no path here: 3/4") == "no path here: 3/4"


def test_the_shipped_test_split_error_names_its_file_within_the_project(monkeypatch, tmp_path):
    from explorer.inputs import data

    monkeypatch.setattr(data, "ASSETS", PROJECT_ROOT / "explorer" / "no-such-assets")
    with pytest.raises(data.DataError) as err:
        data._read_idx("t10k-labels-idx1-ubyte")
    message = str(err.value)
    assert "explorer/no-such-assets/t10k-labels-idx1-ubyte.gz" in message
    assert str(PROJECT_ROOT) not in message and "Errno" not in message


def test_a_project_under_the_temp_folder_is_still_named_relative(monkeypatch, tmp_path):
    from explorer import errors

    monkeypatch.setattr(errors, "PROJECT_ROOT", tmp_path / "main")
    shown = errors.without_server_paths(f"read {tmp_path}/main/checkpoints/x/meta.json; "
                                        f"try --out {tmp_path}/run")
    assert shown == f"read checkpoints/x/meta.json; try --out {tmp_path}/run"
