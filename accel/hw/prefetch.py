"""Input prefetcher: the input rows each band needs, into the input banks ahead of the issuer.

When the whole input image fits the banks (``geometry.whole``), rows are appended band by band
while earlier bands compute, and each image is loaded once; otherwise each band's window
replaces the previous one once the issuer has finished reading it.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from accel.hw.bands import BandCounter
from accel.hw.feeder import COORD_SHAPE, bank_write_signature
from accel.hw.geometry import layer_signature
from accel.hw.reader import read_client_members
from accel.spec import timing
from accel.spec.config import AccelConfig

__all__ = ["InputPrefetcher", "window_signature"]


def window_signature() -> wiring.Signature:
    """Prefetcher ↔ issuer handshake, the prefetcher's view.

    ``loaded_bands`` (out): bands whose input rows are in the banks. ``base`` (out): memory
    byte address of input bank word 0 (of the current window). ``band`` (in): the issuer's
    band index; ``at_band`` (in): the issuer waits before that band (it reads no bank).
    """
    return wiring.Signature(
        {"loaded_bands": Out(32), "base": Out(32), "band": In(32), "at_band": In(1)}
    )


class InputPrefetcher(wiring.Component):
    """Loads the input rows of every band with one read command per band.

    From ``layer.run`` on, for each band (:class:`~accel.hw.bands.BandCounter`): ``BAND`` and
    ``RANGE`` (a cycle each) compute the input rows ``[load_lo, load_hi)`` the band needs
    (all rows up to its last one when the whole image fits: those after the rows already
    loaded for the image), ``PRODUCTS`` (``PREFETCH_PRODUCT_CYCLES``) their byte addresses,
    ``WAIT_BANKS`` waits, for a band that starts a new window, until the
    issuer waits before that band (``window.at_band`` with ``window.band`` equal), and sets the
    window base; ``ISSUE`` offers the command (bus-aligned start, beats up to the last row's
    end) and ``LOADING`` writes its beats to consecutive bank words. In row mode
    (``geometry.row_mode``: the input rows are ``IN_ROW_PITCH`` apart, not contiguous) there
    is one command per row of ``WC`` bank bytes, ``ISSUE`` the first and ``ROWS`` the others,
    and the band is loaded when every row's last beat has arrived. In pixel mode
    (``geometry.pixel_mode``: ``IN_PIX_PITCH`` is neither 0 nor ``C``) there is one command per
    input pixel instead, ``PC`` bank bytes from the pixel's address rounded down to a bus word,
    pixels ``IN_PIX_PITCH`` apart. The band counts as loaded
    (``window.loaded_bands`` increments) in the cycle after its last beat, or in the cycle
    after ``ISSUE`` when it needs no new row.

    Ports
    -----
    layer : ``In(layer_signature())``
        ``run`` and the layer constants.
    cmd : ``Out(stream.Signature(read_command_layout()))``
        Read DMA command (the reader's input client, highest priority).
    data : ``In(stream.Signature(read_data_layout(bus_width)))``
        The command's beats; always ready.
    write : ``Out(bank_write_signature(config))``
        Broadcast write of each beat into the input banks
        (:class:`~accel.hw.feeder.InputFeeder`), in the cycle it arrives.
    window : ``Out(window_signature())``
        Progress and window base for the issuer.
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "layer": In(layer_signature()),
                **read_client_members(config.bus_width),
                "write": Out(bank_write_signature(config)),
                "window": Out(window_signature()),
            }
        )

    def elaborate(self, platform):
        m = Module()
        bb = self.config.bus_bytes
        lane_bits = (bb - 1).bit_length()
        d, g = self.layer.descriptor, self.layer.geometry
        win = self.window

        m.submodules.band = band = BandCounter()
        connect(m, flipped(self.layer), band.layer)
        img_off = Signal(32)  # n * H*W*C of the band's image
        hb0 = Signal(COORD_SHAPE)  # first input row of the band's window (may be padding)
        hlast = Signal(signed(34))  # one past the band's last input row (unclamped)
        loaded_hi = Signal(16)  # whole mode: rows [0, loaded_hi) of the image are loaded
        load_lo = Signal(16)
        load_hi = Signal(16)
        load_start = Signal(32)
        cmd_beats = Signal(24)  # beats of every command of the band (register)
        in_beat = Signal(32)  # bank word of the next beat
        cmds_left = Signal(32)  # row mode: row (pixel mode: pixel) commands still to give
        lasts_left = Signal(32)  # row mode: commands whose last beat has not arrived
        # Zero tests of the two down counters as registers, set with the counters.
        cmds_pending = Signal()  # cmds_left != 0
        n_cmds = Signal(32)  # the band's commands: rows, or rows * W in pixel mode (PRODUCTS)
        lasts_one = Signal()  # lasts_left == 1
        lasts_none = Signal()  # lasts_left == 0
        row_addr = Signal(32)  # pixel mode: memory address of the current row's first pixel
        pix_left = Signal(16)  # pixel mode: pixels of the current row still to request
        new_window = ~g.whole | (band.e0 == 0)
        product_step, products, (lo_start, hi_end, lo_slot) = self._row_addresses(
            m, load_lo, load_hi, img_off
        )
        m.d.comb += [
            self.write.en.eq(self.data.valid),
            self.write.addr.eq(in_beat),
            self.write.data.eq(self.data.payload.data),
            self.data.ready.eq(1),
            self.cmd.payload.addr.eq(load_start),
            self.cmd.payload.beats.eq(cmd_beats),
        ]
        with m.If(self.data.valid):
            m.d.sync += in_beat.eq(in_beat + 1)
        row_last = self.data.valid & self.data.payload.last

        def next_command():
            """Row mode: the command was taken; address the next row (or pixel)."""
            m.d.sync += [cmds_left.eq(cmds_left - 1), cmds_pending.eq(cmds_left != 1)]
            self._next_address(m, load_start, row_addr, pix_left)

        def finish_band():
            m.d.sync += win.loaded_bands.eq(win.loaded_bands + 1)
            m.d.comb += band.advance.eq(1)
            m.d.sync += img_off.eq(Mux(band.last_in_image, img_off + g.HWC, img_off))
            with m.If(band.last):
                m.next = "IDLE"
            with m.Else():
                m.next = "BAND"

        with m.FSM(name="prefetch"):
            with m.State("IDLE"):
                with m.If(self.layer.run):
                    m.d.comb += band.restart.eq(1)
                    m.d.sync += [img_off.eq(0), win.loaded_bands.eq(0)]
                    m.next = "BAND"
            with m.State("BAND"):
                # (e0 + rows - 1) * U = min(e0*U + (BAND-1)*U, (E_run-1)*U), as rows =
                # min(E_run - e0, BAND): no multiplier after the band counter.
                top_u = band.e0u + g.band_u
                last_u = Mux(top_u < g.e_run_u, top_u, g.e_run_u)
                m.d.sync += [hb0.eq(band.e0u - d.P), hlast.eq(last_u - d.P + d.R)]
                m.next = "RANGE"
            with m.State("RANGE"):
                top = Mux(hlast > d.H, d.H, hlast)
                with m.If(g.whole):
                    m.d.sync += [load_lo.eq(Mux(band.e0 == 0, 0, loaded_hi)), load_hi.eq(top)]
                with m.Else():
                    m.d.sync += [load_lo.eq(Mux(hb0 < 0, 0, hb0)), load_hi.eq(top)]
                m.d.sync += product_step.eq(0)
                m.next = "PRODUCTS"
            with m.State("PRODUCTS"):
                products()
                self._command_count(m, product_step, load_lo, load_hi, n_cmds)
            with m.State("WAIT_BANKS"):
                # A new window may only be written once the issuer reached this band.
                with m.If(~new_window | (win.at_band & (win.band == band.index))):
                    start = lo_start
                    start_beat = start & ~Const(bb - 1, 32)
                    commands = n_cmds
                    m.d.sync += [
                        load_start.eq(start_beat),
                        cmd_beats.eq(
                            Mux(
                                g.pixel_mode,
                                g.PC,
                                Mux(g.row_mode, g.WC, hi_end - start_beat + bb - 1),
                            )
                            >> lane_bits
                        ),
                        cmds_left.eq(commands),
                        cmds_pending.eq(commands != 0),
                        lasts_left.eq(commands),
                        lasts_one.eq(commands == 1),
                        lasts_none.eq(commands == 0),
                        row_addr.eq(start),
                        pix_left.eq(d.W),
                    ]
                    # Row mode: bank rows of WC bytes, numbered from the image's row 0.
                    with m.If(new_window):
                        m.d.sync += win.base.eq(
                            Mux(g.row_mode, lo_slot, start & ~Const(bb - 1, 32))
                        )
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                with m.If(load_hi <= load_lo):
                    finish_band()
                with m.Else():
                    m.d.comb += self.cmd.valid.eq(1)
                    with m.If(self.cmd.ready):
                        first = Mux(g.row_mode, lo_slot, load_start)
                        m.d.sync += [
                            in_beat.eq((first - win.base) >> lane_bits),
                            loaded_hi.eq(load_hi),
                        ]
                        with m.If(g.row_mode):
                            next_command()
                            m.next = "ROWS"
                        with m.Else():
                            m.next = "LOADING"
            with m.State("LOADING"):
                with m.If(row_last):
                    finish_band()
            with m.State("ROWS"):
                # Row mode: one command per input row (pixel mode: per pixel), the beats into
                # consecutive bank words (rows of WC bytes, pixels of PC bytes).
                # The zero test of lasts_left - row_last, from the registered flags alone.
                no_lasts = Mux(row_last, lasts_one, lasts_none)
                m.d.sync += [
                    lasts_left.eq(lasts_left - row_last),
                    lasts_one.eq(Mux(row_last, lasts_left == 2, lasts_one)),
                    lasts_none.eq(no_lasts),
                ]
                with m.If(cmds_pending):
                    m.d.comb += self.cmd.valid.eq(1)
                    with m.If(self.cmd.ready):
                        next_command()
                with m.Elif(no_lasts):
                    finish_band()
        return m

    def _next_address(self, m, load_start, row_addr, pix_left):
        """Row mode: the next command's address after one was taken: the next row, or in
        pixel mode the next pixel of the row (the next row's first after its last)."""
        d, g = self.layer.descriptor, self.layer.geometry
        with m.If(~g.pixel_mode):
            m.d.sync += load_start.eq(load_start + d.IN_ROW_PITCH)
        with m.Elif(pix_left == 1):
            next_row = row_addr + d.IN_ROW_PITCH
            m.d.sync += [
                row_addr.eq(next_row),
                load_start.eq(next_row & ~Const(self.config.bus_bytes - 1, 32)),
                pix_left.eq(d.W),
            ]
        with m.Else():
            m.d.sync += [
                load_start.eq(load_start + d.IN_PIX_PITCH),
                pix_left.eq(pix_left - 1),
            ]

    def _command_count(self, m, product_step, load_lo, load_hi, n_cmds):
        """PRODUCTS: the band's command count (rows, or rows * W in pixel mode) into
        ``n_cmds``, a subtract then a multiply, registered ahead of WAIT_BANKS (which only
        zero-tests it)."""
        d, g = self.layer.descriptor, self.layer.geometry
        n_rows = Signal(16)  # load_hi - load_lo
        with m.If(product_step == 0):
            m.d.sync += n_rows.eq((load_hi - load_lo)[:16])
        with m.Else():
            m.d.sync += n_cmds.eq(Mux(g.pixel_mode, n_rows * d.W, n_rows))

    def _row_addresses(self, m, load_lo, load_hi, img_off):
        """The band's row addresses over ``PREFETCH_PRODUCT_CYCLES`` cycles of ``PRODUCTS``:
        load_lo * IN_ROW_PITCH, load_hi * IN_ROW_PITCH and load_lo * WC as two partial products
        each (a DSP each), then the sums with the image address. Returns the step counter
        (cleared on entering PRODUCTS), the state's body and the registers (the first row's
        address, the end address, the first row's bank slot)."""
        d, g = self.layer.descriptor, self.layer.geometry
        product_step = Signal(range(timing.PREFETCH_PRODUCT_CYCLES))
        lo_pitch = [Signal(32, name=f"lo_pitch{i}") for i in range(2)]
        hi_pitch = [Signal(32, name=f"hi_pitch{i}") for i in range(2)]
        lo_wc = [Signal(32, name=f"lo_wc{i}") for i in range(2)]
        img_addr = Signal(32)
        lo_start = Signal(32)  # IN_ADDR + img_off + load_lo * IN_ROW_PITCH
        hi_end = Signal(32)  # IN_ADDR + img_off + load_hi * IN_ROW_PITCH
        lo_slot = Signal(32)  # load_lo * WC

        def step():
            # PREFETCH_PRODUCT_CYCLES cycles: partial products (a DSP each), then sums.
            m.d.sync += product_step.eq(product_step + 1)
            with m.If(product_step == 0):
                m.d.sync += [
                    lo_pitch[0].eq(load_lo * d.IN_ROW_PITCH[:18]),
                    lo_pitch[1].eq(load_lo * d.IN_ROW_PITCH[18:32]),
                    hi_pitch[0].eq(load_hi * d.IN_ROW_PITCH[:18]),
                    hi_pitch[1].eq(load_hi * d.IN_ROW_PITCH[18:32]),
                    lo_wc[0].eq(load_lo * g.WC[:18]),
                    lo_wc[1].eq(load_lo * g.WC[18:32]),
                    img_addr.eq(d.IN_ADDR + img_off),
                ]
            with m.If(product_step == timing.PREFETCH_PRODUCT_CYCLES - 1):
                m.d.sync += [
                    lo_start.eq(img_addr + lo_pitch[0] + (lo_pitch[1] << 18)),
                    hi_end.eq(img_addr + hi_pitch[0] + (hi_pitch[1] << 18)),
                    lo_slot.eq(lo_wc[0] + (lo_wc[1] << 18)),
                ]
                m.next = "WAIT_BANKS"

        return product_step, step, (lo_start, hi_end, lo_slot)
