"""The output side's settled-period fast path: whole periods of a band's post-processing in
one step.

While a band is read out (post FSM in RUN), the relative state of the post-processor (FIFO,
requantizer stages, the read in flight) and of the writer (queued regions and bursts, packer
level, beat position, responses due) is recorded after the first read of every output pixel.
When it repeats, the cycles in between repeat too, as long as nothing absolute is reached:
the band's last read, the end of the region being packed, the region's last burst and the
end of the 4 KiB page the bursts are in. As many periods as stay clear of those are skipped.

With one region per output row (``out_mode`` 1) the band's regions still to be offered are
part of the state: a period in which the writer accepted none accepts none when repeated
(the writer takes a region only after the current one's last burst or when its region FIFO
frees an entry, at the end of the region being packed — both excluded above). With one
region per output pixel (``out_mode`` 2) every period holds a region command at a new
address, and the band is simulated cycle by cycle.
"""

from __future__ import annotations

from accel.perf.geometry import INF, Geometry
from accel.perf.postproc import PostProcessor
from accel.perf.writer import OutputWriter

#: Bands with fewer reads are not worth recording (a period is at least one pixel's reads).
_MIN_READS = 128


class SettledOutput:
    """History of the pixel starts of the band being read out, and the jump."""

    __slots__ = ("history", "next_check", "step", "enabled")

    def __init__(self, geo: Geometry):
        self.history = {}
        self.step = len(geo.pattern)  # reads per output pixel
        self.next_check = INF  # the read count at which the state is recorded next
        self.enabled = geo.out_mode != 2

    def band_start(self, n_reads: int) -> None:
        self.history.clear()
        self.next_check = self.step if n_reads >= _MIN_READS and self.enabled else INF

    def check(
        self, t: int, limit: float, proc: PostProcessor, writer: OutputWriter, regions: int
    ) -> int:
        """The first read of an output pixel was made before cycle ``t``: record the state or
        skip repeated periods, up to ``limit`` at most; ``regions``: the band's regions not
        offered yet. Returns the cycle to continue in."""
        self.next_check = proc.read_i + self.step
        if not proc.running:
            return t
        key = (proc.key(), writer.key(t), regions)
        now = (t, proc.read_i, *writer.position())
        prev = self.history.get(key)
        n = self._periods(prev, now, proc, writer, limit) if prev is not None else 0
        if n <= 0:
            self.history[key] = now
            return t
        self.history.clear()
        dt = t - prev[0]
        proc.read_i += n * (now[1] - prev[1])
        writer.repeat(n, prev[2:], n * dt)
        self.next_check = proc.read_i + self.step
        return t + n * dt

    @staticmethod
    def _periods(prev, now, proc: PostProcessor, writer: OutputWriter, limit: float) -> int:
        """Periods that fit before ``limit`` and before anything absolute is reached."""
        t0, reads0, _bytes0, addr0, remain0, left0 = prev
        t, reads, _bytes, addr, remain, left = now
        n = (proc.n_reads - 1 - reads) // (reads - reads0)
        if limit != INF:
            n = min(n, (limit - t) // (t - t0))
        if writer.have and left0 > left:  # the region being packed does not end
            n = min(n, (left - writer.lanes - 1) // (left0 - left))
        if writer.rg_active and remain0 > remain:
            # no final burst, and every burst a full one inside the page of the first
            n = min(n, (remain - writer.max_burst - 1) // (remain0 - remain))
            page = writer.page_beats
            beat0, beat = addr0 >> writer.shift, addr >> writer.shift
            page_end = (beat0 // page + 1) * page
            n = min(n, (page_end - beat) // (beat - beat0))
        return n
