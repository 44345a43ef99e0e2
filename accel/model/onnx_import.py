"""Import int8 ONNX models (QLinearConv / QLinearMatMul, or QDQ) into the same graph.

Two quantized forms are accepted, also mixed:

* **QLinear operators** on int8 tensors: ``QLinearConv``, ``QLinearMatMul``, and the
  int8-capable ``MaxPool``, ``Reshape``, ``Flatten``;
* **QDQ**: a float operator whose inputs come from ``DequantizeLinear`` and whose output goes
  (optionally through ``Relu`` or ``Clip``) to one ``QuantizeLinear``: ``Conv`` (``group``
  1, or depthwise), ``Gemm``, ``MatMul``, ``MaxPool``, ``AveragePool``,
  ``GlobalAveragePool``, ``Add``, ``Concat``, ``Reshape``, ``Flatten``, ``Softmax``.
  The group becomes one int8 op of the graph whose output is the ``QuantizeLinear`` output.

``QuantizeLinear`` on a float graph input and ``DequantizeLinear`` on a graph output become
QUANTIZE / DEQUANTIZE. ONNX activations are NCHW; the graph is NHWC, so the importer puts a
TRANSPOSE after each 4-D graph input and before each 4-D graph output, maps axes, and
transposes to NCHW before a Reshape/Flatten of a 4-D tensor (the flatten order of ONNX).

Numerics. ONNX runtimes requantize in floating point (onnxruntime: ``acc * (float)
(x_scale * w_scale / y_scale)``, rounded to nearest even). The graph uses TFLite's fixed
point instead: the real multiplier is computed in double from the float32 scales,
``(double) x_scale * (double) w_scale[m] / (double) y_scale``, and turned into
``(multiplier, shift)`` by :func:`accel.ref.quant.quantize_multiplier` (round half away from
zero to Q0.31) — exactly what a TFLite file with the same scales would give. A float bias
(QDQ) is quantized as ``round(b / (x_scale * w_scale[m]))``. ``docs/model.md`` reports the
measured differences against onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from accel.model.graph import Graph, ModelError, Op, Tensor, read_model_source
from accel.model.host_ops import activation_range, same_padding
from accel.ref.quant import INT8_MAX, INT8_MIN, round_half_away_from_zero

__all__ = ["load_onnx", "SUPPORTED_OPS"]

SUPPORTED_OPS = (
    "QLinearConv",
    "QLinearMatMul",
    "QuantizeLinear",
    "DequantizeLinear",
    "Conv",
    "Gemm",
    "MatMul",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Add",
    "Concat",
    "Reshape",
    "Flatten",
    "Softmax",
    "Relu",
    "Clip",
    "Constant",
)
_NHWC = (0, 2, 3, 1)  # NCHW -> NHWC
_NCHW = (0, 3, 1, 2)  # NHWC -> NCHW
_AXIS4 = {0: 0, 1: 3, 2: 1, 3: 2}  # NCHW axis -> NHWC axis


def load_onnx(source: str | Path | bytes, name: str | None = None) -> Graph:
    """Parse an ONNX model (path or bytes) into a validated :class:`Graph`."""
    import onnx
    from google.protobuf.message import DecodeError

    data, label = read_model_source(source, name, "onnx")
    try:
        model = onnx.load_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{label}: not a valid ONNX model (protobuf: {exc})") from None
    if not model.graph.node:
        raise ModelError(f"{label}: not a valid ONNX model (no graph nodes)")
    try:
        return _Importer(model, label).run()
    except ModelError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, ZeroDivisionError) as exc:
        raise ModelError(f"{label}: malformed ONNX model ({type(exc).__name__}: {exc})") from None


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Importer:
    def __init__(self, model, label: str):
        from onnx import numpy_helper

        self.model, self.label = model, label
        g = model.graph
        self.consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        for node in g.node:
            if node.op_type == "Constant":
                self.consts[node.output[0]] = numpy_helper.to_array(_attrs(node)["value"])
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.names: dict[str, str] = {}  # ONNX activation -> graph tensor (NHWC if 4-D)
        self.alias: dict[str, str] = {}  # DequantizeLinear output -> its int8 source
        self.float_consts: dict[str, tuple] = {}  # DQ of an initializer -> (data, scale, zp)
        self.done: set[int] = set()
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(g.node):
            for name in node.input:
                self.consumers.setdefault(name, []).append(i)
        self.graph_outputs = [o.name for o in g.output]

    def fail(self, message: str):
        raise ModelError(f"{self.label}: {message}")

    # --- tensors -------------------------------------------------------------------------

    def _new(self, name, shape, dtype, scale=None, zp=None, axis=None, data=None) -> str:
        base, k = name, 1
        while name in self.tensors:
            k += 1
            name = f"{base}#{k}"
        self.tensors[name] = Tensor(name, shape, dtype, scale, zp, axis, data)
        return name

    def _op(self, index, op_type, inputs, output, attrs, what) -> None:
        self.ops.append(Op(len(self.ops), op_type, tuple(inputs), (output,), attrs, what))

    def _qparams(self, where: str, scale_name: str, zp_name: str | None, per_axis=False):
        if scale_name not in self.consts:
            self.fail(f"{where}: scale {scale_name!r} must be a constant initializer")
        scale = np.asarray(self.consts[scale_name], dtype=np.float64).reshape(-1)
        if zp_name:
            if zp_name not in self.consts:
                self.fail(f"{where}: zero point {zp_name!r} must be a constant initializer")
            zp_array = self.consts[zp_name]
            if zp_array.dtype != np.int8 and zp_array.dtype != np.int32:
                self.fail(
                    f"{where}: zero point {zp_name!r} is {zp_array.dtype}; accel runs int8 "
                    "models (int8 activations and weights; re-quantize uint8 models as int8)"
                )
            zp = np.asarray(zp_array, dtype=np.int64).reshape(-1)
        else:
            zp = np.zeros(scale.size, np.int64)
        if scale.size > 1 and not per_axis:
            self.fail(f"{where}: activations need one scale, found {scale.size}")
        return scale, zp

    def _activation(self, where: str, name: str) -> Tensor:
        """The int8 graph tensor behind ONNX activation ``name`` (through a DQ alias)."""
        source = self.alias.get(name, name)
        if source not in self.names:
            if source in self.consts or name in self.float_consts:
                self.fail(f"{where}: input {name!r} is a constant; an activation is needed")
            self.fail(
                f"{where}: input {name!r} is not an int8 tensor (float activations must come "
                "from DequantizeLinear in a QDQ model)"
            )
        return self.tensors[self.names[source]]

    def _int8_const(self, where: str, name: str, what: str) -> np.ndarray:
        array = self.consts.get(name)
        if array is None or array.dtype != np.int8:
            found = "not a constant" if array is None else array.dtype
            self.fail(f"{where}: {what} {name!r} must be an int8 initializer ({found})")
        return array

    # --- graph edges ---------------------------------------------------------------------

    def _inputs(self) -> list[str]:
        from onnx import TensorProto

        inputs = []
        for value in self.model.graph.input:
            if value.name in self.consts:
                continue
            t = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]
            dtype = {TensorProto.INT8: "int8", TensorProto.FLOAT: "float32"}.get(t.elem_type)
            if dtype is None:
                self.fail(
                    f"graph input {value.name!r} has element type {t.elem_type}; accel takes "
                    "int8 (or float32 followed by QuantizeLinear) inputs"
                )
            inputs.append((value.name, tuple(dims), dtype))
        return inputs

    def _edge_input(self, name: str, shape, dtype, scale, zp) -> None:
        graph_name = self._new(name, shape, dtype, scale, zp)
        self.inputs.append(graph_name)
        if len(shape) == 4:
            nhwc = self._new(f"{name}/nhwc", tuple(shape[i] for i in _NHWC), dtype, scale, zp)
            self._op(None, "TRANSPOSE", [graph_name], nhwc, {"perm": _NHWC}, "layout: NCHW->NHWC")
            graph_name = nhwc
        self.names[name] = graph_name

    def run(self) -> Graph:
        self.inputs = []
        self.pending_float = {}
        for name, shape, dtype in self._inputs():
            if dtype == "int8":
                scale, zp = self._input_qparams(name)
                self._edge_input(name, shape, dtype, scale, zp)
            else:
                self.pending_float[name] = shape
        for index, node in enumerate(self.model.graph.node):
            if index in self.done or node.op_type == "Constant":
                continue
            self._node(index, node)
        outputs = [self._edge_output(name) for name in self.graph_outputs]
        graph = Graph(self.tensors, self.ops, self.inputs, outputs, self.label, "NCHW")
        try:
            return graph.validate()
        except ModelError as exc:
            raise ModelError(f"{self.label}: {exc}") from None

    def _input_qparams(self, name: str):
        """An int8 graph input takes its parameters from its first quantized consumer."""
        for index in self.consumers.get(name, []):
            node = self.model.graph.node[index]
            if node.op_type == "QLinearConv" and node.input[0] == name:
                return self._qparams(f"node {node.name!r}", node.input[1], node.input[2])
            if node.op_type == "QLinearMatMul" and node.input[0] == name:
                return self._qparams(f"node {node.name!r}", node.input[1], node.input[2])
            if node.op_type == "DequantizeLinear":
                zp = node.input[2] if len(node.input) > 2 else None
                return self._qparams(f"node {node.name!r}", node.input[1], zp)
        self.fail(f"graph input {name!r}: no quantization parameters (not used by a quantized op)")

    def _edge_output(self, name: str) -> str:
        if name not in self.names:
            self.fail(f"graph output {name!r} is not computed by a supported op")
        graph_name = self.names[name]
        t = self.tensors[graph_name]
        if len(t.shape) != 4:
            return graph_name
        shape = tuple(t.shape[i] for i in _NCHW)
        out = self._new(f"{name}/nchw", shape, t.dtype, t.scale, t.zero_point)
        self._op(None, "TRANSPOSE", [graph_name], out, {"perm": _NCHW}, "layout: NHWC->NCHW")
        return out

    # --- nodes ---------------------------------------------------------------------------

    def _node(self, index: int, node) -> None:
        where = f"node {index} ({node.op_type} {node.name!r})"
        self.current = node.name or f"{node.op_type}{index}"
        if node.domain not in ("", "ai.onnx"):
            self.fail(f"{where}: operator domain {node.domain!r} is not supported")
        handler = {
            "QLinearConv": self._qlinear_conv,
            "QLinearMatMul": self._qlinear_matmul,
            "QuantizeLinear": self._quantize,
            "DequantizeLinear": self._dequantize,
            "MaxPool": self._int8_or_qdq,
            "Reshape": self._int8_or_qdq,
            "Flatten": self._int8_or_qdq,
        }.get(node.op_type)
        if handler is None and node.op_type in SUPPORTED_OPS:
            handler = self._qdq
        if handler is None:
            self.fail(
                f"{where} is not supported by accel (supported: {', '.join(SUPPORTED_OPS)}); "
                "it would need an importer rule and a host kernel in accel.model.host_ops"
            )
        handler(index, node, where)

    def _dequantize(self, index, node, where) -> None:
        zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
        axis = _attrs(node).get("axis", 1)
        source = node.input[0]
        if source in self.consts:
            scale, zp_values = self._qparams(where, node.input[1], zp, per_axis=True)
            self.float_consts[node.output[0]] = (self.consts[source], scale, zp_values, axis)
            return
        self.alias[node.output[0]] = source
        if node.output[0] in self.graph_outputs:
            t = self._activation(where, source)
            out = self._new(node.output[0], t.shape, "float32")
            self._op(index, "DEQUANTIZE", [t.name], out, {}, where)
            self.names[node.output[0]] = out

    def _quantize(self, index, node, where) -> None:
        if node.input[0] not in self.pending_float:
            self.fail(
                f"{where}: QuantizeLinear of {node.input[0]!r}, which is not a float graph "
                "input nor the output of a supported QDQ group"
            )
        zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
        scale, zp_values = self._qparams(where, node.input[1], zp)
        shape = self.pending_float[node.input[0]]
        self._edge_input(node.input[0], shape, "float32", None, None)
        x = self.tensors[self.names[node.input[0]]]
        out = self._new(node.output[0], x.shape, "int8", scale, zp_values)
        self._op(index, "QUANTIZE", [x.name], out, {}, where)
        self.names[node.output[0]] = out

    def _out(self, name: str, shape, scale, zp) -> str:
        graph_name = self._new(name, tuple(int(d) for d in shape), "int8", scale, zp)
        self.names[name] = graph_name
        return graph_name

    # --- QLinear operators ---------------------------------------------------------------

    def _qlinear_operands(self, where, node, what: str) -> tuple:
        """``(x, w, w_scale, w_zp, y_scale, y_zp)`` of a QLinearConv or QLinearMatMul: the
        activation (input 0), the int8 constant ``what`` (input 3) with its per-axis
        quantization (inputs 4, 5) and the output quantization (inputs 6, 7)."""
        i = node.input
        x = self._activation(where, i[0])
        w = self._int8_const(where, i[3], what)
        w_scale, w_zp = self._qparams(where, i[4], i[5], per_axis=True)
        y_scale, y_zp = self._qparams(where, i[6], i[7])
        return x, w, w_scale, w_zp, y_scale, y_zp

    def _qlinear_conv(self, index, node, where) -> None:
        x, w, w_scale, w_zp, y_scale, y_zp = self._qlinear_operands(where, node, "weights")
        i = node.input
        bias = self.consts.get(i[8]) if len(i) > 8 and i[8] else None
        if bias is not None and bias.dtype != np.int32:
            self.fail(f"{where}: bias {i[8]!r} must be int32, found {bias.dtype}")
        self._conv(index, where, node, x, w, w_scale, w_zp, bias, node.output[0], y_scale, y_zp)

    def _qlinear_matmul(self, index, node, where) -> None:
        x, b, b_scale, b_zp, y_scale, y_zp = self._qlinear_operands(where, node, "the B matrix")
        if b.ndim != 2 or len(x.shape) != 2:
            self.fail(f"{where}: only 2-D (N, K) x (K, M) products are supported")
        self._fc(index, where, x, b.T, b_scale, b_zp, None, node.output[0], y_scale, y_zp)

    def _weights_tensor(self, where, w, scale, zp, axis) -> str:
        if np.any(zp != 0):
            self.fail(
                f"{where}: weight zero points {zp.tolist()} are not 0; accel needs symmetric "
                "int8 weights"
            )
        scale_axis = axis if scale.size > 1 else None
        return self._new(f"{self.current}/weights", w.shape, "int8", scale, zp, scale_axis, w)

    def _bias_tensor(self, where, bias, channels) -> str | None:
        if bias is None:
            return None
        bias = np.asarray(bias).reshape(-1)
        if bias.shape != (channels,):
            self.fail(f"{where}: bias has shape {bias.shape}, expected ({channels},)")
        return self._new(f"{self.current}/bias", bias.shape, "int32", data=bias.astype(np.int32))

    def _conv(self, index, where, node, x, w, w_scale, w_zp, bias, out, y_scale, y_zp, act=None):
        a = _attrs(node)
        if len(x.shape) != 4 or w.ndim != 4:
            self.fail(f"{where}: only 2-D convolutions on 4-D NCHW tensors are supported")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            self.fail(f"{where}: dilations {a['dilations']} are not supported (1 is)")
        N, H, W, C = x.shape
        M, Cg, R, S = w.shape
        group = a.get("group", 1)
        sh, sw = a.get("strides", [1, 1])
        pads = self._pads(where, a, H, W, R, S, sh, sw)
        E, F = (H + pads[0] + pads[1] - R) // sh + 1, (W + pads[2] + pads[3] - S) // sw + 1
        lo, hi = act or (INT8_MIN, INT8_MAX)
        attrs = dict(stride=(sh, sw), pads=pads, act_min=lo, act_max=hi, activation="clamp")
        y = self._out(out, (N, E, F, M), y_scale, y_zp)
        if group == 1 and Cg == C:
            wt = self._weights_tensor(where, w.transpose(0, 2, 3, 1).copy(), w_scale, w_zp, 0)
            b = self._bias_tensor(where, bias, M)
            self._op(index, "CONV_2D", [x.name, wt, b], y, attrs, where)
        elif group == C and Cg == 1 and M % C == 0:
            dw = w.transpose(1, 2, 3, 0).copy()  # (1, R, S, M)
            wt = self._weights_tensor(where, dw, w_scale, w_zp, 3)
            attrs["depth_multiplier"] = M // C
            b = self._bias_tensor(where, bias, M)
            self._op(index, "DEPTHWISE_CONV_2D", [x.name, wt, b], y, attrs, where)
        else:
            self.fail(f"{where}: group {group} is not supported (1 or depthwise)")

    def _pads(self, where, a, H, W, R, S, sh, sw) -> tuple[int, int, int, int]:
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            ph, pw = same_padding(H, R, sh), same_padding(W, S, sw)
            if auto == "SAME_LOWER":
                ph, pw = ph[::-1], pw[::-1]
            return (*ph, *pw)
        if auto == "VALID":
            return (0, 0, 0, 0)
        if auto != "NOTSET":
            self.fail(f"{where}: auto_pad {auto!r} is not supported")
        top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
        return (top, bottom, left, right)

    def _fc(self, index, where, x, w, w_scale, w_zp, bias, out, y_scale, y_zp, act=None):
        M, K = w.shape
        if x.shape[-1] != K:
            self.fail(f"{where}: input {x.describe()} does not match weights (K = {K})")
        wt = self._weights_tensor(where, np.ascontiguousarray(w), w_scale, w_zp, 0)
        b = self._bias_tensor(where, bias, M)
        lo, hi = act or (INT8_MIN, INT8_MAX)
        y = self._out(out, (x.shape[0], M), y_scale, y_zp)
        attrs = dict(act_min=lo, act_max=hi, activation="clamp", keep_num_dims=False)
        self._op(index, "FULLY_CONNECTED", [x.name, wt, b], y, attrs, where)

    # --- int8 data movement (QLinear form) or QDQ ----------------------------------------

    def _int8_or_qdq(self, index, node, where) -> None:
        source = node.input[0]
        if source in self.alias:
            return self._qdq(index, node, where)
        x = self._activation(where, source)
        self._movement(index, node, where, x, node.output[0], x.scale, x.zero_point)

    def _movement(self, index, node, where, x: Tensor, out: str, scale, zp) -> None:
        if node.op_type == "MaxPool":
            return self._pool(index, node, where, x, out, scale, zp, "MAX_POOL_2D")
        if node.op_type == "Flatten":
            axis = _attrs(node).get("axis", 1)
            shape = (int(np.prod(self._nchw_shape(x)[:axis])), -1)
        else:
            target = self.consts.get(node.input[1])
            if target is None:
                self.fail(f"{where}: the target shape must be a constant initializer")
            shape = tuple(int(d) for d in target)
            source_shape = self._nchw_shape(x)
            shape = tuple(source_shape[k] if d == 0 else d for k, d in enumerate(shape))
        self._reshape(index, where, x, shape, out, scale, zp)

    def _nchw_shape(self, x: Tensor):
        return tuple(x.shape[i] for i in _NCHW) if len(x.shape) == 4 else x.shape

    def _reshape(self, index, where, x, shape, out, scale, zp) -> None:
        name = x.name
        if len(x.shape) == 4 and x.shape[1] * x.shape[2] > 1:  # ONNX flattens in NCHW order
            nchw = self._new(f"{name}/nchw", self._nchw_shape(x), "int8", x.scale, x.zero_point)
            self._op(index, "TRANSPOSE", [name], nchw, {"perm": _NCHW}, where)
            name = nchw
        size = int(np.prod(x.shape))
        known = int(np.prod([d for d in shape if d != -1]))
        if shape.count(-1) > 1 or known <= 0 or any(d < -1 for d in shape):
            self.fail(f"{where}: invalid target shape {list(shape)}")
        shape = tuple(size // known if d == -1 else d for d in shape)
        if int(np.prod(shape)) != size:
            self.fail(f"{where}: cannot reshape {x.describe()} to {list(shape)}")
        if len(shape) == 4:
            mid = self._new(f"{out}/nchw", shape, "int8", scale, zp)
            self._op(index, "RESHAPE", [name], mid, {"shape": shape}, where)
            y = self._out(out, tuple(shape[i] for i in _NHWC), scale, zp)
            self._op(index, "TRANSPOSE", [mid], y, {"perm": _NHWC}, where)
            return
        y = self._out(out, shape, scale, zp)
        self._op(index, "RESHAPE", [name], y, {"shape": shape}, where)

    def _pool(self, index, node, where, x, out, scale, zp, kind) -> None:
        a = _attrs(node)
        if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
            self.fail(f"{where}: ceil_mode and dilations are not supported")
        if kind == "AVERAGE_POOL_2D" and a.get("count_include_pad", 0) and any(a.get("pads", [])):
            self.fail(f"{where}: count_include_pad=1 with padding is not supported (TFLite's)")
        N, H, W, C = x.shape
        R, S = a["kernel_shape"]
        sh, sw = a.get("strides", [1, 1])
        pads = self._pads(where, a, H, W, R, S, sh, sw)
        E, F = (H + pads[0] + pads[1] - R) // sh + 1, (W + pads[2] + pads[3] - S) // sw + 1
        y = self._out(out, (N, E, F, C), scale, zp)
        attrs = dict(filter=(R, S), stride=(sh, sw), pads=pads, act_min=-128, act_max=127)
        self._op(index, kind, [x.name], y, attrs, where)

    # --- QDQ groups ----------------------------------------------------------------------

    def _follow(self, name: str, where: str):
        """From a float op output: optional Relu/Clip, then the QuantizeLinear.
        Returns (output name, scale, zp, clamp node or None)."""
        nodes = self.model.graph.node
        users = self.consumers.get(name, [])
        if len(users) != 1 or name in self.graph_outputs:
            self.fail(
                f"{where}: its float output {name!r} must feed exactly one QuantizeLinear "
                "(optionally through Relu/Clip); accel runs int8 tensors only"
            )
        node = nodes[users[0]]
        clamp = None
        if node.op_type in ("Relu", "Clip"):
            clamp = node
            self.done.add(users[0])
            return self._follow_q(node.output[0], where, clamp)
        return self._follow_q(name, where, None)

    def _follow_q(self, name, where, clamp):
        nodes = self.model.graph.node
        users = self.consumers.get(name, [])
        if len(users) != 1 or nodes[users[0]].op_type != "QuantizeLinear":
            self.fail(f"{where}: float output {name!r} is not quantized by one QuantizeLinear")
        q = nodes[users[0]]
        self.done.add(users[0])
        zp = q.input[2] if len(q.input) > 2 and q.input[2] else None
        scale, zp_values = self._qparams(f"node {q.name!r}", q.input[1], zp)
        act = None
        if clamp is not None:
            act = self._clamp(clamp, float(scale[0]), int(zp_values[0]), where)
        return q.output[0], scale, zp_values, act

    def _clamp(self, node, scale, zp, where) -> tuple[int, int]:
        if node.op_type == "Relu":
            return activation_range("RELU", scale, zp)
        lo = self.consts.get(node.input[1]) if len(node.input) > 1 and node.input[1] else None
        hi = self.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        a = _attrs(node)
        lo = float(lo) if lo is not None else a.get("min", -np.inf)
        hi = float(hi) if hi is not None else a.get("max", np.inf)

        def q(f):
            if not np.isfinite(f):
                return INT8_MIN if f < 0 else INT8_MAX
            v = zp + int(round_half_away_from_zero(float(np.float32(f) / np.float32(scale))))
            return min(max(v, INT8_MIN), INT8_MAX)

        return max(INT8_MIN, q(lo)), min(INT8_MAX, q(hi))

    def _float_weights(self, where, name, what):
        if name not in self.float_consts:
            self.fail(f"{where}: {what} {name!r} must be DequantizeLinear of an int8 initializer")
        data, scale, zp, axis = self.float_consts[name]
        if data.dtype != np.int8:
            self.fail(f"{where}: {what} {name!r} is {data.dtype}, int8 is needed")
        return data, scale, zp, axis

    def _float_bias(self, where, name, x_scale, w_scale):
        if not name:
            return None
        if name in self.float_consts:
            data, scale, _, _ = self.float_consts[name]
            return np.asarray(data, dtype=np.int64)
        if name in self.consts:  # float bias: quantize with the product scale
            b = np.asarray(self.consts[name], dtype=np.float64).reshape(-1)
            q = round_half_away_from_zero(b / (float(x_scale) * np.asarray(w_scale)))
            return np.asarray(q, dtype=np.int64)
        self.fail(f"{where}: bias {name!r} must be a constant")

    def _qdq(self, index, node, where) -> None:
        kind = node.op_type
        if kind in ("Relu", "Clip", "QuantizeLinear"):
            self.fail(f"{where}: {kind} must follow a supported float op of a QDQ group")
        out, scale, zp, act = self._follow(node.output[0], where)
        if kind == "Conv":
            x = self._activation(where, node.input[0])
            w, w_scale, w_zp, _ = self._float_weights(where, node.input[1], "weights")
            bias = self._float_bias(
                where, node.input[2] if len(node.input) > 2 else "", x.scale[0], w_scale
            )
            return self._conv(index, where, node, x, w, w_scale, w_zp, bias, out, scale, zp, act)
        if kind in ("Gemm", "MatMul"):
            return self._qdq_fc(index, node, where, out, scale, zp, act)
        if kind == "Add":
            return self._qdq_add(index, node, where, out, scale, zp, act)
        if act is not None:
            self.fail(f"{where}: a Relu/Clip after {kind} is not supported")
        if kind == "Concat":
            xs = [self._activation(where, n) for n in node.input]
            axis = _attrs(node).get("axis", 1)
            rank = len(xs[0].shape)
            axis = axis + rank if axis < 0 else axis
            axis = _AXIS4[axis] if rank == 4 else axis
            shape = list(xs[0].shape)
            shape[axis] = sum(t.shape[axis] for t in xs)
            y = self._out(out, shape, scale, zp)
            attrs = dict(axis=axis, act_min=-128, act_max=127)
            return self._op(index, "CONCATENATION", [t.name for t in xs], y, attrs, where)
        x = self._activation(where, node.input[0])
        if kind == "Softmax":
            axis = _attrs(node).get("axis", -1)
            if len(x.shape) != 2 or axis not in (-1, 1):
                self.fail(f"{where}: Softmax over the last axis of a 2-D tensor is supported")
            if zp[0] != -128 or np.float32(scale[0]) != np.float32(1 / 256):
                self.fail(f"{where}: the output must have scale 1/256 and zero point -128")
            y = self._out(out, x.shape, scale, zp)
            return self._op(index, "SOFTMAX", [x.name], y, {"beta": 1.0}, where)
        if kind == "GlobalAveragePool":
            y = self._out(out, (x.shape[0], 1, 1, x.shape[3]), scale, zp)
            return self._op(index, "MEAN", [x.name], y, {"axes": (1, 2), "keep_dims": True}, where)
        if kind in ("MaxPool", "AveragePool"):
            self._same_params(where, x, scale, zp)
            pool = "MAX_POOL_2D" if kind == "MaxPool" else "AVERAGE_POOL_2D"
            return self._pool(index, node, where, x, out, scale, zp, pool)
        if kind in ("Reshape", "Flatten"):
            self._same_params(where, x, scale, zp)
            return self._movement(index, node, where, x, out, scale, zp)
        self.fail(f"{where}: not supported in a QDQ group")

    def _same_params(self, where, x, scale, zp) -> None:
        if float(x.scale[0]) != float(scale[0]) or int(x.zero_point[0]) != int(zp[0]):
            self.fail(f"{where}: input and output quantization must be equal for this op")

    def _qdq_fc(self, index, node, where, out, scale, zp, act) -> None:
        x = self._activation(where, node.input[0])
        w, w_scale, w_zp, axis = self._float_weights(where, node.input[1], "weights")
        a = _attrs(node)
        if node.op_type == "Gemm":
            if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
                self.fail(f"{where}: Gemm with alpha/beta != 1 or transA is not supported")
            w = w if a.get("transB", 0) else w.T
        else:
            w = w.T
        bias_name = node.input[2] if len(node.input) > 2 else ""
        bias = self._float_bias(where, bias_name, x.scale[0], w_scale)
        self._fc(index, where, x, w, w_scale, w_zp, bias, out, scale, zp, act)

    def _qdq_add(self, index, node, where, out, scale, zp, act) -> None:
        a, b = (self._activation(where, n) for n in node.input)
        if a.shape != b.shape:
            self.fail(f"{where}: Add of shapes {a.shape} and {b.shape} (equal shapes only)")
        y = self._out(out, a.shape, scale, zp)
        lo, hi = act or (INT8_MIN, INT8_MAX)
        self._op(index, "ADD", [a.name, b.name], y, dict(act_min=lo, act_max=hi), where)
