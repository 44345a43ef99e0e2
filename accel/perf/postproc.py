"""Post-processor (:class:`accel.hw.postproc.PostProcessor`) without the data.

One accumulator read per cycle (four per pooled output); the read that completes an output
vector needs one of ``POST_FIFO_DEPTH`` credits. The read data passes the free-running
``REQUANT_LATENCY``-stage requantizer and, if it completes an output vector, enters the
output FIFO, from which the writer takes it; the credit returns then. A read is represented
by its tag: (output bytes, last read of the pool window).
"""

from __future__ import annotations

from collections import deque

from accel.perf.geometry import Geometry
from accel.spec import timing

_CREDITS = timing.POST_FIFO_DEPTH
#: The read in flight (block-RAM read, registered read data), the requantizer's stages and
#: the output FIFO's output register (a vector is offered POST_FIFO_LATENCY cycles after it
#: is written, one of them the FIFO's own).
_STAGES = timing.ACC_READ_LATENCY + timing.REQUANT_LATENCY + timing.POST_FIFO_LATENCY - 1


class PostProcessor:
    """Read walker, requantizer pipeline and output FIFO of one band at a time.

    ``pipe``: the reads in flight then the requantizer stages (a tag, or None for a bubble);
    ``fifo``: the output vectors waiting for the writer; ``used``: the credits taken (output
    vectors in ``pipe`` and ``fifo``); ``reads_done`` pulses (for a cycle) after the band's
    last read.
    """

    __slots__ = (
        "running", "n_reads", "read_i", "reads_done", "fifo", "pipe", "used", "pattern",
        "pat_len",
    )  # fmt: skip

    def __init__(self, geo: Geometry):
        self.running = False
        self.n_reads = 0
        self.read_i = 0
        self.reads_done = False
        self.fifo = deque()
        self.pipe = deque([None] * _STAGES, maxlen=_STAGES)
        self.used = 0
        self.pattern = geo.pattern
        self.pat_len = len(geo.pattern)

    def start(self, out_pixels: int) -> None:
        """Begin a band of ``out_pixels`` output pixels."""
        self.running = True
        self.n_reads = out_pixels * self.pat_len
        self.read_i = 0

    def head(self) -> tuple | None:
        """The output vector offered to the writer in this cycle."""
        return self.fifo[0] if self.fifo else None

    def idle(self) -> bool:
        """The PostProcessor's ``idle`` output."""
        return not self.running and not self.used

    def busy(self) -> bool:
        return self.running or self.reads_done or bool(self.used)

    def key(self) -> tuple:
        """The state but the read count (steady-state detection while running)."""
        return (tuple(self.fifo), tuple(self.pipe))

    def cycle(self, out_ready: bool) -> None:
        """One cycle; ``out_ready``: the writer takes the FIFO's head, if any."""
        fifo = self.fifo
        tag = None
        if self.running:
            tag = self.pattern[self.read_i % self.pat_len]
            if tag[1] and self.used == _CREDITS:
                tag = None
        if fifo and out_ready:
            fifo.popleft()
            self.used -= 1
        leaving = self.pipe[-1]
        if leaving is not None and leaving[1]:
            fifo.append(leaving)
        self.pipe.appendleft(tag)
        if self.reads_done:
            self.reads_done = False
        if tag is not None:
            self.used += tag[1]
            self.read_i = i = self.read_i + 1
            if i == self.n_reads:
                self.running = False
                self.reads_done = True
