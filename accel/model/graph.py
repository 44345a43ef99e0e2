"""One graph representation for imported int8 models (TFLite and ONNX).

A :class:`Graph` holds named :class:`Tensor` objects and a list of :class:`Op` objects in
topological order. Every activation is NHWC (the ONNX importer inserts ``TRANSPOSE`` ops at
the edges of an NCHW model), weights of convolutions are (M, R, S, C) like
:class:`accel.ref.layer.QuantizedLayer`, and quantization follows TFLite: an int8 tensor
has a scale and a zero point (``real = scale * (q - zero_point)``), weights may carry one
scale per output channel (``quant_axis``). Attributes are resolved by the importers into one
canonical form (explicit paddings, integer clamp bounds), so the executor
(:mod:`accel.model.run`) and the host kernels (:mod:`accel.model.host_ops`) do not know where
a model came from.

Op types and their attributes (inputs in brackets; ``?`` optional):

=================== ==================================================================
CONV_2D             [x, w (M,R,S,C), bias?] stride (sh, sw), pads (top, bottom, left,
                    right), act_min, act_max, activation (name, informational)
DEPTHWISE_CONV_2D   [x, w (1,R,S,C*k), bias?] same + depth_multiplier k
FULLY_CONNECTED     [x, w (M,C), bias?] act_min, act_max, keep_num_dims
MAX_POOL_2D         [x] filter (fh, fw), stride, pads, act_min, act_max
AVERAGE_POOL_2D     [x] filter, stride, pads, act_min, act_max
MEAN                [x] axes (tuple), keep_dims
ADD                 [a, b] act_min, act_max (NumPy broadcasting)
RESHAPE             [x] shape (may hold one -1; dimension 0 is the batch)
PAD                 [x] pads ((before, after) per axis), value (raw int8 pad value)
CONCATENATION       [x0, x1, ...] axis, act_min, act_max
SOFTMAX             [x] beta
QUANTIZE            [x float32 or int8] -> int8
DEQUANTIZE          [x int8] -> float32
TRANSPOSE           [x] perm
=================== ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ModelError", "Tensor", "Op", "Graph", "OP_TYPES", "ACTIVATION_DTYPES"]

ACTIVATION_DTYPES = ("int8", "float32")
DTYPES = ("int8", "int32", "int64", "float32", "uint8", "int16", "float16", "bool")

#: op type -> (minimum, maximum) number of inputs (None: any number >= minimum).
OP_TYPES: dict[str, tuple[int, int | None]] = {
    "CONV_2D": (2, 3),
    "DEPTHWISE_CONV_2D": (2, 3),
    "FULLY_CONNECTED": (2, 3),
    "MAX_POOL_2D": (1, 1),
    "AVERAGE_POOL_2D": (1, 1),
    "MEAN": (1, 1),
    "ADD": (2, 2),
    "RESHAPE": (1, 1),
    "PAD": (1, 1),
    "CONCATENATION": (1, None),
    "SOFTMAX": (1, 1),
    "QUANTIZE": (1, 1),
    "DEQUANTIZE": (1, 1),
    "TRANSPOSE": (1, 1),
}

_REQUIRED_ATTRS = {
    "CONV_2D": ("stride", "pads", "act_min", "act_max"),
    "DEPTHWISE_CONV_2D": ("stride", "pads", "act_min", "act_max", "depth_multiplier"),
    "FULLY_CONNECTED": ("act_min", "act_max"),
    "MAX_POOL_2D": ("filter", "stride", "pads", "act_min", "act_max"),
    "AVERAGE_POOL_2D": ("filter", "stride", "pads", "act_min", "act_max"),
    "MEAN": ("axes", "keep_dims"),
    "ADD": ("act_min", "act_max"),
    "RESHAPE": ("shape",),
    "PAD": ("pads", "value"),
    "CONCATENATION": ("axis", "act_min", "act_max"),
    "SOFTMAX": ("beta",),
    "QUANTIZE": (),
    "DEQUANTIZE": (),
    "TRANSPOSE": ("perm",),
}

_INT8_IN_OUT = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "MAX_POOL_2D",
    "AVERAGE_POOL_2D",
    "MEAN",
    "ADD",
    "PAD",
    "CONCATENATION",
    "SOFTMAX",
}


class ModelError(ValueError):
    """A model file cannot be read, or holds something accel cannot run.

    The message names the file or the op (type and index) and what would be needed.
    """


def read_model_source(source: str | Path | bytes, name: str | None, kind: str) -> tuple[bytes, str]:
    """``(data, label)`` of a model given as a path or as bytes: its bytes and the name errors
    call it by (``name``, else the path, else ``<{kind} bytes>``)."""
    if isinstance(source, bytes | bytearray):
        return bytes(source), name or f"<{kind} bytes>"
    label = name or str(source)
    try:
        return Path(source).read_bytes(), label
    except OSError as exc:
        raise ModelError(f"{label}: cannot read ({exc.strerror or exc})") from None


@dataclass(eq=False)
class Tensor:
    """A named tensor: shape, dtype, optional quantization and optional constant data.

    ``scale`` and ``zero_point`` are 1-D arrays (length 1: per tensor; length K: per slice
    along ``quant_axis``) or None for unquantized tensors. Shapes of activations include the
    batch dimension the model was written with (usually 1).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    quant_axis: int | None = None
    data: np.ndarray | None = None

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        if self.scale is not None:
            self.scale = np.atleast_1d(np.asarray(self.scale, dtype=np.float64))
        if self.zero_point is not None:
            self.zero_point = np.atleast_1d(np.asarray(self.zero_point, dtype=np.int64))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    @property
    def per_channel(self) -> bool:
        return self.scale is not None and self.scale.size > 1

    @property
    def scalar_scale(self) -> float:
        """The per-tensor scale (raises for per-channel or unquantized tensors)."""
        if self.scale is None or self.scale.size != 1:
            raise ModelError(f"tensor {self.name!r} has no single per-tensor scale")
        return float(self.scale[0])

    @property
    def scalar_zero_point(self) -> int:
        if self.zero_point is None or self.zero_point.size != 1:
            raise ModelError(f"tensor {self.name!r} has no single per-tensor zero point")
        return int(self.zero_point[0])

    def describe(self) -> str:
        q = ""
        if self.scale is not None:
            if self.scale.size == 1:
                q = f", scale {self.scale[0]:.6g}, zero point {int(self.zero_point[0])}"
            else:
                q = f", {self.scale.size} scales along axis {self.quant_axis}"
        const = ", constant" if self.is_constant else ""
        return f"{self.name!r} {self.dtype} {list(self.shape)}{q}{const}"


