"""Generated int8 ONNX models for the tests (onnx.helper): QLinear operators and QDQ groups.

:class:`OnnxNet` keeps NCHW shapes; every method adds one quantized operator (or one QDQ
group: DequantizeLinear -> float op -> [Relu] -> QuantizeLinear) with random int8 weights
and an output scale that spreads the results over tens of int8 steps.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["OnnxNet", "run_onnxruntime"]


def run_onnxruntime(model: bytes, inputs: dict) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


class OnnxNet:
    def __init__(self, seed=0, calibration=None):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], 0
        self.calibration = calibration or {}
        self.q_inputs = []  # (QuantizeLinear output, its float input) of calibratable groups

    def _name(self, what):
        self.count += 1
        return f"{what}{self.count}"

    def _const(self, value, dtype, what="c"):
        name = self._name(what)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def input(self, shape, scale=0.05, zp=-3):
        self.input_info = helper.make_tensor_value_info("x", TensorProto.INT8, ["N", *shape[1:]])
        return ("x", tuple(shape), float(np.float32(scale)), zp)

    def _out_scale(self, x, w_scale, K, spread=40.0):
        return float(np.float32(x[2] * float(np.mean(w_scale)) * 74 * 73 * np.sqrt(K) / spread))

    def qlinear_conv(self, x, M, k, stride=1, pads=(0, 0, 0, 0), per_channel=True, auto_pad=None):
        name, shape, scale, zp = x
        N, C, H, W = shape
        w = self.rng.integers(-127, 128, (M, C, k, k)).astype(np.int8)
        ws = self.rng.uniform(0.002, 0.02, M if per_channel else 1).astype(np.float32)
        bias = (self.rng.integers(-2000, 2000, M) * C * k * k).astype(np.int32)
        out_scale = self._out_scale(x, ws, C * k * k)
        out_zp = int(self.rng.integers(-30, 30))
        inputs = [name, self._const(scale, np.float32), self._const(zp, np.int8)]
        inputs += [self._const(w, np.int8), self._const(ws, np.float32)]
        inputs += [self._const(np.zeros(ws.size), np.int8), self._const(out_scale, np.float32)]
        inputs += [self._const(out_zp, np.int8), self._const(bias, np.int32)]
        out = self._name("conv")
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride])
        if auto_pad:
            attrs["auto_pad"] = auto_pad
            E = -(-H // stride)
            F = -(-W // stride)
        else:
            attrs["pads"] = list(pads)
            E = (H + pads[0] + pads[2] - k) // stride + 1
            F = (W + pads[1] + pads[3] - k) // stride + 1
        self.nodes.append(helper.make_node("QLinearConv", inputs, [out], name=out, **attrs))
        return (out, (N, M, E, F), float(np.float32(out_scale)), out_zp)

    def maxpool(self, x, k=2, stride=2):
        name, (N, C, H, W), scale, zp = x
        out = self._name("pool")
        self.nodes.append(
            helper.make_node("MaxPool", [name], [out], kernel_shape=[k, k], strides=[stride] * 2)
        )
        return (out, (N, C, (H - k) // stride + 1, (W - k) // stride + 1), scale, zp)

    def flatten(self, x):
        name, shape, scale, zp = x
        out = self._name("flat")
        self.nodes.append(helper.make_node("Flatten", [name], [out], axis=1))
        return (out, (shape[0], int(np.prod(shape[1:]))), scale, zp)

    def qlinear_matmul(self, x, M, per_channel=False):
        name, (N, K), scale, zp = x
        b = self.rng.integers(-127, 128, (K, M)).astype(np.int8)
        bs = self.rng.uniform(0.002, 0.02, M if per_channel else 1).astype(np.float32)
        out_scale, out_zp = self._out_scale(x, bs, K), int(self.rng.integers(-30, 30))
        inputs = [name, self._const(scale, np.float32), self._const(zp, np.int8)]
        inputs += [self._const(b, np.int8), self._const(bs, np.float32)]
        inputs += [self._const(np.zeros(bs.size), np.int8), self._const(out_scale, np.float32)]
        inputs += [self._const(out_zp, np.int8)]
        out = self._name("matmul")
        self.nodes.append(helper.make_node("QLinearMatMul", inputs, [out], name=out))
        return (out, (N, M), float(np.float32(out_scale)), out_zp)

    # --- QDQ ----------------------------------------------------------------------------

    def _dq(self, x):
        name, shape, scale, zp = x
        out = self._name("dq")
        inputs = [name, self._const(scale, np.float32), self._const(zp, np.int8)]
        self.nodes.append(helper.make_node("DequantizeLinear", inputs, [out]))
        return out

    def _q(self, float_name, shape, scale, zp, calibrate=True):
        out = self._name("q")
        if calibrate:
            self.q_inputs.append((out, float_name, shape))
            scale, zp = self.calibration.get(out, (scale, zp))
        inputs = [float_name, self._const(scale, np.float32), self._const(zp, np.int8)]
        self.nodes.append(helper.make_node("QuantizeLinear", inputs, [out]))
        return (out, tuple(shape), float(np.float32(scale)), zp)

    def _dq_weights(self, w, ws, axis=0):
        inputs = [self._const(w, np.int8), self._const(ws, np.float32)]
        inputs.append(self._const(np.zeros(ws.size), np.int8))
        out = self._name("wdq")
        self.nodes.append(helper.make_node("DequantizeLinear", inputs, [out], axis=axis))
        return out

    def _act(self, y, relu, shape):
        if not relu:
            return y
        out = self._name("relu")
        if relu == "relu6":
            lo, hi = self._const(0.0, np.float32), self._const(6.0, np.float32)
            self.nodes.append(helper.make_node("Clip", [y, lo, hi], [out]))
        else:
            self.nodes.append(helper.make_node("Relu", [y], [out]))
        return out

    def qdq_conv(
        self, x, M, k, stride=1, relu=None, group=1, float_bias=False, pads=None, calibrate=True
    ):
        N, C, H, W = x[1]
        Cg = C // group
        w = self.rng.integers(-127, 128, (M, Cg, k, k)).astype(np.int8)
        ws = self.rng.uniform(0.002, 0.02, M).astype(np.float32)
        bias = (self.rng.integers(-300, 300, M) * Cg * k * k).astype(np.int32)
        pads = pads if pads is not None else [k // 2] * 4
        if float_bias:
            b_name = self._const(bias * np.float32(x[2]) * ws, np.float32)
        else:
            b_name = self._name("bdq")
            inputs = [self._const(bias, np.int32), self._const(np.float32(x[2]) * ws, np.float32)]
            inputs.append(self._const(np.zeros(M), np.int32))
            self.nodes.append(helper.make_node("DequantizeLinear", inputs, [b_name], axis=0))
        out = self._name("conv")
        self.nodes.append(
            helper.make_node(
                "Conv",
                [self._dq(x), self._dq_weights(w, ws), b_name],
                [out],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=pads,
                group=group,
            )
        )
        E = (H + pads[0] + pads[2] - k) // stride + 1
        F = (W + pads[1] + pads[3] - k) // stride + 1
        shape = (N, M, E, F)
        out = self._act(out, relu, shape)
        zp = int(self.rng.integers(-128, -90)) if relu else int(self.rng.integers(-30, 30))
        scale = self._out_scale(x, ws, Cg * k * k, 30.0 if relu else 40.0)
        return self._q(out, shape, scale, zp, calibrate)

    def qdq_gemm(self, x, M, relu=None, w_range=(0.002, 0.02)):
        N, K = x[1]
        w = self.rng.integers(-127, 128, (M, K)).astype(np.int8)
        ws = self.rng.uniform(*w_range, M).astype(np.float32)
        bias = self.rng.normal(0, 1, M).astype(np.float32)
        out = self._name("gemm")
        inputs = [self._dq(x), self._dq_weights(w, ws), self._const(bias, np.float32)]
        self.nodes.append(helper.make_node("Gemm", inputs, [out], transB=1))
        out = self._act(out, relu, (N, M))
        return self._q(out, (N, M), self._out_scale(x, ws, K), int(self.rng.integers(-30, 30)))

    def qdq_matmul(self, x, M):
        """MatMul with (K, M) weights quantized per column (DequantizeLinear axis 1)."""
        N, K = x[1]
        w = self.rng.integers(-127, 128, (K, M)).astype(np.int8)
        ws = self.rng.uniform(0.002, 0.02, M).astype(np.float32)
        out = self._name("matmul")
        inputs = [self._dq(x), self._dq_weights(w, ws, axis=1)]
        self.nodes.append(helper.make_node("MatMul", inputs, [out]))
        return self._q(out, (N, M), self._out_scale(x, ws, K), int(self.rng.integers(-30, 30)))

    def float_input(self, shape, scale=0.03, zp=4):
        """A float32 graph input quantized by a QuantizeLinear."""
        self.input_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape[1:]])
        return self._q("x", shape, scale, zp, calibrate=False)

    def dequantize_output(self, x):
        """A DequantizeLinear graph output (float32); marked by a 1-tuple name for build()."""
        return ((self._dq(x),), x[1], 1.0, 0)

    def qdq_unary(self, x, op, out_shape, scale=None, zp=None, **attrs):
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, [self._dq(x)], [out], **attrs))
        calibrate = op in ("GlobalAveragePool",)
        scale = x[2] if scale is None else scale
        return self._q(out, out_shape, scale, x[3] if zp is None else zp, calibrate)

    def qdq_add(self, a, b, relu=None):
        out = self._name("add")
        self.nodes.append(helper.make_node("Add", [self._dq(a), self._dq(b)], [out]))
        out = self._act(out, relu, a[1])
        return self._q(out, a[1], 1.3 * max(a[2], b[2]), -128 if relu else 3)

    def qdq_concat(self, xs, scale, zp):
        out = self._name("concat")
        self.nodes.append(helper.make_node("Concat", [self._dq(x) for x in xs], [out], axis=1))
        shape = list(xs[0][1])
        shape[1] = sum(x[1][1] for x in xs)
        return self._q(out, shape, scale, zp)

    def build(self, outputs, with_floats=False) -> bytes:
        outs = [
            helper.make_tensor_value_info(name, TensorProto.INT8, ["N", *shape[1:]])
            if isinstance(name, str)
            else helper.make_tensor_value_info(name[0], TensorProto.FLOAT, ["N", *shape[1:]])
            for name, shape, _, _ in outputs
        ]
        if with_floats:  # the float tensors before each QuantizeLinear, for calibration
            outs += [
                helper.make_tensor_value_info(f, TensorProto.FLOAT, ["N", *shape[1:]])
                for _, f, shape in self.q_inputs
            ]
        graph = helper.make_graph(self.nodes, "test", [self.input_info], outs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model.SerializeToString()

    @classmethod
    def calibrated(cls, factory, seed, batch=16):
        """Build ``factory``'s model twice: the second time with every calibratable output
        quantized to the min/max its float values had in the first (like post-training
        quantization), so that outputs spread over the int8 range instead of saturating."""
        from accel.ref.quant import choose_activation_qparams

        net = cls(seed)
        x, outputs = factory(net)
        xi = net.random_input(x, batch)
        floats = run_onnxruntime(net.build(outputs, with_floats=True), {"x": xi})[len(outputs) :]
        # ReLU outputs (min 0) get a range reaching below 0, so the clamp at the zero point
        # lies inside the int8 range and is exercised
        calibration = {
            q: choose_activation_qparams(
                min(float(v.min()), -0.25 * float(v.max())), float(v.max())
            )
            for (q, _, _), v in zip(net.q_inputs, floats, strict=True)
        }
        calibration = {q: (float(np.float32(s)), zp) for q, (s, zp) in calibration.items()}
        net = cls(seed, calibration)
        x, outputs = factory(net)
        return net.build(outputs), xi

    def random_input(self, x, batch=4):
        if self.input_info.type.tensor_type.elem_type == TensorProto.FLOAT:
            return self.rng.uniform(-4, 4, (batch, *x[1][1:])).astype(np.float32)
        return self.rng.integers(-128, 128, (batch, *x[1][1:])).astype(np.int8)
