"""scripts/diagnose.py: every defect model, exported to ONNX, diagnosed from the command line."""
from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys

import pytest
import torch

from explorer.errors import PROJECT_ROOT
from scripts import diagnose as cli
from tests.yours_models import DEFECTS, EXPECTED, TinyMLP, export_defect, export_onnx

README = PROJECT_ROOT / "README.md"


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    """{defect name: its ONNX file}, exported once."""
    folder = tmp_path_factory.mktemp("onnx")
    files = {name: folder / f"{name}.onnx" for name in DEFECTS}
    for name, path in files.items():
        export_defect(name, path)
    return files


@pytest.fixture(scope="module")
def cli_json(onnx_files):
    """{defect name: (exit status, the JSON diagnose.py --json printed)}, run in-process."""
    out = {}
    for name, path in onnx_files.items():
        stdout = io.StringIO()  # a module-scoped fixture can't use capsys
        with contextlib.redirect_stdout(stdout):
            status = cli.main([str(path), "--json"])
        out[name] = (status, json.loads(stdout.getvalue()))
    return out


@pytest.mark.parametrize("name", DEFECTS)
def test_each_onnx_defect_is_diagnosed_with_exit_status_0(cli_json, name):
    status, data = cli_json[name]
    ids, layout, scale, inverted, outputs, order = EXPECTED[name]
    assert status == 0
    assert {"input", "outputs", "label_order", "accuracy", "ece", "fitted_temperature",
            "findings"} <= data.keys()
    assert tuple(f["id"] for f in data["findings"]) == ids
    assert data["input"] == {"layout": layout, "scale": scale, "inverted": inverted}
    assert (data["outputs"], data["label_order"]) == (outputs, list(order))


def _run(*args):
    return subprocess.run([sys.executable, "scripts/diagnose.py", *map(str, args)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def test_json_mode_prints_one_json_object_and_nothing_else(onnx_files):
    done = _run(onnx_files["permuted"], "--json")
    assert done.returncode == 0
    data = json.loads(done.stdout)  # the whole of stdout: one object
    assert [f["id"] for f in data["findings"]] == ["label-order"]
    assert done.stdout.strip().count("\n") == 0


def test_a_text_file_exits_2_with_one_line_on_stderr(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a model\n")
    done = _run(text, "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "is not a model file the app reads" in done.stderr
    assert "torch.onnx.export(" in done.stderr and 'model.state_dict(), "model.pth")' in done.stderr


def test_a_missing_file_exits_2_with_one_line_on_stderr(tmp_path, capsys):
    assert cli.main([str(tmp_path / "nowhere.onnx")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "no such file" in captured.err


def test_a_model_that_takes_neither_layout_exits_2(tmp_path, capsys):
    path = tmp_path / "rank3.onnx"
    export_onnx(TinyMLP().eval(), torch.zeros(1, 28, 28), path)  # (N, 28, 28): neither layout
    assert cli.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(N, 1, 28, 28) or (N, 784)" in err


def test_the_report_names_each_finding_and_its_fix(onnx_files, capsys):
    assert cli.main([str(onnx_files["softmax"])]) == 0
    out = capsys.readouterr().out
    assert "[warning] softmax-output" in out and "fix: Drop the final nn.Softmax" in out
    assert cli.main([str(onnx_files["clean"])]) == 0
    assert re.search(r"^findings +none$", capsys.readouterr().out, re.M)


def test_data_dir_reads_another_mnist_root(onnx_files, fake_mnist_root, capsys):
    assert cli.main([str(onnx_files["clean"]), "--json", "--data-dir", str(fake_mnist_root)]) == 0
    assert json.loads(capsys.readouterr().out)["n_images"] == 200


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "default: the test split shipped with the app" in capsys.readouterr().out


def readme_table() -> dict[str, list[str]]:
    """README's "Your model" defect table: {defect: [findings, input, outputs, label order]}."""
    section = README.read_text().split("## Your model", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].strip("`") in DEFECTS:
            rows[cells[0].strip("`")] = cells[2:]
    return rows


def table_row(data: dict) -> list[str]:
    """A defect's README row from diagnose.py's JSON."""
    put = data["input"]
    order = data["label_order"]
    return [", ".join(f"`{f['id']}`" for f in data["findings"]) or "none",
            f"{put['layout']}, {put['scale']}{', inverted' if put['inverted'] else ''}",
            data["outputs"], "0…9" if order == list(range(10)) else " ".join(map(str, order))]


def test_the_readme_table_is_what_the_command_finds(cli_json):
    assert readme_table() == {name: table_row(data) for name, (_, data) in cli_json.items()}


def test_the_tutorial_state_dict_is_diagnosed_with_its_variant(tmp_path):
    """The tutorial MLP's state dict, saved as its tutorial saves it: the variant as its
    forward() is (ends in nn.Softmax) finds the softmax; the report lists the others."""
    from tests.test_yours_pages import tutorial_state_dict

    path = tmp_path / "model.pth"
    path.write_bytes(tutorial_state_dict())
    done = subprocess.run([sys.executable, "scripts/diagnose.py", str(path), "--json",
                           "--variant", "tanh,sigmoid,softmax"], capture_output=True,
                          text=True, timeout=600, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert {f["id"] for f in found["findings"]} >= {"softmax-output", "input-scale"}
    assert found["input"] == {"layout": "flat", "scale": "mnist-normalised", "inverted": False}
    report = subprocess.run([sys.executable, "scripts/diagnose.py", str(path)],
                            capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    assert "variant    tanh,sigmoid,logits" in report.stdout  # the best guess, and why
    assert "tanh,sigmoid,softmax" in report.stdout