@dataclass(eq=False)
class Op:
    """One operation: type, input and output tensor names, canonical attributes.

    ``index`` is the position in :attr:`Graph.ops`; ``origin`` says where it came from in
    the model file (for error messages), e.g. ``"TFLite operator 3 (CONV_2D)"``.
    """

    index: int
    type: str
    inputs: tuple[str | None, ...]
    outputs: tuple[str, ...]
    attrs: dict = field(default_factory=dict)
    origin: str = ""

    def where(self) -> str:
        text = f"op {self.index} ({self.type})"
        return f"{text}, {self.origin}" if self.origin else text


@dataclass(eq=False)
class Graph:
    """Tensors by name, ops in topological order, graph inputs and outputs."""

    tensors: dict[str, Tensor]
    ops: list[Op]
    inputs: list[str]
    outputs: list[str]
    source: str = ""
    input_layout: str = "NHWC"

    def tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise ModelError(f"unknown tensor {name!r}") from None

    def consumers(self, name: str) -> list[Op]:
        return [op for op in self.ops if name in op.inputs]

    def producer(self, name: str) -> Op | None:
        for op in self.ops:
            if name in op.outputs:
                return op
        return None

    def validate(self) -> Graph:
        """Check structure, dtypes and attributes; raise :class:`ModelError` naming the op."""
        if not self.inputs:
            raise ModelError(f"{self.source}: the graph has no inputs")
        if not self.outputs:
            raise ModelError(f"{self.source}: the graph has no outputs")
        defined = set()
        for name, tensor in self.tensors.items():
            if name != tensor.name:
                raise ModelError(f"tensor key {name!r} differs from its name {tensor.name!r}")
            if tensor.dtype not in DTYPES:
                raise ModelError(f"tensor {name!r} has unknown dtype {tensor.dtype!r}")
            if tensor.is_constant:
                defined.add(name)
            zp = tensor.zero_point
            if tensor.dtype == "int8" and zp is not None and (zp.min() < -128 or zp.max() > 127):
                raise ModelError(f"tensor {tensor.describe()}: zero point outside the int8 range")
        for name in self.inputs:
            tensor = self.tensor(name)
            if tensor.dtype not in ACTIVATION_DTYPES:
                raise ModelError(
                    f"{self.source}: graph input {tensor.describe()} must be int8 or float32"
                )
            defined.add(name)
        for position, op in enumerate(self.ops):
            if op.index != position:
                raise ModelError(f"{op.where()}: index differs from its position {position}")
            self._validate_op(op, defined)
            defined.update(op.outputs)
        for name in self.outputs:
            if name not in defined:
                raise ModelError(f"{self.source}: graph output {name!r} is never computed")
        return self

    def _validate_op(self, op: Op, defined: set[str]) -> None:
        if op.type not in OP_TYPES:
            raise ModelError(f"{op.where()}: unknown op type {op.type!r}")
        low, high = OP_TYPES[op.type]
        count = len(op.inputs)
        if count < low or (high is not None and count > high):
            raise ModelError(f"{op.where()}: {count} inputs, expected {low}..{high or 'any'}")
        if len(op.outputs) != 1:
            raise ModelError(f"{op.where()}: {len(op.outputs)} outputs, expected 1")
        for name in op.inputs:
            if name is None:
                continue
            self.tensor(name)
            if name not in defined:
                raise ModelError(
                    f"{op.where()}: input {name!r} is used before it is computed "
                    "(ops must be in topological order)"
                )
        out = op.outputs[0]
        if out in defined:
            raise ModelError(f"{op.where()}: output {out!r} is computed twice")
        self.tensor(out)
        missing = [a for a in _REQUIRED_ATTRS[op.type] if a not in op.attrs]
        if missing:
            raise ModelError(f"{op.where()}: missing attributes {', '.join(missing)}")
        if op.type in _INT8_IN_OUT:
            self._validate_int8(op)
        if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            self._validate_weights(op)

    def _validate_int8(self, op: Op) -> None:
        names = [n for n in op.inputs[:1] if n] + list(op.outputs)
        if op.type in ("ADD", "CONCATENATION"):
            names = [n for n in op.inputs if n] + list(op.outputs)
        for name in names:
            tensor = self.tensor(name)
            if tensor.dtype != "int8" or not tensor.quantized or tensor.per_channel:
                raise ModelError(
                    f"{op.where()}: tensor {tensor.describe()} must be int8 with one scale "
                    "and zero point (accel runs int8 models only; quantize the model first)"
                )
        for key in ("act_min", "act_max"):
            if key in op.attrs and not -128 <= op.attrs[key] <= 127:
                raise ModelError(f"{op.where()}: {key} {op.attrs[key]} outside the int8 range")

    def _validate_weights(self, op: Op) -> None:
        w = self.tensor(op.inputs[1])
        if not w.is_constant or w.dtype != "int8" or not w.quantized:
            raise ModelError(
                f"{op.where()}: weights {w.describe()} must be a constant int8 quantized tensor"
            )
        if np.any(w.zero_point != 0):
            raise ModelError(
                f"{op.where()}: weights {w.name!r} have a non-zero zero point "
                f"{w.zero_point.tolist()}; accel needs symmetric int8 weights (zero point 0)"
            )
        channels = w.shape[-1] if op.type == "DEPTHWISE_CONV_2D" else w.shape[0]
        axis = w.ndim - 1 if op.type == "DEPTHWISE_CONV_2D" else 0
        if w.scale.size not in (1, channels) or (w.per_channel and w.quant_axis != axis):
            raise ModelError(
                f"{op.where()}: weights {w.name!r} need one scale or one per output channel "
                f"along axis {axis}, found {w.scale.size} along axis {w.quant_axis}"
            )
        if len(op.inputs) > 2 and op.inputs[2] is not None:
            b = self.tensor(op.inputs[2])
            if not b.is_constant or b.dtype != "int32" or b.data.shape != (channels,):
                raise ModelError(
                    f"{op.where()}: bias {b.describe()} must be a constant int32 tensor of "
                    f"shape ({channels},)"
                )

    def summary(self) -> str:
        lines = [f"graph from {self.source}: inputs {self.inputs}, outputs {self.outputs}"]
        for op in self.ops:
            origin = f"   [{op.origin}]" if op.origin else ""
            inputs = [n for n in op.inputs if n]
            lines.append(f"  {op.index:3d} {op.type:<18} {inputs} -> {list(op.outputs)}{origin}")
        return "\n".join(lines)
