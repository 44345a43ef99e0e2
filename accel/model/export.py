"""Export the shipped int8 LeNet-5 (:mod:`accel.ref.lenet`) as standard int8 models.

TFLite (:func:`lenet_tflite`), written with :class:`accel.model.tflite_builder.TFLiteBuilder`::

    x int8 (1, 32, 32, 1)
    CONV_2D conv1 5x5 VALID RELU -> MAX_POOL_2D 2x2/2 -> CONV_2D conv2 5x5 VALID RELU
    -> MAX_POOL_2D 2x2/2 -> CONV_2D conv3 5x5 VALID RELU (1, 1, 1, 120)
    -> CONV_2D fc1 1x1 RELU (1, 1, 1, 84) -> CONV_2D fc2 1x1 (1, 1, 1, 10)
    -> RESHAPE (-1, 10) -> int8 logits (1, 10)

fc1 and fc2 are 1×1 convolutions on a 1×1×C tensor, exactly as :mod:`accel.ref.lenet`
defines them (no flatten is needed: conv3's output is 1×1×120). This also keeps LiteRT's
reference kernels on the fixed-point requantization the accelerator implements: LiteRT's
reference FULLY_CONNECTED kernel rounds ``acc * scale`` in double precision instead (see
``docs/model.md``).

ONNX (:func:`lenet_onnx`), opset 13, with ``QLinearConv`` (fc1 and fc2 as 1×1 QLinearConv on
a (N, C, 1, 1) tensor, the way :mod:`accel.ref.lenet` stores them), int8 ``MaxPool`` and
``Reshape``; the input is int8 NCHW (N, 1, 32, 32), the output int8 logits (N, 10).
ReLU needs no op: LeNet's ReLU outputs have zero point -128, so the clamp at
``output_zero_point`` is the int8 saturation itself.

Weights, biases and zero points are copied exactly. The files store float32 scales and
runtimes derive each channel's multiplier from ``input_scale * weight_scale / output_scale``;
LeNet stores the (multiplier, shift) pairs instead, so the exporter picks for every channel
the float32 weight scale whose TFLite-derived multiplier is closest to the shipped one
(:func:`weight_scales`, which reports how many channels come out identical).
"""

from __future__ import annotations

import numpy as np

from accel.model.host_ops import conv_multipliers
from accel.model.tflite_builder import ACTIVATIONS, VALID, TFLiteBuilder
from accel.ref import lenet
from accel.ref.layer import QuantizedLayer

__all__ = ["weight_scales", "lenet_tflite", "lenet_onnx", "FORMATS"]


def _f32(value: float) -> float:
    return float(np.float32(value))


def weight_scales(layer: QuantizedLayer, input_scale: float, output_scale: float):
    """float32 per-channel weight scales reproducing ``layer``'s multipliers as closely as
    TFLite's multiplier derivation allows; returns ``(scales, exact channel count)``."""
    in_s, out_s = _f32(input_scale), _f32(output_scale)
    scales, exact = [], 0
    for m0, shift in zip(layer.multiplier.tolist(), layer.shift.tolist(), strict=True):
        real = m0 * 2.0 ** (shift - 31)
        centre = np.float32(real * out_s / in_s)
        best, best_err = float(centre), None
        candidate = centre
        for _ in range(8):  # walk down 8 ulps, then check 8 above
            candidate = np.nextafter(candidate, np.float32(0))
        for _ in range(17):
            got_m, got_s = conv_multipliers(in_s, [float(candidate)], out_s, 1)
            err = abs(int(got_m[0]) * 2.0 ** (int(got_s[0]) - 31) - real)
            if best_err is None or err < best_err:
                best, best_err = float(candidate), err
            candidate = np.nextafter(candidate, np.float32(np.inf))
        exact += best_err == 0
        scales.append(best)
    return np.array(scales, dtype=np.float64), exact


def _scales(model: lenet.LeNetModel):
    """Per layer: (input scale, output scale, weight scales), all float32-representable."""
    out = []
    for layer in model.layers:
        ws, _ = weight_scales(layer, layer.input_scale, layer.output_scale)
        out.append((_f32(layer.input_scale), _f32(layer.output_scale), ws))
    return out


def lenet_tflite(model: lenet.LeNetModel | None = None) -> bytes:
    """The int8 LeNet-5 as a .tflite flatbuffer (bytes)."""
    model = model or lenet.load_default()
    b = TFLiteBuilder("accel LeNet-5 int8")
    scales = _scales(model)
    first = model.layers[0]
    x = b.tensor("input", (1, *lenet.INPUT_SHAPE), "int8", scales[0][0], first.input_zero_point)
    graph_input = x
    for spec, layer, (in_s, out_s, ws) in zip(lenet.LAYER_SPECS, model.layers, scales, strict=True):
        zeros = np.zeros(spec.M, np.int64)
        w = b.tensor(f"{spec.name}/weights", spec.weight_shape, "int8", ws, zeros, layer.weights)
        bias = b.tensor(f"{spec.name}/bias", (spec.M,), "int32", in_s * ws, zeros, layer.bias)
        act = ACTIVATIONS["RELU" if spec.relu else "NONE"]
        zp = layer.output_zero_point
        y = b.tensor(spec.name, (1, spec.E, spec.F, spec.M), "int8", out_s, zp)
        b.op(
            "CONV_2D",
            [x, w, bias],
            [y],
            "Conv2DOptions",
            Padding=VALID,
            StrideH=1,
            StrideW=1,
            FusedActivationFunction=act,
        )
        x = y
        if spec.pool:
            pooled = b.tensor(f"{spec.name}/pool", (1, *spec.output_shape), "int8", out_s, zp)
            b.op(
                "MAX_POOL_2D",
                [x],
                [pooled],
                "Pool2DOptions",
                Padding=VALID,
                StrideH=2,
                StrideW=2,
                FilterHeight=2,
                FilterWidth=2,
            )
            x = pooled
    last = model.layers[-1]
    logits = b.tensor(
        "logits", (1, lenet.NUM_CLASSES), "int8", scales[-1][1], last.output_zero_point
    )
    shape = b.const("logits/shape", np.array([-1, lenet.NUM_CLASSES], np.int32), "int32")
    b.op("RESHAPE", [x, shape], [logits])
    return b.build(inputs=[graph_input], outputs=[logits])


def lenet_onnx(model: lenet.LeNetModel | None = None) -> bytes:
    """The int8 LeNet-5 as an ONNX model (serialized ModelProto bytes)."""
    from accel.model.onnx_export import lenet_onnx_model

    return lenet_onnx_model(model or lenet.load_default(), _scales).SerializeToString()


FORMATS = {"tflite": lenet_tflite, "onnx": lenet_onnx}
