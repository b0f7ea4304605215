"""Untrusted ONNX models run in a worker process with memory and time limits, never here.

An OnnxWorker's child (sandbox_child.py: numpy and onnxruntime, no torch) caps its address
space and CPU time before it reads the model. The server waits at most the time limit for
an answer and kills the child past it; a child out of memory, killed or crashed costs its
request only, and the next one starts a fresh child. workers.py bounds how many run.

NB: not multiprocessing's "spawn": it re-runs the server's main script in the child (under
`streamlit run`, Streamlit's CLI), and its children inherit the server's environment.
"""
from __future__ import annotations

import signal
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from explorer.errors import ExplainedError
from explorer.yours import formats, workers
from explorer.yours.sandbox_child import FLOAT_INPUTS, MAX_REPLY_BYTES, array_in, pack, unpack

GIB = 1 << 30
STARTUP_S = 60.0  # the child's own imports on a busy server: not the model's time
LAYOUT_SHAPES = {"nchw": (1, 28, 28), "flat": (784,)}  # contract.LAYOUTS, less the batch
APP_INPUTS = "(N, 1, 28, 28) or (N, 784)"
NOTHING_ELSE = "its worker process was stopped; nothing else was affected"


class SandboxError(ExplainedError):
    """The uploaded model failed in its worker; the server and other sessions did not."""


class LimitError(SandboxError):
    """The model hit its worker's memory or time limit (`limit`: "memory" or "time")."""

    def __init__(self, message: str, limit: str):
        super().__init__(message)
        self.limit = limit


class ShapeError(SandboxError):
    """The model's input or output is not what the app can give it or read from it."""


class BusyError(SandboxError):
    """MAX_WORKERS workers are all answering requests: the server takes no more now."""


@dataclass(frozen=True)
class Limits:
    """What one worker may cost: address space (runtime included), seconds a call, threads."""

    memory_bytes: int = GIB
    time_s: float = 10.0
    threads: int = 1


@dataclass(frozen=True)
class ModelInfo:
    """The model's one input and its outputs, as onnxruntime read them (a dim: int or name)."""

    input_name: str
    input_shape: tuple
    input_type: str
    output_names: tuple[str, ...]
    output_shapes: tuple[tuple, ...]
    provider: str

    @property
    def layouts(self) -> tuple[str, ...]:
        """Which of the app's input layouts ("nchw", "flat") the declared input accepts."""
        return tuple(name for name, shape in LAYOUT_SHAPES.items()
                     if accepts(self.input_shape, (1, *shape)))

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the model was exported with, if fixed (the worker splits batches)."""
        first = self.input_shape[0] if self.input_shape else None
        return first if isinstance(first, int) and first > 0 else None


def accepts(declared: tuple, shape: tuple) -> bool:
    """Whether an input of `shape` fits the declared one (a named dim fits any size).

    NB: the batch dimension always fits: a model exported for batches of 1 gets one row at
    a time.
    """
    if len(declared) != len(shape):
        return False
    return all(not isinstance(d, int) or d <= 0 or d == s for d, s in zip(declared[1:], shape[1:]))


def shape_text(shape) -> str:
    """(n, 3, 32, 32) for a shape with named or unknown dims."""
    dims = ["?" if d is None else str(d) for d in shape]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def ten_way(outputs: np.ndarray, n: int) -> np.ndarray:
    """The model's outputs if they are (n, 10) scores, else ShapeError saying what they are."""
    shape = tuple(outputs.shape)
    if shape == (n, 10):
        return outputs
    if shape in ((n,), (n, 1)):
        what = " (one number per image)"
    elif len(shape) == 2 and shape[0] == n:
        what = f" ({shape[1]} scores per image)"
    else:
        what = " (not one row of scores per image)"
    raise ShapeError(f"The model's output for {n} image{'s' * (n != 1)} is {shape_text(shape)}"
                     f"{what}; the app needs ({n}, 10): ten scores per image, one per digit.")


