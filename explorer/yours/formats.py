"""What an uploaded model file is, read without running anything in it, and its size limits.

Readable: ONNX (parsed and checked in a child process, never run here), a PyTorch state dict
(`torch.load(..., weights_only=True)`, which refuses a pickle that would run code) and
safetensors. Refused with one line that says what the file is and the call that would work:
a whole pickled model, a TorchScript archive, anything else.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
import struct
import subprocess
import sys
import threading
import zipfile
from typing import Literal

import torch

from explorer.errors import ExplainedError
from explorer.yours.sandbox_child import CHILD

Kind = Literal["onnx", "state-dict", "safetensors", "torchscript", "pickle", "unknown"]
READABLE: tuple[Kind, ...] = ("onnx", "state-dict", "safetensors")
MAX_MODEL_BYTES = 64 << 20
MAX_PICKLE_BYTES = 1 << 20  # a state dict's data.pkl holds names and shapes: KBs, not MBs
MAX_HEADER_BYTES = 1 << 20  # a safetensors JSON header, likewise
MAX_TENSORS = 1024
MAX_ELEMENTS = 32 << 20  # 128 MB as float32; a view counts each time it appears
CHECK_MEMORY_BYTES = 1 << 30  # parsing ONNX can take 80x the file: done in a bounded child
CHECK_TIME_S = 30.0
STATE_DICT_KEYS = ("state_dict", "model_state_dict")
EXPORT_ONNX = ('torch.onnx.export(model, torch.zeros(1, 1, 28, 28), "model.onnx", '
               'input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, '
               '"y": {0: "n"}}, dynamo=False)')
SAVE_STATE_DICT = 'torch.save(model.state_dict(), "model.pth")'
_REFUSED = object()  # torch.load(weights_only=True) refused the pickle
_CHECKED: dict[bytes, dict] = {}  # sha256 -> the check child's verdict, for the worker's check
_CHECKED_LOCK = threading.Lock()


class ModelFileError(ExplainedError):
    """An uploaded model file the app can't or won't read; the message says what to do."""


def shown(name: str) -> str:
    """The file's name as a message shows it: its last component, printable, at most 80."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:80] or "the file"


def refusal(kind: Kind, name: str) -> str:
    """One line for a file the app won't read: what it is, and the call that would work."""
    what = {"torchscript": "is a TorchScript archive: code the app would have to run",
            "pickle": "is a pickled Python object (a whole model, as torch.save(model) "
                      "writes it): loading it would run code from the file",
            "unknown": "is not a model file the app reads (ONNX, a PyTorch state dict or "
                       "safetensors)"}[kind]
    return (f"{shown(name)} {what}. Export ONNX instead: {EXPORT_ONNX}; "
            f"or save the weights: {SAVE_STATE_DICT}.")


def identify(data: bytes, name: str) -> Kind:
    """What the file is, found without running anything in it; the size limit comes first.

    NB: raises ModelFileError for a file over the limit, and for one of a readable kind
    that is broken (a truncated or corrupt ONNX, a torch archive that does not load).
    """
    _check_size(data, name)
    if data[:4] == b"PK\x03\x04":
        return _zip_contents(data, name)[0]
    if _safetensors_header(data) is not None:
        return "safetensors"
    if data[:1] == b"\x80":  # a pickle's PROTO opcode: torch.save's legacy format, or pickle
        return "pickle"
    return "onnx" if _is_onnx(data, name) else "unknown"


def readable_kind(data: bytes, name: str) -> Kind:
    """identify(), raising ModelFileError with refusal()'s line for a kind the app won't read."""
    kind = identify(data, name)
    if kind not in READABLE:
        raise ModelFileError(refusal(kind, name))
    return kind


def check_onnx(data: bytes, name: str = "model.onnx") -> None:
    """Raise ModelFileError unless `data` is a complete, valid ONNX model with no external data."""
    _check_size(data, name)
    _raise_unless_onnx(_onnx_verdict(data), name)


