"""Post-processor (:class:`accel.hw.postproc.PostProcessor`) without the data.

One accumulator read per cycle (four per pooled output) while its FIFO has room, the
``POST_FIFO_DEPTH``-entry FIFO and the ``REQUANT_LATENCY``-stage requantizer, whose bubbles
are squeezed out while the output writer stalls it. A read is represented by its tag:
(output bytes, last read of the pool window); only a window's last read leaves the
requantizer as output.
"""

from __future__ import annotations

from collections import deque

from accel.perf.geometry import Geometry
from accel.spec import timing

_FIFO_DEPTH = timing.POST_FIFO_DEPTH
_STAGES = timing.REQUANT_LATENCY


class PostProcessor:
    """Read walker, FIFO and requantizer pipeline of one band at a time.

    ``pipe``: the requantizer stages, input first (a tag, or None for a bubble);
    ``inflight``: the tag of the accumulator read of the previous cycle; ``reads_done``
    pulses (for a cycle) after the band's last read.
    """

    __slots__ = (
        "running", "n_reads", "read_i", "inflight", "reads_done", "fifo", "pipe",
        "pattern", "pat_len",
    )  # fmt: skip

    def __init__(self, geo: Geometry):
        self.running = False
        self.n_reads = 0
        self.read_i = 0
        self.inflight = None
        self.reads_done = False
        self.fifo = deque()
        self.pipe = deque([None] * _STAGES, maxlen=_STAGES)
        self.pattern = geo.pattern
        self.pat_len = len(geo.pattern)

    def start(self, out_pixels: int) -> None:
        """Begin a band of ``out_pixels`` output pixels."""
        self.running = True
        self.n_reads = out_pixels * self.pat_len
        self.read_i = 0

    def in_requant(self) -> int:
        """Tags in the requantizer pipeline."""
        return _STAGES - self.pipe.count(None)

    def idle(self) -> bool:
        """The PostProcessor's ``idle`` output."""
        if self.running or self.fifo or self.inflight is not None:
            return False
        return not self.in_requant()

    def busy(self) -> bool:
        if self.running or self.fifo or self.inflight is not None or self.reads_done:
            return True
        return bool(self.in_requant())

    def key(self) -> tuple:
        """The state but the read count (steady-state detection while running)."""
        return (self.inflight, tuple(self.fifo), tuple(self.pipe))

    def cycle(self, out: tuple | None, out_ready: bool) -> None:
        """One cycle: ``out`` is the tag in the last stage (``pipe[-1]``), ``out_ready`` the
        writer's readiness for data in this cycle."""
        fifo = self.fifo
        inflight = self.inflight
        can_read = self.running and len(fifo) + (inflight is not None) < _FIFO_DEPTH
        head = fifo[0] if fifo else None
        if out is None or out_ready or not out[1]:
            self.pipe.appendleft(head)  # every stage moves on, the last one's tag leaves
            if head is not None:
                fifo.popleft()
        elif self._squeeze(head):
            fifo.popleft()
        if inflight is not None:
            fifo.append(inflight)
            self.inflight = None
        if self.reads_done:
            self.reads_done = False
        if can_read:
            i = self.read_i
            self.inflight = self.pattern[i % self.pat_len]
            self.read_i = i = i + 1
            if i == self.n_reads:
                self.running = False
                self.reads_done = True

    def _squeeze(self, head: tuple | None) -> bool:
        """The output stalls: the stages behind the first bubble from the end move on.
        Returns whether ``head`` entered the pipeline."""
        pipe = self.pipe
        for j in range(_STAGES - 2, -1, -1):
            if pipe[j] is None:
                del pipe[j]
                pipe.appendleft(head)
                return head is not None
        return False
