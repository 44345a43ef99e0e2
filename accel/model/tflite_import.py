"""Import int8 TFLite flatbuffers into :class:`accel.model.graph.Graph`.

Reads the file with the ``tflite`` package's generated schema classes. Supported operators:
CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN, ADD,
RESHAPE, PAD, PADV2, CONCATENATION, SOFTMAX, and QUANTIZE / DEQUANTIZE (at the edges of the
graph, or int8 -> int8 requantization). SAME padding is resolved to explicit (top, bottom,
left, right) paddings exactly as TFLite's ``ComputePaddingHeightWidth`` does (the odd extra
row/column goes at the bottom/right); fused RELU / RELU6 / RELU_N1_TO_1 become the integer
clamp TFLite's ``CalculateActivationRangeQuantized`` computes.

Anything else — a custom or unsupported operator, dilation, a float (non-quantized) model,
a malformed or truncated file — raises :class:`accel.model.graph.ModelError` naming the
file, the operator index and type, and what would be needed.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

from accel.model.graph import Graph, ModelError, Op, Tensor, read_model_source
from accel.model.host_ops import activation_range, same_padding

__all__ = ["load_tflite", "SUPPORTED_OPS"]

_DTYPES = {
    tflite.TensorType.FLOAT32: ("float32", np.float32),
    tflite.TensorType.FLOAT16: ("float16", np.float16),
    tflite.TensorType.INT32: ("int32", np.int32),
    tflite.TensorType.UINT8: ("uint8", np.uint8),
    tflite.TensorType.INT64: ("int64", np.int64),
    tflite.TensorType.BOOL: ("bool", np.bool_),
    tflite.TensorType.INT16: ("int16", np.int16),
    tflite.TensorType.INT8: ("int8", np.int8),
}
_ACTIVATIONS = {v: k for k, v in vars(tflite.ActivationFunctionType).items() if k.isupper()}
_PARSE_ERRORS = (
    IndexError,
    struct.error,
    ValueError,
    TypeError,
    UnicodeDecodeError,
    OverflowError,
    ZeroDivisionError,
    KeyError,
    AttributeError,
    MemoryError,
)


def load_tflite(source: str | Path | bytes, name: str | None = None) -> Graph:
    """Parse a TFLite model (path or bytes) into a validated :class:`Graph`."""
    data, label = read_model_source(source, name, "tflite")
    if len(data) < 8 or data[4:8] != b"TFL3":
        found = data[4:8] if len(data) >= 8 else data
        raise ModelError(
            f"{label}: not a TFLite flatbuffer (expected the file identifier b'TFL3' at bytes "
            f"4..7, found {found!r}; {len(data)} bytes)"
        )
    try:
        model = tflite.Model.GetRootAs(data, 0)
        return _Reader(model, data, label).graph()
    except ModelError:
        raise
    except _PARSE_ERRORS as exc:
        raise ModelError(
            f"{label}: malformed or truncated TFLite flatbuffer ({type(exc).__name__}: {exc})"
        ) from None


class _Reader:
    def __init__(self, model, data: bytes, label: str):
        self.model = model
        self.data = data
        self.label = label

    def fail(self, message: str):
        raise ModelError(f"{self.label}: {message}")

    # --- tensors -------------------------------------------------------------------------

    def graph(self) -> Graph:
        if self.model.SubgraphsLength() != 1:
            self.fail(
                f"{self.model.SubgraphsLength()} subgraphs; accel imports single-subgraph "
                "models (control flow such as IF/WHILE would need subgraph support)"
            )
        sg = self.model.Subgraphs(0)
        self.names = []
        self.tensors: dict[str, Tensor] = {}
        for i in range(sg.TensorsLength()):
            tensor = self._tensor(sg.Tensors(i), i)
            self.names.append(tensor.name)
            self.tensors[tensor.name] = tensor
        self.ops: list[Op] = []
        for i in range(sg.OperatorsLength()):
            self.ops.append(self._operator(sg.Operators(i), i))
        inputs = [self.names[int(i)] for i in sg.InputsAsNumpy()]
        outputs = [self.names[int(i)] for i in sg.OutputsAsNumpy()]
        graph = Graph(self.tensors, self.ops, inputs, outputs, source=self.label)
        try:
            return graph.validate()
        except ModelError as exc:
            raise ModelError(f"{self.label}: {exc}") from None

    def _tensor(self, t, index: int) -> Tensor:
        name = (t.Name() or b"").decode() or f"tensor{index}"
        if name in (self.names or []):
            name = f"{name}#{index}"
        kind = t.Type()
        if kind not in _DTYPES:
            self.fail(f"tensor {index} ({name!r}) has unsupported type {kind}")
        dtype, np_type = _DTYPES[kind]
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            self.fail(f"tensor {index} ({name!r}) has a dynamic shape {list(shape)}")
        if any(d == 0 for d in shape):
            self.fail(f"tensor {index} ({name!r}) has an empty dimension {list(shape)}")
        scale = zero_point = axis = None
        q = t.Quantization()
        if q is not None and q.ScaleLength() > 0:
            scale = q.ScaleAsNumpy().astype(np.float64)
            zero_point = (
                q.ZeroPointAsNumpy().astype(np.int64)
                if q.ZeroPointLength()
                else np.zeros(scale.size, np.int64)
            )
            if zero_point.size != scale.size:
                self.fail(f"tensor {index} ({name!r}): {scale.size} scales, {zero_point.size} zps")
            with np.errstate(invalid="ignore"):
                bad = not np.all(np.isfinite(scale)) or np.any(scale <= 0)
            if bad:
                self.fail(f"tensor {index} ({name!r}): scales must be finite and > 0")
            axis = int(q.QuantizedDimension()) if scale.size > 1 else None
        data = self._buffer(t.Buffer(), shape, np_type, name)
        return Tensor(name, shape, dtype, scale, zero_point, axis, data)

    def _buffer(self, index: int, shape, np_type, name: str) -> np.ndarray | None:
        if index == 0 or index >= self.model.BuffersLength():
            if index >= max(self.model.BuffersLength(), 1):
                self.fail(f"tensor {name!r} refers to buffer {index}, which does not exist")
            return None
        buf = self.model.Buffers(index)
        offset = buf.Offset()
        if offset > 1:  # data stored after the flatbuffer (models > 2 GB)
            raw = self.data[offset : offset + buf.Size()]
            expected = buf.Size()
        elif buf.DataLength() == 0:
            return None
        else:
            raw = buf.DataAsNumpy().tobytes()
            expected = buf.DataLength()
        count = int(np.prod(shape)) if shape else 1
        itemsize = np.dtype(np_type).itemsize
        if len(raw) != expected or len(raw) != count * itemsize:
            self.fail(
                f"tensor {name!r}: buffer {index} holds {len(raw)} bytes, expected "
                f"{count * itemsize} for shape {list(shape)} (truncated or malformed file)"
            )
        return np.frombuffer(raw, dtype=np.dtype(np_type).newbyteorder("<")).reshape(shape).copy()

    # --- operators -----------------------------------------------------------------------

    def _opname(self, op, index: int) -> str:
        if op.OpcodeIndex() >= self.model.OperatorCodesLength():
            self.fail(f"operator {index} refers to missing operator code {op.OpcodeIndex()}")
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        if builtin == tflite.BuiltinOperator.CUSTOM:
            custom = (code.CustomCode() or b"?").decode(errors="replace")
            self.fail(
                f"operator {index} is the custom operator {custom!r}, which accel does not "
                f"support (supported: {', '.join(SUPPORTED_OPS)})"
            )
        return BUILTIN_OPCODE2NAME.get(builtin, f"builtin code {builtin}")

    def _operator(self, op, index: int) -> Op:
        opname = self._opname(op, index)
        where = f"operator {index} ({opname})"
        if opname not in SUPPORTED_OPS:
            self.fail(
                f"{where} is not supported by accel (supported: {', '.join(SUPPORTED_OPS)}); "
                "it would need a host kernel in accel.model.host_ops and an importer rule"
            )
        inputs = [None if int(i) < 0 else self.names[int(i)] for i in op.InputsAsNumpy()]
        outputs = [self.names[int(i)] for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        self._check_int8(where, opname, inputs, outputs)
        ctx = _OpContext(self, op, index, opname, where, inputs, outputs)
        return _CONVERTERS[opname](ctx)

    def _check_int8(self, where: str, opname: str, inputs, outputs) -> None:
        first = [n for n in inputs[:1] if n]
        for name in first + outputs:
            t = self.tensors[name]
            if t.dtype == "float32" and opname not in ("QUANTIZE", "DEQUANTIZE"):
                self.fail(
                    f"{where}: tensor {t.describe()} is float32: this is a float "
                    "(non-quantized) model; accel runs int8 models — convert it with full "
                    "integer post-training quantization (int8 weights and activations)"
                )
            if t.dtype in ("uint8", "int16", "float16"):
                self.fail(
                    f"{where}: tensor {t.describe()} is {t.dtype}; accel runs int8 models "
                    "(int8 activations and weights, int32 bias)"
                )


class _OpContext:
    """One operator being converted: its options table and helpers for errors."""

    def __init__(self, reader: _Reader, op, index, opname, where, inputs, outputs):
        self.reader, self.op, self.index, self.opname = reader, op, index, opname
        self.where, self.inputs, self.outputs = where, inputs, outputs

    def fail(self, message: str):
        self.reader.fail(f"{self.where}: {message}")

    def options(self, cls_name: str):
        table = self.op.BuiltinOptions()
        opts = getattr(tflite, cls_name)()
        if table is None:
            return None
        opts.Init(table.Bytes, table.Pos)
        return opts

    def required_options(self, cls_name: str):
        """The options table of an operator that cannot do without one."""
        opts = self.options(cls_name)
        if opts is None:
            self.fail(f"missing {cls_name}")
        return opts

    def with_bias(self) -> list:
        """The inputs x, w and bias of a convolution or fully connected op (None: no bias)."""
        return self.inputs[:3] + [None] * (3 - len(self.inputs))

    def tensor(self, position: int) -> Tensor:
        if position >= len(self.inputs) or self.inputs[position] is None:
            self.fail(f"input {position} is missing")
        return self.reader.tensors[self.inputs[position]]

    def out(self) -> Tensor:
        if len(self.outputs) != 1:
            self.fail(f"{len(self.outputs)} outputs, expected 1")
        return self.reader.tensors[self.outputs[0]]

    def const_values(self, position: int, what: str) -> np.ndarray:
        t = self.tensor(position)
        if t.data is None:
            self.fail(f"{what} (input {position}, {t.name!r}) must be a constant tensor")
        return t.data

    def activation(self, code: int) -> tuple[str, int, int]:
        name = _ACTIVATIONS.get(code, str(code))
        if name not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            self.fail(
                f"fused activation {name} is not supported (NONE, RELU, RELU6 and "
                "RELU_N1_TO_1 are: a clamp; this one would need a host kernel)"
            )
        out = self.out()
        lo, hi = activation_range(name, out.scalar_scale, out.scalar_zero_point)
        return name, lo, hi

    def make(self, op_type: str, inputs, attrs: dict) -> Op:
        return Op(
            self.index,
            op_type,
            tuple(inputs),
            tuple(self.outputs),
            attrs,
            origin=f"TFLite operator {self.index} ({self.opname})",
        )

    def same_quant(self, a: Tensor, b: Tensor) -> None:
        if a.scalar_scale != b.scalar_scale or a.scalar_zero_point != b.scalar_zero_point:
            self.fail(
                f"input {a.describe()} and output {b.describe()} must have the same scale and "
                "zero point (as TFLite requires for this op)"
            )


def _padding(ctx: _OpContext, code: int, x: Tensor, kh: int, kw: int, sh: int, sw: int):
    if len(x.shape) != 4:
        ctx.fail(f"input {x.describe()} must be 4-D NHWC")
    if min(kh, kw, sh, sw) < 1:
        ctx.fail(f"window {kh}x{kw} and stride {sh}x{sw} must be >= 1")
    if code == tflite.Padding.VALID and (kh > x.shape[1] or kw > x.shape[2]):
        ctx.fail(f"window {kh}x{kw} is larger than the input {x.describe()} (VALID padding)")
    if code == tflite.Padding.VALID:
        return (0, 0, 0, 0)
    if code == tflite.Padding.SAME:
        return same_padding(x.shape[1], kh, sh) + same_padding(x.shape[2], kw, sw)
    ctx.fail(f"padding type {code} is not supported (SAME or VALID)")


def _conv_options(ctx: _OpContext, cls_name: str):
    """The options of a (depthwise) convolution: there, and without dilation."""
    opts = ctx.required_options(cls_name)
    dh, dw = opts.DilationHFactor(), opts.DilationWFactor()
    if (dh, dw) != (1, 1):
        ctx.fail(
            f"dilation {dh}x{dw} is not supported: it would need dilated convolution in the "
            "golden model and the accelerator's address generators"
        )
    return opts


def _conv_attrs(ctx: _OpContext, opts, x: Tensor, w: Tensor) -> dict:
    """Stride, explicit paddings and fused activation of a (depthwise) convolution."""
    sh, sw = opts.StrideH(), opts.StrideW()
    pads = _padding(ctx, opts.Padding(), x, w.shape[1], w.shape[2], sh, sw)
    act, lo, hi = ctx.activation(opts.FusedActivationFunction())
    return dict(stride=(sh, sw), pads=pads, act_min=lo, act_max=hi, activation=act)


def _conv(ctx: _OpContext) -> Op:
    opts = _conv_options(ctx, "Conv2DOptions")
    x, w = ctx.tensor(0), ctx.tensor(1)
    if len(w.shape) != 4 or len(x.shape) != 4 or w.shape[3] != x.shape[3]:
        ctx.fail(
            f"weights {w.describe()} must be (M, R, S, C) with C = the input channels of "
            f"{x.describe()} (grouped convolution would need splitting into groups)"
        )
    return ctx.make("CONV_2D", ctx.with_bias(), _conv_attrs(ctx, opts, x, w))


def _depthwise(ctx: _OpContext) -> Op:
    opts = _conv_options(ctx, "DepthwiseConv2DOptions")
    x, w = ctx.tensor(0), ctx.tensor(1)
    if len(w.shape) != 4 or w.shape[0] != 1 or w.shape[3] % x.shape[3]:
        ctx.fail(f"weights {w.describe()} must be (1, R, S, C * depth_multiplier)")
    attrs = _conv_attrs(ctx, opts, x, w) | {"depth_multiplier": w.shape[3] // x.shape[3]}
    return ctx.make("DEPTHWISE_CONV_2D", ctx.with_bias(), attrs)


def _fully_connected(ctx: _OpContext) -> Op:
    opts = ctx.options("FullyConnectedOptions")
    act, lo, hi = ctx.activation(opts.FusedActivationFunction() if opts else 0)
    keep = bool(opts.KeepNumDims()) if opts else False
    if opts is not None and opts.WeightsFormat() != 0:
        ctx.fail("shuffled weights format is not supported (DEFAULT weights would be needed)")
    x, w = ctx.tensor(0), ctx.tensor(1)
    if len(w.shape) != 2 or int(np.prod(x.shape)) % w.shape[1]:
        ctx.fail(f"weights {w.describe()} must be (M, C) with C dividing the input size")
    attrs = dict(act_min=lo, act_max=hi, activation=act, keep_num_dims=keep)
    return ctx.make("FULLY_CONNECTED", ctx.with_bias(), attrs)


def _pool(ctx: _OpContext) -> Op:
    opts = ctx.required_options("Pool2DOptions")
    x = ctx.tensor(0)
    ctx.same_quant(x, ctx.out())
    fh, fw, sh, sw = opts.FilterHeight(), opts.FilterWidth(), opts.StrideH(), opts.StrideW()
    pads = _padding(ctx, opts.Padding(), x, fh, fw, sh, sw)
    act, lo, hi = ctx.activation(opts.FusedActivationFunction())
    attrs = dict(filter=(fh, fw), stride=(sh, sw), pads=pads, act_min=lo, act_max=hi)
    attrs["activation"] = act
    return ctx.make(ctx.opname, ctx.inputs[:1], attrs)


def _mean(ctx: _OpContext) -> Op:
    opts = ctx.options("ReducerOptions")
    axes = tuple(int(a) for a in np.atleast_1d(ctx.const_values(1, "the axes")))
    return ctx.make(
        "MEAN", ctx.inputs[:1], dict(axes=axes, keep_dims=bool(opts and opts.KeepDims()))
    )


def _add(ctx: _OpContext) -> Op:
    opts = ctx.options("AddOptions")
    act, lo, hi = ctx.activation(opts.FusedActivationFunction() if opts else 0)
    for position in (0, 1):
        if ctx.tensor(position).dtype != "int8":
            ctx.fail(f"input {ctx.tensor(position).describe()} must be int8")
    return ctx.make("ADD", ctx.inputs[:2], dict(act_min=lo, act_max=hi, activation=act))


def _reshape(ctx: _OpContext) -> Op:
    x, out = ctx.tensor(0), ctx.out()
    if int(np.prod(x.shape)) != int(np.prod(out.shape)):
        ctx.fail(f"output {out.describe()} has a different size than input {x.describe()}")
    if x.quantized and out.quantized:
        ctx.same_quant(x, out)
    return ctx.make("RESHAPE", ctx.inputs[:1], dict(shape=out.shape))


def _pad(ctx: _OpContext) -> Op:
    x, out = ctx.tensor(0), ctx.out()
    ctx.same_quant(x, out)
    paddings = ctx.const_values(1, "the paddings")
    if paddings.shape != (len(x.shape), 2) or paddings.min() < 0:
        ctx.fail(f"paddings {paddings.tolist()} must be non-negative (rank, 2)")
    value = out.scalar_zero_point
    if ctx.opname == "PADV2" and len(ctx.inputs) > 2 and ctx.inputs[2] is not None:
        value = int(np.asarray(ctx.const_values(2, "the pad value")).reshape(-1)[0])
    pads = tuple((int(a), int(b)) for a, b in paddings)
    return ctx.make("PAD", ctx.inputs[:1], dict(pads=pads, value=value))


def _concatenation(ctx: _OpContext) -> Op:
    opts = ctx.options("ConcatenationOptions")
    act = _ACTIVATIONS.get(opts.FusedActivationFunction() if opts else 0)
    if act != "NONE":
        ctx.fail(f"fused activation {act} on CONCATENATION is not supported (NONE is)")
    axis = opts.Axis() if opts else 0
    rank = len(ctx.out().shape)
    for name in ctx.inputs:
        if ctx.reader.tensors[name].dtype != "int8":
            ctx.fail(f"input {ctx.reader.tensors[name].describe()} must be int8")
    attrs = dict(axis=axis + rank if axis < 0 else axis, act_min=-128, act_max=127)
    return ctx.make("CONCATENATION", ctx.inputs, attrs)


def _softmax(ctx: _OpContext) -> Op:
    opts = ctx.options("SoftmaxOptions")
    out = ctx.out()
    if out.scalar_zero_point != -128 or np.float32(out.scalar_scale) != np.float32(1 / 256):
        ctx.fail(f"output {out.describe()} must have scale 1/256 and zero point -128 (TFLite int8)")
    return ctx.make("SOFTMAX", ctx.inputs[:1], dict(beta=float(opts.Beta()) if opts else 1.0))


def _quantize(ctx: _OpContext) -> Op:
    x, out = ctx.tensor(0), ctx.out()
    if out.dtype != "int8" or x.dtype not in ("float32", "int8"):
        ctx.fail(f"{x.describe()} -> {out.describe()}: only float32/int8 -> int8 is supported")
    return ctx.make("QUANTIZE", ctx.inputs[:1], {})


def _dequantize(ctx: _OpContext) -> Op:
    x, out = ctx.tensor(0), ctx.out()
    if x.dtype != "int8" or out.dtype != "float32":
        ctx.fail(f"{x.describe()} -> {out.describe()}: only int8 -> float32 is supported")
    return ctx.make("DEQUANTIZE", ctx.inputs[:1], {})


_CONVERTERS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "MAX_POOL_2D": _pool,
    "AVERAGE_POOL_2D": _pool,
    "MEAN": _mean,
    "ADD": _add,
    "RESHAPE": _reshape,
    "PAD": _pad,
    "PADV2": _pad,
    "CONCATENATION": _concatenation,
    "SOFTMAX": _softmax,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
}
SUPPORTED_OPS = tuple(_CONVERTERS)  # the TFLite operators the importer converts
