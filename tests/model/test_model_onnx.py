"""ONNX models against onnxruntime: differences measured (ONNX requantizes in float).

accel maps each real multiplier to TFLite fixed point (``docs/model.md``); onnxruntime
multiplies in float32 and rounds half to even. The tests bound the measured difference and,
for LeNet-5, require the same top-1 class on the whole held-out set.
"""

import numpy as np
import pytest
from onnx_models import OnnxNet, run_onnxruntime

from accel.model import ModelError
from accel.model.export import lenet_onnx
from accel.model.onnx_import import load_onnx
from accel.model.run import run_model
from accel.ref import lenet

pytest.importorskip("onnxruntime")


def _difference(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    d = np.abs(a.astype(np.int64) - b.astype(np.int64))
    return float(np.mean(d > 0)), int(d.max(initial=0))


def test_lenet_onnx_against_onnxruntime():
    model = lenet.load_default()
    data = lenet_onnx(model)
    x = model.test_images_int8.transpose(0, 3, 1, 2).copy()  # the ONNX model is NCHW
    expected = run_onnxruntime(data, {"input": x})[0]
    run = run_model(load_onnx(data), x, "golden")
    # the ONNX import reproduces the shipped int8 model exactly
    np.testing.assert_array_equal(
        run.output, lenet.forward_int8(model.layers, model.test_images_int8)
    )
    fraction, max_abs = _difference(run.output, expected)
    print(f"LeNet-5 ONNX vs onnxruntime: {100 * fraction:.2f} % of logits differ, max {max_abs}")
    assert max_abs <= 2 and fraction < 0.15
    np.testing.assert_array_equal(np.argmax(run.output, 1), np.argmax(expected, 1))


def qlinear_cnn(net):
    x = net.input((1, 3, 12, 12))
    c = net.qlinear_conv(x, 8, 3, pads=(1, 1, 1, 1))
    c = net.maxpool(c)
    c = net.qlinear_conv(c, 6, 3, stride=2, auto_pad="SAME_UPPER", per_channel=False)
    f = net.flatten(c)
    return x, [net.qlinear_matmul(f, 10)]


def qlinear_asymmetric_pads(net):
    x = net.input((1, 4, 9, 8))
    return x, [net.qlinear_conv(x, 5, 3, stride=2, pads=(0, 1, 2, 1))]


def qlinear_matmul_per_column(net):
    x = net.input((1, 40))
    return x, [net.qlinear_matmul(net.qlinear_matmul(x, 24, per_channel=True), 8)]


def qdq_conv_relu_pool(net):
    x = net.input((1, 3, 10, 10))
    c = net.qdq_conv(x, 8, 3, relu="relu")
    c = net.qdq_unary(c, "MaxPool", (1, 8, 5, 5), kernel_shape=[2, 2], strides=[2, 2])
    c = net.qdq_conv(c, 6, 3, relu="relu6", float_bias=True)
    f = net.qdq_unary(c, "Flatten", (1, 150), axis=1)
    return x, [net.qdq_gemm(f, 10)]


def qdq_residual(net):
    x = net.input((1, 6, 8, 8))
    a = net.qdq_conv(x, 6, 3, relu="relu")
    b = net.qdq_conv(a, 6, 3)
    return x, [net.qdq_add(x, b, relu="relu")]


def qdq_depthwise_gap(net):
    x = net.input((1, 6, 9, 9))
    d = net.qdq_conv(x, 6, 3, stride=2, group=6, relu="relu6")
    p = net.qdq_conv(d, 12, 1, pads=[0, 0, 0, 0])
    avg = net.qdq_unary(p, "AveragePool", (1, 12, 4, 4), kernel_shape=[2, 2], strides=[1, 1])
    g = net.qdq_unary(avg, "GlobalAveragePool", (1, 12, 1, 1), scale=avg[2] * 0.5, zp=-5)
    return x, [g]


def qdq_concat_softmax(net):
    x = net.input((1, 4, 6, 6))
    a = net.qdq_conv(x, 3, 3)
    b = net.qdq_conv(x, 5, 1, pads=[0, 0, 0, 0])
    cat = net.qdq_concat([a, b], a[2], a[3])
    f = net.qdq_unary(cat, "Flatten", (1, 288), axis=1)
    logits = net.qdq_gemm(f, 10, w_range=(2e-5, 2e-4))
    return x, [net.qdq_unary(logits, "Softmax", (1, 10), scale=1 / 256, zp=-128, axis=-1)]


def qdq_relu_clamp(net):
    """ReLU / ReLU6 clamps inside the int8 range (zero point > -128)."""
    x = net.input((1, 3, 8, 8))
    c = net.qdq_conv(x, 8, 3, relu="relu")
    return x, [net.qdq_conv(c, 4, 3, relu="relu6")]


MODELS = [
    qlinear_cnn,
    qlinear_asymmetric_pads,
    qlinear_matmul_per_column,
    qdq_conv_relu_pool,
    qdq_residual,
    qdq_depthwise_gap,
    qdq_concat_softmax,
    qdq_relu_clamp,
]


#: Bound on the largest difference: 1 for a single requantization; a difference of 1 in a
#: layer's output can grow in the next layers (a weight of 127 times one input step).
def qdq_matmul_float_edges(net):
    """float32 input -> QuantizeLinear ... DequantizeLinear -> float32 output; MatMul."""
    x = net.float_input((1, 3, 6, 6))
    c = net.qdq_conv(x, 4, 3, relu="relu")
    f = net.qdq_unary(c, "Flatten", (1, 144), axis=1)
    return x, [net.dequantize_output(net.qdq_matmul(f, 12))]


MODELS.append(qdq_matmul_float_edges)

MAX_ABS = {"qlinear_asymmetric_pads": 1, "qdq_depthwise_gap": 1, "qlinear_cnn": 2}


def _cpu_has_vnni() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return True
    return "avx512_vnni" in flags or "avx_vnni" in flags


#: Models whose ORT result is wrong on x86 CPUs without VNNI: ORT's AVX2 u8s8 GEMM kernels
#: saturate int16 intermediates (VPMADDUBSW; microsoft/onnxruntime#16105), so the judge itself
#: is off there (qdq_residual max 24 steps, qdq_depthwise_gap max 5, seen on AMD EPYC).
ORT_SATURATES = {"qdq_residual", "qdq_depthwise_gap"}


@pytest.mark.parametrize("factory", MODELS, ids=[f.__name__ for f in MODELS])
def test_generated_onnx_against_onnxruntime(factory):
    if factory.__name__ in ORT_SATURATES and not _cpu_has_vnni():
        pytest.xfail("onnxruntime's int8 kernels saturate on this CPU (no VNNI)")
    data, xi = OnnxNet.calibrated(factory, seed=0, batch=16)
    expected = run_onnxruntime(data, {"x": xi})
    got = run_model(load_onnx(data), xi, "golden").outputs
    for e, g in zip(expected, got, strict=True):
        assert e.shape == g.shape and e.dtype == g.dtype
        if e.dtype == np.float32:  # compare in quantization steps of the dequantized output
            step = np.min(np.diff(np.unique(e))) if np.unique(e).size > 1 else 1.0
            e, g = np.round(e / step), np.round(g / step)
        fraction, max_abs = _difference(g, e)
        print(f"{factory.__name__}: {100 * fraction:.2f} % differ, max {max_abs}")
        assert max_abs <= MAX_ABS.get(factory.__name__, 16) and fraction < 0.5


def test_onnx_errors():
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        load_onnx(b"\x08\x07garbage that is not a protobuf \xff\xff")
    net = OnnxNet(0)
    x = net.input((1, 3, 6, 6))
    c = net.qlinear_conv(x, 4, 3)
    from onnx import helper

    net.nodes.append(helper.make_node("Sigmoid", [c[0]], ["y"]))
    with pytest.raises(ModelError, match=r"node 1 \(Sigmoid .*\) is not supported"):
        load_onnx(net.build([("y", c[1], 1.0, 0)]))
