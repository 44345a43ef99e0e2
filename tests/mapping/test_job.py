"""accel.mapping.job: memory layout and instruction sequence of a layer."""

import numpy as np

from accel.mapping import LayerShape, layer_addresses, layout_layer, shape_descriptor
from accel.ref.layer import random_layer
from accel.spec import isa
from accel.spec.config import AccelConfig


def test_regions_are_aligned_and_disjoint_and_match_the_shape_descriptor():
    config = AccelConfig()
    rng = np.random.default_rng(2)
    layer = random_layer(rng, M=10, C=3, R=3, S=3, padding=1)
    x = rng.integers(-128, 128, size=(1, 6, 6, 3), dtype=np.int8)
    job = layout_layer(layer, x, config, band=2, base=0x1234)
    spans = sorted((a, a + len(b)) for a, b in job.regions.values())
    spans.append((job.output_addr, job.output_addr + job.output_bytes))
    spans.sort()
    assert all(a % 64 == 0 for a, _ in spans) and spans[0][0] >= 0x1234
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False))
    assert job.regions["input"][1] == x.tobytes()
    shape = LayerShape.of(layer, x.shape)
    timing = shape_descriptor(shape, config, band=2, base=0x1234)
    differ = {k for k in timing if timing[k] != job.descriptor[k]}
    assert differ <= {"IN_ZP", "OUT_ZP", "ACT_MIN", "ACT_MAX"}
    assert layer_addresses(shape, config, 0x1234)["end"] == job.extra["end"]


def test_commands_set_every_register_then_start_and_wait():
    rng = np.random.default_rng(3)
    layer = random_layer(rng, M=2, C=1, R=1, S=1)
    x = rng.integers(-128, 128, size=(1, 2, 2, 1), dtype=np.int8)
    job = layout_layer(layer, x, AccelConfig(), band=1)
    cmds = job.commands()
    assert len(cmds) == len(isa.REGISTERS) + 2
    for (fid, value, _), reg in zip(cmds, isa.REGISTERS, strict=False):
        assert fid == isa.function_id("SET", reg.index)
        assert value == job.descriptor[reg.name] & 0xFFFFFFFF
    assert cmds[-2][0] == isa.function_id("CTRL", isa.CONTROL_OP["START"].index)
    assert cmds[-1][0] == isa.function_id("CTRL", isa.CONTROL_OP["WAIT"].index)
