"""Generated int8 TFLite models for the tests: random int8 weights, realistic scales.

:class:`Net` wraps :class:`accel.model.tflite_builder.TFLiteBuilder` with one method per
operator; each picks an output scale that spreads the results over tens of int8 steps (some
saturate, as in real models) and a random output zero point.
"""

from dataclasses import dataclass

import numpy as np

from accel.model.tflite_builder import ACTIVATIONS, SAME, VALID, TFLiteBuilder

__all__ = ["Net", "T", "SAME", "VALID"]


@dataclass
class T:
    index: int
    shape: tuple
    scale: float
    zp: int
    dtype: str = "int8"


def _out(size, k, stride, padding):
    return -(-size // stride) if padding == SAME else (size - k) // stride + 1


class Net:
    def __init__(self, seed: int = 0):
        self.b = TFLiteBuilder("accel test model")
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def _name(self, what):
        self.count += 1
        return f"{what}{self.count}"

    def tensor(self, shape, scale, zp, dtype="int8", name="t"):
        index = self.b.tensor(self._name(name), shape, dtype, scale, zp)
        return T(index, tuple(shape), float(np.float32(scale)), int(zp), dtype)

    def input(self, shape, scale=0.05, zp=-3):
        return self.tensor(shape, scale, zp, name="input")

    def float_input(self, shape):
        index = self.b.tensor(self._name("input"), shape, "float32")
        return T(index, tuple(shape), 1.0, 0, "float32")

    def _out_zp(self, act):
        return (
            int(self.rng.integers(-128, -60)) if act != "NONE" else int(self.rng.integers(-30, 30))
        )

    def _weights(self, shape, channels, per_channel, x, K, spread):
        w = self.rng.integers(-127, 128, size=shape)
        scales = self.rng.uniform(0.002, 0.02, channels if per_channel else 1)
        name = self._name("w")
        axis = len(shape) - 1 if shape[0] == 1 and len(shape) == 4 and channels > 1 else 0
        wi = self.b.tensor(name, shape, "int8", scales, np.zeros(scales.size), w, axis)
        bias_scale = np.float32(x.scale) * scales.astype(np.float32)
        bias = self.rng.integers(-2000, 2000, size=channels) * K
        bi = self.b.tensor(self._name("b"), (channels,), "int32", bias_scale, 0, bias, 0)
        out_scale = x.scale * float(scales.mean()) * 74 * 73 * np.sqrt(K) / spread
        return wi, bi, out_scale

    def conv(self, x, M, k, stride=1, padding=SAME, act="NONE", per_channel=True, spread=40.0):
        N, H, W, C = x.shape
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        w, b, out_scale = self._weights((M, kh, kw, C), M, per_channel, x, kh * kw * C, spread)
        shape = (N, _out(H, kh, sh, padding), _out(W, kw, sw, padding), M)
        y = self.tensor(shape, out_scale, self._out_zp(act))
        fields = dict(Padding=padding, StrideH=sh, StrideW=sw)
        fields["FusedActivationFunction"] = ACTIVATIONS[act]
        self.b.op("CONV_2D", [x.index, w, b], [y.index], "Conv2DOptions", **fields)
        return y

    def depthwise(self, x, k, multiplier=1, stride=1, padding=SAME, act="NONE"):
        N, H, W, C = x.shape
        M = C * multiplier
        w, b, out_scale = self._weights((1, k, k, M), M, True, x, k * k, 30.0)
        shape = (N, _out(H, k, stride, padding), _out(W, k, stride, padding), M)
        y = self.tensor(shape, out_scale, self._out_zp(act))
        fields = dict(Padding=padding, StrideH=stride, StrideW=stride, DepthMultiplier=multiplier)
        fields["FusedActivationFunction"] = ACTIVATIONS[act]
        self.b.op(
            "DEPTHWISE_CONV_2D", [x.index, w, b], [y.index], "DepthwiseConv2DOptions", **fields
        )
        return y

    def fc(self, x, M, per_channel=False, act="NONE"):
        C = x.shape[-1]
        w, b, out_scale = self._weights((M, C), M, per_channel, x, C, 40.0)
        y = self.tensor((x.shape[0], M), out_scale, self._out_zp(act))
        self.b.op(
            "FULLY_CONNECTED",
            [x.index, w, b],
            [y.index],
            "FullyConnectedOptions",
            FusedActivationFunction=ACTIVATIONS[act],
        )
        return y

    def pool(self, x, kind, k, stride, padding, act="NONE"):
        N, H, W, C = x.shape
        shape = (N, _out(H, k, stride, padding), _out(W, k, stride, padding), C)
        y = self.tensor(shape, x.scale, x.zp)
        fields = dict(Padding=padding, StrideH=stride, StrideW=stride, FilterHeight=k)
        fields.update(FilterWidth=k, FusedActivationFunction=ACTIVATIONS[act])
        self.b.op(kind, [x.index], [y.index], "Pool2DOptions", **fields)
        return y

    def mean(self, x, keep_dims=True, same_params=False, axes=(1, 2)):
        N, H, W, C = x.shape
        shape = (N, 1, 1, C) if keep_dims else (N, C)
        if same_params:
            y = self.tensor(shape, x.scale, x.zp)
        else:
            y = self.tensor(shape, x.scale * 0.37, int(self.rng.integers(-20, 20)))
        axis = self.b.const(self._name("axes"), np.array(axes, np.int32), "int32")
        self.b.op("MEAN", [x.index, axis], [y.index], "ReducerOptions", KeepDims=keep_dims)
        return y

    def add(self, a, b, act="NONE"):
        scale = 1.3 * max(a.scale, b.scale)
        y = self.tensor(a.shape, scale, self._out_zp(act))
        self.b.op(
            "ADD",
            [a.index, b.index],
            [y.index],
            "AddOptions",
            FusedActivationFunction=ACTIVATIONS[act],
        )
        return y

    def reshape(self, x, shape):
        y = self.tensor(shape, x.scale, x.zp)
        target = list(shape)
        target[0] = -1
        s = self.b.const(self._name("shape"), np.array(target, np.int32), "int32")
        self.b.op("RESHAPE", [x.index, s], [y.index])
        return y

    def pad(self, x, pads):
        shape = tuple(d + a + b for d, (a, b) in zip(x.shape, pads, strict=True))
        y = self.tensor(shape, x.scale, x.zp)
        p = self.b.const(self._name("pads"), np.array(pads, np.int32), "int32")
        self.b.op("PAD", [x.index, p], [y.index])
        return y

    def concat(self, xs, axis=3):
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        y = self.tensor(shape, xs[0].scale, xs[0].zp)
        self.b.op(
            "CONCATENATION", [x.index for x in xs], [y.index], "ConcatenationOptions", Axis=axis
        )
        return y

    def softmax(self, x, beta=1.0):
        y = self.tensor(x.shape, 1 / 256, -128)
        self.b.op("SOFTMAX", [x.index], [y.index], "SoftmaxOptions", Beta=beta)
        return y

    def quantize(self, x, scale=0.05, zp=-3):
        y = self.tensor(x.shape, scale, zp)
        self.b.op("QUANTIZE", [x.index], [y.index])
        return y

    def dequantize(self, x):
        index = self.b.tensor(self._name("float"), x.shape, "float32")
        self.b.op("DEQUANTIZE", [x.index], [index])
        return T(index, x.shape, 1.0, 0, "float32")

    def build(self, inputs, outputs) -> bytes:
        return self.b.build([t.index for t in inputs], [t.index for t in outputs])

    def random_input(self, x, batch=2):
        shape = (batch, *x.shape[1:])
        if x.dtype == "float32":
            return self.rng.uniform(-4, 4, size=shape).astype(np.float32)
        return self.rng.integers(-128, 128, size=shape).astype(np.int8)