class OnnxWorker:
    """An ONNX model in its own process: run() sends a batch and waits at most the time limit.

    NB: safe from several threads at once (a lock per worker: one request at a time);
    close(), or the finaliser when the worker is collected, ends the child.
    """

    def __init__(self, model_bytes: bytes, memory_limit: int = GIB, time_limit_s: float = 10.0,
                 threads: int = 1, name: str = "model.onnx"):
        formats.check_onnx(model_bytes, name)  # NB: external data would read server files
        self.limits = Limits(memory_limit, time_limit_s, threads)
        self.restarts = 0
        self._peak: int | None = None  # the last child's peak RSS, read as it was stopped
        self._model, self._closed = model_bytes, False
        self._lock = threading.Lock()
        self._process = self._conn = self._finalizer = None
        with self._lock:
            self.info = self._start()
        if not self.info.layouts:
            self.close()
            raise ShapeError(f"The model takes inputs of shape {shape_text(self.info.input_shape)};"
                             f" the app gives it MNIST digits as {APP_INPUTS}, so it can't run "
                             "it. Export it with the input it was trained on.")

    @property
    def alive(self) -> bool:
        """Whether the child process is running now (a stopped one restarts on the next run)."""
        process = self._process  # NB: read once: another thread may stop it meanwhile
        return process is not None and process.poll() is None

    @property
    def peak_rss_bytes(self) -> int | None:
        """The child's peak resident memory: the running one's, else the last one's."""
        process = self._process
        running = process is not None and process.poll() is None
        return (workers.peak_rss_bytes(process.pid) if running else None) or self._peak

    def run_rows(self, x: np.ndarray, rows: int = 256) -> np.ndarray:
        """run() on `rows` images at a time: a whole test set, each call within the limits."""
        return np.concatenate([self.run(x[i:i + rows]) for i in range(0, len(x), rows)])

    def run(self, x: np.ndarray) -> np.ndarray:
        """The model's first output for the batch `x` (float32, a shape the input accepts)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        self._check_input(x)
        with self._lock:
            if self._closed:
                raise SandboxError("This model's worker was closed; load the model again.")
            if self._process is None:
                self._start()
                self.restarts += 1
            workers.used(self)
            header, payload = self._ask(pack({"shape": list(x.shape)}, x.data), "to answer")
            try:
                return array_in(header, payload).copy()
            except ValueError:
                raise self._malformed() from None

    def restart(self) -> None:
        """Stop the child and start a fresh one from the same model."""
        with self._lock:
            self._stop()
            self._start()
            self.restarts += 1

    def close(self) -> None:
        """End the child for good; run() then raises SandboxError."""
        with self._lock:
            self._closed = True
            self._stop()

    def __enter__(self) -> OnnxWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_input(self, x: np.ndarray) -> None:
        """Refuse a batch the declared input can't take, before it reaches the child."""
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(f"a batch of at least one image, not {x.shape}")
        fixed = self.info.fixed_batch
        if not accepts(self.info.input_shape, x.shape) or fixed not in (None, 1, len(x)):
            raise ShapeError(f"The model takes inputs of shape {shape_text(self.info.input_shape)};"
                             f" this batch is {shape_text(x.shape)}.")

    def _start(self) -> ModelInfo:
        """Start a child, hand it the model, read its input and outputs (lock held)."""
        if not workers.make_room(self):
            raise BusyError(f"{workers.MAX_WORKERS} uploaded models are answering right now, "
                            "the most this server runs at once; try again in a moment.")
        limits = self.limits
        try:
            process, conn = workers.start_child(
                [str(limits.memory_bytes), str(limits.time_s), str(limits.threads)])
        except OSError as error:
            workers.forget(self)
            raise SandboxError(f"The server could not start a worker: {error}") from None
        self._process, self._conn = process, conn
        self._finalizer = weakref.finalize(self, workers.end_child, process, conn)
        try:
            self._receive(STARTUP_S, "to start")
            header, _ = self._ask(self._model, "to load")
            return _model_info(header.get("info"))
        except SandboxError:
            self._stop()
            raise

    def _ask(self, message: bytes, doing: str) -> tuple[dict, memoryview]:
        """Send one message and wait for the answer; a failure becomes its exception."""
        try:
            self._conn.send_bytes(message)
        except OSError:
            raise self._died() from None
        header, payload = self._receive(self.limits.time_s, doing)
        if "error" in header:
            raise self._failure(header, doing)
        return header, payload

    def _receive(self, timeout_s: float, doing: str) -> tuple[dict, memoryview]:
        """The child's next message, or LimitError after timeout_s (the child killed)."""
        if not self._conn.poll(timeout_s):
            self._stop()
            raise LimitError(f"The model took more than {timeout_s:g} s {doing}, the limit for "
                             f"an uploaded model; {NOTHING_ELSE}.", "time")
        try:
            data = self._conn.recv_bytes(MAX_REPLY_BYTES + (1 << 16))
        except (EOFError, OSError):
            raise self._died() from None
        try:
            return unpack(data)
        except ValueError:
            raise self._malformed() from None

    def _failure(self, header: dict, doing: str) -> SandboxError:
        """The exception for the child's report of a failure (the child stopped if unsafe)."""
        kind, detail = header.get("error"), str(header.get("detail", ""))[:300]
        if kind == "memory":
            self._stop()  # NB: onnxruntime after a failed allocation: start clean
            return LimitError(f"The model needed more than the "
                              f"{self.limits.memory_bytes / GIB:g} GB of memory an uploaded "
                              f"model may use; {NOTHING_ELSE}.", "memory")
        if kind == "input":
            return ShapeError(f"The model refused its input: {detail}")
        if kind == "too-big":
            self._stop()
            return ShapeError(f"The model's output is {detail}, more than the app reads "
                              f"({MAX_REPLY_BYTES >> 20} MB).")
        verb = "load" if doing == "to load" else "run"
        return SandboxError(f"onnxruntime could not {verb} the model: {detail}")

    def _died(self) -> SandboxError:
        """The exception for a child that died (CPU limit, killed, crashed); it is reaped."""
        code = workers.exit_code(self._process, timeout_s=2.0)
        self._stop()
        if code == -signal.SIGXCPU:
            return LimitError(f"The model used up its CPU time; {NOTHING_ELSE}.", "time")
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return SandboxError(f"The model's worker process died ({how}); nothing else was "
                            "affected, and the next request starts a fresh one.")

    def _malformed(self) -> SandboxError:
        """The exception for an answer that breaks the protocol; the child is stopped."""
        self._stop()
        return SandboxError(f"The model's worker sent a malformed answer; {NOTHING_ELSE}.")

    def _stop(self) -> None:
        """End the child, if any, and unregister it (the lock, or the registry's, held)."""
        workers.forget(self)
        if self._process is not None:
            self._peak = workers.peak_rss_bytes(self._process.pid) or self._peak
        if self._finalizer is not None:
            self._finalizer()
        self._process = self._conn = self._finalizer = None


def _model_info(info) -> ModelInfo:
    """ModelInfo from the child's description, refusing a model the app can't feed."""
    try:
        names, shapes, types = info["input_names"], info["input_shapes"], info["input_types"]
        described = ModelInfo(
            str(names[0]), tuple(shapes[0]), str(types[0]),
            tuple(str(n) for n in info["output_names"]),
            tuple(tuple(s) for s in info["output_shapes"]), str(info["provider"]))
    except (KeyError, TypeError, IndexError):
        raise SandboxError("The model's worker sent a malformed description of it.") from None
    if len(names) != 1:
        raise ShapeError(f"The model takes {len(names)} inputs; the app gives it one: a batch "
                         f"of digits, {APP_INPUTS}.")
    if described.input_type not in FLOAT_INPUTS:
        raise ShapeError(f"The model's input is a {described.input_type[:40]}; the app gives it"
                         " float pixels.")
    return described
