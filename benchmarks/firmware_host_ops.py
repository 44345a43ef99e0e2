"""A small int8 CNN with every host op, under firmware: CPU instructions per host op.

Writes ``--out-dir/demo.tflite`` (float32 input -> QUANTIZE -> CONV 3x3 -> DEPTHWISE 3x3
ReLU6 -> CONV 1x1 -> ADD (residual) -> AVERAGE_POOL 2x2 -> PAD -> MAX_POOL 3x3 / 2 SAME ->
CONCATENATION -> MEAN -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX -> DEQUANTIZE) with random
int8 weights and ``demo_x.npy`` (one float32 input), then runs it like ``python -m
accel.firmware --model demo.tflite --input demo_x.npy [--backend rtl]``: the per-op table
with the CPU instructions each host op retired (also per output element), and LiteRT's verdict
when ``ai-edge-litert`` is installed.

    python benchmarks/firmware_host_ops.py [--backend functional|rtl] [--size 16]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from accel.firmware.model_cli import run_model_file
from accel.model.tflite_builder import ACTIVATIONS, SAME, VALID, TFLiteBuilder


class _Demo:
    def __init__(self, seed: int):
        self.b = TFLiteBuilder("accel firmware demo")
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def t(self, shape, scale, zp, dtype="int8"):
        self.n += 1
        return self.b.tensor(f"t{self.n}", shape, dtype, scale, zp), tuple(shape), scale

    def weights(self, shape, x_scale, out_axis, K):
        self.n += 1
        M = shape[out_axis]
        scales = self.rng.uniform(0.004, 0.012, M)
        w = self.b.tensor(f"w{self.n}", shape, "int8", scales, np.zeros(M), self.rng.integers(
            -127, 128, shape), out_axis)  # fmt: skip
        bias = self.rng.integers(-500, 500, M) * K
        b = self.b.tensor(f"b{self.n}", (M,), "int32", np.float32(x_scale) * scales, 0, bias)
        return w, b, float(x_scale * scales.mean() * 60 * math.sqrt(K))

    def conv(self, x, M, k, act="NONE"):
        i, shape, scale = x
        w, b, out_scale = self.weights((M, k, k, shape[3]), scale, 0, k * k * shape[3])
        y = self.t((*shape[:3], M), out_scale, -100 if act != "NONE" else 5)
        self.b.op("CONV_2D", [i, w, b], [y[0]], "Conv2DOptions", Padding=SAME, StrideH=1,
                  StrideW=1, FusedActivationFunction=ACTIVATIONS[act])  # fmt: skip
        return y

    def depthwise(self, x, act):
        i, shape, scale = x
        w, b, out_scale = self.weights((1, 3, 3, shape[3]), scale, 3, 9)
        y = self.t(shape, out_scale, -100)
        self.b.op("DEPTHWISE_CONV_2D", [i, w, b], [y[0]], "DepthwiseConv2DOptions",
                  Padding=SAME, StrideH=1, StrideW=1, DepthMultiplier=1,
                  FusedActivationFunction=ACTIVATIONS[act])  # fmt: skip
        return y

    def pool(self, kind, x, k, stride, padding):
        i, (N, H, W, C), scale = x
        E = -(-H // stride) if padding == SAME else (H - k) // stride + 1
        F = -(-W // stride) if padding == SAME else (W - k) // stride + 1
        y = self.t((N, E, F, C), scale, self.b.tensors[i]["q"][1][0])
        self.b.op(kind, [i], [y[0]], "Pool2DOptions", Padding=padding, StrideH=stride,
                  StrideW=stride, FilterHeight=k, FilterWidth=k)  # fmt: skip
        return y


def demo_model(size: int, seed: int = 0) -> bytes:
    """The demo CNN on a (1, size, size, 8) float32 input."""
    d = _Demo(seed)
    C = 8
    xf = d.b.tensor("input", (1, size, size, C), "float32")
    x = d.t((1, size, size, C), 0.05, -3)
    d.b.op("QUANTIZE", [xf], [x[0]])
    a = d.conv(x, C, 3, "RELU")
    a = d.depthwise(a, "RELU6")
    a = d.conv(a, C, 1)
    r = d.t(x[1], 1.3 * max(x[2], a[2]), 2)
    d.b.op("ADD", [x[0], a[0]], [r[0]], "AddOptions", FusedActivationFunction=0)
    p = d.pool("AVERAGE_POOL_2D", r, 2, 2, VALID)
    n, h, w, _ = p[1]
    zp = d.b.tensors[p[0]]["q"][1][0]
    padded = d.t((n, h + 2, w + 2, C), p[2], zp)
    pads = d.b.const("pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32), "int32")
    d.b.op("PAD", [p[0], pads], [padded[0]])
    m = d.pool("MAX_POOL_2D", padded, 3, 2, SAME)
    cat = d.t((*m[1][:3], 2 * C), m[2], zp)
    d.b.op("CONCATENATION", [m[0], m[0]], [cat[0]], "ConcatenationOptions", Axis=3)
    mean = d.t((1, 1, 1, 2 * C), cat[2] * 0.5, -7)
    axes = d.b.const("axes", np.array([1, 2], np.int32), "int32")
    d.b.op("MEAN", [cat[0], axes], [mean[0]], "ReducerOptions", KeepDims=True)
    flat = d.t((1, 2 * C), mean[2], -7)
    shape = d.b.const("shape", np.array([-1, 2 * C], np.int32), "int32")
    d.b.op("RESHAPE", [mean[0], shape], [flat[0]])
    w, b, out_scale = d.weights((10, 2 * C), mean[2], 0, 2 * C)
    logits = d.t((1, 10), out_scale * 0.3, 0)
    d.b.op("FULLY_CONNECTED", [flat[0], w, b], [logits[0]], "FullyConnectedOptions")
    prob = d.t((1, 10), 1 / 256, -128)
    d.b.op("SOFTMAX", [logits[0]], [prob[0]], "SoftmaxOptions", Beta=1.0)
    yf = d.b.tensor("probabilities", (1, 10), "float32")
    d.b.op("DEQUANTIZE", [prob[0]], [yf])
    return d.b.build([xf], [yf])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("functional", "rtl"), default="functional")
    parser.add_argument("--size", type=int, default=16, help="input height and width")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="accel-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    model = out / "demo.tflite"
    model.write_bytes(demo_model(args.size))
    x = np.random.default_rng(1).uniform(-3, 3, (1, args.size, args.size, 8)).astype(np.float32)
    np.save(out / "demo_x.npy", x)
    print(f"python -m accel.firmware --model {model} --input {out / 'demo_x.npy'}")
    code = run_model_file(
        SimpleNamespace(model=model, input=out / "demo_x.npy", image=0, backend=args.backend,
                        out=out)
    )  # fmt: skip
    try:
        from ai_edge_litert import interpreter as litert
    except ImportError:
        return code
    from accel.firmware.run import graph_image, run_image_functional
    from accel.model import load_model
    from accel.spec.config import AccelConfig

    graph = load_model(model)
    result = run_image_functional(graph_image(graph, [x], AccelConfig()), AccelConfig())
    interp = litert.Interpreter(
        model_path=str(model), experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    expected = interp.get_tensor(interp.get_output_details()[0]["index"])
    same = np.array_equal(result["outputs"][0].view(np.uint32), expected.view(np.uint32))
    print(
        "LiteRT (reference kernels): "
        + ("equal output" if same else "DIFFERENT output (FULLY_CONNECTED rounding: docs/model.md)")
    )
    return code


if __name__ == "__main__":
    raise SystemExit(main())
