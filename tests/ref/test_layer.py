"""One quantized layer: vectorized == loop nest, hand-computed cases, validation."""

import dataclasses

import numpy as np
import pytest
from helpers import rejects

from accel.ref.layer import QuantizedLayer, random_layer, run_layer, run_layer_loopnest

ONE = (1 << 30, 1)  # quantize_multiplier(1.0): multiply by exactly 1


def make_layer(**overrides) -> QuantizedLayer:
    """A small valid layer (M = 2, 1x1, C = 1) with fields overridable for error tests."""
    fields = dict(
        name="t",
        weights=np.array([2, -1], dtype=np.int8).reshape(2, 1, 1, 1),
        bias=np.array([5, 0], dtype=np.int32),
        multiplier=np.full(2, ONE[0], dtype=np.int32),
        shift=np.full(2, ONE[1], dtype=np.int32),
        input_zero_point=3,
        output_zero_point=-2,
        act_min=-2,
        act_max=127,
    )
    fields.update(overrides)
    return QuantizedLayer(**fields)


def test_random_layers_vectorized_equals_loopnest():
    rng = np.random.default_rng(21)
    for i in range(60):
        M, C = (int(v) for v in rng.integers(1, 6, size=2))
        R, S = (int(v) for v in rng.integers(1, 4, size=2))
        stride = int(rng.integers(1, 3))
        padding = int(rng.integers(0, 2))
        pool = bool(rng.integers(0, 2))
        relu = bool(rng.integers(0, 2))
        layer = random_layer(rng, M, C, R, S, stride, padding, pool, relu, name=f"r{i}")
        N = int(rng.integers(1, 3))
        low = max(R, S) + 2 * stride  # big enough for a pooled output of at least 1x1
        H, W = (int(v) for v in rng.integers(low, low + 4, size=2))
        x = rng.integers(-128, 128, size=(N, H, W, C)).astype(np.int8)
        fast = run_layer(layer, x)
        slow = run_layer_loopnest(layer, x)
        assert fast.dtype == np.int8 and fast.shape == layer.output_shape(x.shape)
        np.testing.assert_array_equal(fast, slow)
        assert fast.min() >= layer.act_min and fast.max() <= layer.act_max


def test_hand_computed_1x1_layer():
    # x - input_zero_point(3) = [7, 0, -3, -131] for x = [10, 3, 0, -128]
    # channel 0: 2*v + 5 = [19, 5, -1, -257]; * 1.0; + (-2) = [17, 3, -3, -259]
    #            clamp to [-2, 127] (ReLU) = [17, 3, -2, -2]
    # channel 1: -v + 0 = [-7, 0, 3, 131]; + (-2) = [-9, -2, 1, 129] -> [-2, -2, 1, 127]
    layer = make_layer()
    x = np.array([[10, 3], [0, -128]], dtype=np.int8).reshape(1, 2, 2, 1)
    expected = np.array([[[17, -2], [3, -2]], [[-2, 1], [-2, 127]]]).reshape(1, 2, 2, 2)
    for run in (run_layer, run_layer_loopnest):
        np.testing.assert_array_equal(run(layer, x), expected)
    # fused pool: per channel max of the four values
    pooled = dataclasses.replace(layer, pool=True)
    for run in (run_layer, run_layer_loopnest):
        np.testing.assert_array_equal(run(pooled, x), [[[[17, 127]]]])


def test_padding_is_real_zero():
    # 3x3 all-ones filter, padding 1, input zero point 5.
    # x = 5 everywhere is real 0: every accumulator is 0, output = bias * 1.0 + zp = 7 + 1 = 8.
    # x = 6 everywhere is real 1: padded pixels contribute 0, so each output counts its
    # in-image neighbours (corners 4, edges 6, centre 9), + 7 + 1.
    layer = QuantizedLayer(
        name="pad",
        weights=np.ones((1, 3, 3, 1), dtype=np.int8),
        bias=np.array([7], dtype=np.int32),
        multiplier=np.array([ONE[0]], dtype=np.int32),
        shift=np.array([ONE[1]], dtype=np.int32),
        input_zero_point=5,
        output_zero_point=1,
        padding=1,
    )
    counts = np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]])
    for run in (run_layer, run_layer_loopnest):
        zeros = run(layer, np.full((1, 3, 3, 1), 5, dtype=np.int8))
        np.testing.assert_array_equal(zeros, np.full((1, 3, 3, 1), 8))
        ones = run(layer, np.full((1, 3, 3, 1), 6, dtype=np.int8))
        np.testing.assert_array_equal(ones, (counts + 8).reshape(1, 3, 3, 1))


