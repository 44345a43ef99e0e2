# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.banks.BankLoader: bank alternation, the two-tile limit and the bank timers.

The expected behaviour is a cycle model written from the class documentation: a tile loads
when a layer is busy, fewer than two loaded tiles wait, and its bank has not been used for
``hold`` cycles; banks alternate from 0 at ``run``; the array's load port follows one cycle
after the pop.
"""

import random

import pytest
from amaranth.sim import Simulator

from accel.hw.banks import BankLoader
from accel.spec.config import AccelConfig

CONFIG = AccelConfig(rows=2, cols=3, bus_width=32)  # 6-byte tiles in 2 beats


class Model:
    """The documented rules, one call per cycle."""

    def __init__(self, hold):
        self.hold = hold
        self.last_use = [None, None]  # last cycle each bank was in use
        self.bank = 0
        self.ahead = 0

    def free(self, cycle):
        last = self.last_use[self.bank]
        return last is None or cycle >= last + self.hold

    def outputs(self, cycle, busy, valid):
        ready = busy and self.ahead < 2 and self.free(cycle)
        load = valid and ready
        return dict(ready=int(ready), load=int(load), ready_w=int(self.ahead != 0 or load))

    def step(self, cycle, run, load, issue, issue_bank, started, started_bank):
        if issue:
            self.last_use[issue_bank] = cycle
        if started:
            self.last_use[started_bank] = cycle
        self.ahead += load - started
        self.bank = 0 if run else self.bank ^ load


@pytest.mark.parametrize("hold", [1, 4, 9])
def test_random_stimulus_matches_model(hold):
    rng = random.Random(hold)
    dut = BankLoader(CONFIG, hold=hold)
    model = Model(hold)
    loads = []
    popped = None  # (bank, payload) of the previous cycle's pop

    async def bench(ctx):
        nonlocal popped
        ev = dut.events
        for cycle in range(600):
            run = cycle in (0, 300)  # two layers
            busy = cycle not in range(290, 300) and rng.random() < 0.95
            valid = rng.random() < 0.5
            payload = rng.getrandbits(len(dut.tile.payload))
            ctx.set(dut.layer.run, run)
            ctx.set(dut.layer.busy, busy)
            ctx.set(dut.tile.valid, valid)
            ctx.set(dut.tile.payload, payload)
            want = model.outputs(cycle, busy, valid)
            ready = ctx.get(dut.tile.ready)
            got = dict(ready=ready, load=valid & ready, ready_w=ctx.get(dut.weights_ready))
            assert got == want, (cycle, got, want)
            assert ctx.get(dut.load_valid) == (popped is not None), cycle
            if popped is not None:
                bank, previous = popped
                assert ctx.get(dut.load_bank) == bank, cycle
                weights = [ctx.get(dut.load_weights[i]) & 0xFF for i in range(6)]
                assert weights == list(previous.to_bytes(8, "little")[:6])
                loads.append(bank)
            popped = (model.bank, payload) if got["load"] else None
            # Issuer-like events: a tile starts only when weights are ready.
            started = bool(got["ready_w"]) and rng.random() < 0.3
            issue, issue_bank = rng.random() < 0.3, rng.randrange(2)
            started_bank = rng.randrange(2)
            ctx.set(ev.started, started)
            ctx.set(ev.started_bank, started_bank)
            ctx.set(ev.issue, issue)
            ctx.set(ev.bank, issue_bank)
            model.step(cycle, run, got["load"], issue, issue_bank, started, started_bank)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(loads) > 20


def test_reload_waits_hold_cycles_after_last_use():
    """Two tiles load at once (banks 0, 1); the third waits for bank 0: ``hold`` cycles after
    the last vector issued with bank 0."""
    hold = 6
    dut = BankLoader(CONFIG, hold=hold)
    events = []

    async def bench(ctx):
        ev = dut.events
        ctx.set(dut.layer.busy, 1)
        ctx.set(dut.layer.run, 1)
        await ctx.tick()
        ctx.set(dut.layer.run, 0)
        ctx.set(dut.tile.valid, 1)
        for cycle in range(40):
            load = ctx.get(dut.load_valid)
            if load:
                events.append((cycle, "load", ctx.get(dut.load_bank)))
            # Tile A (bank 0) starts in cycle 3 and issues vectors in cycles 4..9; tile B
            # (bank 1) starts in cycle 10.
            ctx.set(ev.started, cycle in (3, 10))
            ctx.set(ev.started_bank, 0 if cycle == 3 else 1)
            ctx.set(ev.issue, 4 <= cycle <= 9)
            ctx.set(ev.bank, 0)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # Cycles 0 and 1 pop tiles for banks 0 and 1; the third tile waits for the start of tile
    # A (two loaded tiles were waiting) and then for bank 0, last used in cycle 9. The array
    # is loaded a cycle after each pop.
    assert events[:3] == [(1, "load", 0), (2, "load", 1), (10 + hold, "load", 0)]
