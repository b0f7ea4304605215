"""The child process behind explorer.yours.sandbox: it alone touches an uploaded ONNX model.

Started as a script with `python -I` (no PYTHON* variables, no script folder on sys.path), so
it imports the standard library, numpy and onnxruntime (and onnx, to check a file), never
torch, Streamlit or the app; its limits are set before the model's bytes are read.

    python -I sandbox_child.py serve FD MEMORY_BYTES TIME_S THREADS   (requests over FD)
    python -I sandbox_child.py check MEMORY_BYTES TIME_S < model.onnx (one JSON line out)

A message either way is a JSON header, a newline, then an array's raw bytes (no pickle: the
server must not unpickle what a process running a hostile model wrote).
"""
from __future__ import annotations

import json
import math
import resource
import sys
from pathlib import Path

CHILD = Path(__file__)  # the script the server starts: this file, run by path
MAX_HEADER_BYTES = 1 << 16  # a header is a line of JSON: shape, type, a short detail
MAX_REPLY_BYTES = 64 << 20  # the server's recv_bytes bound too: a reply can't flood it
ARRAY_DTYPES = ("float16", "float32", "float64", "int32", "int64", "uint8", "bool")
MEMORY_MARKS = ("bad_alloc", "Failed to allocate memory")  # how onnxruntime says it
FLOAT_INPUTS = {"tensor(float)": "float32", "tensor(double)": "float64",
                "tensor(float16)": "float16"}


def pack(header: dict, payload: bytes | memoryview = b"") -> bytes:
    """One message: a JSON header line, then the raw bytes of an array (or nothing)."""
    return json.dumps(header).encode() + b"\n" + bytes(payload)


def unpack(data: bytes) -> tuple[dict, memoryview]:
    """A message's JSON header and its payload; ValueError for a malformed message."""
    newline = data.find(b"\n", 0, MAX_HEADER_BYTES)  # NB: JSON can parse to 10x its size
    header = json.loads(data[:newline]) if newline >= 0 else None
    if not isinstance(header, dict):
        raise ValueError("a message without its JSON header")
    return header, memoryview(data)[newline + 1:]


def array_in(header: dict, payload: memoryview):
    """The array a message carries, checked against its header; ValueError if they disagree.

    NB: the server reads the child's answers with this: the child is not trusted.
    """
    import numpy as np

    dtype, shape = header.get("dtype", "float32"), header.get("shape")
    if (dtype not in ARRAY_DTYPES or not isinstance(shape, list)
            or not all(type(d) is int and d >= 0 for d in shape)
            or math.prod(shape) * np.dtype(dtype).itemsize != len(payload)):
        raise ValueError("the array's shape, type and size disagree")
    return np.frombuffer(payload, dtype).reshape(shape)


def limit_memory(memory_bytes: int, address_space: bool) -> None:
    """Cap this process's address space (or, beside CUDA, its data segment) at memory_bytes.

    NB: CUDA reserves tens of GB of address space it never touches, so next to it only the
    data limit (writable private memory) can be used; the GPU side has gpu_mem_limit.
    """
    which = resource.RLIMIT_AS if address_space else resource.RLIMIT_DATA
    resource.setrlimit(which, (memory_bytes, memory_bytes))


def limit_cpu(time_s: float) -> None:
    """Kill this process (SIGXCPU) after 3x time_s more CPU seconds: the server's backstop.

    NB: the server kills a request at time_s; this only ends a child whose server died
    mid-request. The hard limit stays put, so later requests can move the soft one on.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + 3 * time_s) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard < 0 else min(soft, hard), hard))


def failure(error: Exception) -> dict:
    """A reply header for an exception: which limit or what went wrong, in one short line."""
    detail = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
    if isinstance(error, MemoryError) or any(mark in str(error) for mark in MEMORY_MARKS):
        return {"error": "memory", "detail": detail}
    if type(error).__name__ == "InvalidArgument":  # onnxruntime: input shape or type
        return {"error": "input", "detail": detail}
    return {"error": "model", "detail": detail}


def session_for(model: bytes, memory_bytes: int, threads: int):
    """An onnxruntime session on the CPU (CUDA first when this onnxruntime has it)."""
    import onnxruntime as ort

    ort.set_default_logger_severity(4)  # the server's log gets no per-request noise
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = False  # freed tensors go back: a spike doesn't stay
    options.log_severity_level = 4
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers: list = ["CPUExecutionProvider"]  # never the Azure one: it calls out
    if "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"gpu_mem_limit": str(memory_bytes)}))
    return ort.InferenceSession(model, options, providers=providers)


def describe(session) -> dict:
    """What the server needs to feed the model: its one input and its outputs."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    return {"input_names": [i.name for i in inputs],
            "input_shapes": [list(i.shape) for i in inputs],
            "input_types": [i.type for i in inputs],
            "output_names": [o.name for o in outputs],
            "output_shapes": [list(o.shape) for o in outputs],
            "provider": session.get_providers()[0]}


