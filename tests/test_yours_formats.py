"""What an uploaded model file is, told without running anything in it; refusals in one line."""
from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
import warnings
import zipfile

import pytest
import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn

from explorer.yours import formats
from explorer.yours.formats import EXPORT_ONNX, SAVE_STATE_DICT, ModelFileError
from tests import yours_onnx
from tests.test_yours_statedict import NeuralNetwork  # the tutorial's MLP, as it writes it


class WritesAFile:
    """Unpickled, it would open `path` for writing: the marker that code from a file ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def saved(obj, **kwargs) -> bytes:
    out = io.BytesIO()
    torch.save(obj, out, **kwargs)
    return out.getvalue()


def torchscript(module: nn.Module, tmp_path) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated
        torch.jit.script(module).save(str(tmp_path / "scripted.pt"))
    return (tmp_path / "scripted.pt").read_bytes()


def test_the_tutorial_mlps_state_dict_is_a_state_dict_of_its_layers(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(NeuralNetwork().state_dict(), path)  # as the tutorial saves it
    data = path.read_bytes()
    assert formats.identify(data, "model.pth") == "state-dict"
    tensors = formats.load_state_dict_tensors(data, "model.pth")
    assert {key: tuple(t.shape) for key, t in tensors.items()} == {
        "linear_stack.0.weight": (96, 784), "linear_stack.0.bias": (96,),
        "linear_stack.3.weight": (256, 96), "linear_stack.3.bias": (256,),
        "linear_stack.6.weight": (10, 256), "linear_stack.6.bias": (10,)}


@pytest.mark.parametrize("wrap", [lambda sd: sd, lambda sd: {"epoch": 3, "state_dict": sd},
                                  lambda sd: {"model_state_dict": sd, "optimizer": {"lr": 0.1}},
                                  lambda sd: {"net": sd, "epoch": 3}])
def test_a_state_dict_is_found_in_a_training_checkpoint(wrap):
    state = nn.Linear(4, 2).state_dict()
    tensors = formats.load_state_dict_tensors(saved(wrap(state)), "checkpoint.pt")
    assert set(tensors) == {"weight", "bias"}
    torch.testing.assert_close(tensors["weight"], state["weight"])


def test_safetensors_are_read_with_their_tensors():
    state = {"fc.weight": torch.randn(10, 784), "fc.bias": torch.zeros(10)}
    data = safetensors_bytes(state)
    assert formats.identify(data, "weights.safetensors") == "safetensors"
    tensors = formats.load_state_dict_tensors(data, "weights.safetensors")
    torch.testing.assert_close(tensors["fc.weight"], state["fc.weight"])


def test_an_exported_onnx_model_is_onnx_whatever_its_name():
    data = yours_onnx.exported(yours_onnx.SmallCNN(), torch.zeros(1, 1, 28, 28))
    assert formats.identify(data, "model.onnx") == "onnx"
    assert formats.identify(data, "upload.bin") == "onnx"
    assert formats.readable_kind(data, "model.onnx") == "onnx"
    with pytest.raises(ModelFileError, match="is an ONNX model, not a state dict"):
        formats.load_state_dict_tensors(data, "model.onnx")


@pytest.mark.parametrize("kind", ["pickle", "legacy-pickle", "torchscript", "unknown"])
def test_refused_files_get_one_line_saying_what_they_are_and_the_call_that_works(kind,
                                                                                 tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    data = {"pickle": lambda: saved(model),
            "legacy-pickle": lambda: saved(model.state_dict(),
                                           _use_new_zipfile_serialization=False),
            "torchscript": lambda: torchscript(model, tmp_path),
            "unknown": lambda: bytes(range(256)) * 64}[kind]()
    assert formats.identify(data, "my model.pt") == kind.removeprefix("legacy-")
    with pytest.raises(ModelFileError) as refused:
        formats.readable_kind(data, "/home/me/my model.pt")
    message = str(refused.value)
    assert "\n" not in message and message.startswith("my model.pt is ")
    assert EXPORT_ONNX in message and SAVE_STATE_DICT in message
    assert {"pickle": "pickled Python object", "legacy-pickle": "pickled Python object",
            "torchscript": "TorchScript archive", "unknown": "not a model file"}[kind] in message


@pytest.mark.parametrize("how", ["torch.save", "pickle.dumps"])
def test_nothing_in_a_pickle_runs(how, tmp_path):
    marker = tmp_path / "ran"
    payload = WritesAFile(marker)
    data = saved({"w": payload}) if how == "torch.save" else pickle.dumps(payload, protocol=2)
    assert formats.identify(data, "model.pt") == "pickle"
    with pytest.raises(ModelFileError, match="pickled Python object"):
        formats.load_state_dict_tensors(data, "model.pt")
    assert not marker.exists()
    if how == "pickle.dumps":  # the payload is armed: plain unpickling does write the file
        pickle.loads(data).close()
        assert marker.exists()


def test_a_torchscript_archive_is_told_from_its_names_and_never_loaded(tmp_path, monkeypatch):
    data = torchscript(nn.Linear(784, 10), tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("a TorchScript archive was loaded")
    monkeypatch.setattr(torch.jit, "load", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert formats.identify(data, "model.pt") == "torchscript"


def test_the_size_limit_comes_before_anything_reads_the_file(monkeypatch):
    monkeypatch.setattr(formats, "_zip_contents", None)  # would fail if the zip were read
    data = b"PK\x03\x04" + bytes(formats.MAX_MODEL_BYTES)
    with pytest.raises(ModelFileError, match=r"is 64\.0 MB; the limit for a model is 64 MB"):
        formats.identify(data, "big.pt")


@pytest.mark.parametrize("broken, says", [
    (lambda good: good[: len(good) // 2], "is not a complete ONNX model: it does not parse"),
    (lambda good: good[:12] + b"\xff" * 64 + good[76:], "is not a complete ONNX model"),
    (lambda good: yours_onnx.unknown_op(), "is not a valid ONNX model: No Op registered for "
                                           "NoSuchOperator"),
    (lambda good: yours_onnx.external_data(), r"keeps tensors \(w\) in other files"),
], ids=["truncated", "corrupt", "unknown-operator", "external-data"])
def test_a_broken_or_hostile_onnx_says_what_is_wrong(broken, says):
    data = broken(yours_onnx.linear())
    with pytest.raises(ModelFileError, match=says):
        formats.identify(data, "model.onnx")
    with pytest.raises(ModelFileError, match=says):
        formats.check_onnx(data, "model.onnx")


def test_a_parse_bomb_is_read_in_a_bounded_child_not_in_the_server():
    # NB: 40 MB of empty nodes parse into ~3 GB; the check child's 1 GB limit stops it.
    # A child process measures the server side's peak RSS around the call.
    script = """
