# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.issuer.Issuer: the issued pixel stream against the loop nest, the timing
between bands, and the handshakes (tile starts, accumulator half claims, input windows).

Expected pixels come from the loop nest ``for band: for m_tile: for k_tile: for (e, f)``
with ``hb = e*U - P``, ``wb = f*U - P``, window offset ``IN_ADDR + n*H*W*C + hb*W*C + wb*C -
base`` and accumulator entry ``half*acc_depth + m_tile*band_pixels + pixel``.
"""

import random

import pytest
from amaranth.sim import Simulator
from engine_helpers import bands, descriptor, geometry, start_layer

from accel.hw.issuer import Issuer
from accel.spec import timing
from accel.spec.config import AccelConfig

CONFIG = AccelConfig(rows=4, cols=4, in_depth=64, acc_depth=128)
BASE = 0x7F8  # window base: memory address of bank word 0


def expected_stream(d, g, config):
    out, tile = [], 0
    for index, n, e0, rows in bands(d, g):
        half = index & 1
        pixels = [(e, f) for e in range(e0, e0 + rows) for f in range(d["F"])]
        for mt in range(g["m_tiles"]):
            for kt in range(g["k_tiles"]):
                for p, (e, f) in enumerate(pixels):
                    hb, wb = e * d["U"] - d["P"], f * d["U"] - d["P"]
                    last = p == len(pixels) - 1 and kt == g["k_tiles"] - 1
                    out.append(
                        dict(
                            hb=hb,
                            wb=wb,
                            pixbase=d["IN_ADDR"] + n * g["HWC"] + hb * g["WC"] + wb * d["C"] - BASE,
                            addr=half * config.acc_depth + mt * g["band_pixels"] + p,
                            first=int(kt == 0),
                            last=int(last and mt == g["m_tiles"] - 1),
                            bank=tile & 1,
                            band=index,
                        )
                    )
                tile += 1
    return out


LAYERS = [
    dict(N=2, H=5, W=4, C=3, M=6, R=2, S=2, P=1, BAND=4),  # 2 images x (4 + 2 rows), 2x3 tiles
    dict(N=1, H=9, W=7, C=2, M=3, R=3, S=3, U=2, P=1, BAND=2),  # stride 2, K = 18: 5 K tiles
    dict(N=3, H=1, W=1, C=9, M=5, BAND=1),  # fully connected, batch 3
]


def run_issuer(d, g, *, seed, p_ready):
    """Run one layer with an environment that is ready with probability ``p_ready``; return
    the per-cycle records of issues, starts, claims and stalls.

    With ``p_ready == 1`` every band's input is loaded from the start and a half is released
    in the cycle after its band's last vector; otherwise input bands arrive and halves are
    released after random delays."""
    rng = random.Random(seed)
    dut = Issuer(CONFIG)
    n_bands = len(list(bands(d, g)))
    total = len(expected_stream(d, g, CONFIG))
    trace = dict(issues=[], starts=[], claims=[], stalls=0, run=0)

    async def bench(ctx):
        ev, win = dut.events, dut.window
        ctx.set(win.base, BASE)
        eager = p_ready == 1
        free, loaded, releases = 0b11, n_bands if eager else 0, {}
        await start_layer(ctx, dut.layer, d, g)
        cycle = 1  # cycle 0 was the run pulse
        while len(trace["issues"]) < total or cycle < trace.get("end", 10**9):
            weights_ready = rng.random() < p_ready
            rows_ready = rng.random() < p_ready
            ctx.set(dut.weights_ready, weights_ready)
            ctx.set(dut.rows_ready, rows_ready)
            ctx.set(dut.halves.free, free)
            ctx.set(win.loaded_bands, loaded)
            band = ctx.get(win.band)
            if ctx.get(ev.issue):
                assert not ctx.get(dut.stall)
                tag = {name: ctx.get(getattr(dut.tag, name)) for name in ("addr", "first", "last")}
                record = {name: ctx.get(getattr(dut, name)) for name in ("hb", "wb", "pixbase")}
                record.update(tag, bank=ctx.get(ev.bank), band=band, cycle=cycle)
                trace["issues"].append(record)
                if tag["last"]:  # post-processing frees the half some cycles later
                    delay = 1 if eager else rng.randrange(1, 40)
                    releases[cycle + delay] = 1 << (band & 1)
                    if len(trace["issues"]) == total:
                        trace["end"] = cycle + 20
            if ctx.get(ev.started):
                assert weights_ready and rows_ready
                trace["starts"].append((cycle, ctx.get(ev.started_bank)))
            claim = ctx.get(dut.halves.claim)
            if claim:
                assert ctx.get(win.at_band) and claim == 1 << (band & 1)
                assert free & claim and loaded > band
                trace["claims"].append((cycle, band))
            trace["stalls"] += ctx.get(dut.stall)
            free = (free | releases.pop(cycle, 0)) & ~claim
            if loaded < n_bands and rng.random() < 0.3:
                loaded += 1
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return trace


@pytest.mark.parametrize("fields", LAYERS)
def test_stream_and_timing_when_always_ready(fields):
    d = descriptor(IN_ADDR=0x803, **fields)
    g = geometry(d, CONFIG)
    trace = run_issuer(d, g, seed=0, p_ready=1.0)
    expected = expected_stream(d, g, CONFIG)
    issues = trace["issues"]
    assert [{k: v for k, v in r.items() if k != "cycle"} for r in issues] == expected
    cycles = [r["cycle"] for r in issues]
    for a, b, prev, nxt in zip(cycles, cycles[1:], issues, issues[1:], strict=False):
        if nxt["band"] == prev["band"]:
            assert b == a + 1  # tiles and pixels back to back
        else:
            # DRAIN (ISSUER_DRAIN + 1 cycles), BAND, BAND_BASE (ISSUER_BASE_CYCLES) and
            # TILE between the bands
            assert b == a + timing.ISSUER_DRAIN + timing.ISSUER_BASE_CYCLES + 4
    assert cycles[0] == 3 + timing.ISSUER_BASE_CYCLES  # run, then BAND, BAND_BASE, TILE
    assert trace["stalls"] == 0
    # One start per tile; its bank is the bank of the tile's vectors.
    starts = trace["starts"]
    assert len(starts) == len(list(bands(d, g))) * g["tiles"]
    for cycle, bank in starts:
        nxt = next(r for r in issues if r["cycle"] == cycle + 1)
        assert nxt["bank"] == bank
    assert [band for _, band in trace["claims"]] == list(range(len(list(bands(d, g)))))


@pytest.mark.parametrize("seed", range(3))
def test_stream_with_random_stalls(seed):
    d = descriptor(IN_ADDR=0x1000, **LAYERS[seed % len(LAYERS)])
    g = geometry(d, CONFIG)
    trace = run_issuer(d, g, seed=seed, p_ready=0.4)
    expected = expected_stream(d, g, CONFIG)
    assert [{k: v for k, v in r.items() if k != "cycle"} for r in trace["issues"]] == expected
    assert trace["stalls"] > 0
    assert [band for _, band in trace["claims"]] == list(range(len(list(bands(d, g)))))
