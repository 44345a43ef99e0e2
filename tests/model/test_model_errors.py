"""Malformed, truncated, float and unsupported models give one clear ModelError."""

import numpy as np
import pytest
from tflite_models import SAME, Net

from accel.model import ModelError, load_model
from accel.model.export import lenet_tflite
from accel.model.tflite_builder import ACTIVATIONS, TFLiteBuilder
from accel.model.tflite_import import load_tflite


@pytest.fixture(scope="module")
def lenet_bytes():
    return lenet_tflite()


def test_not_a_flatbuffer():
    with pytest.raises(ModelError, match="not a TFLite flatbuffer.*TFL3"):
        load_tflite(b"this is not a model, just some text")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    with pytest.raises(ModelError, match="empty.tflite: not a TFLite flatbuffer"):
        load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "nothing.tflite")


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.9, 0.999])
def test_truncated(lenet_bytes, fraction):
    cut = lenet_bytes[: int(len(lenet_bytes) * fraction)]
    with pytest.raises(ModelError, match="truncated"):
        load_tflite(cut, name="lenet-cut.tflite")


def test_malformed_garbage_after_identifier():
    data = b"\xff\xff\xff\x7fTFL3" + bytes(range(256)) * 4
    with pytest.raises(ModelError, match="malformed or truncated"):
        load_tflite(data)


def _float_conv_model() -> bytes:
    b = TFLiteBuilder()
    rng = np.random.default_rng(0)
    x = b.tensor("x", (1, 8, 8, 3), "float32")
    w = b.tensor("w", (4, 3, 3, 3), "float32", data=rng.normal(size=(4, 3, 3, 3)))
    bias = b.tensor("b", (4,), "float32", data=np.zeros(4))
    y = b.tensor("y", (1, 8, 8, 4), "float32")
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", Padding=SAME, StrideH=1, StrideW=1)
    return b.build([x], [y])


def test_float_model():
    with pytest.raises(ModelError, match=r"operator 0 \(CONV_2D\).*float \(non-quantized\) model"):
        load_tflite(_float_conv_model())


def test_unsupported_op():
    net = Net(0)
    x = net.input((1, 4, 4, 2))
    y = net.tensor((1, 4, 4, 2), 1 / 128, 0)
    net.b.op("TANH", [x.index], [y.index])
    with pytest.raises(
        ModelError, match=r"operator 0 \(TANH\) is not supported.*supported: CONV_2D"
    ):
        load_tflite(net.build([x], [y]))


def test_unsupported_op_after_supported_ones():
    net = Net(0)
    x = net.input((1, 6, 6, 2))
    c = net.conv(x, 3, 3)
    y = net.tensor(c.shape, c.scale, c.zp)
    net.b.op("MUL", [c.index, c.index], [y.index])
    with pytest.raises(ModelError, match=r"operator 1 \(MUL\) is not supported"):
        load_tflite(net.build([x], [y]))


def test_custom_op():
    net = Net(0)
    x = net.input((1, 4, 4, 2))
    y = net.tensor((1, 4, 4, 2), 0.1, 0)
    net.b.op("CUSTOM", [x.index], [y.index])
    with pytest.raises(ModelError, match="operator 0 is the custom operator"):
        load_tflite(net.build([x], [y]))


def test_unsupported_attribute_dilation():
    net = Net(0)
    x = net.input((1, 8, 8, 2))
    c = net.conv(x, 3, 3)
    net.b.operators[0]["fields"].update(DilationHFactor=2, DilationWFactor=2)
    with pytest.raises(ModelError, match=r"operator 0 \(CONV_2D\): dilation 2x2 is not supported"):
        load_tflite(net.build([x], [c]))


def test_unsupported_fused_activation():
    net = Net(0)
    x = net.input((1, 8, 8, 2))
    c = net.conv(x, 3, 3)
    net.b.operators[0]["fields"]["FusedActivationFunction"] = ACTIVATIONS["TANH"]
    with pytest.raises(ModelError, match="fused activation TANH is not supported"):
        load_tflite(net.build([x], [c]))


def test_wrong_input_shape_and_dtype(lenet_bytes):
    from accel.model.run import run_model

    graph = load_tflite(lenet_bytes)
    with pytest.raises(ModelError, match=r"must have shape \(N, 32, 32, 1\)"):
        run_model(graph, np.zeros((2, 28, 28, 1), np.int8))
    with pytest.raises(ModelError, match="must be int8, got float32"):
        run_model(graph, np.zeros((2, 32, 32, 1), np.float32))


def _corrupt(data: bytes, rng, count: int, start: int, stop: int) -> bytes:
    d = bytearray(data)
    for _ in range(int(rng.integers(1, count + 1))):
        d[int(rng.integers(start, min(stop, len(d))))] = int(rng.integers(0, 256))
    return bytes(d)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_corrupted_files_give_model_errors_only(lenet_bytes, fmt):
    """Random byte corruption: every file either imports and runs, or raises ModelError."""
    from accel.model.export import lenet_onnx
    from accel.model.onnx_import import load_onnx
    from accel.model.run import run_model

    data, load = (lenet_bytes, load_tflite) if fmt == "tflite" else (lenet_onnx(), load_onnx)
    x = np.zeros((1, 32, 32, 1) if fmt == "tflite" else (1, 1, 32, 32), np.int8)
    rng = np.random.default_rng(0)
    outcomes = {"ran": 0, "ModelError": 0}
    for _ in range(200):
        try:
            run_model(load(_corrupt(data, rng, 3, 8 if fmt == "tflite" else 0, 3000)), x)
            outcomes["ran"] += 1
        except ModelError:
            outcomes["ModelError"] += 1
    assert outcomes["ModelError"] > 0
