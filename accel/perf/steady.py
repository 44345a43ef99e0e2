"""The settled-period fast path: whole periods of a steady tile stream in one step.

At a tile start, while the input and parameter engines are idle, the state of the reader's
weight client, the weight path, the issuer and the walker relative to the current cycle is
looked up among the earlier tile starts of the band; when it repeats, the period in between
(``p`` tiles in ``dt`` cycles) repeats as well, and as many whole periods as fit before the
band's last tile are skipped at once. The output side is not part of the state: it runs on
its own time line (:mod:`accel.perf.output`), and nothing it does reaches the issuer within a
band. A weight tile whose bytes cross a 4 KiB page is split into bursts differently, so no
period may contain one.
"""

from __future__ import annotations

from bisect import bisect_left

from accel.perf.geometry import INF, Geometry
from accel.perf.issuer import Issuer
from accel.perf.params import ParamLoader
from accel.perf.prefetch import InputPrefetcher
from accel.perf.reader import INPUT, PARAMS, WEIGHTS, ReadDMA
from accel.perf.weights import WeightPath


class SettledPeriod:
    """History of the tile starts of the current band and the jump over repeated periods."""

    __slots__ = ("history", "crossings", "tiles", "total_tiles", "w_addr", "tile_bytes",
                 "tile_beats", "shift", "max_burst", "page_beats")  # fmt: skip

    def __init__(self, geo: Geometry):
        self.history = {}
        self.crossings = geo.crossing_tiles()
        self.tiles = geo.tiles
        self.total_tiles = geo.tiles * geo.n_bands
        self.w_addr, self.tile_bytes = geo.w_addr, geo.tile_bytes
        self.tile_beats, self.shift = geo.weight_tile_beats, geo.shift
        self.max_burst, self.page_beats = geo.max_burst, geo.page_beats

    def next_crossing(self, fetched: int) -> float:
        """The first tile command from number ``fetched`` on whose tile crosses a page."""
        crossings = self.crossings
        if not crossings:
            return INF
        base, index = divmod(fetched, self.tiles)
        i = bisect_left(crossings, index)
        if i < len(crossings):
            return base * self.tiles + crossings[i]
        return (base + 1) * self.tiles + crossings[0]

    @staticmethod
    def settled(pl: ParamLoader, rd: ReadDMA, pf: InputPrefetcher) -> bool:
        """Nothing but the weight stream (and the parameter command, if still in progress)
        moves outside the issuer."""
        return not pl.issuing and not rd.active[INPUT] and pf.settled()

    def tile_start(self, t: int, engines: tuple) -> int:
        """A tile started in cycle ``t``: record the state or skip repeated periods.
        ``engines``: (reader, weight path, issuer, prefetcher, parameter loader,
        accounting). Returns the cycle the simulation continues in (``t`` unless periods
        were skipped)."""
        rd, wt, iss, pf, pl, acct = engines
        if iss.tile_idx >= self.tiles - 1:  # no period fits before the band's last tile
            return t
        rd_key = rd.key(t)
        if rd_key is None:
            return t
        band = iss.band
        key = (iss.key(t), rd_key, wt.key(t), pf.key(band), pl.loaded)
        now = (t, iss.tile_idx, wt.fetched, rd.beats_read, rd.addr[PARAMS], rd.remain[PARAMS])
        prev = self.history.get(key)
        if prev is None or prev[0] != band:
            self.history[key] = (band, now, acct.snapshot())
            return t
        self.history.clear()
        _band, before, counted = prev
        n = self._periods(iss, wt, rd, before, now)
        if n <= 0:
            return t
        t0, started0, _fetched0, beats0, addr0, remain0 = before
        p = iss.tile_idx - started0
        dt = n * (t - t0)
        acct.repeat(counted, n)
        rd.beats_read += n * (rd.beats_read - beats0)
        rd.addr[PARAMS] += n * (rd.addr[PARAMS] - addr0)
        rd.remain[PARAMS] += n * (rd.remain[PARAMS] - remain0)
        iss.tile_idx += n * p
        wt.fetched += n * p
        if rd.active[WEIGHTS]:
            tile = (wt.fetched - 1) % self.tiles
            done = self.tile_beats - rd.remain[WEIGHTS]
            rd.addr[WEIGHTS] = self.w_addr + tile * self.tile_bytes + (done << self.shift)
        rd.shift_time(dt)
        wt.shift_time(dt)
        iss.shift_time(dt)
        return t + dt

    def _periods(self, iss: Issuer, wt: WeightPath, rd: ReadDMA, before: tuple, now: tuple) -> int:
        """How many periods may be skipped: the band's last tile, the last tile command and
        the next page-crossing tile stay ahead; a parameter command in progress issues full
        bursts inside one page only, none its last."""
        _t0, started0, fetched0, _beats0, addr0, remain0 = before
        _t, _started, fetched, _beats, addr, remain = now
        p = iss.tile_idx - started0
        n = (self.tiles - 1 - iss.tile_idx) // p
        if wt.running:
            n = min(n, (self.total_tiles - 1 - fetched) // p)
        crossing = self.next_crossing(max(fetched0 - 1, 0))
        if crossing != INF:
            n = min(n, (crossing - fetched) // p)
        if rd.active[PARAMS] and remain0 > remain:
            n = min(n, (remain - self.max_burst - 1) // (remain0 - remain))
            beat0, beat = addr0 >> self.shift, addr >> self.shift
            page_end = (beat0 // self.page_beats + 1) * self.page_beats
            n = min(n, (page_end - beat) // (beat - beat0))
        return n
