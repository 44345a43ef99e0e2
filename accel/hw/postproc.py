"""Post-processing: accumulators → bias + requantization → optional 2×2 max-pool → bytes.

For one band (a set of output rows held in one half of the accumulator buffer) the
post-processor walks the output pixels in NHWC order — output row, output column, output
channel tile — reads the accumulator entries of each (one, or the four of a 2×2 pooling
window), sends them through the :class:`~accel.hw.requant.Requantizer` (bias, fixed-point
multiply, rounding shift, zero point, clamp, exactly as TFLite) and, when pooling, keeps the
maximum of the four requantized vectors. The result goes to the output writer as ``count``
bytes (the valid channels of the tile), so the band's output is one contiguous byte region.

The requantizer runs freely (no back-pressure ripples through its stages); its output
vectors wait for the writer in a ``POST_FIFO_DEPTH``-entry FIFO with a registered output
(``POST_FIFO_LATENCY``). A read that completes an
output vector (the last of a pooling window) takes one of ``POST_FIFO_DEPTH`` credits,
returned when the writer takes the vector, so the FIFO can never overflow.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from accel.hw.requant import Requantizer
from accel.spec import timing
from accel.spec.config import AccelConfig


def param_layout(cols: int) -> data.StructLayout:
    """One packed parameter tile as stored in memory: cols × int32 bias, multiplier, shift."""
    return data.StructLayout(
        {
            "bias": data.ArrayLayout(32, cols),
            "multiplier": data.ArrayLayout(32, cols),
            "shift": data.ArrayLayout(32, cols),
        }
    )


class PostProcessor(wiring.Component):
    """Turns one band of accumulators into output bytes.

    ``start`` (pulse, while ``idle``) begins a band with ``acc_base`` (first entry of the
    accumulator half), ``rows`` (output rows of the band, after pooling), ``F`` (accumulator
    pixels per row), ``F_out`` (output columns), ``band_pixels`` (accumulator stride of one
    channel tile), ``m_tiles``, ``M`` and ``pool``. ``reads_done`` pulses when the last
    accumulator entry of the band has been read (the half may be reused); ``idle`` is high when
    the band is completely handed to ``out``.

    ``acc_addr``/``acc_data`` connect to the accumulators' read port (data two cycles after
    the address, :data:`~accel.spec.timing.ACC_READ_LATENCY`), ``param_addr``/``param_data``
    to a synchronous read port (data one cycle after the address; registered here once more
    to arrive with the accumulators'). ``out`` carries {bytes, count}.
    """

    FIFO_DEPTH = timing.POST_FIFO_DEPTH

    def __init__(self, config: AccelConfig):
        self.config = config
        cols = config.cols
        self.acc_addr_bits = (2 * config.acc_depth - 1).bit_length()
        super().__init__(
            {
                "start": In(1),
                "acc_base": In(self.acc_addr_bits),
                "rows": In(16),
                "F": In(16),
                "F_out": In(16),
                "band_pixels": In(32),
                "m_tiles": In(16),
                "M": In(16),
                "pool": In(1),
                "output_zero_point": In(8),
                "act_min": In(8),
                "act_max": In(8),
                "idle": Out(1),
                "reads_done": Out(1),
                "acc_addr": Out(self.acc_addr_bits),
                "acc_en": Out(1),
                "acc_data": In(data.ArrayLayout(32, cols)),
                "param_addr": Out(range(config.param_depth)),
                "param_data": In(param_layout(cols)),
                "out": Out(
                    stream.Signature(
                        data.StructLayout(
                            {"bytes": data.ArrayLayout(8, cols), "count": range(cols + 1)}
                        )
                    )
                ),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cols = self.config.cols
        m.submodules.requant = requant = Requantizer(cols, tag_width=_TAG_WIDTH(cols))

        # Reader: walks (row, column, channel tile, pool position) and reads accumulators.
        row = Signal(16)
        col = Signal(16)
        tile = Signal(16)
        sub = Signal(2)
        row_base = Signal(32)  # accumulator pixel of the window's top-left corner, row start
        pix = Signal(32)  # same for the current column
        count = Signal(range(cols + 1))
        m_left = Signal(16)  # output channels from this tile on
        running = Signal()
        depth = self.FIFO_DEPTH
        out_layout = self.out.payload.shape()
        # Registered output (timing.POST_FIFO_LATENCY = 2): the writer's packer starts from
        # flip-flops.
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=out_layout.size, depth=depth)
        credits_used = Signal(range(depth + 1))  # output vectors in the requantizer or FIFO
        # The reads in flight: the block-RAM read, then the accumulators' registered read data.
        inflight = [Signal(name=f"inflight{k}") for k in range(timing.ACC_READ_LATENCY)]
        inflight_tag = [
            Signal(_TAG_WIDTH(cols), name=f"inflight{k}_tag") for k in range(len(inflight))
        ]
        params = Signal(param_layout(cols))  # the parameter read data, registered alike

        last_sub = Mux(self.pool, sub == 3, 1)
        last_tile = tile + 1 == self.m_tiles
        last_col = col + 1 == self.F_out
        last_row = row + 1 == self.rows
        offset = Mux(sub[1], self.F, 0) + sub[0]
        can_read = running & (~last_sub | (credits_used != depth))
        delivered = fifo.r_rdy & fifo.r_en
        m.d.sync += credits_used.eq(credits_used + (can_read & last_sub) - delivered)

        # tile * band_pixels + pix, a register updated with them (one add before the memory)
        tile_pix = Signal(32)
        m.d.comb += [
            self.idle.eq(~running & (credits_used == 0)),
            # acc_base is the first entry of a half (0 or acc_depth) and tile_pix + offset <
            # acc_depth (descriptor check ACC_BUFFER): the half is the top address bit.
            self.acc_addr.eq(Cat((tile_pix + offset)[: self.acc_addr_bits - 1], self.acc_base[-1])),
            self.acc_en.eq(can_read),
            self.param_addr.eq(tile),
            count.eq(Mux(m_left < cols, m_left, cols)),
        ]
        m.d.sync += [inflight[0].eq(can_read), self.reads_done.eq(0), params.eq(self.param_data)]
        m.d.sync += inflight_tag[0].eq(_tag(count, sub == 0, last_sub))
        for k in range(1, len(inflight)):
            m.d.sync += [inflight[k].eq(inflight[k - 1]), inflight_tag[k].eq(inflight_tag[k - 1])]

        with m.If(self.start):
            m.d.sync += [
                running.eq(1),
                row.eq(0),
                col.eq(0),
                tile.eq(0),
                sub.eq(0),
                row_base.eq(0),
                pix.eq(0),
                tile_pix.eq(0),
                m_left.eq(self.M),
            ]
        with m.Elif(can_read):
            with m.If(~last_sub):
                m.d.sync += sub.eq(sub + 1)
            with m.Else():
                m.d.sync += sub.eq(0)
                with m.If(~last_tile):
                    m.d.sync += [
                        tile.eq(tile + 1),
                        tile_pix.eq(tile_pix + self.band_pixels),
                        m_left.eq(m_left - cols),
                    ]
                with m.Else():
                    m.d.sync += [tile.eq(0), m_left.eq(self.M)]
                    step = Mux(self.pool, 2, 1)
                    with m.If(~last_col):
                        m.d.sync += [col.eq(col + 1), pix.eq(pix + step), tile_pix.eq(pix + step)]
                    with m.Else():
                        next_row = row_base + Mux(self.pool, self.F << 1, self.F)
                        m.d.sync += [col.eq(0), row.eq(row + 1), row_base.eq(next_row)]
                        m.d.sync += [pix.eq(next_row), tile_pix.eq(next_row)]
                        with m.If(last_row):
                            m.d.sync += [running.eq(0), self.reads_done.eq(1)]

        # Read data (two cycles later) with the tile's parameters → requantizer.
        for lane in range(cols):
            m.d.comb += [
                requant.i.payload.acc[lane].eq(self.acc_data[lane]),
                requant.i.payload.bias[lane].eq(params.bias[lane]),
                requant.i.payload.multiplier[lane].eq(params.multiplier[lane]),
                requant.i.payload.shift[lane].eq(params.shift[lane]),
            ]
        m.d.comb += [
            requant.i.payload.tag.eq(inflight_tag[-1]),
            requant.i.valid.eq(inflight[-1]),
            requant.output_zero_point.eq(self.output_zero_point),
            requant.act_min.eq(self.act_min),
            requant.act_max.eq(self.act_max),
        ]

        # Requantizer → max-pool → FIFO → output bytes.
        best = Signal(data.ArrayLayout(8, cols))
        o_tag = _TagView(requant.o.payload.tag, cols)
        merged = Signal(data.ArrayLayout(8, cols))
        for lane in range(cols):
            value = requant.o.payload.data[lane]
            keep = ~o_tag.first & (best[lane].as_signed() > value)
            m.d.comb += merged[lane].eq(Mux(keep, best[lane], value))
        with m.If(requant.o.valid):
            m.d.sync += best.eq(merged)
        entry = out_layout(fifo.w_data)
        m.d.comb += [
            entry.bytes.eq(merged),
            entry.count.eq(o_tag.count),
            fifo.w_en.eq(requant.o.valid & o_tag.last),
            self.out.payload.eq(fifo.r_data),
            self.out.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.out.ready),
        ]
        return m


def _TAG_WIDTH(cols: int) -> int:
    return (cols).bit_length() + 2


def _tag(count, first, last):
    return Cat(count, first, last)


class _TagView:
    def __init__(self, tag, cols):
        width = cols.bit_length()
        self.count = tag[:width]
        self.first = tag[width]
        self.last = tag[width + 1]
