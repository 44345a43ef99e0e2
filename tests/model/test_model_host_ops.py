"""Host golden kernels agree with the accelerator's golden model where both apply."""

import numpy as np
import pytest

from accel.model import host_ops
from accel.ref.layer import random_layer, run_layer


def requantization(layer):
    """The arguments of a host kernel after the weights, from a QuantizedLayer: bias,
    multiplier, shift, input and output zero points, clamp range."""
    return (
        layer.bias,
        layer.multiplier,
        layer.shift,
        layer.input_zero_point,
        layer.output_zero_point,
        layer.act_min,
        layer.act_max,
    )


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 0), (2, 2)])
def test_host_conv_equals_run_layer(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    layer = random_layer(rng, M=5, C=3, R=3, S=3, stride=stride, padding=padding)
    x = rng.integers(-128, 128, (2, 9, 8, 3)).astype(np.int8)
    got = host_ops.conv_2d(
        x, layer.weights, *requantization(layer), (stride, stride), (padding,) * 4
    )
    np.testing.assert_array_equal(got, run_layer(layer, x))


def test_host_fully_connected_equals_run_layer():
    rng = np.random.default_rng(3)
    layer = random_layer(rng, M=7, C=20, R=1, S=1)
    x = rng.integers(-128, 128, (6, 1, 1, 20)).astype(np.int8)
    got = host_ops.fully_connected(
        x.reshape(6, 20), layer.weights.reshape(7, 20), *requantization(layer)
    )
    np.testing.assert_array_equal(got, run_layer(layer, x).reshape(6, 7))


def test_depthwise_with_multiplier_one_is_a_per_channel_conv():
    rng = np.random.default_rng(4)
    x = rng.integers(-128, 128, (1, 6, 6, 3)).astype(np.int8)
    w = rng.integers(-127, 128, (1, 3, 3, 3)).astype(np.int8)
    args = (np.zeros(3, np.int32), np.full(3, 1 << 30, np.int32), np.full(3, -8, np.int32))
    common = (*args, 5, -2, -128, 127, (1, 1), (1, 1, 1, 1))
    got = host_ops.depthwise_conv_2d(x, w, *common, 1)
    for c in range(3):
        full = np.zeros((1, 3, 3, 1), np.int8)
        full[0, :, :, 0] = w[0, :, :, c]
        one = host_ops.conv_2d(x[..., c : c + 1], full, *(a[:1] for a in args), *common[3:])
        np.testing.assert_array_equal(got[..., c : c + 1], one)


def test_same_padding_puts_the_odd_element_after():
    assert host_ops.same_padding(8, 3, 2) == (0, 1)
    assert host_ops.same_padding(9, 3, 2) == (1, 1)
    assert host_ops.same_padding(8, 4, 1) == (1, 2)


def test_activation_range():
    assert host_ops.activation_range("RELU", 0.05, -20) == (-20, 127)
    assert host_ops.activation_range("RELU6", 0.05, -20) == (-20, 100)
    assert host_ops.activation_range("RELU_N1_TO_1", 0.05, 0) == (-20, 20)
    assert host_ops.activation_range("NONE", 0.05, 3) == (-128, 127)


def test_average_pool_rounds_half_away_from_zero():
    x = np.array([1, 2, -1, -2], np.int8).reshape(1, 2, 2, 1)
    assert host_ops.average_pool_2d(x, (1, 2), (1, 2), (0, 0, 0, 0)).ravel().tolist() == [2, -2]
