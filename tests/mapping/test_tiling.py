"""accel.mapping.tiling + tiled_job: every tiling path, run through the functional descriptor
model (accel.verif.descriptor) and compared with the golden layer."""

import numpy as np
import pytest

from accel.mapping import LayerShape, MappingError
from accel.mapping.tiled_job import layout_plan
from accel.mapping.tiling import ACC_IN, ACC_OUT, plan_tiles
from accel.ref.layer import random_layer, run_layer
from accel.ref.networks import NETWORKS, network_layers
from accel.spec.config import AccelConfig
from accel.verif.descriptor import DescriptorModel

TINY = dict(rows=4, cols=4, in_depth=16, acc_depth=32, param_depth=2)


class ByteMemory:
    def __init__(self, size):
        self.data = bytearray(size)

    def read(self, addr, n):
        return bytes(self.data[addr : addr + n])

    def write(self, addr, data):
        self.data[addr : addr + len(data)] = data


def run_tiled(layer, x, config):
    shape = LayerShape.of(layer, x.shape)
    plan = plan_tiles(shape, config)
    job = layout_plan(layer, x, config, plan)
    memory = ByteMemory(job.extra["end"] + 64)
    for addr, blob in job.regions.values():
        memory.write(addr, blob)
    model = DescriptorModel(memory, config)
    for desc in job.descriptors:
        assert model.run(desc) == 0, desc
    out = memory.read(job.output_addr, job.output_bytes)
    return plan, job, job.decode_output(out)


CASES = [
    # id, layer params, input NHWC, config, what must be tiled
    ("strips_stride1_pad", dict(M=6, C=8, R=3, S=3, padding=1), (1, 6, 20, 8), TINY, "strips"),
    (
        "strips_stride2",
        dict(M=5, C=6, R=3, S=3, stride=2, padding=1),
        (1, 9, 17, 6),
        TINY,
        "strips",
    ),
    (
        "strips_pool",
        dict(M=4, C=5, R=3, S=3, pool=True),
        (1, 8, 18, 5),
        dict(TINY, in_depth=32),
        "strips",
    ),
    (
        "strips_7x7_pad3",
        dict(M=4, C=3, R=7, S=7, stride=2, padding=3),
        (1, 12, 30, 3),
        dict(TINY, in_depth=64),
        "strips",
    ),
    ("m_groups", dict(M=19, C=3, R=1, S=1), (1, 3, 3, 3), TINY, "groups"),
    ("m_groups_strips", dict(M=13, C=8, R=3, S=3, padding=1), (1, 5, 16, 8), TINY, "both"),
    ("fc_chunks", dict(M=6, C=300, R=1, S=1), (1, 1, 1, 300), TINY, "chunks"),
    ("fc_chunks_groups_batch3", dict(M=11, C=200, R=1, S=1), (3, 1, 1, 200), TINY, "chunks"),
    ("batch2_strips", dict(M=3, C=8, R=3, S=3, padding=1), (2, 4, 19, 8), TINY, "strips"),
]


@pytest.mark.parametrize("name, params, nhwc, config, kind", CASES, ids=[c[0] for c in CASES])
def test_tiled_layer_equals_golden(name, params, nhwc, config, kind):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    layer = random_layer(rng, **params)
    x = rng.integers(-128, 128, size=nhwc, dtype=np.int8)
    config = AccelConfig(**config)
    plan, job, out = run_tiled(layer, x, config)
    np.testing.assert_array_equal(out, run_layer(layer, x))
    groups = {(t.m0, t.m1) for t in plan.tiles}
    strips = {(t.f0, t.f1) for t in plan.tiles}
    chunks = {(t.c0, t.c1) for t in plan.tiles}
    assert (len(groups) > 1) == (kind in ("groups", "both") or "groups" in name)
    assert (len(strips) > 1) == (kind in ("strips", "both"))
    assert (len(chunks) > 1) == (kind == "chunks")
    if kind == "chunks":
        modes = [t.acc for t in plan.tiles]
        assert modes[0] == ACC_OUT and modes[-1] == ACC_IN
    assert len(job.descriptors) == len(plan.tiles)


def test_untiled_layer_is_one_contiguous_descriptor():
    layer = random_layer(np.random.default_rng(1), M=6, C=3, R=3, S=3)
    plan = plan_tiles(LayerShape.of(layer, (1, 8, 8, 3)), AccelConfig())
    assert not plan.split and len(plan.tiles) == 1


@pytest.mark.parametrize("network", NETWORKS)
def test_every_layer_of_real_networks_maps_on_the_default_8x8(network):
    config = AccelConfig()
    for layer in network_layers(network):
        if layer.depthwise:
            continue
        plan = plan_tiles(LayerShape.of_network_layer(layer), config)
        assert plan.tiles, layer.name


def test_window_too_big_for_the_banks_is_a_clear_error():
    layer = random_layer(np.random.default_rng(0), M=2, C=64, R=3, S=3)
    shape = LayerShape.of(layer, (1, 5, 5, 64))
    with pytest.raises(MappingError, match="channel chunking of windows wider than one pixel"):
        plan_tiles(shape, AccelConfig(rows=4, cols=4, in_depth=16, bus_width=32))
