# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.bands.BandCounter against the Python band walk ``for n: for e0``."""

import random

import pytest
from amaranth.sim import Simulator
from engine_helpers import bands, descriptor, geometry

from accel.hw.bands import BandCounter
from accel.spec.config import AccelConfig

CONFIG = AccelConfig(rows=4, cols=4)


def read(ctx, dut) -> dict:
    names = ("n", "e0", "e0u", "index", "rows", "last_in_image", "last")
    return {name: ctx.get(getattr(dut, name)) for name in names}


@pytest.mark.parametrize(
    "fields",
    [
        dict(N=1, H=4, R=1, BAND=1),  # one row per band
        dict(N=2, H=9, R=3, U=1, BAND=3),  # E = 7: a short last band, two images
        dict(N=3, H=11, R=3, U=2, P=1, BAND=2),  # stride 2: e0u = 2 * e0
        dict(N=1, H=5, R=1, U=3, BAND=8),  # a single band shorter than BAND
        dict(N=2, H=10, R=3, POOL=1, BAND=4),  # E = 8 rows computed (E_run)
    ],
)
def test_walk_matches_python(fields):
    d = descriptor(**fields)
    g = geometry(d, CONFIG)
    expected = list(bands(d, g))
    rng = random.Random(len(expected))
    dut = BandCounter()
    seen = []

    async def bench(ctx):
        ctx.set(dut.layer.descriptor, d)
        ctx.set(dut.layer.geometry, g)
        ctx.set(dut.advance, 1)  # advance is ignored while restart is high
        ctx.set(dut.restart, 1)
        await ctx.tick()
        ctx.set(dut.restart, 0)
        ctx.set(dut.advance, 0)
        while len(seen) < len(expected):
            seen.append(read(ctx, dut))
            # Hold for random cycles: nothing changes without advance.
            for _ in range(rng.randrange(3)):
                await ctx.tick()
                assert read(ctx, dut) == seen[-1]
            ctx.set(dut.advance, 1)
            await ctx.tick()
            ctx.set(dut.advance, 0)
        # After the last band the counter runs on into image N, row 0.
        after = read(ctx, dut)
        assert (after["n"], after["e0"], after["index"]) == (d["N"], 0, len(expected))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

    for (index, n, e0, rows), got in zip(expected, seen, strict=True):
        last_in_image = e0 + d["BAND"] >= g["E_run"]
        assert got == dict(
            n=n,
            e0=e0,
            e0u=e0 * d["U"],
            index=index,
            rows=rows,
            last_in_image=int(last_in_image),
            last=int(last_in_image and n == d["N"] - 1),
        ), (index, got)


def test_restart_mid_walk():
    d = descriptor(N=2, H=6, R=1, BAND=2)
    g = geometry(d, CONFIG)
    dut = BandCounter()

    async def bench(ctx):
        ctx.set(dut.layer.descriptor, d)
        ctx.set(dut.layer.geometry, g)
        ctx.set(dut.restart, 1)
        await ctx.tick()
        ctx.set(dut.restart, 0)
        ctx.set(dut.advance, 1)
        await ctx.tick().repeat(4)  # image 1, e0 = 2
        assert (ctx.get(dut.n), ctx.get(dut.e0), ctx.get(dut.index)) == (1, 2, 4)
        ctx.set(dut.restart, 1)
        await ctx.tick()
        assert (ctx.get(dut.n), ctx.get(dut.e0), ctx.get(dut.e0u), ctx.get(dut.index)) == (
            0,
            0,
            0,
            0,
        )

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