def load_state_dict_tensors(data: bytes, name: str) -> dict[str, torch.Tensor]:
    """{name: tensor} from a state dict or safetensors file, bounded in count and elements."""
    kind = readable_kind(data, name)
    if kind == "onnx":
        raise ModelFileError(f"{shown(name)} is an ONNX model, not a state dict.")
    if kind == "safetensors":
        return _safetensors_tensors(data, name)
    return {key: value.detach() for key, value in _zip_contents(data, name)[1].items()}


def _check_size(data: bytes, name: str) -> None:
    """Refuse a file over MAX_MODEL_BYTES, before anything reads it."""
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(f"{shown(name)} is {len(data) / 2**20:.1f} MB; the limit for a "
                             f"model is {MAX_MODEL_BYTES / 2**20:.0f} MB.")


def _is_onnx(data: bytes, name: str) -> bool:
    """Whether `data` is ONNX, from the check child; raises when it is ONNX but broken.

    NB: a file named *.onnx that does not parse is a broken ONNX, not an unknown file.
    """
    verdict = _onnx_verdict(data)
    if not (name.lower().endswith(".onnx") or verdict["graph"]):
        return False
    _raise_unless_onnx(verdict, name)
    return True


def _raise_unless_onnx(verdict: dict, name: str) -> None:
    """Raise ModelFileError for the check child's verdict on a broken or hostile ONNX."""
    error, detail = verdict["error"], verdict["detail"]
    if error == "parse":
        raise ModelFileError(f"{shown(name)} is not a complete ONNX model: it does not parse "
                             f"(a truncated or corrupted file?). Export it again: {EXPORT_ONNX}.")
    if error == "external":
        raise ModelFileError(f"{shown(name)} keeps tensors ({detail}) in other files, which the "
                             "app does not read. Export it as one file (under 2 GB).")
    if error == "invalid":
        raise ModelFileError(f"{shown(name)} is not a valid ONNX model: {detail}")
    if error:
        raise ModelFileError(f"{shown(name)} needs more than {CHECK_MEMORY_BYTES >> 30} GB or "
                             f"{CHECK_TIME_S:g} s just to be read; the app can't use it.")
    if not verdict["graph"]:
        raise ModelFileError(f"{shown(name)} holds no ONNX graph. Export it: {EXPORT_ONNX}.")


def _onnx_verdict(data: bytes) -> dict:
    """The check child's verdict on `data` (parse, external data, onnx.checker), memoised."""
    digest = hashlib.sha256(data).digest()
    with _CHECKED_LOCK:  # sessions upload from several threads
        known = _CHECKED.get(digest)
    if known is not None:
        return known
    verdict = _check_in_child(data)
    with _CHECKED_LOCK:
        while len(_CHECKED) >= 64:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[digest] = verdict
    return verdict


def _check_in_child(data: bytes) -> dict:
    """Run sandbox_child.py's check on `data` within CHECK_MEMORY_BYTES and CHECK_TIME_S."""
    command = [sys.executable, "-I", str(CHILD), "check", str(CHECK_MEMORY_BYTES),
               str(CHECK_TIME_S)]
    limit = {"parsed": False, "graph": False, "error": "limit", "detail": ""}
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=CHECK_TIME_S,
                              cwd="/")
        verdict = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError, UnicodeDecodeError):
        return limit  # NB: killed by its limits (or out of time) before it could answer
    return verdict if isinstance(verdict, dict) and verdict.keys() == limit.keys() else limit


def _zip_contents(data: bytes, name: str) -> tuple[Kind, dict[str, torch.Tensor]]:
    """A zip's kind (TorchScript, a torch.save state dict or pickle) and its state dict."""
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return "unknown", {}
    names = [entry.filename for entry in entries]
    if any("/code/" in n or n.endswith("constants.pkl") for n in names):
        return "torchscript", {}  # NB: never loaded: TorchScript is code
    if not any(n.endswith("data.pkl") for n in names):
        return "unknown", {}
    loaded = _torch_load(data, name, entries)
    if loaded is _REFUSED:
        return "pickle", {}
    tensors = _state_dict_in(loaded)
    if tensors is None:
        return "unknown", {}
    _check_bounds({key: tuple(t.shape) for key, t in tensors.items()}, name)
    if any(t.layout != torch.strided for t in tensors.values()):
        raise ModelFileError(f"{shown(name)} holds sparse tensors; a state dict of a "
                             "network has dense ones.")
    return "state-dict", tensors


