"""Output write DMA: packs a byte stream into bus beats and writes regions of memory."""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from accel.hw.memport import (
    BurstCursor,
    check_data_width,
    check_max_burst,
    dma_status_members,
    request_layout,
    write_data_layout,
    write_response_layout,
)
from accel.spec import timing

__all__ = ["OutputWriter", "write_command_layout", "byte_stream_layout"]

BURST_QUEUE_DEPTH = timing.WRITE_BURST_QUEUE  # bursts requested ahead of their data


def write_command_layout() -> data.StructLayout:
    """Payload of a region command: first byte ``addr`` (any alignment), ``length`` in bytes."""
    return data.StructLayout({"addr": 32, "length": 24})


def byte_stream_layout(lanes: int) -> data.StructLayout:
    """Payload of the byte stream: ``bytes[0:count]`` are valid, ``count`` in 0..lanes."""
    return data.StructLayout({"bytes": data.ArrayLayout(8, lanes), "count": range(lanes + 1)})


class OutputWriter(wiring.Component):
    """Writes byte regions of arbitrary alignment to memory through the internal memory port.

    A region command gives the first byte address and the length in bytes; the region's bytes
    then arrive, in address order, on ``data``, up to ``lanes`` bytes per transfer. The writer
    packs them into bus beats (``strb`` clear for the bytes before an unaligned start and after
    the end), and writes the region's beats in bursts of at most ``max_burst`` beats that never
    cross a 4 KiB boundary. Regions are processed in order; the next region's command and bytes
    are accepted while earlier bursts are still being written or answered. A region always
    starts a new beat, so adjacent regions sharing a bus word are written by two beats with
    complementary strobes.

    With a memory that keeps up and one transfer per cycle, one beat per cycle is written when
    ``lanes >= data_width // 8`` (one transfer per ``data_width // 8 / lanes`` beats otherwise),
    plus at most one extra beat per region for an unaligned start or end.

    Parameters
    ----------
    data_width : int
        Bus width in bits (32, 64, 128 or 256).
    lanes : int
        Bytes per transfer of the byte stream (1..64).
    max_burst : int
        Maximum burst length in beats (1..256).

    Members
    -------
    wr_req, wr_data : ``Out(stream.Signature(...))``
        Memory write requests and data (memport layouts). A burst's first data beat comes at
        least one cycle after its request was accepted; requests run at most 4 bursts ahead of
        the data.
    wr_rsp : ``In(stream.Signature(write_response_layout()))``
        Write responses, one per burst; always ready.
    cmd : ``In(stream.Signature({"addr": 32, "length": 24}))``
        Region commands. A command with ``length == 0`` is accepted and dropped.
    data : ``In(stream.Signature({"bytes": ArrayLayout(8, lanes), "count": range(lanes + 1)}))``
        The regions' bytes: ``bytes[0:count]`` are valid. ``count == 0`` transfers are
        allowed and ignored. The counts of a region must add up to its length; a transfer that
        would exceed it is truncated (its extra bytes are dropped).
    error : ``Out(1)``
        Sticky: set after a write response with ``error == 1``.
    bytes_written : ``Out(32)``
        Number of bytes written with their strobe set (wraps).
    clear : ``In(1)``
        Clears ``error`` and ``bytes_written`` at the next clock edge; a beat or response in the
        same cycle counts after the clearing.
    idle : ``Out(1)``
        No region in progress and every write response received (commands waiting on ``cmd``
        and not yet accepted do not count).
    """

    def __init__(self, data_width: int = 64, lanes: int = 8, max_burst: int = 16):
        check_data_width(data_width)
        if not isinstance(lanes, int) or not 1 <= lanes <= 64:
            raise ValueError(f"lanes must be an integer in 1..64, not {lanes!r}")
        check_max_burst(max_burst)
        self.data_width = data_width
        self.lanes = lanes
        self.max_burst = max_burst
        super().__init__(
            {
                "wr_req": Out(stream.Signature(request_layout())),
                "wr_data": Out(stream.Signature(write_data_layout(data_width))),
                "wr_rsp": In(stream.Signature(write_response_layout())),
                "cmd": In(stream.Signature(write_command_layout())),
                "data": In(stream.Signature(byte_stream_layout(lanes))),
                **dma_status_members("bytes_written"),
            }
        )

    def elaborate(self, platform):
        m = Module()
        # Regions go to the request generator (beat address, beat count) and, through the
        # `region` FIFO, to the packer (start offset within the first beat, length); burst
        # lengths go from the request generator to the beat output through `blen`.
        shift = self._shift
        region = m.submodules.region = SyncFIFO(width=shift + 24, depth=timing.WRITE_REGION_FIFO)
        blen = m.submodules.blen = SyncFIFO(width=9, depth=BURST_QUEUE_DEPTH)
        rg_active = self._requests(m, region, blen)
        packer = self._packer(m, region)
        emit = self._beats(m, blen, packer)
        self._status(m, emit, packer, rg_active, region, blen)
        return m

    @property
    def _nbytes(self) -> int:
        return self.data_width // 8  # bytes per beat

    @property
    def _shift(self) -> int:
        return self._nbytes.bit_length() - 1

    @property
    def _cap(self) -> int:
        # Packing buffer: enough room to accept a full transfer while a beat is waiting, so that
        # a full-rate input never starves the output (see the docstring's throughput claim).
        nbytes = self._nbytes
        return -(-(2 * nbytes + self.lanes - 1) // nbytes) * nbytes

    def _requests(self, m, region, blen):
        """Command acceptance and the burst request generator; returns ``rg_active``."""
        nbytes, shift = self._nbytes, self._shift
        cmd_offset = self.cmd.p.addr[:shift]
        cmd_beats = Signal(25)
        m.d.comb += cmd_beats.eq((cmd_offset + self.cmd.p.length + (nbytes - 1)) >> shift)
        cmd_nonempty = self.cmd.p.length != 0

        # The request generator's state, its next burst precomputed (so that `cmd.ready`
        # selects registers only).
        rg = BurstCursor(names="rg_{}", max_burst=self.max_burst, remain_width=25, shift=shift)

        # A burst's length enters `blen` when its request is accepted, so data never runs ahead
        # of its request; a burst is loaded only if `blen` will have room for it by then.
        load = Signal()
        m.d.comb += load.eq(
            (~self.wr_req.valid | self.wr_req.ready)
            & rg.active
            & (blen.w_level + self.wr_req.valid < BURST_QUEUE_DEPTH)
        )
        with m.If(load):
            m.d.sync += [
                self.wr_req.valid.eq(1),
                self.wr_req.p.addr.eq(rg.addr),
                self.wr_req.p.beats.eq(rg.burst),
            ]
        with m.Elif(self.wr_req.ready):
            m.d.sync += self.wr_req.valid.eq(0)
        m.d.comb += [
            blen.w_en.eq(self.wr_req.valid & self.wr_req.ready),
            blen.w_data.eq(self.wr_req.p.beats),
        ]

        # A new command takes over from the request generator (after its final burst).
        m.d.comb += self.cmd.ready.eq(region.w_rdy & rg.takes_command(load))
        rg.update(
            m,
            cmd_addr=self.cmd.p.addr,
            cmd_beats=cmd_beats,
            cmd_nonempty=cmd_nonempty,
            accept=self.cmd.valid & self.cmd.ready,
            issue=load,
        )
        m.d.comb += [
            region.w_en.eq(self.cmd.valid & self.cmd.ready & cmd_nonempty),
            region.w_data.eq(Cat(cmd_offset, self.cmd.p.length)),
        ]
        return rg.active

    def _packer(self, m, region) -> SimpleNamespace:
        """The byte packer: merges the accepted bytes into the packing buffer.

        buf/valid hold byte positions 0..cap-1; position 0 is the next beat's first byte.
        level counts occupied positions, including strobe-less padding before an unaligned
        start and after an unaligned end (a region's positions always fill whole beats).
        Positions >= level are never valid. level may exceed cap by padding only. Returns the
        registers and their next values before a beat is emitted (``merged``,
        ``merged_valid``, ``level_start``).
        """
        nbytes, shift, cap, lanes = self._nbytes, self._shift, self._cap, self.lanes
        buf = Signal(8 * cap)
        valid = Signal(cap)
        level = Signal(range(cap + nbytes))
        have = Signal()  # a region is being received
        in_remain = Signal(24)  # bytes of the current region not received yet

        head_offset = region.r_data[:shift]
        head_length = region.r_data[shift:]

        count = Signal(range(lanes + 1))
        m.d.comb += count.eq(Mux(self.data.p.count > lanes, lanes, self.data.p.count))
        take = Signal(range(lanes + 1))  # bytes taken from this transfer
        m.d.comb += take.eq(Mux(count > in_remain, in_remain, count))

        m.d.comb += self.data.ready.eq(have & (level + lanes <= cap))
        accept = self.data.valid & self.data.ready
        finish = Signal()  # last transfer of the region
        m.d.comb += finish.eq(accept & (take == in_remain))
        start = Signal()  # next region taken from the FIFO
        m.d.comb += start.eq(region.r_rdy & (~have | finish))
        m.d.comb += region.r_en.eq(start)

        with m.If(start):
            m.d.sync += [have.eq(1), in_remain.eq(head_length)]
        with m.Elif(finish):
            m.d.sync += have.eq(0)
        with m.Elif(accept):
            m.d.sync += in_remain.eq(in_remain - take)

        # Incoming bytes land at positions level..level+take-1.
        in_mask = Signal(lanes)
        for k in range(lanes):
            m.d.comb += in_mask[k].eq(accept & (k < take))
        put_mask = Signal(cap)
        put_data = Signal(8 * cap)
        m.d.comb += [
            put_mask.eq(in_mask << level),
            put_data.eq(self.data.p.bytes.as_value() << Cat(Const(0, 3), level)),
        ]
        merged = Signal(8 * cap)
        m.d.comb += merged.eq(
            Cat(
                *(
                    Mux(put_mask[j], put_data[8 * j : 8 * j + 8], buf[8 * j : 8 * j + 8])
                    for j in range(cap)
                )
            )
        )

        level_in = Signal(range(cap + nbytes))
        m.d.comb += level_in.eq(level + Mux(accept, take, 0))
        level_end = Signal(range(cap + nbytes))
        with m.If(finish):  # pad the region to a whole beat
            m.d.comb += level_end.eq(Cat(Const(0, shift), (level_in + nbytes - 1)[shift:]))
        with m.Else():
            m.d.comb += level_end.eq(level_in)
        level_start = Signal(range(cap + nbytes))
        m.d.comb += level_start.eq(level_end + Mux(start, head_offset, 0))
        return SimpleNamespace(
            buf=buf,
            valid=valid,
            level=level,
            have=have,
            merged=merged,
            merged_valid=valid | put_mask,
            level_start=level_start,
        )

    def _beats(self, m, blen, pk):
        """Beat output: the packing buffer's first beat to ``wr_data``; returns ``emit``."""
        nbytes = self._nbytes
        beat_count = Signal(8)
        last = Signal()
        m.d.comb += last.eq(beat_count + 1 == blen.r_data)
        m.d.comb += [
            self.wr_data.valid.eq((pk.level >= nbytes) & blen.r_rdy),
            self.wr_data.p.data.eq(pk.buf[: 8 * nbytes]),
            self.wr_data.p.strb.eq(pk.valid[:nbytes]),
            self.wr_data.p.last.eq(last),
        ]
        emit = self.wr_data.valid & self.wr_data.ready
        m.d.comb += blen.r_en.eq(emit & last)
        with m.If(emit):
            m.d.sync += [
                pk.buf.eq(pk.merged[8 * nbytes :]),
                pk.valid.eq(pk.merged_valid[nbytes:]),
                pk.level.eq(pk.level_start - nbytes),
                beat_count.eq(Mux(last, 0, beat_count + 1)),
            ]
        with m.Else():
            m.d.sync += [
                pk.buf.eq(pk.merged),
                pk.valid.eq(pk.merged_valid),
                pk.level.eq(pk.level_start),
            ]
        return emit

    def _status(self, m, emit, pk, rg_active, region, blen):
        """Write responses, the byte and error status, and ``idle``."""
        nbytes = self._nbytes
        m.d.comb += self.wr_rsp.ready.eq(1)
        pending = Signal(16)  # bursts requested and not answered
        req_taken = self.wr_req.valid & self.wr_req.ready
        rsp_taken = self.wr_rsp.valid
        m.d.sync += pending.eq(pending + req_taken - rsp_taken)

        strobes = Signal(range(nbytes + 1))
        m.d.comb += strobes.eq(sum(pk.valid[k] for k in range(nbytes)))
        # `clear` acts before the events of its own cycle, so none is lost.
        m.d.sync += [
            self.bytes_written.eq(Mux(self.clear, 0, self.bytes_written) + Mux(emit, strobes, 0)),
            self.error.eq((self.error & ~self.clear) | (rsp_taken & self.wr_rsp.p.error)),
        ]

        m.d.comb += self.idle.eq(
            ~rg_active
            & ~self.wr_req.valid
            & ~region.r_rdy
            & ~pk.have
            & (pk.level == 0)
            & ~blen.r_rdy
            & (pending == 0)
        )
