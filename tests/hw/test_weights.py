# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.weights.WeightFetcher: tile commands band by band, the FIFO bound, contents.

A fake read DMA answers each command with the tile's bytes from a host-side copy of memory;
a consumer pops tiles with random stalls. Expected: commands ``W_ADDR + t * tile_bytes`` for
``t`` in every band, popped tiles equal to the memory bytes, never more than ``weight_depth``
tiles requested and not yet popped.
"""

import random

import pytest
from amaranth.sim import Simulator
from engine_helpers import bands, descriptor, geometry, start_layer

from accel.hw.weights import WeightFetcher
from accel.spec.config import AccelConfig
from accel.verif.models import stream_get, stream_put


@pytest.mark.parametrize(
    "config, fields, stall",
    [
        # 2 m tiles x 3 k tiles, 2 images x 2 bands; a slow consumer hits the FIFO bound
        (
            AccelConfig(rows=4, cols=4, weight_depth=2),
            dict(M=6, C=3, R=2, S=2, N=2, H=5, BAND=2),
            0.7,
        ),
        # one tile per band; 32-bit bus: 4-beat tiles; a fast consumer
        (AccelConfig(rows=2, cols=2, bus_width=32, weight_depth=4), dict(M=2, H=4, BAND=1), 0.0),
        # 3 x 5 array on 64 bits: 15 bytes padded to 2 beats
        (AccelConfig(rows=3, cols=5, weight_depth=4), dict(M=5, C=2, R=2, S=2, H=4, BAND=3), 0.3),
    ],
)
def test_tiles_band_by_band(config, fields, stall):
    rng = random.Random(len(fields))
    d = descriptor(W_ADDR=0x1000, **fields)
    g = geometry(d, config)
    n_bands = len(list(bands(d, g)))
    tile_bytes = config.weight_tile_beats * config.bus_bytes
    memory = rng.randbytes(g["tiles"] * tile_bytes)
    total = n_bands * g["tiles"]
    dut = WeightFetcher(config)
    commands, popped = [], []
    outstanding = []  # tiles requested and not yet popped, per cycle

    async def dma(ctx):
        while len(commands) < total:
            cmd = await stream_get(ctx, dut.cmd)
            commands.append((cmd.addr, cmd.beats))
            offset = cmd.addr - d["W_ADDR"]
            for i in range(cmd.beats):
                chunk = memory[offset + i * config.bus_bytes : offset + (i + 1) * config.bus_bytes]
                payload = {"data": int.from_bytes(chunk, "little"), "last": i == cmd.beats - 1}
                await stream_put(ctx, dut.data, payload, rng=rng, gap=0.2)

    async def consumer(ctx):
        await start_layer(ctx, dut.layer, d, g)
        while len(popped) < total:
            popped.append(await stream_get(ctx, dut.tile, rng=rng, stall=stall))
        for _ in range(20):  # the walk is over: no further command, the FIFO is empty
            await ctx.tick()
            assert not ctx.get(dut.cmd.valid) and not ctx.get(dut.tile.valid)

    async def monitor(ctx):
        level = 0
        signals = (dut.cmd.valid, dut.cmd.ready, dut.tile.valid, dut.tile.ready)
        async for _, _, cmd_valid, cmd_ready, tile_valid, tile_ready in ctx.tick().sample(*signals):
            level += (cmd_valid & cmd_ready) - (tile_valid & tile_ready)
            outstanding.append(level)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(dma)
    sim.add_testbench(consumer)
    sim.add_testbench(monitor, background=True)
    sim.run()

    per_band = [(d["W_ADDR"] + t * tile_bytes, config.weight_tile_beats) for t in range(g["tiles"])]
    assert commands == per_band * n_bands
    for i, tile in enumerate(popped):
        t = i % g["tiles"]
        assert tile == int.from_bytes(memory[t * tile_bytes : (t + 1) * tile_bytes], "little"), i
    assert max(outstanding) <= config.weight_depth
    if stall > 0.5:  # a slow consumer: the fetcher runs into the bound
        assert max(outstanding) == config.weight_depth
