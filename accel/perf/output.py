"""Accumulators and output: band-complete latches, the post-processing FSM, the
post-processor and the output writer, simulated on their own time line.

The output side sees the rest of the machine through three signals only: the band-complete
pulses of the accumulator halves (known ``done_delay`` cycles ahead, when the issuer sends a
band's last vector), ``params_loaded`` (the parameter loader's ``loaded_at``) and START. It
answers with two: the accumulator half released at a band's last read (``acc_release``) and
its part of the done condition. The sequencer therefore runs it lazily, up to a cycle it
asks for, only when the issuer waits for a half or everything else is finished.

A band is written as one region, or (``OUT_ROW_PITCH`` / ``OUT_PIX_PITCH``) as one region
per output row or pixel: the first offered in REGION, the others in any later cycle in which
the writer takes a command, the next band's REGION waiting until all are offered. With
``ACC_OUT`` the complete band is taken and released in WAIT_BAND (no parameters, no output).
"""

from __future__ import annotations

from collections import deque
from enum import IntEnum

from accel.perf.geometry import INF, Geometry
from accel.perf.output_steady import SettledOutput
from accel.perf.params import ParamLoader
from accel.perf.postproc import PostProcessor
from accel.perf.writer import OutputWriter


class PostState(IntEnum):
    """``m.FSM(name="post")`` of :mod:`accel.hw.core`."""

    IDLE = 0
    WAIT_BAND = 1
    REGION = 2
    RUN = 3
    FINISH = 4


IDLE, WAIT_BAND, REGION, RUN, FINISH = PostState


