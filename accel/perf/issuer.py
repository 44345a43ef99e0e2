"""The issuer (the array's feeder FSM in :mod:`accel.hw.core`) and the K walker.

* issuer: ``band rows × F`` cycles per tile, tiles back to back; a band starts when its input
  rows are loaded and its accumulator half is free; between bands ``FEEDER_LATENCY + 2``
  drain cycles, then the BAND and TILE states (a cycle each at least) and BAND_BASE
  (``ISSUER_BASE_CYCLES``) before the first vector; a band is complete ``rows + cols + 5``
  cycles after its last vector;
* K walker: the row constants of the next K tile take ``rows`` cycles after each tile start.
"""

from __future__ import annotations

from enum import IntEnum

from accel.perf.geometry import INF, Geometry
from accel.spec import timing


class IssuerState(IntEnum):
    """``m.FSM(name="issuer")`` of :mod:`accel.hw.core`."""

    IDLE = 0
    BAND = 1
    BAND_BASE = 2
    TILE = 3
    STREAM = 4
    DRAIN = 5


IDLE, BAND, BAND_BASE, TILE, STREAM, DRAIN = IssuerState
_DRAIN_CYCLES = timing.FEEDER_LATENCY + 1  # the DRAIN counter's start value
_BASE_CYCLES = timing.ISSUER_BASE_CYCLES


class KWalker:
    """Row constants of the next K tile: valid from ``ready_at`` on."""

    __slots__ = ("ready_at", "rows")

    def __init__(self, geo: Geometry):
        self.ready_at = INF
        self.rows = geo.rows

    def start(self, t: int) -> None:
        self.ready_at = t + self.rows + 1

    def restart(self, t: int) -> None:
        """A tile started in cycle ``t``: the walker refills from row 0."""
        self.ready_at = t + self.rows


class Issuer:
    """Issuer FSM, its band and tile counters and the accumulator halves it may claim.

    ``acc_free``: bit h set when accumulator half h holds no unread band (claimed here,
    released by the post-processing, :mod:`accel.perf.output`). ``tile_started``,
    ``last_pixel`` and ``acc_claim`` are the combinational decisions of the current cycle
    (:meth:`comb`); in STREAM, the issuer sends a vector (``issue``) every cycle. ``log``:
    per band [n, e0, rows, first issue cycle, last issue cycle, post-processing start cycle].
    """

    __slots__ = (
        "state", "band", "acc_free", "tile_idx", "tile_len", "stream_end", "tile_parity",
        "drain_end", "base_end", "last_pixel", "tile_started", "acc_claim",
        "walker", "log", "bands", "n_bands", "tiles", "F", "done_delay",
    )  # fmt: skip

    def __init__(self, geo: Geometry):
        self.state = IDLE
        self.band = 0
        self.acc_free = 0b11
        self.tile_idx = 0
        self.tile_len = 0  # pixels per tile of the current band (its rows × F)
        self.stream_end = 0  # last pixel cycle of the streaming tile
        self.tile_parity = 0
        self.drain_end = 0  # DRAIN: the cycle in which the drain counter is 0
        self.base_end = 0  # BAND_BASE: its last cycle
        self.last_pixel = self.tile_started = False
        self.acc_claim = 0
        self.walker = KWalker(geo)
        self.log = []
        self.bands, self.n_bands, self.tiles = geo.bands, geo.n_bands, geo.tiles
        self.F, self.done_delay = geo.F, geo.done_delay

    def start(self, t: int) -> None:
        self.band, self.tile_parity, self.state = 0, 0, BAND
        self.walker.start(t)

    def comb(self, t: int, load_now: bool, loaded_ahead: int, loaded_bands: int) -> None:
        """Cycle ``t``'s decisions from the registers, the weight banks' load decision and
        the input prefetcher's band count (``last_pixel`` is valid in STREAM, ``acc_claim``
        in BAND)."""
        st = self.state
        if st is STREAM:
            if t == self.stream_end:
                self.last_pixel = True
                self.tile_started = (
                    self.tile_idx + 1 < self.tiles
                    and (loaded_ahead != 0 or load_now)
                    and t >= self.walker.ready_at
                )
            else:
                self.last_pixel = self.tile_started = False
        elif st is TILE:
            self.tile_started = (loaded_ahead != 0 or load_now) and t >= self.walker.ready_at
        else:
            self.tile_started = False
            if st is BAND:
                half = self.band & 1
                if (self.acc_free >> half) & 1 and loaded_bands > self.band:
                    self.acc_claim = 1 << half
                else:
                    self.acc_claim = 0

    def started_bank(self) -> int:
        """The bank of the tile starting in this cycle (``tile_started``)."""
        return self.tile_parity ^ (self.state is STREAM)

    def tick(self, t: int, output) -> None:
        """Cycle ``t``'s register updates; ``output`` receives the band-complete pulses."""
        st = self.state
        if self.tile_started:
            self.walker.restart(t)
        if st is STREAM:
            if self.last_pixel:
                self._tile_end(t, output)
        elif st is TILE:
            if self.tile_started:
                self.state = STREAM
                self.stream_end = t + self.tile_len
                if self.tile_idx == 0:
                    self.log.append([*self.bands[self.band], t + 1, -1, -1])
        elif st is BAND:
            if self.acc_claim:
                self.acc_free &= ~self.acc_claim
                self.state = BAND_BASE
                self.base_end = t + _BASE_CYCLES
                self.tile_idx = 0
                self.tile_len = self.bands[self.band][2] * self.F
        elif st is BAND_BASE:
            if t == self.base_end:
                self.state = TILE
        elif st is DRAIN:
            if t == self.drain_end:
                self.state = BAND

    def _tile_end(self, t: int, output) -> None:
        self.tile_parity ^= 1
        if self.tile_idx + 1 < self.tiles:
            self.tile_idx += 1
            if self.tile_started:
                self.stream_end = t + self.tile_len
            else:
                self.state = TILE
            return
        band = self.band
        self.log[band][4] = t
        output.band_done(t + self.done_delay, band & 1)
        self.band = band + 1
        self.drain_end = t + 1 + _DRAIN_CYCLES
        self.state = IDLE if self.band == self.n_bands else DRAIN

    def wake(self, t1: int, loaded_ahead: int, loaded_bands: int) -> float:
        """The next cycle from ``t1`` on in which the issuer or the walker acts."""
        st = self.state
        if st is STREAM:
            return self.stream_end
        if st is TILE:
            ready = self.walker.ready_at
            if loaded_ahead:
                return ready if ready > t1 else t1
            return ready if t1 < ready else INF
        if st is BAND:
            if (self.acc_free >> (self.band & 1)) & 1 and loaded_bands > self.band:
                return t1
            return INF
        if st is BAND_BASE:
            return self.base_end if self.base_end > t1 else t1
        if st is DRAIN:
            return self.drain_end
        return INF

    def waits_for_accumulator(self) -> bool:
        """In BAND with its accumulator half still being read out."""
        return self.state is BAND and not (self.acc_free >> (self.band & 1)) & 1

    def key(self, t: int) -> tuple:
        """The state relative to cycle ``t`` (steady-state detection)."""
        ready = self.walker.ready_at
        return (self.tile_parity, self.stream_end - t, ready - t if ready > t else 0)

    def shift_time(self, dt: int) -> None:
        self.stream_end += dt
        self.walker.ready_at += dt
