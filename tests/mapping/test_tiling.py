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
    # channel chunks of windows wider than one pixel (pixel mode), with output-row ranges
    ("rs_chunks_pad1", dict(M=6, C=64, R=3, S=3, padding=1), (1, 5, 5, 64), TINY, "chunks"),
    (
        "rs_chunks_stride2",
        dict(M=5, C=40, R=3, S=3, stride=2, padding=1),
        (1, 7, 7, 40),
        TINY,
        "chunks+strips",
    ),
    (
        "rs_chunks_groups_strips",
        dict(M=13, C=24, R=3, S=3, padding=1),
        (1, 5, 12, 24),
        TINY,
        "chunks+groups+strips",
    ),
    (
        "rs_chunks_batch2_pool",
        dict(M=4, C=30, R=3, S=3, padding=1, pool=True),
        (2, 6, 7, 30),
        TINY,
        "chunks+strips",
    ),
    (
        "rs_chunks_odd_C_5x5",
        dict(M=3, C=21, R=5, S=5, padding=2),
        (1, 6, 6, 21),
        dict(TINY, in_depth=32),
        "chunks",
    ),
    (
        "rs_chunks_small_acc",
        dict(M=8, C=40, R=3, S=3, padding=1),
        (1, 12, 9, 40),
        dict(TINY, acc_depth=16),
        "chunks+strips",
    ),
    # banks smaller than one window of one-bus-word pixels: filter sub-windows accumulated,
    # the input laid out with its padding
    (
        "split_7x7_stride2_pad3",
        dict(M=4, C=3, R=7, S=7, stride=2, padding=3),
        (1, 12, 12, 3),
        TINY,
        "chunks+split+strips",
    ),
    (
        "split_11x11_stride4",
        dict(M=3, C=3, R=11, S=11, stride=4, padding=2),
        (1, 23, 23, 3),
        TINY,
        "chunks+split+strips",
    ),
    (
        "split_5x5_pool_batch2",
        dict(M=5, C=20, R=5, S=5, padding=2, pool=True),
        (2, 6, 6, 20),
        dict(TINY, bus_width=128),
        "chunks+split+strips",
    ),
    # depthwise: groups of cols channels, block-diagonal weights
    (
        "dw_pad1",
        dict(M=10, C=10, R=3, S=3, padding=1, depthwise=True),
        (1, 6, 7, 10),
        TINY,
        "groups+strips",
    ),
    (
        "dw_stride2_batch2",
        dict(M=12, C=12, R=3, S=3, stride=2, padding=1, depthwise=True),
        (2, 9, 9, 12),
        TINY,
        "groups+strips",
    ),
    (
        "dw_pool",
        dict(M=6, C=6, R=3, S=3, padding=1, pool=True, depthwise=True),
        (1, 6, 6, 6),
        TINY,
        "groups+strips",
    ),
    (
        "dw_one_group",
        dict(M=3, C=3, R=3, S=3, padding=1, depthwise=True),
        (1, 6, 6, 3),
        dict(TINY, in_depth=64),
        "none",
    ),
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
    chunks = {(t.c0, t.c1) for t in plan.tiles if not layer.depthwise}
    assert (len(groups) > 1) == (kind in ("groups", "both") or "groups" in name + kind)
    assert (len(strips) > 1) == (kind in ("strips", "both") or "strips" in kind)
    windows = {(t.r0, t.r1, t.s0, t.s1) for t in plan.tiles}
    assert (len(chunks) > 1 or len(windows) > 1) == kind.startswith("chunks")
    assert (len(windows) > 1) == ("split" in kind)
    if kind.startswith("chunks"):
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
        plan = plan_tiles(LayerShape.of_network_layer(layer), config)
        assert plan.tiles, layer.name


@pytest.mark.parametrize("network", ["resnet18", "alexnet", "mobilenet_v1"])
def test_every_layer_of_real_networks_maps_on_tiny_buffers(network):
    """No layer is rejected for its size: 4x4 with the smallest buffers (16-word input banks,
    16 accumulator entries, 2 parameter tiles). Among them 7x7 and 11x11 windows split into
    filter pieces, 3x3 windows of 512 channels in chunks, depthwise groups. (VGG-16's layers
    are of the same kinds; its ~10^5 descriptors per layer take a minute to plan.)"""
    config = AccelConfig(rows=4, cols=4, in_depth=16, acc_depth=16, param_depth=2)
    for layer in network_layers(network):
        plan = plan_tiles(LayerShape.of_network_layer(layer), config)
        assert plan.tiles, layer.name


def test_pooled_stride4_pixel_too_big_for_the_banks_is_a_clear_error():
    """One pooled output pixel at stride 4 reads 5x5 input pixels even for a 1x1 filter
    piece: 25 bus words, more than 16-word banks hold — a real limit."""
    layer = random_layer(np.random.default_rng(0), M=2, C=64, R=7, S=7, stride=4, pool=True)
    shape = LayerShape.of(layer, (1, 19, 19, 64))
    with pytest.raises(MappingError, match=r"5x5 input pixels .* do not fit the input banks"):
        plan_tiles(shape, AccelConfig(rows=4, cols=4, in_depth=16, bus_width=32))


def test_depthwise_groups_read_their_channels_in_pixel_mode():
    """Groups of cols channels at the layer's pixel pitch, each written at its channel
    offset; the weights of a group are zero off the diagonal."""
    layer = random_layer(np.random.default_rng(2), M=10, C=10, R=3, S=3, depthwise=True)
    config = AccelConfig(rows=4, cols=4)
    plan = plan_tiles(LayerShape.of(layer, (1, 6, 6, 10)), config)
    job = layout_plan(layer, np.zeros((1, 6, 6, 10), np.int8), config, plan)
    assert [(d["C"], d["M"], d["IN_PIX_PITCH"]) for d in job.descriptors] == [(4, 4, 16)] * 2 + [
        (2, 2, 16)
    ]
    base = job.descriptors[0]
    assert [d["IN_ADDR"] - base["IN_ADDR"] for d in job.descriptors] == [0, 4, 8]
    assert [d["OUT_ADDR"] - base["OUT_ADDR"] for d in job.descriptors] == [0, 4, 8]
    assert all(d["OUT_PIX_PITCH"] == 10 for d in job.descriptors)


def test_chunk_sizes_are_bus_multiples():
    layer = random_layer(np.random.default_rng(3), M=4, C=100, R=3, S=3, padding=1)
    plan = plan_tiles(LayerShape.of(layer, (1, 6, 6, 100)), AccelConfig(**TINY))
    chunks = sorted({(t.c0, t.c1) for t in plan.tiles})
    assert all(c0 % 8 == 0 for c0, _ in chunks) and chunks[-1][1] == 100
    assert plan.in_pix_pitch == 104
