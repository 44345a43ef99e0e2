"""Output writer (:class:`accel.hw.writer.OutputWriter`) beat by beat, without the data.

Region commands (first byte address, length) go to the burst request generator and, through
the ``WRITE_REGION_FIFO``, to the byte packer; bursts of at most ``max_burst`` beats never
cross a 4 KiB page and run at most ``WRITE_BURST_QUEUE`` bursts ahead of their data; a burst's
write response comes ``write latency`` cycles after its last beat, one per cycle at most.
"""

from __future__ import annotations

from collections import deque

from accel.perf.geometry import Geometry, cdiv
from accel.spec import timing

_QUEUE = timing.WRITE_BURST_QUEUE
_REGION_FIFO = timing.WRITE_REGION_FIFO


class OutputWriter:
    """Request generator (``rg_*``), burst queue ``blen``, byte packer and write responses.

    ``region``: queued regions (offset in the first beat, length); ``level``: occupied byte
    positions of the packer (padding included); ``have``/``in_remain``: the region being
    received and its bytes still to come; ``wresp``: cycles of the expected write responses;
    ``pending``: bursts requested and not answered yet.
    """

    __slots__ = (
        "region", "blen", "rg_active", "rg_addr", "rg_remain", "wr_valid", "wr_beats",
        "level", "have", "in_remain", "beat_count", "pending", "wresp", "last_resp",
        "bytes_written", "lanes", "cap", "bus_bytes", "shift", "lane_mask", "page_beats",
        "page_mask", "max_burst", "latency",
    )  # fmt: skip

    def __init__(self, geo: Geometry):
        self.region = deque()
        self.blen = deque()
        self.rg_active = False
        self.rg_addr = 0
        self.rg_remain = 0
        self.wr_valid = False
        self.wr_beats = 0
        self.level = 0
        self.have = False
        self.in_remain = 0
        self.beat_count = 0
        self.pending = 0
        self.wresp = deque()
        self.last_resp = -1
        self.bytes_written = 0
        bb = self.bus_bytes = geo.bus_bytes
        self.lanes = geo.cols
        self.cap = cdiv(2 * bb + self.lanes - 1, bb) * bb
        self.shift, self.lane_mask = geo.shift, geo.lane_mask
        self.page_beats, self.page_mask = geo.page_beats, geo.page_mask
        self.max_burst = geo.max_burst
        self.latency = geo.write_latency

    def command(self, addr: int, length: int) -> None:
        """Accept the region command (``length`` > 0 bytes from byte address ``addr``)."""
        offset = addr & (self.bus_bytes - 1)
        self.rg_active = True
        self.rg_addr = addr & self.lane_mask
        self.rg_remain = (offset + length + self.bus_bytes - 1) >> self.shift
        self.region.append((offset, length))

    def data_ready(self) -> bool:
        return self.have and self.level + self.lanes <= self.cap

    def busy(self) -> bool:
        """Anything to do but waiting for write responses."""
        return bool(
            self.rg_active or self.wr_valid or self.region or self.have or self.level or self.blen
        )

    def respond(self, t: int) -> None:
        """Cycle ``t`` while not busy: a write response may arrive."""
        wresp = self.wresp
        if wresp and wresp[0] == t:
            wresp.popleft()
            self.pending -= 1

    def cycle(self, t: int, out: tuple | None, data_ready: bool) -> bool:
        """Cycle ``t`` while busy; ``out`` is the requantizer's last stage, ``data_ready``
        :meth:`data_ready` before the update. Returns the command channel's ``ready``."""
        blen = self.blen
        requested, beats = self.wr_valid, self.wr_beats
        emit = self.level >= self.bus_bytes and blen
        if self.rg_active:
            cmd_ready = self._request(len(blen) + requested < _QUEUE)
        else:
            self.wr_valid = False
            cmd_ready = len(self.region) < _REGION_FIFO
        if emit:
            self.level -= self.bus_bytes  # (the packer adds to the level before the beat)
            if self.beat_count + 1 == blen[0]:
                self._burst_end(t)
            else:
                self.beat_count += 1
        if requested:  # the request of the previous cycle is accepted
            blen.append(beats)
            self.pending += 1
        if data_ready and out is not None and out[1]:
            self._pack(out[0])
        elif self.region and not self.have:
            self._pack(0)
        wresp = self.wresp
        if wresp and wresp[0] == t:
            wresp.popleft()
            self.pending -= 1
        return cmd_ready

    def key(self, t: int) -> tuple:
        """The state relative to cycle ``t`` but the positions (steady-state detection)."""
        last = self.last_resp - t  # (a response is due t + latency at the earliest)
        return (
            tuple(self.region),
            tuple(self.blen),
            self.rg_active,
            self.wr_valid,
            self.wr_beats if self.wr_valid else 0,
            self.level,
            self.have,
            self.beat_count,
            self.pending,
            tuple(resp - t for resp in self.wresp),
            last if last >= self.latency else self.latency - 1,
        )

    def position(self) -> tuple:
        """(bytes written, next burst address, beats to request, bytes of the region to
        come): what moves on in a steady state."""
        return (self.bytes_written, self.rg_addr, self.rg_remain, self.in_remain)

    def repeat(self, n: int, before: tuple, dt: int) -> None:
        """Move on ``n`` times what moved since ``before`` (a :meth:`position`), ``dt``
        cycles later."""
        written, addr, remain, left = before
        self.bytes_written += n * (self.bytes_written - written)
        self.rg_addr += n * (self.rg_addr - addr)
        self.rg_remain += n * (self.rg_remain - remain)
        self.in_remain += n * (self.in_remain - left)
        self.wresp = deque(resp + dt for resp in self.wresp)
        self.last_resp += dt

    def _request(self, room: bool) -> bool:
        """The request generator: load the next burst if the burst queue has room.
        Returns the command channel's ``ready`` (from the registers before the update)."""
        rg_active = self.rg_active
        load = rg_active and room
        final = False
        if load:
            limit = self.page_beats - ((self.rg_addr >> self.shift) & self.page_mask)
            if limit > self.max_burst:
                limit = self.max_burst
            remain = self.rg_remain
            final = remain <= limit
            burst = remain if final else limit
            self.wr_beats = burst
            self.rg_addr += burst << self.shift
            self.rg_remain = remain - burst
            if final:
                self.rg_active = False
        self.wr_valid = load
        return len(self.region) < _REGION_FIFO and (not rg_active or final)

    def _pack(self, count: int) -> None:
        """The byte packer takes ``count`` bytes (0: no transfer in this cycle); a region
        starts a new beat; the level counts the padding of unaligned starts and ends."""
        region = self.region
        in_remain = self.in_remain
        take = 0
        finish = False
        if count:
            take = count if count < in_remain else in_remain
            finish = take == in_remain
        level = self.level + take  # (before this cycle's beat: see cycle)
        if finish:
            level = cdiv(level, self.bus_bytes) * self.bus_bytes
        if region and (not self.have or finish):
            offset, length = region.popleft()
            level += offset
            self.have = True
            self.in_remain = length
        elif finish:
            self.have = False
        elif take:
            self.in_remain = in_remain - take
        self.bytes_written += take
        self.level = level

    def _burst_end(self, t: int) -> None:
        """A burst's last beat leaves the packer: its response is due."""
        self.beat_count = 0
        self.blen.popleft()
        resp = t + self.latency
        if resp <= self.last_resp:
            resp = self.last_resp + 1
        self.last_resp = resp
        self.wresp.append(resp)