def _torch_load(data: bytes, name: str, entries: list[zipfile.ZipInfo]):
    """torch.load(weights_only=True) on a torch.save archive within bounds, or _REFUSED.

    NB: torch.save stores its entries uncompressed, so a compressed one (a zip bomb)
    is refused before torch reads it; the pickle's size bounds what unpickling builds.
    """
    pickled = max((e.file_size for e in entries if e.filename.endswith("data.pkl")), default=0)
    if (len(entries) > MAX_TENSORS + 16 or pickled > MAX_PICKLE_BYTES
            or any(e.compress_type != zipfile.ZIP_STORED for e in entries)):
        raise ModelFileError(f"{shown(name)} is a zip archive, but not as torch.save writes "
                             "one (compressed, or too many entries); save it with "
                             f"{SAVE_STATE_DICT}.")
    try:
        return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):  # a class or function: a whole object's pickle
            return _REFUSED
        raise ModelFileError(f"{shown(name)} is a torch.save archive whose pickle is corrupt; "
                             f"save it again with {SAVE_STATE_DICT}.") from None
    except Exception as error:  # noqa: BLE001 -- a broken archive, said in one line
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ModelFileError(f"{shown(name)} is a torch.save archive that does not load: "
                             f"{detail}") from error


def _tensor_dict(value) -> bool:
    """Whether `value` is a non-empty {str: Tensor} dict, as state_dict() returns."""
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()))


def _state_dict_in(loaded) -> dict[str, torch.Tensor] | None:
    """The state dict in what torch.load returned: itself, under a known key, or the one."""
    if _tensor_dict(loaded):
        return loaded
    if not isinstance(loaded, dict):
        return None
    for key in STATE_DICT_KEYS:
        if _tensor_dict(loaded.get(key)):
            return loaded[key]
    inner = [value for value in loaded.values() if _tensor_dict(value)]
    return inner[0] if len(inner) == 1 else None  # a training checkpoint's one model


def _safetensors_header(data: bytes) -> dict | None:
    """A safetensors file's JSON header (8-byte little-endian length, then JSON), or None."""
    if len(data) < 10:
        return None
    (size,) = struct.unpack("<Q", data[:8])
    if not 2 <= size <= min(MAX_HEADER_BYTES, len(data) - 8) or data[8:9] != b"{":
        return None
    try:
        header = json.loads(data[8:8 + size])
    except (ValueError, UnicodeDecodeError):
        return None
    return header if isinstance(header, dict) else None


def _safetensors_tensors(data: bytes, name: str) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, its header's counts checked before any is read."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    header = _safetensors_header(data) or {}
    shapes = {key: tuple(entry.get("shape", ())) for key, entry in header.items()
              if key != "__metadata__" and isinstance(entry, dict)}
    _check_bounds(shapes, name)
    try:
        return load(data)
    except (SafetensorError, ValueError) as error:
        raise ModelFileError(f"{shown(name)} is not a complete safetensors file: "
                             f"{str(error)[:200]}") from error


def _check_bounds(shapes: dict[str, tuple], name: str) -> None:
    """Refuse more than MAX_TENSORS tensors or MAX_ELEMENTS elements in all."""
    try:
        elements = sum(math.prod(int(d) for d in shape) for shape in shapes.values())
    except (TypeError, ValueError):
        raise ModelFileError(f"{shown(name)} has a tensor with a malformed shape.") from None
    if len(shapes) > MAX_TENSORS or elements > MAX_ELEMENTS:
        raise ModelFileError(f"{shown(name)} holds {len(shapes):,} tensors of {elements:,} "
                             f"numbers; the limit is {MAX_TENSORS:,} tensors and "
                             f"{MAX_ELEMENTS:,} numbers.")
