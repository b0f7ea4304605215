"""Uploaded ONNX models run in a worker process: right answers, bounded costs, clear messages."""
from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from explorer.yours import sandbox, workers
from explorer.yours.formats import ModelFileError
from explorer.yours.sandbox import LimitError, OnnxWorker, SandboxError, ShapeError
from explorer.yours.sandbox_child import array_in, pack, unpack
from tests import yours_onnx

NOTHING_ELSE = "its worker process was stopped; nothing else was affected."


@pytest.fixture(scope="module")
def cnn():
    """A cnn-sized torch module and its ONNX export (batch size dynamic)."""
    torch.manual_seed(0)
    module = yours_onnx.SmallCNN().eval()
    return module, yours_onnx.exported(module, torch.zeros(1, 1, 28, 28))


def digits(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


def torch_outputs(module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def test_a_cnn_answers_in_its_worker_as_torch_does(cnn):
    module, data = cnn
    with OnnxWorker(data) as worker:
        assert worker.info.input_shape == ("n", 1, 28, 28)
        assert worker.info.layouts == ("nchw",)
        assert worker.info.output_shapes == (("n", 10),)
        assert worker.info.provider == "CPUExecutionProvider"
        x = digits(5)
        y = worker.run(x)
        np.testing.assert_allclose(y, torch_outputs(module, x), rtol=1e-4, atol=1e-5)
        assert sandbox.ten_way(y, 5) is y
        assert worker.run_rows(digits(7), rows=3).shape == (7, 10)


def test_the_worker_is_a_separate_process_without_torch(cnn):
    with OnnxWorker(cnn[1]) as worker:
        pid = worker._process.pid
        assert pid != os.getpid()
        maps = open(f"/proc/{pid}/maps").read()
        assert "onnxruntime" in maps and "libtorch" not in maps
        assert open(f"/proc/{pid}/cmdline").read().split("\0")[1] == "-I"


def test_a_model_exported_for_one_image_gets_a_batch_one_row_at_a_time(cnn):
    module = cnn[0]
    fixed = yours_onnx.exported(module, torch.zeros(1, 1, 28, 28), dynamic=False)
    with OnnxWorker(fixed) as worker:
        assert worker.info.fixed_batch == 1
        x = digits(4)
        np.testing.assert_allclose(worker.run(x), torch_outputs(module, x), rtol=1e-4,
                                   atol=1e-5)


def test_a_flat_input_is_the_flat_layout():
    with OnnxWorker(yours_onnx.linear(input_shape=("n", 784))) as worker:
        assert worker.info.layouts == ("flat",)
        x = digits(2).reshape(2, 784)
        weight = np.linspace(-1, 1, 7840, dtype=np.float32).reshape(784, 10)
        np.testing.assert_allclose(worker.run(x), x @ weight, rtol=1e-4, atol=1e-4)
        with pytest.raises(ShapeError, match=r"takes inputs of shape \(n, 784\); this batch is "
                                             r"\(2, 1, 28, 28\)"):
            worker.run(digits(2))


@pytest.mark.parametrize("shape", [yours_onnx.CAT, ("n", 28, 28)])
def test_a_model_with_another_input_is_refused_when_it_loads(shape):
    running = workers.running()
    with pytest.raises(ShapeError) as refused:
        OnnxWorker(yours_onnx.linear(input_shape=shape))
    shown = "(1, 3, 32, 32)" if shape == yours_onnx.CAT else "(n, 28, 28)"
    assert str(refused.value) == (
        f"The model takes inputs of shape {shown}; the app gives it MNIST digits as "
        "(N, 1, 28, 28) or (N, 784), so it can't run it. Export it with the input it was "
        "trained on.")
    assert workers.running() == running  # it left no child behind


@pytest.mark.parametrize("model, says", [
    (lambda: yours_onnx.linear(7), "is (3, 7) (7 scores per image)"),
    (yours_onnx.one_number, r"is (3,) (one number per image)"),
], ids=["seven-scores", "one-number"])
def test_an_output_of_the_wrong_shape_says_what_it_is(model, says):
    with OnnxWorker(model()) as worker:
        outputs = worker.run(digits(3))
    with pytest.raises(ShapeError) as wrong:
        sandbox.ten_way(outputs, 3)
    assert str(wrong.value) == (f"The model's output for 3 images {says}; the app needs (3, 10):"
                                " ten scores per image, one per digit.")


def test_an_output_too_big_to_send_is_refused_in_the_worker():
    with OnnxWorker(yours_onnx.big_output()) as worker:
        with pytest.raises(ShapeError, match=r"The model's output is 70,560,000 bytes, more than "
                                             r"the app reads \(64 MB\)"):
            worker.run(digits(1))


def test_a_graph_that_allocates_gigabytes_hits_the_memory_limit_and_restarts(cnn):
    with OnnxWorker(yours_onnx.memory_bomb()) as bomb, OnnxWorker(cnn[1]) as other:
        for _ in range(2):
            with pytest.raises(LimitError) as hit:
                bomb.run(digits(1))
            assert hit.value.limit == "memory"
            assert str(hit.value) == ("The model needed more than the 1 GB of memory an "
                                      f"uploaded model may use; {NOTHING_ELSE}")
            assert not bomb.alive
        assert bomb.restarts == 1  # the second run started a fresh worker
        assert other.run(digits(1)).shape == (1, 10)


def test_a_graph_that_runs_for_minutes_is_stopped_while_others_keep_answering(cnn):
    with OnnxWorker(yours_onnx.time_bomb(), time_limit_s=3) as bomb, OnnxWorker(cnn[1]) as other:
        caught: list[BaseException] = []

        def run_the_bomb():
            try:
                bomb.run(digits(1))
            except LimitError as err:
                caught.append(err)
        thread = threading.Thread(target=run_the_bomb)
        thread.start()
        answered = [other.run(digits(1, seed)) for seed in range(20)]
        assert thread.is_alive()  # all 20 answers came while the bomb was still running
        thread.join()
        assert len(answered) == 20 and caught and caught[0].limit == "time"
        assert str(caught[0]) == ("The model took more than 3 s to answer, the limit for an "
                                  f"uploaded model; {NOTHING_ELSE}")
        assert not bomb.alive and other.run(digits(1)).shape == (1, 10)


def test_the_servers_memory_stays_bounded_while_workers_hit_their_limits():
    # NB: ru_maxrss is a high-water mark, so a fresh process measures its own growth; the
    # workers' peaks come from /proc as each is stopped.
    script = """
import json, resource, sys
import numpy as np
from explorer.yours import sandbox
from tests import yours_onnx
bombs = {"memory": yours_onnx.memory_bomb(), "time": yours_onnx.time_bomb()}
x = np.zeros((1, 1, 28, 28), np.float32)
for limit, data in bombs.items():
    worker = sandbox.OnnxWorker(data, time_limit_s=2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        worker.run(x)
    except sandbox.LimitError as err:
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({"limit": err.limit, "server_kib": grown,
                          "worker_bytes": worker.peak_rss_bytes}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line["limit"] for line in lines] == ["memory", "time"]
    for line in lines:
        assert line["server_kib"] < 50 * 1024  # the bomb asked for 6.4 GB
        assert 0 < line["worker_bytes"] < sandbox.GIB


def test_a_worker_that_crashes_says_so_and_the_next_run_starts_a_fresh_one(cnn):
    with OnnxWorker(cnn[1]) as worker:
        os.kill(worker._process.pid, signal.SIGSEGV)
        worker._process.wait()
        with pytest.raises(SandboxError, match=r"The model's worker process died \(signal 11\);"
                                               " nothing else was affected"):
            worker.run(digits(1))
        assert worker.run(digits(1)).shape == (1, 10) and worker.restarts == 1


def test_one_worker_serves_several_sessions_at_once(cnn):
    module, data = cnn
    inputs = [digits(1, seed) for seed in range(6)]
    expected = [torch_outputs(module, x) for x in inputs]
    with OnnxWorker(data) as shared:
        results: dict[int, list] = {i: [] for i in range(6)}

        def session(i):
            results[i].extend(shared.run(inputs[i]) for _ in range(15))
        threads = [threading.Thread(target=session, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for i, answers in results.items():
        assert len(answers) == 15
        for answer in answers:
            np.testing.assert_allclose(answer, expected[i], rtol=1e-4, atol=1e-5)


def test_at_most_max_workers_run_the_least_recently_used_idle_one_stops(monkeypatch):
    monkeypatch.setattr(workers, "MAX_WORKERS", 2)
    data = yours_onnx.linear()
    first, second, third = (OnnxWorker(data) for _ in range(3))
    try:
        assert (first.alive, second.alive, third.alive) == (False, True, True)
        assert first.run(digits(1)).shape == (1, 10)  # it starts again, stopping `second`
        assert (first.alive, second.alive, third.alive) == (True, False, True)
        assert workers.running() == 2
        with first._lock, third._lock:  # both busy: none may be stopped for another
            with pytest.raises(sandbox.BusyError, match="2 uploaded models are answering"):
                second.run(digits(1))
    finally:
        for worker in (first, second, third):
            worker.close()
    assert workers.running() == 0


def test_close_and_the_finaliser_end_the_child():
    worker = OnnxWorker(yours_onnx.linear())
    process = worker._process
    worker.close()
    assert process.poll() is not None
    with pytest.raises(SandboxError, match="was closed"):
        worker.run(digits(1))
    dropped = OnnxWorker(yours_onnx.linear())
    process = dropped._process
    del dropped
    gc.collect()
    assert process.poll() is not None


def test_a_file_the_checks_refuse_never_reaches_a_worker():
    with pytest.raises(ModelFileError, match="keeps tensors"):
        OnnxWorker(yours_onnx.external_data())
    with pytest.raises(ModelFileError, match="not a complete ONNX model"):
        OnnxWorker(yours_onnx.linear()[:1000])


def test_the_protocol_refuses_an_answer_whose_header_and_bytes_disagree():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    header, payload = unpack(pack({"shape": [2, 3], "dtype": "float32"}, x.data))
    np.testing.assert_array_equal(array_in(header, payload), x)
    for bad in ({"shape": [2, 4], "dtype": "float32"}, {"shape": [6], "dtype": "object"},
                {"shape": [-2, -3], "dtype": "float32"}, {"shape": "6", "dtype": "float32"}):
        with pytest.raises(ValueError):
            array_in(bad, payload)
    with pytest.raises(ValueError):
        unpack(b"no header")
