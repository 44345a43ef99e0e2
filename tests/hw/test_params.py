# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.params.ParamLoader: one read command per layer, tiles unpacked from bytes.

The expected tiles are decoded from the raw bytes with ``struct`` (little-endian int32:
``cols`` biases, then multipliers, then shifts), independently of the hardware layout.
"""

import random
import struct

import pytest
from amaranth.sim import Simulator
from engine_helpers import descriptor, geometry, start_layer

from accel.hw.params import ParamLoader
from accel.spec.config import AccelConfig
from accel.verif.models import stream_get, stream_put


def decode_tile(blob: bytes, cols: int) -> dict:
    words = struct.unpack(f"<{3 * cols}I", blob[: 12 * cols])
    return {
        "bias": list(words[:cols]),
        "multiplier": list(words[cols : 2 * cols]),
        "shift": list(words[2 * cols :]),
    }


@pytest.mark.parametrize(
    "config, M",
    [
        (AccelConfig(rows=4, cols=4), 10),  # 48-byte tiles, 6 beats each, 3 tiles
        (AccelConfig(rows=3, cols=5, bus_width=32), 5),  # 60-byte tiles, 15 beats, 1 tile
        (AccelConfig(rows=2, cols=3, bus_width=128), 7),  # 36 bytes padded to 3 beats
    ],
)
def test_loads_every_tile(config, M):
    rng = random.Random(M)
    d = descriptor(M=M, PARAM_ADDR=0x340)
    g = geometry(d, config)
    beats = g["m_tiles"] * config.param_tile_beats
    blob = rng.randbytes(beats * config.bus_bytes)
    dut = ParamLoader(config)
    commands, loaded_trace = [], []

    async def dma(ctx):
        commands.append(await stream_get(ctx, dut.cmd))
        for _ in range(rng.randrange(4)):
            await ctx.tick()
            assert not ctx.get(dut.cmd.valid), "the command is requested once"
        for i in range(beats):
            word = int.from_bytes(blob[i * config.bus_bytes : (i + 1) * config.bus_bytes], "little")
            loaded_trace.append(ctx.get(dut.loaded))
            await stream_put(ctx, dut.data, {"data": word, "last": i == beats - 1}, rng=rng)
        loaded_trace.append(ctx.get(dut.loaded))  # the cycle after the last beat

    async def host(ctx):
        assert not ctx.get(dut.loaded)
        await start_layer(ctx, dut.layer, d, g)
        while len(loaded_trace) <= beats:
            await ctx.tick()
        # Read every tile back through the synchronous read port.
        for j in range(g["m_tiles"]):
            ctx.set(dut.read.addr, j)
            await ctx.tick()
            tile = ctx.get(dut.read.data)
            expected = decode_tile(
                blob[j * config.param_tile_beats * config.bus_bytes :], config.cols
            )
            for name, values in expected.items():
                assert list(getattr(tile, name)) == values, (j, name)
        # A new layer restarts the loader: loaded drops and the command is offered again.
        await start_layer(ctx, dut.layer, d, g)
        assert not ctx.get(dut.loaded) and ctx.get(dut.cmd.valid)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(dma)
    sim.add_testbench(host)
    sim.run()

    assert len(commands) == 1
    assert (commands[0].addr, commands[0].beats) == (0x340, beats)
    # `loaded` is low until the cycle after the last beat, then stays high.
    assert loaded_trace == [0] * beats + [1]
