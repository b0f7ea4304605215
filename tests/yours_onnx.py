"""Tiny ONNX models the format and sandbox tests build themselves: kind ones and hostile ones."""
from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from torch import nn

OPSET = 17
CAT = (1, 3, 32, 32)  # a CIFAR model's input: the wrong rank and channels for digits


class SmallCNN(nn.Module):
    """A cnn-sized classifier (the shipped cnn's layers: conv 32, conv 64, fc 128, fc 10)."""

    def __init__(self, outputs: int = 10):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.fc1, self.fc2 = nn.Linear(64 * 12 * 12, 128), nn.Linear(128, outputs)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv2(torch.relu(self.conv1(x)))), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def exported(module: nn.Module, example: torch.Tensor, dynamic: bool = True) -> bytes:
    """`module` as ONNX bytes, with the export call formats.EXPORT_ONNX tells users to make."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notes
        torch.onnx.export(module.eval(), example, out, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}} if dynamic else None,
                          dynamo=False)
    return out.getvalue()


def graph_model(nodes, initializers, input_shape=("n", 1, 28, 28), output_shape=("n", 10),
                check: bool = True) -> bytes:
    """A hand-made model: input x (float), output y (float), the given nodes in between."""
    graph = helper.make_graph(
        nodes, "hand_made", [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    if check:
        onnx.checker.check_model(model)
    return model.SerializeToString()


def ints(name: str, values) -> TensorProto:
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], list(values))


def floats(name: str, array: np.ndarray) -> TensorProto:
    return helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.ravel().tolist())


def linear(outputs: int = 10, input_shape=("n", 1, 28, 28)) -> bytes:
    """Flatten, then one MatMul to `outputs` scores: (n, outputs); a fixed, known weight."""
    pixels = int(np.prod(input_shape[1:]))
    weight = np.linspace(-1, 1, pixels * outputs, dtype=np.float32).reshape(pixels, outputs)
    nodes = [helper.make_node("Flatten", ["x"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "w"], ["y"])]
    return graph_model(nodes, [floats("w", weight)], input_shape, ("n", outputs))


def one_number() -> bytes:
    """(n,): the sum of the pixels, one number per image."""
    nodes = [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)]
    return graph_model(nodes, [ints("axes", [1, 2, 3])], output_shape=("n",))


def memory_bomb(side: int = 40_000) -> bytes:
    """Allocates (side·n, side) float32 at run time: 6.4 GB for one image at 40,000.

    NB: the shape comes from the input's (Shape, Slice, Mul), so nothing is folded or
    allocated when the session is made: only a run asks for the memory.
    """
    nodes = [helper.make_node("Shape", ["x"], ["shape4"]),
             helper.make_node("Slice", ["shape4", "zero", "two"], ["n1"]),  # [n, 1]
             helper.make_node("Mul", ["n1", "side"], ["big"]),  # [side·n, side]
             helper.make_node("ConstantOfShape", ["big"], ["ones"],
                              value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])),
             helper.make_node("ReduceSum", ["ones", "axis1"], ["y"], keepdims=0)]
    inits = [ints("zero", [0]), ints("two", [2]), ints("side", [side, side]), ints("axis1", [1])]
    return graph_model(nodes, inits, output_shape=("m",))


def big_output(side: int = 4200) -> bytes:
    """Returns (side·n, side) ones: 70 MB for one image at 4,200, more than a reply may carry."""
    nodes = [helper.make_node("Shape", ["x"], ["shape4"]),
             helper.make_node("Slice", ["shape4", "zero", "two"], ["n1"]),
             helper.make_node("Mul", ["n1", "side"], ["big"]),
             helper.make_node("ConstantOfShape", ["big"], ["y"],
                              value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0]))]
    inits = [ints("zero", [0]), ints("two", [2]), ints("side", [side, side])]
    return graph_model(nodes, inits, output_shape=("m", side))


def time_bomb(trips: int = 10**9, side: int = 256) -> bytes:
    """A Loop of `trips` (side x side) MatMuls: minutes to hours of CPU, little memory.

    NB: the carried matrix starts from the input's mean, so no optimiser can fold the
    loop away while the session is made.
    """
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("MatMul", ["v_in", "w"], ["v_out"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [side, side])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [side, side])])
    eye = np.eye(side, dtype=np.float32)
    nodes = [helper.make_node("ReduceMean", ["x"], ["mean"], keepdims=0),
             helper.make_node("Add", ["w", "mean"], ["v0"]),
             helper.make_node("Loop", ["trips", "true", "v0"], ["v_end"], body=body),
             helper.make_node("ReduceSum", ["v_end", "axis1"], ["y"], keepdims=0)]
    inits = [floats("w", eye), helper.make_tensor("trips", TensorProto.INT64, [], [trips]),
             helper.make_tensor("true", TensorProto.BOOL, [], [True]), ints("axis1", [1])]
    return graph_model(nodes, inits, output_shape=(side,))


def unknown_op() -> bytes:
    """Parses as ONNX, but names an operator no opset has: onnx.checker refuses it."""
    return graph_model([helper.make_node("NoSuchOperator", ["x"], ["y"])], [], check=False)


def external_data(location: str = "../../../../etc/hostname") -> bytes:
    """A weight whose data is in another file: onnxruntime would read it from any path."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1], [0.0])
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    return graph_model([helper.make_node("Add", ["x", "w"], ["y"])], [weight],
                       output_shape=("n", 1, 28, 28), check=False)


def parse_bomb(nodes: int = 20_000_000) -> bytes:
    """~40 MB of empty NodeProtos: parsing it takes ~80x its size (3 GB here), and seconds."""
    inner = b"\x0a\x00" * nodes  # GraphProto.node (field 1), each of length 0
    length, size = bytearray(), len(inner)
    while True:  # the graph field's length, as a varint
        length.append((size & 0x7F) | (0x80 if size >> 7 else 0))
        size >>= 7
        if not size:
            break
    return b"\x08\x08" + b"\x3a" + bytes(length) + inner  # ir_version 8; ModelProto.graph (7)
