"""The top-level simulation loop: the engines of :mod:`accel.hw.core`, cycle by cycle where
something happens, skipping the cycles in between.

Each evaluated cycle applies the RTL's rules: every engine's combinational decisions from the
registers, then the register updates. Afterwards each engine names the next cycle in which it
can act (:meth:`wake`), and the cycles before the earliest are accounted for in one step.
The output side (accumulators, post-processing, writer) runs on its own time line and is
only brought up to date when the issuer waits for an accumulator half and at the end.
"""

from __future__ import annotations

from accel.perf.accounting import Accounting
from accel.perf.geometry import INF, Geometry
from accel.perf.issuer import BAND, IDLE, Issuer
from accel.perf.output import OutputPath
from accel.perf.params import ParamLoader
from accel.perf.prefetch import IDLE as PF_IDLE
from accel.perf.prefetch import InputPrefetcher
from accel.perf.reader import INPUT, PARAMS, WEIGHTS, ReadDMA
from accel.perf.report import PHASES, Phase
from accel.perf.steady import SettledPeriod
from accel.perf.weights import WeightPath
from accel.spec.config import AccelConfig

_TAIL = int(Phase.TAIL)


class Sequencer:
    """The engines of one layer run and the loop that drives them."""

    __slots__ = ("geo", "rd", "pl", "wt", "iss", "pf", "out", "acct", "steady", "engines")

    def __init__(self, geo: Geometry):
        self.geo = geo
        self.rd = ReadDMA(geo)
        self.pl = ParamLoader(geo)
        self.wt = WeightPath(geo)
        self.iss = Issuer(geo)
        self.pf = InputPrefetcher(geo, self.rd)
        self.out = OutputPath(geo, self.pl, self.iss.log)
        self.acct = Accounting(geo.t_run)
        self.steady = SettledPeriod(geo)
        self.engines = (self.rd, self.wt, self.iss, self.pf, self.pl, self.acct)

    def run(self) -> int:
        """Simulate from the run pulse to done; returns the CYCLES counter."""
        t = self.geo.t_run
        self.pl.start()
        self.wt.start()
        self.iss.start(t)
        self.pf.start()
        self.out.start(t)
        t += 1
        rd, pl, wt, iss, pf, out = self.rd, self.pl, self.wt, self.iss, self.pf, self.out
        rd_step, wt_comb, wt_tick = rd.step, wt.comb, wt.tick
        iss_comb, iss_tick, account = iss.comb, iss.tick, self.acct.cycle
        after, settled = self._next, SettledPeriod.settled
        while True:
            st = iss.state
            if st is IDLE:  # every band issued
                if out.done_at <= t and rd.idle(t):
                    self.acct.phases[_TAIL] += 1
                    return t
            elif st is BAND:
                iss.acc_free |= out.take_releases(t)
            if rd.completed[WEIGHTS]:  # tiles the reader delivered while running ahead
                wt.count += rd.take_completed(WEIGHTS)
            # cycle t: every engine's decisions from the registers, then the updates
            end_client = rd_step(t)
            iss_comb(t, wt_comb(t), wt.loaded_ahead, pf.loaded_bands)
            account(iss, wt)
            if pf.state is not PF_IDLE:
                pf.step(t, iss, rd, end_client)
            if pl.issuing or end_client == PARAMS:
                pl.step(t, rd, end_client)
            wt_tick(t, rd, end_client, iss)
            iss_tick(t, out)
            if iss.tile_started and settled(pl, rd, pf):
                t = self.steady.tile_start(t, self.engines)
            t = after(t + 1)

    def _next(self, t1: int) -> int:
        """Account for the cycles from ``t1`` on in which nothing happens; returns the first
        in which something does (the reader runs ahead through the cycles in which only it
        acts)."""
        wt, iss, pf = self.wt, self.iss, self.pf
        st = iss.state
        release = self._release(t1) if st is BAND else INF
        if self.pl.issuing:
            return t1
        nxt = pf.wake(t1, iss) if pf.state is not PF_IDLE else INF
        if nxt > t1:
            wake = iss.wake(t1, wt.loaded_ahead, pf.loaded_bands)
            if wake < nxt:
                nxt = wake
        if nxt > t1:
            wake = wt.wake(t1, self.rd)
            if wake < nxt:
                nxt = wake
        if nxt > t1:
            if st is IDLE:
                wake = self.rd.wake(t1)
                nxt = self._done(t1, nxt if nxt < wake else wake) if wake > t1 else t1
            else:
                if release < nxt:
                    nxt = release
                waiting = 1 << WEIGHTS if wt.running and wt.reserved < wt.depth else 0
                if pf.waits_for_reader():
                    waiting |= 1 << INPUT
                quiet = 1 << WEIGHTS if wt.quiet_arrival() else 0
                wake = self.rd.run_ahead(t1, nxt, waiting, quiet)
                if wake < nxt:
                    nxt = wake
            if nxt == INF:
                raise AssertionError(f"performance model deadlocked in cycle {t1 - 1}")
            if nxt > t1:  # nothing changes but time-driven state
                self.acct.skip(nxt - t1, iss, wt)
        return nxt

    def _release(self, t1: int) -> float:
        """In BAND: bring the issuer's view of the accumulator halves up to cycle ``t1``;
        returns the first later cycle in which the half it waits for becomes free.

        The only release the issuer can wait for is the one of the band two before, whose
        post-processing depends on nothing that is still to come once the parameters are
        loaded: the output side runs ahead to it (without parameters, no release happens).
        """
        iss = self.iss
        if (iss.acc_free >> (iss.band & 1)) & 1 or not self.pl.loaded:
            return INF
        release = self.out.next_release()
        if release > t1:
            return release
        iss.acc_free |= self.out.take_releases(t1)
        return INF

    def _done(self, t1: int, nxt: float) -> float:
        """Every band issued: the next cycle to evaluate, the output side's done cycle at
        the latest (it runs to its end once the parameters are loaded)."""
        done = self.out.advance(INF if self.pl.loaded else nxt)
        if done <= t1:
            return t1 if self.rd.idle(t1) else nxt
        return min(nxt, done)

    def result(self, cycles: int) -> dict:
        return {
            "CYCLES": cycles,
            "MAC_CYCLES": self.acct.mac,
            "STALL_CYCLES": self.acct.stall,
            "DMA_READ_BYTES": self.rd.beats_read * self.geo.bus_bytes,
            "DMA_WRITE_BYTES": self.out.writer.bytes_written,
            "phases": dict(zip(PHASES, self.acct.phases, strict=True)),
            "bands": [tuple(b) for b in self.iss.log],
        }


def simulate(d: dict, cfg: AccelConfig, read_latency: int, write_latency: int) -> dict:
    """Event-driven simulation of the sequencer for descriptor ``d``: counters, phases and
    band times (the values of :class:`~accel.perf.report.PerfReport`)."""
    sim = Sequencer(Geometry(d, cfg, read_latency, write_latency))
    return sim.result(sim.run())


__all__ = ["Sequencer", "simulate"]