def answer(session, info: dict, request: bytes) -> bytes:
    """Run one request (a float32 array) and reply with the first output, or the failure."""
    import numpy as np

    try:
        x = array_in(*unpack(request)).astype(FLOAT_INPUTS[info["input_types"][0]], copy=False)
        name = info["input_names"][0]
        if info["input_shapes"][0][:1] == [1] and len(x) > 1:  # exported for one image
            rows = [session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))]
            y = np.ascontiguousarray(np.concatenate(rows))
        else:
            y = np.ascontiguousarray(session.run(None, {name: x})[0])
    except Exception as error:  # noqa: BLE001 -- every failure goes back as a message
        return pack(failure(error))
    if y.dtype.name not in ARRAY_DTYPES:
        return pack({"error": "model", "detail": f"its first output is of type {y.dtype}"})
    if y.nbytes > MAX_REPLY_BYTES:
        return pack({"error": "too-big", "detail": f"{y.nbytes:,} bytes"})
    return pack({"shape": list(y.shape), "dtype": y.dtype.name}, y.data)


def serve(fd: int, memory_bytes: int, time_s: float, threads: int) -> None:
    """Take the model, say what it is, then answer requests until the server hangs up."""
    from multiprocessing.connection import Connection

    import numpy  # noqa: F401 -- imported before the limit: its import is not the model's
    import onnxruntime

    conn = Connection(fd)
    address_space = "CUDAExecutionProvider" not in onnxruntime.get_available_providers()
    limit_memory(memory_bytes, address_space)
    limit_cpu(time_s)
    conn.send_bytes(pack({"ready_for": "model"}))
    try:
        session = session_for(conn.recv_bytes(), memory_bytes, threads)
        info = describe(session)
    except Exception as error:  # noqa: BLE001 -- the server explains it
        conn.send_bytes(pack(failure(error)))
        return
    conn.send_bytes(pack({"info": info}))
    while True:
        try:
            request = conn.recv_bytes()
        except EOFError:
            return  # the server closed the worker, or died
        limit_cpu(time_s)
        conn.send_bytes(answer(session, info, request))


def external_tensors(model) -> list[str]:
    """Names of tensors anywhere in the model whose data lives in another file.

    NB: onnxruntime reads such data from any path, ../ included, even for a model given as
    bytes: an upload could read the server's files. Every message in the model is walked
    (graphs, subgraphs, functions, attributes, sparse tensors), not only initializers.
    """
    import onnx
    from google.protobuf.message import Message

    found, stack = [], [model]
    while stack:
        message = stack.pop()
        if isinstance(message, onnx.TensorProto) and (
                message.data_location == onnx.TensorProto.EXTERNAL or message.external_data):
            found.append(message.name or "(unnamed)")
        for field, value in message.ListFields():
            if field.message_type is None:
                continue
            stack.extend([value] if isinstance(value, Message) else value)  # else repeated
    return found


def check(memory_bytes: int, time_s: float) -> dict:
    """Parse the ONNX model on stdin and check it, without running it."""
    import onnx

    limit_memory(memory_bytes, address_space=True)
    limit_cpu(time_s)
    verdict: dict = {"parsed": False, "graph": False, "error": None, "detail": ""}
    try:
        model = onnx.load_model_from_string(sys.stdin.buffer.read())
        verdict.update(parsed=True, graph=model.HasField("graph") and len(model.graph.node) > 0)
        external = external_tensors(model)
        if external:
            return {**verdict, "error": "external", "detail": ", ".join(external[:3])}
        onnx.checker.check_model(model)
    except Exception as error:  # noqa: BLE001 -- the server explains it
        reason = failure(error)
        memory = reason["error"] == "memory" or near_limit(memory_bytes)
        kind = "memory" if memory else "invalid" if verdict["parsed"] else "parse"
        return {**verdict, "error": kind, "detail": reason["detail"]}
    return verdict


def near_limit(memory_bytes: int) -> bool:
    """Whether this process's address space came within 20% of memory_bytes.

    NB: protobuf reports an allocation that failed mid-parse as a parse error; an honest
    truncated file never gets near the limit.
    """
    with open("/proc/self/status") as status:
        peak = next((line for line in status if line.startswith("VmPeak:")), "VmPeak: 0 kB")
    return int(peak.split()[1]) * 1024 >= 0.8 * memory_bytes


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
    else:
        print(json.dumps(check(int(sys.argv[2]), float(sys.argv[3]))))
