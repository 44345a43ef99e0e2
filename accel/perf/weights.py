"""Weight path: the weight fetcher, the weight tile FIFO and the array's two weight banks.

* fetcher: one tile command at a time (client WEIGHTS), at most ``weight_depth`` tiles
  requested and not yet loaded into the array; the tiles of every band, in order;
* FIFO: a tile is in it from its command's last beat until it is loaded;
* banks: a tile is loaded when it is in the FIFO, fewer than two loaded tiles wait, and its
  bank's timer (``rows + cols + 2`` cycles after the last vector of the tile two before) has
  expired; a tile starts in its load cycle at the earliest.
"""

from __future__ import annotations

from accel.perf.geometry import INF, Geometry
from accel.perf.issuer import Issuer
from accel.perf.reader import WEIGHTS, ReadDMA


class WeightPath:
    """Fetcher position, FIFO levels and bank timers.

    ``free_at[b]``: bank ``b``'s timer is 0 from this cycle on (it restarts in every cycle
    the bank is used, so it is set once, when a tile starts, for the tile's last vector).
    ``load_now`` is the combinational load of the current cycle (:meth:`comb`).
    """

    __slots__ = (
        "running", "tile", "band", "reserved", "count", "load_bank", "loaded_ahead",
        "free_at", "load_now", "tiles", "n_bands", "depth", "w_addr", "tile_bytes",
        "tile_beats", "lane_mask", "hold",
    )  # fmt: skip

    def __init__(self, geo: Geometry):
        self.running = False
        self.tile = 0  # next tile to request, in the band's order
        self.band = 0  # band of the next tile to request
        self.reserved = 0  # tiles requested, not yet loaded into the array
        self.count = 0  # tiles in the FIFO
        self.load_bank = 0  # bank of the next tile to load
        self.loaded_ahead = 0  # tiles loaded into the array, not yet started
        self.free_at = [0, 0]
        self.load_now = False
        self.tiles, self.n_bands = geo.tiles, geo.n_bands
        self.depth = geo.weight_depth
        self.w_addr, self.tile_bytes = geo.w_addr, geo.tile_bytes
        self.tile_beats, self.lane_mask = geo.weight_tile_beats, geo.lane_mask
        self.hold = geo.hold

    def start(self) -> None:
        self.running, self.tile, self.band = True, 0, 0

    @property
    def fetched(self) -> int:
        """Tile commands given so far, over all bands."""
        return self.band * self.tiles + self.tile

    @fetched.setter
    def fetched(self, value: int) -> None:
        self.band, self.tile = divmod(value, self.tiles)

    def comb(self, t: int) -> bool:
        """Cycle ``t``'s load decision (from the registers)."""
        self.load_now = load_now = (
            self.count != 0 and self.loaded_ahead < 2 and t >= self.free_at[self.load_bank]
        )
        return load_now

    def tick(self, t: int, rd: ReadDMA, end_client: int, iss: Issuer) -> None:
        """Cycle ``t``'s register updates, after the reader's step and the issuer's
        combinational decisions (before the issuer's own update)."""
        if self.running and self.reserved < self.depth and not rd.active[WEIGHTS]:
            self._fetch(rd)
        if self.load_now:
            self.reserved -= 1
            self.count -= 1
            self.load_bank ^= 1
            self.loaded_ahead += 1
        if end_client == WEIGHTS:
            self.count += 1
        if iss.tile_started:  # its bank is in use from its start to its last vector
            self.loaded_ahead -= 1
            self.free_at[iss.started_bank()] = t + iss.tile_len + self.hold

    def _fetch(self, rd: ReadDMA) -> None:
        addr = (self.w_addr + self.tile * self.tile_bytes) & self.lane_mask
        rd.command(WEIGHTS, addr, self.tile_beats)
        self.reserved += 1
        if self.tile + 1 == self.tiles:
            self.tile = 0
            self.band += 1
            if self.band == self.n_bands:
                self.running = False
        else:
            self.tile += 1

    def quiet_arrival(self) -> bool:
        """A tile arriving now changes nothing but the FIFO level: the FIFO holds a tile
        already, or no bank can be loaded before a tile starts."""
        return self.count != 0 or self.loaded_ahead == 2

    def wake(self, t1: int, rd: ReadDMA) -> float:
        """The next cycle from ``t1`` on in which a fetch or a load can happen."""
        if self.running and self.reserved < self.depth and not rd.active[WEIGHTS]:
            return t1
        if self.count and self.loaded_ahead < 2:
            free = self.free_at[self.load_bank]
            return free if free > t1 else t1
        return INF

    def key(self, t: int) -> tuple:
        """The state relative to cycle ``t`` (steady-state detection)."""
        f0, f1 = self.free_at
        return (
            self.running, self.reserved, self.count, self.load_bank, self.loaded_ahead,
            f0 - t if f0 > t else 0, f1 - t if f1 > t else 0,
        )  # fmt: skip

    def shift_time(self, dt: int) -> None:
        self.free_at[0] += dt
        self.free_at[1] += dt
