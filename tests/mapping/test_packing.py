"""accel.mapping.packing: weight tiles and parameter tiles, checked by unpacking them by hand."""

import dataclasses

import numpy as np
import pytest

from accel.mapping import folded_bias, pack_params, pack_weights, unpack_params, unpack_weights
from accel.ref.layer import random_layer
from accel.spec.config import AccelConfig


@pytest.mark.parametrize("rows, cols, bus_width", [(4, 4, 64), (8, 8, 64), (3, 5, 32)])
def test_weight_tiles_hold_w_at_k_i_m_j(rows, cols, bus_width):
    config = AccelConfig(rows=rows, cols=cols, bus_width=bus_width)
    layer = random_layer(np.random.default_rng(rows), M=7, C=3, R=3, S=2)
    packed = np.frombuffer(pack_weights(layer, config), dtype=np.int8)
    M, K = 7, 3 * 3 * 2
    m_tiles, k_tiles = -(-M // cols), -(-K // rows)
    tile_bytes = config.weight_tile_beats * config.bus_bytes
    assert tile_bytes % config.bus_bytes == 0 and tile_bytes >= rows * cols
    assert packed.size == m_tiles * k_tiles * tile_bytes
    w = layer.weights  # (M, R, S, C); k = (r*S + s)*C + c
    for mt in range(m_tiles):
        for kt in range(k_tiles):
            tile = packed[(mt * k_tiles + kt) * tile_bytes :][:tile_bytes]
            assert not tile[rows * cols :].any()
            for i in range(rows):
                for j in range(cols):
                    m, k = mt * cols + j, kt * rows + i
                    if m < M and k < K:
                        r, rest = divmod(k, 2 * 3)
                        s, c = divmod(rest, 3)
                        expected = w[m, r, s, c]
                    else:
                        expected = 0
                    assert tile[i * cols + j] == expected


def test_folded_bias_wraps_to_int32():
    layer = random_layer(np.random.default_rng(3), M=3, C=2, R=1, S=1)
    layer = dataclasses.replace(
        layer,
        bias=np.array([2**31 - 1, -(2**31), 5], np.int32),
        weights=np.full_like(layer.weights, -128),
        input_zero_point=-128,
    )
    got = folded_bias(layer)
    for m in range(3):
        exact = int(layer.bias[m]) - (-128) * (-128) * 2
        assert got[m] == (exact + 2**31) % 2**32 - 2**31


def test_parameter_tiles_are_bias_multiplier_shift_per_m_tile():
    config = AccelConfig(rows=4, cols=4)
    layer = random_layer(np.random.default_rng(4), M=6, C=2, R=3, S=3)
    packed = pack_params(layer, config)
    tile_bytes = config.param_tile_beats * config.bus_bytes
    assert len(packed) == 2 * tile_bytes
    bias = folded_bias(layer)
    for mt in range(2):
        words = np.frombuffer(packed[mt * tile_bytes :][:48], dtype="<i4").reshape(3, 4)
        for j in range(4):
            m = mt * 4 + j
            want = (bias[m], layer.multiplier[m], layer.shift[m]) if m < 6 else (0, 0, 0)
            assert tuple(words[:, j]) == tuple(want)
        assert not any(packed[mt * tile_bytes + 48 : (mt + 1) * tile_bytes])


@pytest.mark.parametrize("rows, cols, bus_width", [(4, 4, 64), (8, 8, 32), (3, 5, 128)])
def test_unpacking_inverts_packing(rows, cols, bus_width):
    config = AccelConfig(rows=rows, cols=cols, bus_width=bus_width)
    layer = random_layer(np.random.default_rng(9), M=11, C=5, R=2, S=3)
    w = unpack_weights(pack_weights(layer, config), 11, 2, 3, 5, config)
    np.testing.assert_array_equal(w, layer.weights)
    bias, multiplier, shift = unpack_params(pack_params(layer, config), 11, config)
    np.testing.assert_array_equal(bias, folded_bias(layer))
    np.testing.assert_array_equal(multiplier, layer.multiplier)
    np.testing.assert_array_equal(shift, layer.shift)