import resource, sys
from explorer.yours import formats
from tests import yours_onnx
from tests.test_yours_statedict import NeuralNetwork  # the tutorial's MLP, as it writes it
data = yours_onnx.parse_bomb()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    formats.identify(data, "bomb.onnx")
except formats.ModelFileError as err:
    print(err)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)  # KiB on Linux
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    message, grown_kib = result.stdout.strip().splitlines()
    assert message == ("bomb.onnx needs more than 1 GB or 30 s just to be read; the app can't "
                       "use it.")
    assert int(grown_kib) < 200 * 1024  # parsing it here would take ~3 GB


def test_state_dicts_are_bounded_in_tensors_and_numbers(monkeypatch):
    many = {f"t{i}": torch.zeros(1) for i in range(formats.MAX_TENSORS + 1)}
    with pytest.raises(ModelFileError, match="holds 1,025 tensors of 1,025 numbers"):
        formats.load_state_dict_tensors(saved(many), "many.pt")
    shared = torch.zeros(1000)  # views of one storage: small on disk, counted each time
    monkeypatch.setattr(formats, "MAX_ELEMENTS", 2500)
    with pytest.raises(ModelFileError, match="3 tensors of 3,000 numbers"):
        formats.load_state_dict_tensors(saved({k: shared for k in "abc"}), "views.pt")
    with pytest.raises(ModelFileError, match="3 tensors of 3,000 numbers"):
        formats.load_state_dict_tensors(
            safetensors_bytes({k: torch.zeros(1000) for k in "abc"}), "big.safetensors")


def test_a_compressed_torch_archive_is_refused_before_torch_reads_it():
    good = saved(nn.Linear(4, 2).state_dict())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as bomb:
        for entry in source.infolist():
            bomb.writestr(entry.filename, source.read(entry), zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFileError, match="not as torch.save writes one"):
        formats.identify(out.getvalue(), "model.pth")


def test_broken_state_dicts_and_safetensors_say_so():
    good = safetensors_bytes({"w": torch.zeros(100)})
    with pytest.raises(ModelFileError, match="is not a complete safetensors file"):
        formats.load_state_dict_tensors(good[:-8], "w.safetensors")
    header = b'{"w": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}}'
    lying = struct.pack("<Q", len(header)) + header + bytes(40)  # 400 bytes promised, 40 here
    with pytest.raises(ModelFileError, match="is not a complete safetensors file"):
        formats.load_state_dict_tensors(lying, "w.safetensors")
    archive = bytearray(saved(nn.Linear(4, 2).state_dict()))
    start = archive.index(b"\x80\x02", archive.index(b"data.pkl"))  # the pickle's first bytes
    archive[start + 2:start + 18] = bytes(16)  # the zip still opens; its pickle is nonsense
    with pytest.raises(ModelFileError, match="is a torch.save archive whose pickle is corrupt"):
        formats.identify(bytes(archive), "model.pth")


def test_a_file_name_in_a_message_is_its_last_printable_part():
    assert formats.shown("C:\\Users\\me\\net.onnx") == "net.onnx"
    assert formats.shown("/srv/app/\x1b[31mred.pt") == "[31mred.pt"
    assert formats.shown("") == "the file"
    assert len(formats.shown("x" * 500)) == 80
