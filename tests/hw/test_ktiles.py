# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.ktiles.KTileRows: row constants of successive K tiles and ``ready`` timing.

Expected constants from the definition: array row ``i`` of K tile ``t`` is reduction index
``k = t * rows + i`` with ``k = (r * S + s) * C + c``, ``offset = r * WC + s * PC + c`` (bank
bytes per row and per pixel: W*C and C unless in pixel mode) and ``valid = k < K``; K tile 0
follows the last one.
"""

import random

import pytest
from amaranth.sim import Simulator
from engine_helpers import descriptor, geometry, start_layer

from accel.hw.ktiles import KTileRows
from accel.spec.config import AccelConfig


def expected_rows(t: int, rows: int, d: dict, g: dict) -> list[dict]:
    out = []
    for i in range(rows):
        k = t * rows + i
        c, s, r = k % d["C"], (k // d["C"]) % d["S"], k // (d["C"] * d["S"])
        offset = r * g["WC"] + s * g["PC"] + c  # bank bytes per row and per pixel
        out.append(dict(valid=int(k < g["K"]), r=r, s=s, offset=offset))
    return out


@pytest.mark.parametrize(
    "rows, fields",
    [
        (4, dict(C=3, S=2, R=2, W=5, H=5)),  # K = 12: 3 full tiles
        (3, dict(C=1, S=3, R=3, W=6, H=6)),  # K = 9
        (8, dict(C=5, S=1, R=2, W=3, H=3)),  # K = 10: the second tile is partly padding
        (2, dict(C=7, S=1, R=1, W=1, H=1)),  # fully connected, K = 7
        # pixel mode: 3 of 10 channels from byte 6, pixel slots of 16 bytes (8-byte bus)
        (4, dict(C=3, S=3, R=2, W=4, H=4, IN_PIX_PITCH=16, IN_ADDR=6, IN_ROW_PITCH=64)),
    ],
)
def test_tiles_in_order(rows, fields):
    config = AccelConfig(rows=rows, cols=2)
    d = descriptor(**fields)
    g = geometry(d, config)
    rng = random.Random(rows)
    dut = KTileRows(config)
    n_tiles = 2 * g["k_tiles"] + 1  # two passes over K and the start of a third

    def get_rows(ctx):
        return [
            {name: ctx.get(getattr(dut.rows[i], name)) for name in ("valid", "r", "s", "offset")}
            for i in range(rows)
        ]

    async def bench(ctx):
        await start_layer(ctx, dut.layer, d, g)
        # ready rises rows + 1 cycles after the run pulse (rows cycles of walking after it).
        for _ in range(rows):
            assert not ctx.get(dut.ready)
            await ctx.tick()
        assert ctx.get(dut.ready)
        for t in range(n_tiles):
            for _ in range(rng.randrange(3)):  # the tile starts some cycles later
                await ctx.tick()
                assert ctx.get(dut.ready)
            ctx.set(dut.events.started, 1)
            await ctx.tick()
            ctx.set(dut.events.started, 0)
            assert get_rows(ctx) == expected_rows(t % g["k_tiles"], rows, d, g), t
            # The next tile's constants take rows cycles from the start.
            for _ in range(rows - 1):
                assert not ctx.get(dut.ready)
                await ctx.tick()
            assert ctx.get(dut.ready)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_walk_pauses_while_idle():
    """Without ``busy`` the walker does not advance; ``run`` restarts it at k = 0."""
    config = AccelConfig(rows=2, cols=2)
    d = descriptor(C=3, S=1, R=1, W=1, H=1)
    g = geometry(d, config)
    dut = KTileRows(config)

    async def bench(ctx):
        await start_layer(ctx, dut.layer, d, g, busy=False)
        await ctx.tick().repeat(5)
        assert not ctx.get(dut.ready)
        ctx.set(dut.layer.busy, 1)
        await ctx.tick().repeat(2)
        assert ctx.get(dut.ready)
        ctx.set(dut.events.started, 1)
        await ctx.tick()
        ctx.set(dut.events.started, 0)
        assert [ctx.get(dut.rows[i].offset) for i in range(2)] == [0, 1]

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