def test_requantization_rounding_in_layer():
    # multiplier 0.25 = (2**30, -1), no bias, zero points 0, weight 1:
    # x = [-6, -5, 6, 2] -> acc * 0.25 = [-1.5, -1.25, 1.5, 0.5]
    #   SRDHM(acc, 2**30) = acc / 2 (exact here: [-3, -2.5 -> -2, 3, 1]), then RDBPOT by 1:
    #   -3 -> -1.5 -> -2; -2 -> -1; 3 -> 1.5 -> 2; 1 -> 0.5 -> 1
    layer = QuantizedLayer(
        name="round",
        weights=np.ones((1, 1, 1, 1), dtype=np.int8),
        bias=np.zeros(1, dtype=np.int32),
        multiplier=np.array([1 << 30], dtype=np.int32),
        shift=np.array([-1], dtype=np.int32),
        input_zero_point=0,
        output_zero_point=0,
    )
    x = np.array([-6, -5, 6, 2], dtype=np.int8).reshape(1, 1, 4, 1)
    np.testing.assert_array_equal(run_layer(layer, x).ravel(), [-2, -1, 2, 1])


def test_shapes_and_macs():
    rng = np.random.default_rng(22)
    conv1 = random_layer(rng, 6, 1, 5, 5, pool=True, name="conv1")
    assert (conv1.M, conv1.C, conv1.R, conv1.S) == (6, 1, 5, 5)
    assert conv1.output_shape((1, 32, 32, 1)) == (1, 14, 14, 6)
    assert conv1.macs((1, 32, 32, 1)) == 6 * 28 * 28 * 25  # 117600
    conv = random_layer(rng, 4, 3, 3, 3, stride=2, padding=1)
    assert conv.output_shape((2, 7, 8, 3)) == (2, 4, 4, 4)  # (7+2-3)//2+1, (8+2-3)//2+1
    assert conv.macs((2, 7, 8, 3)) == 2 * 4 * 3 * 4 * 4 * 3 * 3


def test_random_layer_properties():
    layer = random_layer(np.random.default_rng(5), 8, 3, 3, 3, relu=True)
    again = random_layer(np.random.default_rng(5), 8, 3, 3, 3, relu=True)
    np.testing.assert_array_equal(layer.weights, again.weights)
    assert layer.act_min == layer.output_zero_point and layer.act_max == 127
    assert layer.weights.min() >= -127
    assert np.all((layer.multiplier >= 1 << 30) | (layer.multiplier == 0))
    linear = random_layer(np.random.default_rng(5), 8, 3, 3, 3, relu=False)
    assert (linear.act_min, linear.act_max) == (-128, 127)


def test_layer_is_immutable():
    layer = make_layer()
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.stride = 2
    with pytest.raises(ValueError, match="read-only"):
        layer.weights[0, 0, 0, 0] = 1


test_layer_validation = rejects(
    make_layer,
    [
        ({"weights": np.zeros((2, 1, 1, 1), dtype=np.int16)}, "weights must have dtype int8"),
        ({"weights": np.zeros((2, 1, 1), dtype=np.int8)}, "weights must be 4-D"),
        ({"bias": np.zeros(3, dtype=np.int32)}, r"bias must have shape \(2,\), got \(3,\)"),
        ({"bias": np.zeros(2, dtype=np.int64)}, "bias must have dtype int32, got int64"),
        ({"multiplier": np.array([-1, 0], dtype=np.int32)}, "multiplier must be >= 0"),
        ({"shift": np.array([0, 31], dtype=np.int32)}, r"shift must be within \[-31, 30\]"),
        ({"input_zero_point": 128}, r"input_zero_point must be within \[-128, 127\], got 128"),
        ({"output_zero_point": 1.5}, "output_zero_point must be an integer"),
        ({"act_min": 10, "act_max": 5}, r"act_min \(10\) must be <= act_max \(5\)"),
        ({"stride": 0}, "stride must be >= 1, got 0"),
        ({"padding": -1}, "padding must be >= 0, got -1"),
        ({"pool": 1}, "pool must be a bool"),
        ({"input_scale": 0.0}, "input_scale must be a finite number > 0"),
        ({"name": 3}, "layer name must be a string"),
    ],
)


