# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.output.OutputSequencer: output regions and bytes of every band, the
accumulator half hand-over and the end of the layer.

A Python accumulator buffer and parameter buffer serve the read ports (accumulator data two
cycles after the address, parameters one); bands become complete in order as their halves
are released. The expected bytes of a band are :func:`accel.ref.quant.requantize` of its
accumulators (and the 2x2 maximum when pooling) in NHWC order; the regions are consecutive
from ``OUT_ADDR``.
"""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator
from engine_helpers import bands, descriptor, geometry, start_layer

from accel.hw.output import OutputSequencer
from accel.ref import quant
from accel.spec.config import AccelConfig
from accel.verif.models import stream_get

CONFIG = AccelConfig(rows=2, cols=4, acc_depth=64, param_depth=4)
U32 = 0xFFFFFFFF


def expected_band(acc, params, d, g, half, rows):
    """Output bytes of one band: rows x F_out x M, NHWC."""
    cols, F = CONFIG.cols, d["F"]
    bias, mult, shift = (np.array(params[k][: d["M"]]) for k in ("bias", "multiplier", "shift"))
    y = np.zeros((rows, F, d["M"]), dtype=np.int64)
    for e in range(rows):
        for f in range(F):
            for m in range(d["M"]):
                y[e, f, m] = acc[
                    half * CONFIG.acc_depth + (m // cols) * g["band_pixels"] + e * F + f
                ][m % cols]
    q = quant.requantize(y, bias, mult, shift, d["OUT_ZP"], d["ACT_MIN"], d["ACT_MAX"])
    if d["POOL"]:
        q = (
            q[: rows // 2 * 2, : F // 2 * 2]
            .reshape(rows // 2, 2, F // 2, 2, d["M"])
            .max(axis=(1, 3))
        )
    return q.astype(np.int8).tobytes()


LAYERS = [
    dict(N=2, H=5, W=4, M=6, R=2, S=2, BAND=2, OUT_ADDR=0x5003),  # 2 x (2, 2) bands, 2 m tiles
    dict(N=1, H=9, W=7, M=4, R=3, S=3, POOL=1, BAND=4, OUT_ADDR=0x6000),  # pooled: 7x5 -> 3x2
    dict(N=3, H=1, W=1, C=9, M=7, BAND=1, OUT_ADDR=0x7001, ACT_MIN=0),  # FC with ReLU
]


@pytest.mark.parametrize("fields", LAYERS)
def test_bands_regions_and_bytes(fields):
    rng = random.Random(fields["OUT_ADDR"])
    d = descriptor(**{"OUT_ZP": -3, "ACT_MIN": -128, "ACT_MAX": 127, **fields})
    g = geometry(d, CONFIG)
    walk = list(bands(d, g))
    acc = {a: [rng.randrange(-3000, 3000) for _ in range(CONFIG.cols)] for a in range(128)}
    n_params = g["m_tiles"] * CONFIG.cols
    scales = [quant.quantize_multiplier(rng.uniform(0.005, 0.03)) for _ in range(n_params)]
    params = {
        "bias": [rng.randrange(-1000, 1000) for _ in range(n_params)],
        "multiplier": [m for m, _ in scales],
        "shift": [s for _, s in scales],
    }
    dut = OutputSequencer(CONFIG)
    log = dict(regions=[], bytes=bytearray(), takes=[], releases=[], finished=[], cycle=0)
    params_at, idle_at = 30, None

    async def memories(ctx):
        """The accumulator and parameter buffers, and the band completion of the 'issuer'."""
        complete, next_band, half_free = 0, 0, [True, True]
        ready_at = rng.randrange(5, 20)
        acc_read = None  # the accumulator read of the previous cycle
        async for _, _, en, addr, p_addr, take, release, fin in ctx.tick().sample(
            dut.acc.en, dut.acc.addr, dut.params.addr, dut.acc.take, dut.acc.release, dut.finished
        ):
            log["cycle"] += 1
            cycle = log["cycle"]
            if acc_read is not None:
                ctx.set(dut.acc.data, [v & U32 for v in acc[acc_read]])
            acc_read = addr if en else None
            lanes = slice(p_addr * CONFIG.cols, (p_addr + 1) * CONFIG.cols)
            ctx.set(
                dut.params.data, {k: [v & U32 for v in vals[lanes]] for k, vals in params.items()}
            )
            ctx.set(dut.params_loaded, cycle >= params_at)
            if take:
                log["takes"].append((cycle, take))
                complete &= ~take
            if release:
                log["releases"].append((cycle, release))
                half_free[release.bit_length() - 1] = True
            if fin:
                log["finished"].append(cycle)
            h = next_band & 1
            if next_band < len(walk) and half_free[h] and cycle >= ready_at:
                complete |= 1 << h  # the issuer finished this band in half h
                half_free[h] = False
                next_band += 1
                ready_at = cycle + rng.randrange(1, 60)
            ctx.set(dut.acc.complete, complete)
            ctx.set(dut.dma_idle, idle_at is not None and cycle >= idle_at)

    async def regions(ctx):
        while True:
            cmd = await stream_get(ctx, dut.region, rng=rng, stall=0.5)
            log["regions"].append((cmd.addr, cmd.length, log["cycle"]))

    async def writer(ctx):
        nonlocal idle_at
        total = sum(len(expected_band(acc, params, d, g, i & 1, rows)) for i, _, _, rows in walk)
        await start_layer(ctx, dut.layer, d, g)
        while len(log["bytes"]) < total:
            beat = await stream_get(ctx, dut.bytes, rng=rng, stall=0.3)
            log["bytes"] += bytes(beat.bytes[i] & 0xFF for i in range(beat.count))
        idle_at = log["cycle"] + 15  # the DMA engines drain the last writes
        await ctx.tick().repeat(40)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(memories, background=True)
    sim.add_testbench(regions, background=True)
    sim.add_testbench(writer)
    sim.run()

    expected_bytes, addr, expected_regions = b"", d["OUT_ADDR"], []
    for index, _, _, rows in walk:
        band_bytes = expected_band(acc, params, d, g, index & 1, rows)
        rows_out = rows // 2 if d["POOL"] else rows
        assert len(band_bytes) == rows_out * g["F_out"] * d["M"]
        expected_regions.append((addr, len(band_bytes)))
        expected_bytes += band_bytes
        addr += len(band_bytes)
    assert [(a, n) for a, n, _ in log["regions"]] == expected_regions
    assert bytes(log["bytes"]) == expected_bytes
    assert len(set(expected_bytes)) > len(expected_bytes) // 4  # few values are clamped
    assert min(c for _, _, c in log["regions"]) > params_at  # waits for the parameters
    # Each band's half is taken when its region is accepted and released after its reads.
    halves = [1 << (index & 1) for index, *_ in walk]
    assert [t for _, t in log["takes"]] == halves
    assert [r for _, r in log["releases"]] == halves
    assert all(t < r for (t, _), (r, _) in zip(log["takes"], log["releases"], strict=True))
    assert len(log["finished"]) == 1 and log["finished"][0] > idle_at
