# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.prefetch.InputPrefetcher: read commands per band, bank writes, and the
window handshake with a fake issuer.

Expected commands from the band's input rows: rows ``[max(0, e0*U - P), min(H, (e0 + rows -
1)*U - P + R))`` of image ``n`` (when the whole image fits: from the first row not loaded
yet), start aligned down to the bus, beats up to the last row's end. Every beat goes to bank
word ``(memory word) - (window base word)``.
"""

import random

import pytest
from amaranth.sim import Simulator
from engine_helpers import bands, ceil_div, descriptor, geometry, start_layer

from accel.hw.prefetch import InputPrefetcher
from accel.spec.config import AccelConfig
from accel.verif.models import stream_get, stream_put

CONFIG = AccelConfig(rows=4, cols=4, in_depth=16)  # 128-byte input banks


def expected_loads(d, g, config):
    """Per band: (band index, new window, command (start, beats) or None, window base)."""
    bb = config.bus_bytes
    out, loaded_hi, base = [], 0, None
    for index, n, e0, rows in bands(d, g):
        image = d["IN_ADDR"] + n * g["HWC"]
        top = min(d["H"], (e0 + rows - 1) * d["U"] - d["P"] + d["R"])
        if g["whole"]:
            lo = 0 if e0 == 0 else loaded_hi
        else:
            lo = max(0, e0 * d["U"] - d["P"])
        new_window = not g["whole"] or e0 == 0
        start = (image + lo * g["WC"]) // bb * bb
        if new_window:
            base = start
        command = None
        if top > lo:
            command = (start, ceil_div(image + top * g["WC"] - start, bb))
            loaded_hi = top
        out.append((index, new_window, command, base))
    return out


LAYERS = [
    dict(N=2, H=12, W=5, C=3, R=3, S=3, P=1, BAND=2, IN_ADDR=0x1003),  # band windows
    dict(N=2, H=6, W=4, C=2, R=3, S=3, P=1, BAND=2, IN_ADDR=0x2005),  # whole image fits
    dict(N=1, H=11, W=3, C=5, R=3, S=3, U=2, BAND=2, IN_ADDR=0x3000),  # stride 2
    dict(N=1, H=7, W=5, C=3, R=2, S=2, BAND=6, IN_ADDR=0x400F),  # one whole-image band
]


@pytest.mark.parametrize("fields", LAYERS)
def test_loads_and_window_handshake(fields):
    config = CONFIG
    bb = config.bus_bytes
    d = descriptor(**fields)
    g = geometry(d, config)
    plan = expected_loads(d, g, config)
    assert g["whole"] == (fields["IN_ADDR"] in (0x2005, 0x400F))  # the cases cover both modes
    rng = random.Random(fields["IN_ADDR"])
    dut = InputPrefetcher(config)
    log = dict(commands=[], writes=[], at_band={}, loaded=[])
    cycle = 0

    async def clock(ctx):
        nonlocal cycle
        async for _ in ctx.tick():
            cycle += 1

    async def dma(ctx):
        while True:
            cmd = await stream_get(ctx, dut.cmd, rng=rng)
            log["commands"].append((cycle, cmd.addr, cmd.beats))
            for i in range(cmd.beats):
                word = cmd.addr // bb + i  # the data of a beat: its memory word number
                await stream_put(ctx, dut.data, {"data": word, "last": i == cmd.beats - 1}, rng=rng)

    async def monitor(ctx):
        signals = (dut.write.en, dut.write.addr, dut.write.data, dut.window.base)
        async for _, _, en, addr, data, base in ctx.tick().sample(*signals):
            if en:
                log["writes"].append((addr, data, base))

    async def issuer(ctx):
        """Waits at each band until it is loaded, then 'computes' it for some cycles."""
        await start_layer(ctx, dut.layer, d, g)
        win = dut.window
        for index in range(len(plan)):
            ctx.set(win.band, index)
            ctx.set(win.at_band, 1)
            log["at_band"][index] = cycle
            while ctx.get(win.loaded_bands) <= index:
                await ctx.tick()
            log["loaded"].append(cycle)
            ctx.set(win.at_band, 0)
            await ctx.tick().repeat(rng.randrange(1, 30))
        await ctx.tick().repeat(10)
        assert ctx.get(win.loaded_bands) == len(plan)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(clock, background=True)
    sim.add_testbench(dma, background=True)
    sim.add_testbench(monitor, background=True)
    sim.add_testbench(issuer)
    sim.run()

    commands = iter(log["commands"])
    writes = iter(log["writes"])
    for index, new_window, command, base in plan:
        if command is None:
            continue
        when, addr, beats = next(commands)
        assert (addr, beats) == command, index
        if new_window:  # written only once the issuer waits before this band
            assert when > log["at_band"][index], index
        for i in range(beats):
            bank_addr, data, window_base = next(writes)
            assert window_base == base
            assert data == addr // bb + i
            assert bank_addr == (addr // bb + i - base // bb) % config.in_depth
    assert next(commands, None) is None and next(writes, None) is None