class OutputPath:
    """The output side from START to its last write response.

    ``t``: the next cycle to simulate; ``computed``: bit h set when half h holds a complete,
    unread band; ``pulses``: the scheduled band-complete pulses (cycle, half bit);
    ``releases``: the accumulator releases (cycle, half bit) not yet taken by the issuer;
    ``done_at``: the first cycle of the output side's part of the done condition;
    ``regions_left``: regions of the band being read out not offered to the writer yet, the
    next at ``out_addr`` (``row_addr``: its output row's, ``pixel_in_row``: its column).
    """

    __slots__ = (
        "t", "state", "band", "computed", "pulses", "busy", "releases", "done_at",
        "out_addr", "proc", "writer", "params", "log", "bands", "n_bands", "pool",
        "F_out", "out_row_bytes", "settle", "out_mode", "row_addr", "pixel_in_row",
        "regions_left", "region_len", "row_pitch", "pix_pitch", "acc_out",
    )  # fmt: skip

    def __init__(self, geo: Geometry, params: ParamLoader, log: list):
        self.t = 0
        self.state = IDLE
        self.band = 0
        self.computed = 0
        self.pulses = deque()
        self.busy = False  # post-processor or writer busy (beyond waiting for responses)
        self.releases = deque()
        self.done_at = INF
        self.out_addr = geo.out_addr
        self.proc = PostProcessor(geo)
        self.writer = OutputWriter(geo)
        self.params = params
        self.log = log
        self.bands, self.n_bands, self.pool = geo.bands, geo.n_bands, geo.pool
        self.F_out, self.out_row_bytes = geo.F_out, geo.out_row_bytes
        self.settle = SettledOutput(geo)
        # per-row / per-pixel output regions (out_mode 1 / 2)
        self.out_mode = geo.out_mode
        self.row_addr = geo.out_addr  # the current output row's address
        self.pixel_in_row = 0
        self.regions_left = 0  # regions of the current band not yet offered
        self.region_len = geo.M if geo.out_mode == 2 else geo.out_row_bytes
        self.row_pitch, self.pix_pitch = geo.out_row_pitch, geo.out_pix_pitch
        self.acc_out = geo.acc_out  # ACC_OUT: the sums stay in the accumulators, no output

    def start(self, t: int) -> None:
        """START's ``run`` pulse in cycle ``t``."""
        self.state = WAIT_BAND
        self.band = 0
        self.t = t + 1

    def band_done(self, cycle: int, half: int) -> None:
        """Schedule half ``half``'s band-complete pulse for ``cycle``."""
        self.pulses.append((cycle, 1 << half))

    def take_releases(self, t: int) -> int:
        """The halves released before cycle ``t`` and not taken yet (a bit mask)."""
        releases = self.releases
        mask = 0
        while releases and releases[0][0] < t:
            mask |= releases.popleft()[1]
        return mask

    def next_release(self) -> float:
        """The cycle after the next release not taken yet, simulating up to it if needed
        (every input up to then must be known)."""
        if self.releases:
            return self.releases[0][0] + 1
        return self.advance(INF, stop_at_release=True)

    def advance(self, limit: float, stop_at_release: bool = False) -> float:
        """Simulate the cycles from :attr:`t` up to ``limit`` (excluded).

        Returns the done cycle if the output side is done by then, else, with
        ``stop_at_release``, the cycle after the first release (where the simulation stops),
        else INF.
        """
        t = self.t
        while t < limit:
            if self.busy:
                t, released = self._run_busy(t, limit)
                if released and stop_at_release:
                    break
                continue
            t = self._next_event(t, limit)
            if t >= limit:
                t = limit
                break
            if self.state is FINISH and self.writer.pending == 0:
                self.done_at = t
                break
            self.writer.respond(t)
            self._sequence(t, self._pulse(t), False, True, True)
            t += 1
        self.t = t
        if self.done_at <= t:
            return self.done_at
        return t if stop_at_release and t < limit else INF

    def _next_event(self, t: int, limit: float) -> float:
        """The first cycle from ``t`` on in which anything happens while not busy."""
        st = self.state
        if st is REGION or (st is FINISH and self.writer.pending == 0):
            return t
        nxt = INF
        if st is WAIT_BAND and (self.computed >> (self.band & 1)) & 1:
            loaded_at = self.params.loaded_at
            nxt = loaded_at if loaded_at > t and not self.acc_out else t
        if self.pulses and self.pulses[0][0] < nxt:
            nxt = self.pulses[0][0]
        wresp = self.writer.wresp
        if wresp and wresp[0] < nxt:
            nxt = wresp[0]
        if nxt == INF and limit == INF:
            raise AssertionError(f"performance model deadlocked in cycle {t}")
        return nxt

    def _settle(self, t: int, limit: float) -> int:
        """Skip repeated periods of the band being read out; the band-complete pulses in the
        skipped cycles only set their latches."""
        t_new = self.settle.check(t, limit, self.proc, self.writer, self.regions_left)
        pulses = self.pulses
        while pulses and pulses[0][0] < t_new:
            self.computed |= pulses.popleft()[1]
        return t_new

    def _pulse(self, t: int) -> int:
        """The band-complete pulses of cycle ``t`` (a bit mask)."""
        pulses = self.pulses
        mask = 0
        while pulses and pulses[0][0] == t:
            mask |= pulses.popleft()[1]
        return mask

    def _run_busy(self, t: int, limit: float) -> tuple[int, bool]:
        """The cycles from ``t`` on while the post-processor or the writer works, up to
        ``limit`` at most or until a release (the cycle after it). Returns the next cycle
        and whether a release ends the run."""
        proc, writer, settle, pulses = self.proc, self.writer, self.settle, self.pulses
        proc_head, proc_cycle, writer_cycle = proc.head, proc.cycle, writer.cycle
        lanes, cap = writer.lanes, writer.cap
        while t < limit:
            st = self.state
            reads_done = proc.reads_done
            left = self.regions_left
            idle = st is WAIT_BAND and not left and proc.idle()
            data_ready = writer.have and writer.level + lanes <= cap
            cmd_ready = writer_cycle(t, proc_head(), data_ready)
            proc_cycle(data_ready)
            if st is not RUN or reads_done or (pulses and pulses[0][0] == t):
                self._sequence(t, self._pulse(t), reads_done, idle, cmd_ready)
            if left and cmd_ready:  # the band's next region (per-row / per-pixel modes)
                self._next_region(left - 1)
            t += 1
            if reads_done:
                self.busy = proc.busy() or writer.busy() or self.regions_left != 0
                return t, True
            if not proc.running and not (proc.busy() or writer.busy() or self.regions_left):
                self.busy = False
                return t, False
            if proc.read_i >= settle.next_check:
                t = self._settle(t, limit)
        return t, False

    def _sequence(
        self, t: int, done_now: int, reads_done: bool, idle: bool, cmd_ready: bool
    ) -> None:
        """The post FSM and the band-complete latches in cycle ``t``."""
        st = self.state
        half = 1 << (self.band & 1)
        if reads_done:
            self.releases.append((t, half))
        started = 0
        if st is WAIT_BAND:
            if self.computed & half and self.acc_out:
                # ACC_OUT: the complete band is taken and released at once, no output
                self.releases.append((t, half))
                started = half
                self.log[self.band][5] = t
                self.band += 1
                self.state = FINISH
            elif self.computed & half and t >= self.params.loaded_at and idle:
                self.state = REGION
        elif st is REGION:
            if cmd_ready:
                started = half
                self.log[self.band][5] = t
                self.state = RUN
                self._start_band()
        elif st is RUN:
            if reads_done:
                self.band += 1
                self.state = FINISH if self.band == self.n_bands else WAIT_BAND
        self.computed = (self.computed | done_now) & ~started

    def _start_band(self) -> None:
        rows = self.bands[self.band][2]
        out_rows = rows >> 1 if self.pool else rows
        length = out_rows * self.out_row_bytes
        self.proc.start(out_rows * self.F_out)
        self.settle.band_start(self.proc.n_reads)
        mode = self.out_mode
        if mode == 0:  # one region per band
            self.writer.command(self.out_addr, length)
            self.out_addr += length
        else:
            self._next_region(out_rows * self.F_out - 1 if mode == 2 else out_rows - 1)
        self.busy = True

    def _next_region(self, left: int) -> None:
        """Per-row / per-pixel modes: the writer accepts the next region in this cycle;
        ``left`` regions of the band remain to be offered after it."""
        self.writer.command(self.out_addr, self.region_len)
        self.regions_left = left
        if self.out_mode == 2 and self.pixel_in_row + 1 != self.F_out:
            self.pixel_in_row += 1
            self.out_addr += self.pix_pitch
        else:
            self.pixel_in_row = 0
            self.row_addr += self.row_pitch
            self.out_addr = self.row_addr
