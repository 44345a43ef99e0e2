"""Imported models under firmware: ``firmware/model.c`` runs every op of a generated model
(accelerator layers and host kernels) on the RV32IM ISS; the outputs equal the golden model
(:func:`accel.model.run.run_model`) and LiteRT's reference kernels, bit for bit."""

import numpy as np
import pytest
from model_judges import run_litert
from test_model_tflite_ops import (
    MODELS,
    conv_fused_pool,
    conv_unequal_strides,
    depthwise_separable,
    fc_per_channel,
    residual,
    same_stride2_even,
)
from tflite_models import Net

from accel.firmware.cli import main
from accel.firmware.run import graph_image, model_elf, run_image_functional, run_images_rtl
from accel.model.export import lenet_tflite
from accel.model.graph import ModelError
from accel.model.run import run_model
from accel.model.tflite_import import load_tflite
from accel.spec.config import AccelConfig


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return model_elf(tmp_path_factory.mktemp("fw"))


@pytest.fixture(scope="module")
def lenet_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "lenet.tflite"
    path.write_bytes(lenet_tflite())
    return path


def _model(factory, seed):
    net = Net(seed)
    inputs, outputs = factory(net)
    data = net.build(inputs, outputs)
    return data, net.random_input(inputs[0], batch=1)


def _has_fc(graph):
    return any(op.type == "FULLY_CONNECTED" for op in graph.ops)


def _assert_equal(outputs, expected):
    assert len(outputs) == len(expected)
    for got, e in zip(outputs, expected, strict=True):
        assert got.dtype == e.dtype and got.size == e.size
        np.testing.assert_array_equal(got.reshape(e.shape), e)


@pytest.mark.parametrize("factory", MODELS, ids=[f.__name__ for f in MODELS])
def test_generated_model_under_firmware(factory, elf):
    data, x = _model(factory, 0)
    graph = load_tflite(data)
    config = AccelConfig()
    result = run_image_functional(graph_image(graph, [x], config), config, elf)
    assert result["status"] == 0
    _assert_equal(result["outputs"], run_model(graph, [x]).outputs)
    if not _has_fc(graph):
        # accel's FULLY_CONNECTED requantizes in fixed point (TFLite's optimized kernels and
        # TFLite Micro); LiteRT's reference kernel rounds in double: see accel.model.run
        _assert_equal(result["outputs"], run_litert(data, x))
    hosts = [op for op in result["ops"] if op["where"] == "host"]
    assert all(op["instructions"] > 0 for op in hosts)
    assert all(op["cycles"] > 0 for op in result["ops"] if op["where"] == "accel")


def test_host_ops_under_firmware_on_the_rtl(elf):
    """Co-simulation with the generated Verilog: residual block (ADD), depthwise-separable
    block (host depthwise), unequal strides (host CONV)."""
    config = AccelConfig()
    cases = [_model(f, 1) for f in (residual, depthwise_separable, conv_unequal_strides)]
    graphs = [load_tflite(data) for data, _ in cases]
    images = [graph_image(g, [x], config) for g, (_, x) in zip(graphs, cases, strict=True)]
    results = run_images_rtl(images, config, elf)
    for graph, (data, x), result in zip(graphs, cases, results, strict=True):
        assert result["status"] == 0
        _assert_equal(result["outputs"], run_model(graph, [x]).outputs)
        _assert_equal(result["outputs"], run_litert(data, x))


def test_onnx_models_under_firmware(elf):
    """The generated ONNX models (NCHW: TRANSPOSE on the host; QDQ and QLinear ops) and the
    exported LeNet-5 under firmware equal the golden model run of their import."""
    from onnx_models import OnnxNet
    from test_model_onnx import MODELS as ONNX_MODELS  # skips without onnxruntime

    from accel.model.export import lenet_onnx
    from accel.model.onnx_import import load_onnx
    from accel.ref import lenet

    config = AccelConfig()
    cases = [(lenet_onnx(), lenet.load_default().test_images_int8[:1].transpose(0, 3, 1, 2))]
    for factory in ONNX_MODELS:
        data, xi = OnnxNet.calibrated(factory, seed=0, batch=1)
        cases.append((data, xi))
    for data, xi in cases:
        graph = load_onnx(data)
        xi = np.ascontiguousarray(xi)
        result = run_image_functional(graph_image(graph, [xi], config), config, elf)
        assert result["status"] == 0
        _assert_equal(result["outputs"], run_model(graph, [xi]).outputs)


def test_malformed_image_stops_the_firmware(elf):
    """An unknown host op code: model.c stops with status MODEL_E_IMAGE naming the op."""
    import struct

    from accel.firmware import image as model_image
    from accel.firmware.riscv.functional import FunctionalBackend
    from accel.firmware.riscv.iss import ISS, Memory

    data, x = _model(residual, 0)
    config = AccelConfig()
    img = graph_image(load_tflite(data), [x], config)
    memory = Memory(0x40000)
    iss = ISS(memory)
    iss.load_elf(elf)
    img.write_to(memory.write)
    kind = img.base + 4 * (model_image.FIXED_WORDS + model_image.OP_WORDS * 2)
    memory.write(kind, struct.pack("<I", 99))  # op 2, the ADD
    iss.backend = FunctionalBackend(memory, config)
    assert iss.run(max_instructions=10_000_000) == 2
    result = img.read_result(memory.read)
    assert (result["status"], result["failed_op"]) == (model_image.STATUS_BAD_IMAGE, 2)
    assert "op 2: unknown host op 99" in iss.text_output


