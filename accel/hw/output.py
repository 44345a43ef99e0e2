"""Output sequencer: post-processes the completed bands in order and writes their output regions."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from accel.hw.accum import acc_read_signature
from accel.hw.bands import BandCounter
from accel.hw.geometry import layer_signature
from accel.hw.params import param_read_signature
from accel.hw.postproc import PostProcessor
from accel.hw.writer import byte_stream_layout, write_command_layout
from accel.spec.config import AccelConfig

__all__ = ["OutputSequencer"]


class OutputSequencer(wiring.Component):
    """Runs the :class:`~accel.hw.postproc.PostProcessor` over the bands of a layer.

    Each band's output is one contiguous byte region at ``OUT_ADDR`` + (bytes of the earlier
    bands): ``rows_out * F_out * M`` bytes, ``rows_out`` the band's output rows after pooling;
    when the output has its own pitches (``geometry.out_mode``) one region per output row
    (``F_out * M`` bytes, rows ``OUT_ROW_PITCH`` apart) or per pixel (``M`` bytes,
    ``OUT_PIX_PITCH`` apart), the first offered in ``REGION``, the others while the band is
    post-processed (before the next band's). With ``ACC_OUT`` (``ACC`` bit 1) a complete band
    is taken and released at once, its sums left in the half: no output.
    From ``layer.run`` on, per band: ``WAIT_BAND`` waits until the band's accumulator half
    holds the complete band (``acc.complete``), the parameters are loaded and the
    post-processor is idle; ``REGION`` offers the region command (registered length) to the
    output writer and, in the cycle it is accepted, starts the post-processor and takes the
    half (``acc.take``); ``RUN`` waits until the post-processor has read the band and releases
    the half (``acc.release``, the same cycle). After the last band ``FINISH`` waits until the
    post-processor and the DMA engines are idle and pulses ``finished``.

    Ports
    -----
    layer : ``In(layer_signature())``
        ``run`` and the layer constants.
    acc : ``Out(acc_read_signature(config))``
        Reads of the accumulator buffer and band hand-over.
    params : ``Out(param_read_signature(cols, param_depth))``
        Reads of the parameter buffer; ``params_loaded`` (``In(1)``): it holds the layer's.
    region : ``Out(stream.Signature(write_command_layout()))``
        Output region commands, one per band (to :class:`~accel.hw.writer.OutputWriter`).
    bytes : ``Out(stream.Signature(byte_stream_layout(cols)))``
        The regions' bytes (the writer's byte stream).
    dma_idle : ``In(1)``
        The read and write DMA engines are idle (every output byte acknowledged).
    finished : ``Out(1)``
        One-cycle pulse: the layer is done.
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "layer": In(layer_signature()),
                "acc": Out(acc_read_signature(config)),
                "params": Out(param_read_signature(config.cols, config.param_depth)),
                "params_loaded": In(1),
                "region": Out(stream.Signature(write_command_layout())),
                "bytes": Out(stream.Signature(byte_stream_layout(config.cols))),
                "dma_idle": In(1),
                "finished": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        d, g = self.layer.descriptor, self.layer.geometry
        m.submodules.post = post = PostProcessor(cfg)
        m.submodules.band = band = BandCounter()
        connect(m, flipped(self.layer), band.layer)

        out_addr = Signal(32)  # the next region's address
        row_addr = Signal(32)  # per-row and per-pixel modes: the current output row's
        per_row, per_pixel = g.out_mode == 1, g.out_mode == 2
        # band_product = post.rows * (F_out if per-pixel else out_row_bytes): the band's region
        # length (one region per band) or its region count (per-pixel mode). Two registered
        # partial products (a DSP each) of the band counter's registered rows: the band only
        # changes in IDLE and RUN and REGION follows at least one WAIT_BAND cycle, so in
        # REGION they belong to the current band.
        factor = Mux(per_pixel, g.F_out, g.out_row_bytes)
        product_lo = Signal(32)
        product_hi = Signal(32)
        m.d.sync += [
            product_lo.eq(post.rows * factor[:18]),
            product_hi.eq(post.rows * factor[18:32]),
        ]
        band_product = Signal(32)
        m.d.comb += band_product.eq(product_lo + (product_hi << 18))
        region_len = Signal(32)  # per-row mode: out_row_bytes, per-pixel mode: M
        m.d.comb += region_len.eq(Mux(per_pixel, d.M, Mux(per_row, g.out_row_bytes, band_product)))
        regions_left = Signal(32)  # regions of the current band not yet offered
        pixel_in_row = Signal(16)
        keep = d.ACC[1]  # ACC_OUT: the sums stay in the accumulators, no output
        half = band.index[0]
        half_mask = Mux(half, 0b10, 0b01)
        start = Signal()
        m.d.comb += [
            post.acc_base.eq(Mux(half, cfg.acc_depth, 0)),
            post.rows.eq(Mux(d.POOL, band.rows >> 1, band.rows)),
            post.F.eq(d.F),
            post.F_out.eq(g.F_out),
            post.band_pixels.eq(g.band_pixels),
            post.m_tiles.eq(g.m_tiles),
            post.M.eq(d.M),
            post.pool.eq(d.POOL),
            post.output_zero_point.eq(d.OUT_ZP),
            post.act_min.eq(d.ACT_MIN),
            post.act_max.eq(d.ACT_MAX),
            post.start.eq(start),
            self.acc.en.eq(post.acc_en),
            self.acc.addr.eq(post.acc_addr),
            post.acc_data.eq(self.acc.data),
            self.acc.take.eq(Mux(start, half_mask, 0)),
            self.acc.release.eq(Mux(post.reads_done, half_mask, 0)),
            self.params.addr.eq(post.param_addr),
            post.param_data.eq(self.params.data),
            self.region.payload.addr.eq(out_addr),
            self.region.payload.length.eq(region_len),
        ]

        def next_region(left):
            """The region after the one accepted in this cycle (per-row / per-pixel modes);
            ``left`` regions of the band remain to be offered after it."""
            m.d.sync += regions_left.eq(left)
            with m.If(per_pixel & (pixel_in_row + 1 != g.F_out)):
                m.d.sync += [
                    pixel_in_row.eq(pixel_in_row + 1),
                    out_addr.eq(out_addr + d.OUT_PIX_PITCH),
                ]
            with m.Else():
                m.d.sync += [
                    pixel_in_row.eq(0),
                    row_addr.eq(row_addr + d.OUT_ROW_PITCH),
                    out_addr.eq(row_addr + d.OUT_ROW_PITCH),
                ]

        with m.If(regions_left != 0):  # the band's later regions, while it is post-processed
            m.d.comb += self.region.valid.eq(1)
            with m.If(self.region.ready):
                next_region(regions_left - 1)

        connect(m, post.out, flipped(self.bytes))

        with m.FSM(name="output"):
            with m.State("IDLE"):
                with m.If(self.layer.run):
                    m.d.comb += band.restart.eq(1)
                    m.d.sync += [out_addr.eq(d.OUT_ADDR), row_addr.eq(d.OUT_ADDR)]
                    m.d.sync += [regions_left.eq(0), pixel_in_row.eq(0)]
                    m.next = "WAIT_BAND"
            with m.State("WAIT_BAND"):
                complete = self.acc.complete.bit_select(half, 1)
                with m.If(complete & keep):
                    m.d.comb += [
                        self.acc.take.eq(half_mask),
                        self.acc.release.eq(half_mask),
                        band.advance.eq(1),
                    ]
                    m.next = "FINISH"
                with m.Elif(complete & self.params_loaded & post.idle & (regions_left == 0)):
                    m.next = "REGION"
            with m.State("REGION"):
                m.d.comb += self.region.valid.eq(1)
                with m.If(self.region.ready):
                    m.d.comb += start.eq(1)
                    with m.If(g.out_mode == 0):
                        m.d.sync += out_addr.eq(out_addr + region_len)
                    with m.Else():
                        count = Mux(per_pixel, band_product, post.rows)
                        next_region(count - 1)
                    m.next = "RUN"
            with m.State("RUN"):
                with m.If(post.reads_done):
                    m.d.comb += band.advance.eq(1)
                    with m.If(band.last):
                        m.next = "FINISH"
                    with m.Else():
                        m.next = "WAIT_BAND"
            with m.State("FINISH"):
                with m.If(post.idle & self.dma_idle):
                    m.d.comb += self.finished.eq(1)
                    m.next = "IDLE"
        return m
