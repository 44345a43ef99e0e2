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
        "in_requant", "pattern", "pat_len",
    )  # fmt: skip

    def __init__(self, geo: Geometry):
        self.running = False
        self.n_reads = 0
        self.read_i = 0
        self.inflight = None
        self.reads_done = False
        self.fifo = deque()
        self.pipe = [None] * _STAGES
        self.in_requant = 0  # tags in the pipeline
        self.pattern = geo.pattern
        self.pat_len = len(geo.pattern)

    def start(self, out_pixels: int) -> None:
        """Begin a band of ``out_pixels`` output pixels."""
        self.running = True
        self.n_reads = out_pixels * self.pat_len
        self.read_i = 0

    def idle(self) -> bool:
        """The PostProcessor's ``idle`` output."""
        return not self.running and not self.fifo and self.inflight is None and not self.in_requant

    def busy(self) -> bool:
        return (
            bool(self.running or self.fifo or self.inflight is not None or self.in_requant)
            or self.reads_done
        )

    def cycle(self, out: tuple | None, out_ready: bool) -> None:
        """One cycle: ``out`` is the tag in the last stage (``pipe[-1]``), ``out_ready`` the
        writer's readiness for data in this cycle."""
        fifo = self.fifo
        can_read = self.running and len(fifo) + (self.inflight is not None) < _FIFO_DEPTH
        pipe = self.pipe
        head = fifo[0] if fifo else None
        if out is None or out_ready or not out[1]:
            pipe.pop()
            pipe.insert(0, head)
            accepted = head is not None
            self.in_requant += accepted - (out is not None)
        else:  # output stalled: the first bubble from the end is squeezed out
            accepted = False
            for j in range(_STAGES - 2, -1, -1):
                if pipe[j] is None:
                    del pipe[j]
                    pipe.insert(0, head)
                    accepted = head is not None
                    self.in_requant += accepted
                    break
        if accepted:
            fifo.popleft()
        if self.inflight is not None:
            fifo.append(self.inflight)
        self.inflight = None
        self.reads_done = False
        if can_read:
            self.inflight = self.pattern[self.read_i % self.pat_len]
            self.read_i += 1
            if self.read_i == self.n_reads:
                self.running = False
                self.reads_done = True