@pytest.mark.parametrize("image", [0, 7])
def test_exported_lenet_runs_under_firmware(lenet_file, tmp_path, capsys, image):
    assert main(["--model", str(lenet_file), "--image", str(image), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "5 accelerator layers" in out and "equals the golden model: yes" in out


def test_cli_prints_per_op_instructions(tmp_path, capsys):
    data, x = _model(residual, 2)
    (tmp_path / "m.tflite").write_bytes(data)
    np.save(tmp_path / "x.npy", x)
    args = ["--model", str(tmp_path / "m.tflite"), "--input", str(tmp_path / "x.npy")]
    assert main([*args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 accelerator layers, 1 host ops" in out and "equals the golden model: yes" in out
    row = next(line for line in out.splitlines() if line.startswith("op2 ADD"))
    assert row.split()[2] == "host" and int(row.split()[3]) > 0


def test_activation_buffers_are_reused(elf):
    """Seven 36 KiB activations (252 KiB) in the 176 KiB arena: dead buffers are reused,
    the skip connection's input stays live until the ADD."""
    net = Net(3)
    x = net.input((1, 48, 48, 16))
    y = x
    for _ in range(5):
        y = net.conv(y, 16, 1, act="RELU")
    data = net.build([x], [net.add(x, y)])
    xi = net.random_input(x, batch=1)
    graph = load_tflite(data)
    config = AccelConfig()
    image = graph_image(graph, [xi], config)
    assert image.activation_bytes == 3 * 48 * 48 * 16
    result = run_image_functional(image, config, elf)
    _assert_equal(result["outputs"], run_model(graph, [xi]).outputs)
    _assert_equal(result["outputs"], run_litert(data, xi))


def test_model_too_large_for_the_arena_is_a_clear_error(tmp_path, capsys):
    net = Net(1)
    x = net.input((1, 96, 96, 16))
    path = tmp_path / "big.tflite"
    path.write_bytes(net.build([x], [net.add(x, net.conv(x, 16, 1))]))
    np.save(tmp_path / "x.npy", np.zeros((1, 96, 96, 16), np.int8))
    args = ["--model", str(path), "--input", str(tmp_path / "x.npy"), "--out", str(tmp_path)]
    assert main(args) == 2
    assert "arena ends" in capsys.readouterr().err


def test_graph_image_checks_the_input():
    data, x = _model(residual, 0)
    graph = load_tflite(data)
    with pytest.raises(ModelError, match="one sample at a time"):
        graph_image(graph, [np.concatenate([x, x])], AccelConfig())


def test_bad_input_is_one_line_error(lenet_file, tmp_path, capsys):
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((1, 32, 32, 1), np.float32))
    assert main(["--model", str(lenet_file), "--input", str(bad), "--out", str(tmp_path)]) == 2
    assert "int8" in capsys.readouterr().err


@pytest.mark.parametrize("factory", [same_stride2_even, conv_fused_pool, fc_per_channel])
def test_layers_the_mapping_rejects_run_as_host_kernels(monkeypatch, elf, factory):
    """As the golden model's fallback: CONV_2D (pre-padded), CONV_2D + fused MAX_POOL_2D and
    FULLY_CONNECTED as host kernels when the accelerator mapping rejects them."""
    import accel.firmware.image
    from accel.mapping import MappingError

    def reject(*args, **kwargs):
        raise MappingError("descriptor field X does not fit")

    data, x = _model(factory, 0)
    graph = load_tflite(data)
    expected = run_model(graph, [x]).outputs
    monkeypatch.setattr(accel.firmware.image, "prepare_layer", reject)
    config = AccelConfig()
    image = graph_image(graph, [x], config)
    assert all(op.where == "host" for op in image.ops)
    assert "not mapped (descriptor field X does not fit)" in image.notes[0]
    result = run_image_functional(image, config, elf)
    _assert_equal(result["outputs"], expected)


def test_cli_two_inputs_from_npz(tmp_path, capsys):
    net = Net(4)
    a = net.input((1, 5, 5, 6), scale=0.07, zp=3)
    b = net.input((1, 1, 1, 6), scale=0.02, zp=-100)
    (tmp_path / "m.tflite").write_bytes(net.build([a, b], [net.add(a, b, act="RELU6")]))
    rng = np.random.default_rng(0)
    xa = rng.integers(-128, 128, (1, 5, 5, 6)).astype(np.int8)
    xb = rng.integers(-128, 128, (1, 1, 1, 6)).astype(np.int8)
    np.savez(tmp_path / "x.npz", xa, xb)
    args = ["--model", str(tmp_path / "m.tflite"), "--input", str(tmp_path / "x.npz")]
    assert main([*args, "--out", str(tmp_path)]) == 0
    assert "equals the golden model: yes" in capsys.readouterr().out


def test_instruction_budget_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    import accel.firmware.run

    monkeypatch.setattr(accel.firmware.run, "MAX_INSTRUCTIONS", 1000)
    data, x = _model(residual, 0)
    (tmp_path / "m.tflite").write_bytes(data)
    np.save(tmp_path / "x.npy", x)
    args = ["--model", str(tmp_path / "m.tflite"), "--input", str(tmp_path / "x.npy")]
    assert main([*args, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the firmware did not finish within 1000 instructions")
