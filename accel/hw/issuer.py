"""Issuer: the pixel streams of the weight tiles, band by band, into the input feeder.

For every band (see :class:`~accel.hw.bands.BandCounter`) the issuer waits for a free
accumulator half and the band's input rows, then runs ``for m_tile: for k_tile: for pixel in
band`` with one pixel (one input vector of the array) per cycle. Tiles follow each other
without a gap when the next tile's weights and row constants are ready.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from accel.hw.accum import acc_addr_bits, acc_claim_signature, acc_tag_layout
from accel.hw.bands import BandCounter
from accel.hw.feeder import COORD_SHAPE, PIXBASE_SHAPE
from accel.hw.geometry import layer_signature
from accel.hw.prefetch import window_signature
from accel.spec import timing
from accel.spec.config import AccelConfig

__all__ = ["Issuer", "tile_events_signature"]


def tile_events_signature() -> wiring.Signature:
    """What the issuer tells the weight-bank loader and the K-tile walker, driver's view.

    ``issue``: a vector is issued this cycle (a MAC cycle), with weight bank ``bank`` (the
    current tile's). ``started``: a tile starts this cycle (its first vector is issued in the
    next cycle); ``started_bank``: that tile's bank (meaningful with ``started``).
    """
    return wiring.Signature(
        {"issue": Out(1), "bank": Out(1), "started": Out(1), "started_bank": Out(1)}
    )


class Issuer(wiring.Component):
    """Walks bands, weight tiles and pixels and issues one input vector per cycle.

    Per band: state ``BAND`` waits until the band's accumulator half is free (``halves.free``)
    and its input rows are loaded (``window.loaded_bands`` > band index), claims the half
    (``halves.claim``), ``BAND_BASE`` computes the band's window offset (in
    ``ISSUER_BASE_CYCLES`` cycles, a multiply or an add per cycle), ``TILE`` waits until
    the next tile can start (``weights_ready & rows_ready``), ``STREAM`` issues the tile's
    ``rows * F`` pixels, one per cycle, and starts the next tile in the cycle after its last
    pixel if it can (else it goes back to ``TILE``). After the band's last tile the issuer
    stays ``ISSUER_DRAIN + 1`` cycles in ``DRAIN`` (:data:`accel.spec.timing.ISSUER_DRAIN`: the
    feeder reads its last pixels from the input banks) before ``BAND`` lets the prefetcher
    replace the window (``window.at_band``).
    Tile parities (weight banks) alternate from 0 at ``layer.run``.

    Ports
    -----
    layer : ``In(layer_signature())``
        ``run`` and the layer constants.
    events : ``Out(tile_events_signature())``
        Vector issues and tile starts (``events.issue`` is also the MAC-cycle counter).
    hb, wb, pixbase, tag : ``Out``
        The issued pixel (valid with ``events.issue``) for :class:`~accel.hw.feeder.InputFeeder`:
        top-left input row and column of its window (``e*U - P``, ``f*U - PL``), window byte
        offset of element ``(hb, wb, 0)``, and the accumulator tag
        (:func:`~accel.hw.accum.acc_tag_layout`).
    stall : ``Out(1)``
        Waiting for a free tile start (weights, row constants) or for the band's input rows
        with the accumulator half free (the STALL_CYCLES counter).
    halves : ``Out(acc_claim_signature())``
        Accumulator half claims.
    window : ``In(window_signature())``
        The prefetcher's progress and window base; the issuer reports its band and
        ``at_band`` (waiting in ``BAND``: the banks are not being read).
    weights_ready, rows_ready : ``In(1)``
        The next tile's weights are (being) loaded / its row constants are ready.
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "layer": In(layer_signature()),
                "events": Out(tile_events_signature()),
                "hb": Out(COORD_SHAPE),
                "wb": Out(COORD_SHAPE),
                "pixbase": Out(PIXBASE_SHAPE),
                "tag": Out(acc_tag_layout(config)),
                "stall": Out(1),
                "halves": Out(acc_claim_signature()),
                "window": In(window_signature()),
                "weights_ready": In(1),
                "rows_ready": In(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        d, g = self.layer.descriptor, self.layer.geometry
        ev, win = self.events, self.window

        m.submodules.band = band = BandCounter()
        connect(m, flipped(self.layer), band.layer)
        m.d.comb += win.band.eq(band.index)
        half = band.index[0]
        img_off = Signal(32)  # n * H*W*C
        hb0 = Signal(COORD_SHAPE)
        band_pixbase = Signal(PIXBASE_SHAPE)
        drain = Signal(range(timing.ISSUER_DRAIN + 1))

        # Down counters: the last-pixel / last-tile tests are zero tests of registers.
        m_left = Signal(16)  # m_tiles - 1 - m_tile
        k_left = Signal(32)  # k_tiles - 1 - k_tile
        first_k = Signal()  # k_tile == 0
        m_base = Signal(32)  # m_tile * band_pixels
        e_left = Signal(16)  # rows of the band after the current one
        f_left = Signal(16)  # pixels of the row after the current one
        row_pixbase = Signal(PIXBASE_SHAPE)
        pixel = Signal(32)
        tile_parity = ev.bank
        hb, wb, pixbase = self.hb, self.wb, self.pixbase

        # The zero tests of the down counters as registers, set with the counters: a tile start
        # (``started``) is then a few gates from flip-flops, ahead of its wide fan-out (the
        # K-tile row constants, the weight-bank loader).
        # f_left == 0; e_left == 0 and f_left == 0; k_left == 0; m_left == 0
        last_in_row, last_pixel, last_k, last_m = (
            Signal(name=n) for n in ("last_in_row", "last_pixel", "last_k", "last_m")
        )
        can_start = self.weights_ready & self.rows_ready
        local_bits = acc_addr_bits(cfg) - 1
        # m_base + pixel < acc_depth (descriptor check ACC_BUFFER): the half is the top bit.
        acc_address = Cat((m_base + pixel)[:local_bits], half)
        m.d.comb += [
            self.tag.addr.eq(acc_address),
            self.tag.first.eq(first_k & ~d.ACC[0]),  # ACC_IN: add to kept sums
            self.tag.last.eq(last_pixel & last_k & last_m),
        ]

        base_step, band_base_step = self._band_base(m, hb0, img_off, band_pixbase)
        first_k_tile = [k_left.eq(g.k_tiles - 1), last_k.eq(g.k_tiles == 1), first_k.eq(1)]

        def start_tile():
            """Begin the pixel stream of the next tile (weights loaded, rows ready)."""
            m.d.comb += ev.started.eq(1)
            m.d.sync += [
                e_left.eq(band.rows - 1),
                f_left.eq(d.F - 1),
                last_in_row.eq(d.F == 1),
                last_pixel.eq((band.rows == 1) & (d.F == 1)),
                hb.eq(hb0),
                wb.eq(-d.PL),
                pixbase.eq(band_pixbase),
                row_pixbase.eq(band_pixbase),
                pixel.eq(0),
            ]

        with m.FSM(name="issuer"):
            with m.State("IDLE"):
                with m.If(self.layer.run):
                    m.d.comb += band.restart.eq(1)
                    m.d.sync += [img_off.eq(0), tile_parity.eq(0)]
                    m.next = "BAND"
            with m.State("BAND"):
                # Wait for a free accumulator half and for the band's input rows.
                m.d.comb += win.at_band.eq(1)
                free = self.halves.free.bit_select(half, 1)
                with m.If(free & (win.loaded_bands > band.index)):
                    m.d.comb += self.halves.claim.eq(Mux(half, 0b10, 0b01))
                    m.d.sync += [
                        hb0.eq(band.e0u - d.P),
                        m_left.eq(g.m_tiles - 1),
                        last_m.eq(g.m_tiles == 1),
                        *first_k_tile,
                        m_base.eq(0),
                        base_step.eq(0),
                    ]
                    m.next = "BAND_BASE"
                with m.Elif(free):
                    m.d.comb += self.stall.eq(1)
            with m.State("BAND_BASE"):
                band_base_step()
            with m.State("TILE"):
                m.d.comb += ev.started_bank.eq(tile_parity)
                with m.If(can_start):
                    start_tile()
                    m.next = "STREAM"
                with m.Else():
                    m.d.comb += self.stall.eq(1)
            with m.State("STREAM"):
                m.d.comb += ev.issue.eq(1)
                with m.If(~last_pixel):
                    with m.If(last_in_row):
                        next_row = row_pixbase + g.UWC
                        m.d.sync += [
                            e_left.eq(e_left - 1),
                            f_left.eq(d.F - 1),
                            last_in_row.eq(d.F == 1),
                            last_pixel.eq((e_left == 1) & (d.F == 1)),
                            hb.eq(hb + d.U),
                            wb.eq(-d.PL),
                            pixbase.eq(next_row),
                            row_pixbase.eq(next_row),
                        ]
                    with m.Else():
                        m.d.sync += [
                            f_left.eq(f_left - 1),
                            last_in_row.eq(f_left == 1),
                            last_pixel.eq((e_left == 0) & (f_left == 1)),
                            wb.eq(wb + d.U),
                            pixbase.eq(pixbase + g.UC),
                        ]
                    m.d.sync += pixel.eq(pixel + 1)
                with m.Else():
                    m.d.comb += ev.started_bank.eq(~tile_parity)
                    m.d.sync += tile_parity.eq(~tile_parity)
                    with m.If(~last_k):
                        m.d.sync += [k_left.eq(k_left - 1), last_k.eq(k_left == 1), first_k.eq(0)]
                    with m.Else():
                        m.d.sync += [
                            *first_k_tile,
                            m_left.eq(m_left - 1),
                            last_m.eq(m_left == 1),
                            m_base.eq(m_base + g.band_pixels),
                        ]
                    with m.If(~(last_k & last_m)):
                        with m.If(can_start):
                            start_tile()
                        with m.Else():
                            m.next = "TILE"
                    with m.Else():
                        m.d.comb += band.advance.eq(1)
                        m.d.sync += img_off.eq(Mux(band.last_in_image, img_off + g.HWC, img_off))
                        m.d.sync += drain.eq(timing.ISSUER_DRAIN)
                        with m.If(band.last):
                            m.next = "IDLE"
                        with m.Else():
                            m.next = "DRAIN"
            with m.State("DRAIN"):
                # Let the feeder read its last pixels before the banks are reloaded.
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 0):
                    m.next = "BAND"
        return m

    def _band_base(self, m, hb0, img_off, band_pixbase):
        """The band base ``origin + hb0 * WC - PL * PC - window base`` over
        ``ISSUER_BASE_CYCLES`` cycles of ``BAND_BASE``, one multiply or add per register stage.
        Returns the step counter (cleared on entering BAND_BASE) and the state's body."""
        d, g, win = self.layer.descriptor, self.layer.geometry, self.window
        base_step = Signal(range(timing.ISSUER_BASE_CYCLES))
        pl_c = Signal(signed(34))  # PL * PC: layer constants, stable while a layer runs
        m.d.sync += pl_c.eq(d.PL * g.PC)
        wc = g.WC.as_signed()
        prod_lo = Signal(signed(36))  # hb0 * WC[:17]
        prod_hi = Signal(signed(36))  # hb0 * WC[17:32]
        offset = Signal(signed(34))  # origin - PL * PC - window base
        hb_wc = Signal(signed(34))
        band_offset = Signal(signed(34))

        def step():
            # Contiguous mode: bank word 0 is memory byte win.base; row mode: bank row slots
            # of WC bytes numbered from the image's row 0 (win.base = first slot), a pixel's
            # bytes from IN_ADDR's lane on (0 unless in pixel mode).
            m.d.sync += base_step.eq(base_step + 1)
            with m.If(base_step == 0):
                lane = d.IN_ADDR[: (self.config.bus_bytes - 1).bit_length()]
                origin = Mux(g.row_mode, lane, d.IN_ADDR + img_off)
                m.d.sync += [
                    prod_lo.eq(hb0 * wc[:17]),
                    prod_hi.eq(hb0 * wc[17:32].as_signed()),
                    offset.eq(origin - pl_c - win.base),
                ]
            with m.If(base_step == 1):
                m.d.sync += [hb_wc.eq(prod_lo + (prod_hi << 17)), band_offset.eq(offset)]
            with m.If(base_step == timing.ISSUER_BASE_CYCLES - 1):
                m.d.sync += band_pixbase.eq(hb_wc + band_offset)
                m.next = "TILE"

        return base_step, step
