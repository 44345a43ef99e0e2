"""accel.mapping.checks: the Python mirror of the hardware's descriptor checks."""

import numpy as np
import pytest

from accel.mapping import (
    LayerShape,
    MappingError,
    check_register_ranges,
    failed_check,
    legal_bands,
    require_mappable,
    shape_descriptor,
)
from accel.mapping.checks import input_row_slot
from accel.ref.layer import random_layer
from accel.spec import isa
from accel.spec.config import AccelConfig

SMALL = AccelConfig(rows=4, cols=4, in_depth=64, acc_depth=128)


def _shape(M=5, C=3, R=3, S=3, nhwc=(1, 9, 9, 3), **kw):
    return LayerShape.of(random_layer(np.random.default_rng(0), M=M, C=C, R=R, S=S, **kw), nhwc)


def test_valid_descriptor_passes():
    shape = _shape()
    assert failed_check(shape_descriptor(shape, SMALL, band=1), SMALL) is None


@pytest.mark.parametrize(
    "change, name",
    [
        ({"C": 0}, "ZERO_SIZE"),
        ({"BAND": 0}, "ZERO_SIZE"),
        ({"E": 10}, "SHAPE"),
        ({"PL": 3}, "SHAPE"),
        ({"F": 10}, "SHAPE"),
        ({"IN_ROW_PITCH": 24}, "PITCH"),
        ({"IN_ROW_PITCH": 36}, "ALIGN"),
        ({"OUT_PIX_PITCH": 4}, "PITCH"),
        ({"ACC": 2}, "ACCUMULATE"),
        ({"P": 3}, "SHAPE"),
        ({"W_ADDR": 0x1004}, "ALIGN"),
        # pixel mode (IN_PIX_PITCH not 0 or C): pixels and rows whole bus words apart
        ({"IN_PIX_PITCH": 2}, "ALIGN"),  # below C = 3, but first not whole bus words
        ({"IN_PIX_PITCH": 8, "IN_ROW_PITCH": 64}, "PITCH"),
        ({"IN_PIX_PITCH": 12, "IN_ROW_PITCH": 112}, "ALIGN"),
        ({"IN_PIX_PITCH": 8, "IN_ROW_PITCH": 76}, "ALIGN"),
        ({"ACT_MIN": 5, "ACT_MAX": 4}, "CLAMP"),
        ({"POOL": 1, "BAND": 1}, "POOL"),
        ({"M": 16, "BAND": 7, "OUT_PIX_PITCH": 16, "OUT_ROW_PITCH": 112}, "ACC_BUFFER"),
    ],
)
def test_each_check_fires(change, name):
    desc = shape_descriptor(_shape(), SMALL, band=1)
    desc.update(change)
    assert failed_check(desc, SMALL) == isa.DESCRIPTOR_CHECK[name]


@pytest.mark.parametrize(
    "change",
    [
        {"IN_PIX_PITCH": 0},  # 0 and C: contiguous pixels
        {"IN_PIX_PITCH": 8, "IN_ROW_PITCH": 72, "IN_ADDR": 0x2005},  # pixel mode, any IN_ADDR
        {"IN_ROW_PITCH": 32, "IN_ADDR": 0x2003},  # row mode from any IN_ADDR
    ],
)
def test_valid_input_pitches(change):
    desc = shape_descriptor(_shape(), SMALL, band=1)
    desc.update(change)
    assert failed_check(desc, SMALL) is None


def test_pixel_pitch_below_c():
    shape = _shape(C=16, nhwc=(1, 9, 9, 16))
    desc = shape_descriptor(shape, SMALL, band=1)
    desc.update(IN_PIX_PITCH=8, IN_ROW_PITCH=9 * 8)
    assert failed_check(desc, SMALL) == isa.DESCRIPTOR_CHECK["PITCH"]


def test_pixel_mode_bank_slots():
    """A pixel's C bytes take the bus words they touch from IN_ADDR's lane on: 3 channels
    from byte 6 take 2 words (from byte 5: one); 5 rows of 9 such pixels overflow 64-word
    banks (one-word pixels fit)."""
    desc = shape_descriptor(_shape(), SMALL, band=1)
    desc.update(IN_PIX_PITCH=8, IN_ROW_PITCH=72, IN_ADDR=0x2006)
    assert input_row_slot(desc, SMALL) == (True, 9 * 16)
    assert failed_check(dict(desc, BAND=3), SMALL) == isa.DESCRIPTOR_CHECK["INPUT_BUFFER"]
    assert failed_check(dict(desc, IN_ADDR=0x2005, BAND=3), SMALL) is None


def test_parameter_buffer_check():
    config = AccelConfig(rows=4, cols=4, param_depth=2)
    desc = shape_descriptor(_shape(M=9), config, band=1)
    assert failed_check(desc, config) == isa.DESCRIPTOR_CHECK["PARAM_BUFFER"]


def test_legal_bands_are_exactly_those_the_checks_accept():
    for shape, config in [
        (_shape(), SMALL),
        (_shape(M=40, C=16, nhwc=(1, 12, 30, 16)), SMALL),
        (_shape(pool=True, nhwc=(1, 10, 10, 3)), SMALL),
    ]:
        accepted = [
            band
            for band in range(1, shape.E + 1)
            if failed_check(shape_descriptor(shape, config, band), config) is None
        ]
        assert legal_bands(shape, config) == accepted


def test_unmappable_layers_name_the_buffer():
    with pytest.raises(MappingError, match="parameter tiles"):
        require_mappable(_shape(M=4 * 65), SMALL)
    with pytest.raises(MappingError, match="accumulator entries"):
        require_mappable(_shape(M=4 * 64, nhwc=(1, 9, 9, 3)), SMALL)


def test_register_ranges():
    desc = shape_descriptor(_shape(), SMALL, band=1)
    check_register_ranges(desc)
    desc["U"] = 16
    with pytest.raises(MappingError, match="U=16 does not fit 4 bits"):
        check_register_ranges(desc)
    desc["U"], desc["IN_ZP"] = 1, -129
    with pytest.raises(MappingError, match="IN_ZP"):
        check_register_ranges(desc)
