"""Issuer: the pixel streams of the weight tiles, band by band, into the input feeder.

For every band (see :class:`~accel.hw.bands.BandCounter`) the issuer waits for a free
accumulator half and the band's input rows, then runs ``for m_tile: for k_tile: for pixel in
band`` with one pixel (one input vector of the array) per cycle. Tiles follow each other
without a gap when the next tile's weights and row constants are ready.
"""

from amaranth.hdl import Module, Mux, Signal
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
    (``halves.claim``), ``BAND_BASE`` computes the band's window offset, ``TILE`` waits until
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

        m_tile = Signal(16)
        k_tile = Signal(32)
        m_base = Signal(32)  # m_tile * band_pixels
        e = Signal(16)
        f = Signal(16)
        row_pixbase = Signal(PIXBASE_SHAPE)
        pixel = Signal(32)
        tile_parity = ev.bank
        hb, wb, pixbase = self.hb, self.wb, self.pixbase

        last_pixel = (e + 1 == band.e0 + band.rows) & (f + 1 == d.F)
        last_k = k_tile + 1 == g.k_tiles
        last_m = m_tile + 1 == g.m_tiles
        can_start = self.weights_ready & self.rows_ready
        acc_address = Mux(half, cfg.acc_depth, 0) + m_base + pixel
        m.d.comb += [
            self.tag.addr.eq(acc_address[: acc_addr_bits(cfg)]),
            self.tag.first.eq((k_tile == 0) & ~d.ACC[0]),  # ACC_IN: add to kept sums
            self.tag.last.eq(last_pixel & last_k & last_m),
        ]

        def start_tile():
            """Begin the pixel stream of the next tile (weights loaded, rows ready)."""
            m.d.comb += ev.started.eq(1)
            m.d.sync += [
                e.eq(band.e0),
                f.eq(0),
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
                        m_tile.eq(0),
                        k_tile.eq(0),
                        m_base.eq(0),
                    ]
                    m.next = "BAND_BASE"
                with m.Elif(free):
                    m.d.comb += self.stall.eq(1)
            with m.State("BAND_BASE"):
                # Contiguous mode: bank word 0 is memory byte win.base; row mode: bank row
                # slots of WC bytes numbered from the image's row 0 (win.base = first slot),
                # a pixel's bytes from IN_ADDR's lane on (0 unless in pixel mode).
                lane = d.IN_ADDR[: (self.config.bus_bytes - 1).bit_length()]
                origin = Mux(g.row_mode, lane, d.IN_ADDR + img_off)
                pl_bytes = d.PL * g.PC
                m.d.sync += band_pixbase.eq(origin + hb0 * g.WC.as_signed() - pl_bytes - win.base)
                m.next = "TILE"
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
                    with m.If(f + 1 == d.F):
                        next_row = row_pixbase + g.UWC
                        m.d.sync += [
                            e.eq(e + 1),
                            f.eq(0),
                            hb.eq(hb + d.U),
                            wb.eq(-d.PL),
                            pixbase.eq(next_row),
                            row_pixbase.eq(next_row),
                        ]
                    with m.Else():
                        m.d.sync += [f.eq(f + 1), wb.eq(wb + d.U), pixbase.eq(pixbase + g.UC)]
                    m.d.sync += pixel.eq(pixel + 1)
                with m.Else():
                    m.d.comb += ev.started_bank.eq(~tile_parity)
                    m.d.sync += tile_parity.eq(~tile_parity)
                    with m.If(~last_k):
                        m.d.sync += k_tile.eq(k_tile + 1)
                    with m.Else():
                        m.d.sync += [k_tile.eq(0), m_tile.eq(m_tile + 1)]
                        m.d.sync += m_base.eq(m_base + g.band_pixels)
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