def test_run_layer_input_errors():
    layer = make_layer()
    with pytest.raises(ValueError, match="input must be an int8 numpy array, got int32"):
        run_layer(layer, np.zeros((1, 2, 2, 1), dtype=np.int32))
    with pytest.raises(ValueError, match="channel mismatch: input has C = 3, weights have C = 1"):
        run_layer(layer, np.zeros((1, 2, 2, 3), dtype=np.int8))
    with pytest.raises(ValueError, match=r"input shape must be NHWC"):
        run_layer(layer, np.zeros((2, 2, 1), dtype=np.int8))
    pooled = dataclasses.replace(layer, pool=True)
    with pytest.raises(ValueError, match="2x2 max-pool needs E, F >= 2, got E = 1, F = 2"):
        run_layer_loopnest(pooled, np.zeros((1, 1, 2, 1), dtype=np.int8))
    big = QuantizedLayer(
        name="big",
        weights=np.zeros((1, 5, 5, 1), dtype=np.int8),
        bias=np.zeros(1, dtype=np.int32),
        multiplier=np.zeros(1, dtype=np.int32),
        shift=np.zeros(1, dtype=np.int32),
        input_zero_point=0,
        output_zero_point=0,
    )
    with pytest.raises(ValueError, match="filter height R = 5 exceeds the padded input height"):
        run_layer(big, np.zeros((1, 4, 9, 1), dtype=np.int8))


@pytest.mark.parametrize("stride, padding, pool", [(1, 1, False), (2, 1, False), (1, 0, True)])
def test_depthwise_layer_equals_its_dense_loopnest(stride, padding, pool):
    """The vectorized depthwise convolution equals the literal loop nest of the dense
    convolution whose filter m is zero off channel m."""
    rng = np.random.default_rng(stride * 10 + padding)
    layer = random_layer(
        rng, M=5, C=5, R=3, S=3, stride=stride, padding=padding, pool=pool, depthwise=True
    )
    x = rng.integers(-128, 128, size=(2, 7, 6, 5), dtype=np.int8)
    np.testing.assert_array_equal(run_layer(layer, x), run_layer_loopnest(layer, x))
    E, F = (7 + 2 * padding - 3) // stride + 1, (6 + 2 * padding - 3) // stride + 1
    assert layer.C == 5 and layer.macs(x.shape) == 2 * 5 * E * F * 9  # N·M·E·F·R·S


def test_depthwise_hand_computed():
    w = np.zeros((2, 1, 2, 1), np.int8)
    w[0, 0, :, 0] = (1, 2)
    w[1, 0, :, 0] = (-1, 3)
    one = np.ones(2, np.int32)
    layer = QuantizedLayer("dw", w, np.zeros(2, np.int32), one << 30, one * 0, 0, 0, depthwise=True)
    x = np.array([[[[1, 10], [2, 20]]]], dtype=np.int8)  # (1, 1, 2, 2)
    acc = np.array([1 * 1 + 2 * 2, -1 * 10 + 3 * 20])  # channel m only
    np.testing.assert_array_equal(run_layer(layer, x).reshape(2), (acc + 1) // 2)
    with pytest.raises(ValueError, match=r"depthwise weights must be \(M, R, S, 1\)"):
        QuantizedLayer(
            "dw",
            np.zeros((2, 1, 1, 2), np.int8),
            *[np.zeros(2, np.int32)] * 3,
            0,
            0,
            depthwise=True,
        )
