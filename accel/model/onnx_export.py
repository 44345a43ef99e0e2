"""The shipped LeNet-5 as an ONNX QLinearConv model (built with ``onnx.helper``).

See :mod:`accel.model.export` for the layer list; this module builds the ModelProto.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from accel.ref import lenet

__all__ = ["lenet_onnx_model", "OPSET"]

OPSET = 13


def _scalar(name: str, value, dtype) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def lenet_onnx_model(model: lenet.LeNetModel, scales_fn) -> onnx.ModelProto:
    """``scales_fn(model)`` gives per layer (input scale, output scale, weight scales)."""
    scales = scales_fn(model)
    inits, nodes = [], []
    x = "input"
    for spec, layer, (in_s, out_s, ws) in zip(lenet.LAYER_SPECS, model.layers, scales, strict=True):
        n = spec.name
        inits += [
            _scalar(f"{n}/x_scale", in_s, np.float32),
            _scalar(f"{n}/x_zero_point", layer.input_zero_point, np.int8),
            numpy_helper.from_array(layer.weights.transpose(0, 3, 1, 2).copy(), f"{n}/w"),
            numpy_helper.from_array(ws.astype(np.float32), f"{n}/w_scale"),
            numpy_helper.from_array(np.zeros(spec.M, np.int8), f"{n}/w_zero_point"),
            _scalar(f"{n}/y_scale", out_s, np.float32),
            _scalar(f"{n}/y_zero_point", layer.output_zero_point, np.int8),
            numpy_helper.from_array(layer.bias.copy(), f"{n}/bias"),
        ]
        inputs = [x] + [f"{n}/{k}" for k in ("x_scale", "x_zero_point", "w", "w_scale")]
        inputs += [f"{n}/{k}" for k in ("w_zero_point", "y_scale", "y_zero_point", "bias")]
        nodes.append(
            helper.make_node(
                "QLinearConv",
                inputs,
                [n],
                name=n,
                kernel_shape=[spec.R, spec.S],
                strides=[1, 1],
                pads=[0, 0, 0, 0],
            )
        )
        x = n
        if spec.pool:
            nodes.append(
                helper.make_node(
                    "MaxPool",
                    [x],
                    [f"{n}/pool"],
                    name=f"{n}/pool",
                    kernel_shape=[2, 2],
                    strides=[2, 2],
                )
            )
            x = f"{n}/pool"
    inits.append(
        numpy_helper.from_array(np.array([-1, lenet.NUM_CLASSES], np.int64), "logits/shape")
    )
    nodes.append(helper.make_node("Reshape", [x, "logits/shape"], ["logits"], name="logits"))
    graph = helper.make_graph(
        nodes,
        "accel_lenet5_int8",
        [helper.make_tensor_value_info("input", TensorProto.INT8, ["N", 1, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.INT8, ["N", lenet.NUM_CLASSES])],
        initializer=inits,
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="accel"
    )
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    return onnx_model
