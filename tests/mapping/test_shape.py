"""accel.mapping.shape: loop-nest bounds of a layer run."""

import numpy as np
import pytest

from accel.mapping import LayerShape, MappingError, tiles
from accel.ref.layer import random_layer, run_layer
from accel.spec.config import AccelConfig


@pytest.mark.parametrize(
    "M, C, R, S, stride, padding, pool, nhwc",
    [
        (6, 1, 5, 5, 1, 0, True, (1, 28, 28, 1)),
        (5, 3, 3, 3, 2, 1, False, (2, 9, 8, 3)),
        (4, 2, 1, 1, 1, 0, False, (1, 5, 7, 2)),
    ],
)
def test_output_shape_matches_the_golden_model(M, C, R, S, stride, padding, pool, nhwc):
    rng = np.random.default_rng(1)
    layer = random_layer(rng, M=M, C=C, R=R, S=S, stride=stride, padding=padding, pool=pool)
    x = rng.integers(-128, 128, size=nhwc, dtype=np.int8)
    shape = LayerShape.of(layer, x.shape)
    assert shape.output_shape == run_layer(layer, x).shape
    assert shape.K == R * S * C
    assert shape.macs == nhwc[0] * M * C * shape.E * shape.F * R * S


def test_bounds_of_lenet_conv2():
    layer = random_layer(np.random.default_rng(0), M=16, C=6, R=5, S=5, pool=True)
    shape = LayerShape.of(layer, (1, 14, 14, 6))
    assert (shape.E, shape.F, shape.E_out, shape.F_out) == (10, 10, 5, 5)
    config = AccelConfig()
    assert shape.ideal_cycles(config) == 3750  # 240 000 MACs / 64 PEs
    inputs, weights, params, outputs = 14 * 14 * 6, 16 * 150, 12 * 16, 5 * 5 * 16
    assert shape.min_bytes == inputs + weights + params + outputs
    assert shape.roofline(config) == max(240000 / 64, shape.min_bytes / 8)


@pytest.mark.parametrize(
    "nhwc, message",
    [
        ((1, 8, 8), "NHWC"),
        ((1, 8, 8, 4), "C=4 channels but the weights expect C=3"),
        ((1, 2, 8, 3), "larger than the padded input"),
    ],
)
def test_bad_input_shapes_are_clear_errors(nhwc, message):
    layer = random_layer(np.random.default_rng(0), M=2, C=3, R=3, S=3)
    with pytest.raises(MappingError, match=message):
        LayerShape.of(layer, nhwc)


@pytest.mark.parametrize("n, size, expected", [(1, 8, 1), (8, 8, 1), (9, 8, 2), (150, 8, 19)])
def test_tiles(n, size, expected):
    assert tiles(n, size) == expected
