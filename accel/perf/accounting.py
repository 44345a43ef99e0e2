"""The MAC and stall counters and the phase of every cycle, from the issuer's state."""

from __future__ import annotations

from accel.perf.issuer import BAND, IDLE, STREAM, TILE, Issuer
from accel.perf.report import Phase
from accel.perf.weights import WeightPath

_SETUP, _MAC, _WEIGHTS, _BANK, _WALKER, _INPUT, _ACC, _SWITCH, _TAIL = (int(p) for p in Phase)
_PHASES = len(Phase)


class Accounting:
    """MAC_CYCLES, STALL_CYCLES and cycles per :class:`~accel.perf.report.Phase`.

    ``started``: the first vector has been issued (cycles before it are ``setup``).
    """

    __slots__ = ("mac", "stall", "phases", "started")

    def __init__(self, t_run: int):
        self.mac = 0
        self.stall = 0
        self.phases = [0] * _PHASES
        self.phases[_SETUP] = t_run  # START to the run pulse, inclusive
        self.started = False

    def cycle(self, iss: Issuer, wt: WeightPath) -> None:
        """One evaluated cycle (after the issuer's combinational decisions)."""
        st = iss.state
        ph = self.phases
        if st is STREAM:
            self.mac += 1
            ph[_MAC] += 1
            self.started = True
        elif st is TILE:
            if not iss.tile_started:
                self.stall += 1
                if not self.started:
                    ph[_SETUP] += 1
                elif wt.loaded_ahead == 0 and wt.count == 0:
                    ph[_WEIGHTS] += 1
                elif wt.loaded_ahead == 0 and not wt.load_now:
                    ph[_BANK] += 1
                else:
                    ph[_WALKER] += 1
            else:
                ph[_SWITCH if self.started else _SETUP] += 1
        elif st is BAND:
            if iss.acc_claim:
                ph[_SWITCH if self.started else _SETUP] += 1
            elif (iss.acc_free >> (iss.band & 1)) & 1:
                self.stall += 1
                ph[_INPUT if self.started else _SETUP] += 1
            else:
                ph[_ACC if self.started else _SETUP] += 1
        elif not self.started:
            ph[_SETUP] += 1
        elif st is IDLE:
            ph[_TAIL] += 1
        else:
            ph[_SWITCH] += 1

    def skip(self, n: int, iss: Issuer, wt: WeightPath) -> None:
        """``n`` cycles in which nothing but time changes (the state of the cycle before)."""
        st = iss.state
        ph = self.phases
        if st is STREAM:
            self.mac += n
            ph[_MAC] += n
        elif st is TILE:
            self.stall += n
            # A weight arrival, a bank becoming free and the walker becoming ready are
            # all events: the reason is the same in every skipped cycle.
            if not self.started:
                ph[_SETUP] += n
            elif wt.loaded_ahead == 0 and wt.count == 0:
                ph[_WEIGHTS] += n
            elif wt.loaded_ahead == 0:
                ph[_BANK] += n
            else:
                ph[_WALKER] += n
        elif st is BAND and (iss.acc_free >> (iss.band & 1)) & 1:
            self.stall += n
            ph[_INPUT if self.started else _SETUP] += n
        elif not self.started:
            ph[_SETUP] += n
        elif st is BAND:
            ph[_ACC] += n
        elif st is IDLE:
            ph[_TAIL] += n
        else:  # BAND_BASE, DRAIN
            ph[_SWITCH] += n

    def snapshot(self) -> tuple:
        return (self.mac, self.stall, tuple(self.phases))

    def repeat(self, before: tuple, n: int) -> None:
        """Add ``n`` times what was counted since ``before`` (a :meth:`snapshot`)."""
        mac0, stall0, ph0 = before
        self.mac += n * (self.mac - mac0)
        self.stall += n * (self.stall - stall0)
        for i, (now, then) in enumerate(zip(tuple(self.phases), ph0, strict=True)):
            self.phases[i] += n * (now - then)
