"""Read DMA (:class:`accel.hw.reader.ReadDMA`): three clients, bursts, a fixed-latency memory.

Fixed priority input > weights > parameters, decided per burst; a burst issued in cycle t is
accepted by memory in t + 1 and its beats arrive from t + 1 + read latency on, one per cycle,
after the previous burst's; at most ``READ_OUTSTANDING`` bursts in flight (the burst-info
FIFO); bursts of at most ``max_burst`` beats, split at 4 KiB pages.
"""

from __future__ import annotations

from collections import deque
from enum import IntEnum

from accel.perf.geometry import INF, Geometry
from accel.spec import timing

_OUTSTANDING = timing.READ_OUTSTANDING


class Client(IntEnum):
    """Read DMA clients, highest priority first (``accel.hw.core.*_CLIENT``)."""

    INPUT = 0
    WEIGHTS = 1
    PARAMS = 2


INPUT, WEIGHTS, PARAMS = (int(c) for c in Client)


class ReadDMA:
    """Per-client command state, the bursts in flight and the memory's data channel.

    ``info`` holds the bursts in flight as (cycle of the last beat, client, last burst of the
    command). After :meth:`step`, ``active[c]`` is False exactly when client ``c`` may give a
    command in this cycle (none in progress, or its last burst was issued now).
    """

    __slots__ = (
        "active", "addr", "remain", "info", "mem_free", "last_load", "beats_read", "completed",
        "latency", "shift", "page_beats", "page_mask", "max_burst",
    )  # fmt: skip

    def __init__(self, geo: Geometry):
        self.active = [False, False, False]
        self.addr = [0, 0, 0]
        self.remain = [0, 0, 0]
        self.info = deque()
        self.mem_free = 0  # first cycle in which memory can deliver another beat
        self.last_load = -1  # cycle of the last burst issued
        self.beats_read = 0
        self.completed = [0, 0, 0]  # commands completed while running ahead, not yet taken
        self.latency = geo.read_latency
        self.shift = geo.shift
        self.page_beats, self.page_mask = geo.page_beats, geo.page_mask
        self.max_burst = geo.max_burst

    def command(self, client: int, addr: int, beats: int) -> None:
        """Client ``client`` gives the command "``beats`` beats from bus address ``addr``"."""
        self.active[client] = beats != 0
        self.addr[client] = addr
        self.remain[client] = beats

    def idle(self, t: int) -> bool:
        """The reader's part of the done condition in cycle ``t`` (before :meth:`step`)."""
        active = self.active
        return not (active[0] or active[1] or active[2] or self.info) and self.last_load != t - 1

    def step(self, t: int) -> int:
        """Cycle ``t``: retire the burst whose last beat arrives, issue the next burst.

        Returns the client whose command's last beat arrives in ``t``, or -1.
        """
        info = self.info
        level = len(info)
        end_client = -1
        if level and info[0][0] == t:
            _last, client, final = info.popleft()
            if final:
                end_client = client
        active = self.active
        sel = 0 if active[0] else 1 if active[1] else 2 if active[2] else -1
        if sel >= 0 and level < _OUTSTANDING:
            self._issue(t, sel)
        return end_client

    def _issue(self, t: int, sel: int) -> None:
        burst, final = self._burst(sel)
        first = t + 1 + self.latency
        if first < self.mem_free:
            first = self.mem_free
        self.mem_free = first + burst
        self.info.append((first + burst - 1, sel, final))
        self.beats_read += burst
        self.last_load = t
        self.addr[sel] += burst << self.shift
        self.remain[sel] -= burst
        if final:
            self.active[sel] = False

    def _burst(self, sel: int) -> tuple[int, bool]:
        """Length of client ``sel``'s next burst and whether it is its command's last."""
        limit = self.page_beats - ((self.addr[sel] >> self.shift) & self.page_mask)
        if limit > self.max_burst:
            limit = self.max_burst
        remain = self.remain[sel]
        if remain <= limit:
            return remain, True
        return limit, False

    def run_ahead(self, t1: int, limit: float, waiting: int, quiet_end: int) -> float:
        """Simulate the cycles from ``t1`` on in which no client sees the reader act, up to
        ``limit`` (excluded) at most: a burst is issued that is not its command's last, or
        whose client (bit ``c`` of ``waiting`` clear) would not give its next command yet; a
        burst ends that is not its command's last, or whose client (bit ``c`` of
        ``quiet_end`` set) would not react yet — its command is counted in ``completed``.

        Returns the first cycle in which a client sees something (its last beat arrives,
        or it may give its next command), which is left to :meth:`step`, or INF.
        """
        info, active = self.info, self.active
        if not info and not (active[0] or active[1] or active[2]):
            return INF
        t = t1
        while t < limit:
            level = len(info)
            sel = 0 if active[0] else 1 if active[1] else 2 if active[2] else -1
            end = level and info[0][0] == t
            if end and info[0][2] and not quiet_end >> info[0][1] & 1:
                return t
            if sel >= 0 and level < _OUTSTANDING:
                if waiting >> sel & 1 and self._burst(sel)[1]:
                    return t
                if end:
                    self._retire()
                self._issue(t, sel)
            elif end:
                self._retire()
            else:  # nothing before the next burst's end
                t = info[0][0] if level else INF
                continue
            t += 1
        return INF

    def _retire(self) -> None:
        _last, client, final = self.info.popleft()
        if final:
            self.completed[client] += 1

    def take_completed(self, client: int) -> int:
        """Commands of ``client`` completed by :meth:`run_ahead` since the last call."""
        done = self.completed[client]
        self.completed[client] = 0
        return done

    def wake(self, t1: int) -> float:
        """The next cycle from ``t1`` on in which the reader acts (after :meth:`step`)."""
        active = self.active
        info = self.info
        if (active[0] or active[1] or active[2]) and len(info) < _OUTSTANDING:
            return t1
        return info[0][0] if info else INF

    def key(self, t: int) -> tuple | None:
        """The state of the weight and parameter clients relative to cycle ``t``
        (steady-state detection) but the parameter command's position; None while an input
        burst is in flight."""
        bursts = []
        for end, client, final in self.info:
            if client == INPUT:
                return None
            bursts.append((end - t, client, final))
        mem_free = self.mem_free - t
        return (
            self.active[WEIGHTS],
            self.remain[WEIGHTS],
            self.active[PARAMS],
            tuple(bursts),
            mem_free if mem_free > 0 else 0,
        )

    def shift_time(self, dt: int) -> None:
        """Move every pending time ``dt`` cycles later (a skipped steady-state period)."""
        self.info = deque((end + dt, client, final) for end, client, final in self.info)
        self.mem_free += dt
        self.last_load += dt
