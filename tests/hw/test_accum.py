# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.accum.Accumulators: read-modify-write against a Python dictionary model,
reads of the other half during accumulation, and the half bookkeeping (complete/free)."""

import random

from amaranth.sim import Simulator

from accel.hw.accum import Accumulators
from accel.spec.config import AccelConfig

CONFIG = AccelConfig(rows=2, cols=3, acc_depth=16)
DEPTH = CONFIG.acc_depth


def wrap32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def random_results(rng, addrs, count):
    """(addr, first, data) results; an address' first result always has ``first``."""
    seen, out = set(), []
    for _ in range(count):
        addr = rng.choice(addrs)
        first = addr not in seen or rng.random() < 0.1
        seen.add(addr)
        out.append((addr, first, [rng.randrange(-(2**31), 2**31) for _ in range(CONFIG.cols)]))
    return out


async def present(ctx, dut, addr, first, values, last=False):
    ctx.set(dut.in_valid, 1)
    ctx.set(dut.in_tag, {"addr": addr, "first": first, "last": last})
    ctx.set(dut.in_data, values)
    await ctx.tick()
    ctx.set(dut.in_valid, 0)


async def read_entry(ctx, dut, addr):
    ctx.set(dut.read.en, 1)
    ctx.set(dut.read.addr, addr)
    await ctx.tick()
    ctx.set(dut.read.en, 0)
    await ctx.tick()  # the data comes two cycles after the address
    return [wrap32(ctx.get(dut.read.data[j])) for j in range(CONFIG.cols)]  # unsigned port


def test_read_modify_write_and_concurrent_reads():
    rng = random.Random(5)
    dut = Accumulators(CONFIG)
    model = {}
    # Phase 1 fills half 1; phase 2 accumulates into half 0 while half 1 is read out.
    phase1 = random_results(rng, [DEPTH + a for a in (0, 3, 7, 15)], 60)
    phase2 = random_results(rng, [0, 1, 2, 9, 15], 80)

    def apply(results):
        for addr, first, values in results:
            old = [0] * CONFIG.cols if first else model[addr]
            model[addr] = [wrap32(o + v) for o, v in zip(old, values, strict=True)]

    async def bench(ctx):
        for addr, first, values in phase1:
            await present(ctx, dut, addr, first, values)  # back to back
            if rng.random() < 0.2:
                await ctx.tick()  # and with gaps
        await ctx.tick()
        await ctx.tick()
        await ctx.tick()
        apply(phase1)
        half1 = {addr: list(v) for addr, v in model.items()}
        reads = list(half1) * 20
        for i, (addr, first, values) in enumerate(phase2):
            ctx.set(dut.in_valid, 1)
            ctx.set(dut.in_tag, {"addr": addr, "first": first, "last": 0})
            ctx.set(dut.in_data, values)
            ctx.set(dut.read.en, 1)
            ctx.set(dut.read.addr, reads[i])
            await ctx.tick()
            if i:  # the data of the previous cycle's read
                got = [wrap32(ctx.get(dut.read.data[j])) for j in range(CONFIG.cols)]
                assert got == half1[reads[i - 1]], i - 1
        ctx.set(dut.in_valid, 0)
        ctx.set(dut.read.en, 0)
        await ctx.tick()
        got = [wrap32(ctx.get(dut.read.data[j])) for j in range(CONFIG.cols)]
        assert got == half1[reads[len(phase2) - 1]]
        apply(phase2)
        for addr, values in model.items():
            assert await read_entry(ctx, dut, addr) == values, addr

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_half_bookkeeping():
    dut = Accumulators(CONFIG)

    async def bench(ctx):
        halves, read = dut.halves, dut.read
        assert ctx.get(halves.free) == 0b11 and ctx.get(read.complete) == 0b00
        ctx.set(halves.claim, 0b01)  # the issuer takes half 0 for a band
        await ctx.tick()
        ctx.set(halves.claim, 0)
        assert ctx.get(halves.free) == 0b10
        await present(ctx, dut, 4, True, [1, 2, 3])
        await present(ctx, dut, 5, True, [4, 5, 6], last=True)  # the band's last result
        assert ctx.get(read.complete) == 0b00  # its read data is registered in this cycle
        await ctx.tick()
        assert ctx.get(read.complete) == 0b00  # its sum is computed in this cycle
        await ctx.tick()
        assert ctx.get(read.complete) == 0b00  # being written in this cycle
        await ctx.tick()
        assert ctx.get(read.complete) == 0b01  # four cycles after the result
        ctx.set(halves.claim, 0b10)  # the next band takes half 1
        ctx.set(read.take, 0b01)  # post-processing starts reading half 0
        await ctx.tick()
        ctx.set(halves.claim, 0)
        ctx.set(read.take, 0)
        assert ctx.get(read.complete) == 0b00 and ctx.get(halves.free) == 0b00
        assert await read_entry(ctx, dut, 5) == [4, 5, 6]
        ctx.set(read.release, 0b01)  # half 0 read: free again
        await ctx.tick()
        ctx.set(read.release, 0)
        assert ctx.get(halves.free) == 0b01
        await present(ctx, dut, DEPTH + 2, True, [7, 8, 9], last=True)
        await ctx.tick()
        await ctx.tick()
        await ctx.tick()
        assert ctx.get(read.complete) == 0b10

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
