"""Descriptor validation and the derived layer constants every engine uses."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from accel.hw.control import descriptor_layout
from accel.spec import isa
from accel.spec.config import AccelConfig


def geometry_layout() -> data.StructLayout:
    """Layer constants derived from the descriptor (products computed once per layer)."""
    return data.StructLayout(
        {
            "SC": 32,  # S*PC
            "PC": 17,  # bank bytes per input pixel: C, in pixel mode the pixel's bus words
            "pix_step": 17,  # PC - C + 1: offset step when k wraps to the next s
            "WC": 32,  # bank bytes per input row: W*PC, in row mode rounded up to bus words
            "HWC": 32,  # memory bytes per input image: H*IN_ROW_PITCH
            "row_mode": 1,  # IN_ROW_PITCH != W*C or pixel mode: one read per input row or pixel
            "pixel_mode": 1,  # IN_PIX_PITCH not 0 or C: one read per input pixel
            "K": 32,  # R*S*C: reduction length
            "UC": 32,  # U*PC: window step per output column
            "UWC": 32,  # U*WC: window step per output row
            "row_step": signed(34),  # WC - (S-1)*PC - C + 1: offset step when k wraps to next r
            "E_run": 16,  # output rows computed (E, or 2*floor(E/2) when pooling)
            "E_out": 16,  # output rows written
            "F_out": 16,  # output columns written
            "m_tiles": 16,  # ceil(M / cols)
            "k_tiles": 32,  # ceil(K / rows)
            "tiles": 32,  # m_tiles * k_tiles: weight tiles per band
            "band_pixels": 32,  # BAND*F: accumulator stride of one output-channel tile
            "band_out_rows": 16,  # output rows written per full band
            "out_row_bytes": 32,  # F_out*M
            "out_mode": 2,  # output regions: 0 one per band, 1 one per row, 2 one per pixel
            "band_u": 32,  # (BAND-1)*U: first input row of a band's last output row, from e0*U
            "e_run_u": 32,  # (E_run-1)*U: the same for the layer's last computed output row
            "whole": 1,  # the whole input image fits the input banks: load it once
        }
    )


def layer_signature() -> wiring.Signature:
    """The running layer as every engine sees it (the driver's view; engines take it ``In``).

    ``descriptor``
        The descriptor registers (:func:`accel.hw.control.descriptor_layout`); stable while
        ``busy``.
    ``geometry``
        The derived constants (:func:`geometry_layout`); valid from the ``run`` pulse on until
        the next START.
    ``run``
        One-cycle pulse: the descriptor passed validation, every engine starts its layer walk.
    ``busy``
        A layer is running: from the cycle after START until the last output byte is
        acknowledged (or the cycle after a failed validation).

    All members are outputs of the driver, so one driver can fan out to any number of engines
    with a single :func:`amaranth.lib.wiring.connect`.
    """
    return wiring.Signature(
        {
            "descriptor": Out(descriptor_layout()),
            "geometry": Out(geometry_layout()),
            "run": Out(1),
            "busy": Out(1),
        }
    )


def _is_pow2(value: int) -> bool:
    return value & (value - 1) == 0


def _log2(value: int) -> int:
    return value.bit_length() - 1


class LayerSetup(wiring.Component):
    """Validates the descriptor and computes the derived layer constants.

    On ``start`` it works for ``timing.SETUP_CYCLES`` cycles (for array sizes that are not
    powers of two the tile counts are found by counting: max(M/cols, K/rows) more cycles) and
    then pulses ``done`` with ``error`` = 0 and ``geometry`` valid, or ``error`` = the code of
    the first failed check of :data:`accel.spec.isa.DESCRIPTOR_CHECKS`. ``geometry`` stays
    valid until the next ``start``.
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "descriptor": In(descriptor_layout()),
                "start": In(1),
                "done": Out(1),
                "error": Out(8),
                "geometry": Out(geometry_layout()),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        d = self.descriptor
        g = self.geometry
        code = {c.name: c.code for c in isa.DESCRIPTOR_CHECKS}

        e_u = Signal(32)  # (E-1)*U
        f_u = Signal(32)
        band_in_rows = Signal(32)  # input rows touched by one band
        band_rows = Signal(32)  # min(band_in_rows, H)
        band_bytes = Signal(48)
        acc_need = Signal(48)
        m_acc = Signal(32)
        k_acc = Signal(33)
        width = Signal(32)  # W*IN_PIX_PITCH (W*C when contiguous): memory bytes of a row
        wpc = Signal(32)  # W*PC
        sc = Signal(24)  # S*C
        bottom = Signal(signed(34))  # implied bottom padding rows
        right = Signal(signed(34))  # implied right padding columns
        bank_image = Signal(48)  # bank bytes of a whole image
        out_pix_row = Signal(32)  # F_out*OUT_PIX_PITCH
        slack = Signal(range(cfg.bus_bytes))  # contiguous windows start mid-word
        error = Signal(8)
        bb = cfg.bus_bytes

        lane = d.IN_ADDR[: (bb - 1).bit_length()]  # IN_ADDR's byte offset in a bus word
        # The 16 x 32-bit products of PRODUCTS3/4: (result, 16-bit factor, 32-bit factor,
        # partial products with the factor's bits 0..17 and 18..31)
        products16x32 = [
            (target, a, b, Signal(34, name=f"{name}_lo"), Signal(30, name=f"{name}_hi"))
            for name, target, a, b in [
                ("tiles", g.tiles, g.m_tiles, g.k_tiles),
                ("acc_need", acc_need, g.m_tiles, g.band_pixels),
                ("bank_image", bank_image, d.H, g.WC),
                ("band_bytes", band_bytes, band_rows[:16], g.WC),
            ]
        ]

        def first_failure(checks):
            result = 0
            for name, failed in reversed(checks):
                result = Mux(failed, code[name], result)
            return result

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    # Pixel mode: each pixel's C bytes are read as whole bus words (IN_ADDR's
                    # lane offset first), so a pixel takes PC bank bytes. Registered here so
                    # that the products below multiply registers.
                    pixel_mode = (d.IN_PIX_PITCH != 0) & (d.IN_PIX_PITCH != d.C)
                    m.d.sync += [
                        g.pixel_mode.eq(pixel_mode),
                        g.PC.eq(Mux(pixel_mode, (lane + d.C + bb - 1) & ~(bb - 1), d.C)),
                    ]
                    m.next = "PRODUCTS1"
            with m.State("PRODUCTS1"):
                pc = g.PC
                m.d.sync += [
                    g.SC.eq(d.S * pc),
                    sc.eq(d.S * d.C),
                    width.eq(d.W * Mux(g.pixel_mode, d.IN_PIX_PITCH, d.C)),
                    wpc.eq(d.W * pc),
                    g.HWC.eq(d.H * d.IN_ROW_PITCH),
                    g.UC.eq(d.U * pc),
                    e_u.eq((d.E - 1) * d.U),
                    f_u.eq((d.F - 1) * d.U),
                    g.band_pixels.eq(d.BAND * d.F),
                    g.band_u.eq((d.BAND - 1) * d.U),
                    g.E_run.eq(Mux(d.POOL, d.E & ~1, d.E)),
                    g.E_out.eq(Mux(d.POOL, d.E >> 1, d.E)),
                    g.F_out.eq(Mux(d.POOL, d.F >> 1, d.F)),
                    g.band_out_rows.eq(Mux(d.POOL, d.BAND >> 1, d.BAND)),
                    m_acc.eq(0),
                    k_acc.eq(0),
                    g.m_tiles.eq(0),
                    g.k_tiles.eq(0),
                ]
                m.next = "PRODUCTS2"
            with m.State("PRODUCTS2"):
                row_mode = g.pixel_mode | (d.IN_ROW_PITCH != width)
                m.d.sync += [
                    g.K.eq(d.R * sc),
                    g.row_mode.eq(row_mode),
                    # row mode: the bus words of a row from IN_ADDR's lane on (pixel mode: whole
                    # pixel slots already)
                    g.WC.eq(
                        Mux(row_mode, (wpc + Mux(g.pixel_mode, 0, lane) + bb - 1) & ~(bb - 1), wpc)
                    ),
                    g.pix_step.eq(g.PC - d.C + 1),
                    slack.eq(Mux(row_mode, 0, bb - 1)),
                    bottom.eq(e_u + d.R - d.H - d.P),
                    right.eq(f_u + d.S - d.W - d.PL),
                    out_pix_row.eq(g.F_out * d.OUT_PIX_PITCH),
                    g.out_row_bytes.eq(g.F_out * d.M),
                    g.e_run_u.eq((g.E_run - 1) * d.U),
                    band_in_rows.eq(g.band_u + d.R),
                ]
                m.next = "COUNT_TILES"
            with m.State("COUNT_TILES"):
                m.d.sync += band_rows.eq(Mux(band_in_rows < d.H, band_in_rows, d.H))
                # Powers of two divide by shifting; other array sizes count (max(M/cols,
                # K/rows) cycles, bounded because M < 2**16 and K < 2**32 / rows steps).
                m_more = m_acc < d.M
                k_more = k_acc < g.K
                if _is_pow2(cfg.cols) and _is_pow2(cfg.rows):
                    m.d.sync += [
                        g.m_tiles.eq((d.M + cfg.cols - 1) >> _log2(cfg.cols)),
                        g.k_tiles.eq((g.K + cfg.rows - 1) >> _log2(cfg.rows)),
                    ]
                    m.next = "PRODUCTS3"
                else:
                    with m.If(m_more):
                        m.d.sync += [m_acc.eq(m_acc + cfg.cols), g.m_tiles.eq(g.m_tiles + 1)]
                    with m.If(k_more):
                        m.d.sync += [k_acc.eq(k_acc + cfg.rows), g.k_tiles.eq(g.k_tiles + 1)]
                    with m.If(~m_more & ~k_more):
                        m.next = "PRODUCTS3"
            with m.State("PRODUCTS3"):
                # The 16 x 32-bit products in two partial products each (a DSP each), summed
                # in PRODUCTS4.
                for _, a, b, lo, hi in products16x32:
                    m.d.sync += [lo.eq(a * b[:18]), hi.eq(a * b[18:32])]
                m.d.sync += [
                    g.UWC.eq(d.U * g.WC),
                    g.row_step.eq(g.WC - g.SC + g.pix_step),
                    g.out_mode.eq(
                        Mux(
                            d.OUT_PIX_PITCH != d.M, 2, Mux(d.OUT_ROW_PITCH != g.out_row_bytes, 1, 0)
                        )
                    ),
                ]
                m.next = "PRODUCTS4"
            with m.State("PRODUCTS4"):
                for target, _, _, lo, hi in products16x32:
                    m.d.sync += target.eq(lo + (hi << 18))
                m.next = "CHECK"
            with m.State("CHECK"):
                whole = bank_image + slack <= cfg.in_bytes
                m.d.sync += g.whole.eq(whole)
                sizes = dict(bottom=bottom, right=right, width=width, out_pix_row=out_pix_row)
                sizes.update(whole=whole, band_bytes=band_bytes, slack=slack, acc_need=acc_need)
                # Registered: the checks' comparators never reach the control FSM and `run`.
                m.d.sync += error.eq(first_failure(_failures(d, g, cfg, **sizes)))
                m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += [self.done.eq(1), self.error.eq(error)]
                m.next = "IDLE"
        return m


def _failures(
    d, g, cfg: AccelConfig, *, bottom, right, width, out_pix_row, whole, band_bytes, slack, acc_need
) -> list:
    """(check name, failed) of every descriptor check, in :data:`isa.DESCRIPTOR_CHECKS` order."""
    zero = 0
    for name in ("N", "H", "W", "C", "M", "R", "S", "E", "F", "U", "BAND"):
        zero = zero | (d[name] == 0)
    bad_shape = (
        (d.P >= d.R)
        | (d.PL >= d.S)
        | (-d.PL >= d.W)
        | (bottom <= -d.U)
        | (bottom >= d.R)
        | (right <= -d.U)
        | (right >= d.S)
    )
    align_mask = cfg.bus_bytes - 1
    misaligned = ((d.W_ADDR & align_mask) != 0) | ((d.PARAM_ADDR & align_mask) != 0)
    # row mode: rows (pixel mode: and pixels) a whole number of bus words apart
    in_pitches = d.IN_ROW_PITCH | Mux(g.pixel_mode, d.IN_PIX_PITCH, 0)
    misaligned |= g.row_mode & ((in_pitches & align_mask) != 0)
    bad_pool = d.POOL & ((d.E < 2) | (d.F < 2) | d.BAND[0])
    bad_pitch = (
        (d.IN_ROW_PITCH < width)
        | (g.pixel_mode & (d.IN_PIX_PITCH < d.C))
        | (d.OUT_PIX_PITCH < d.M)
        | (d.OUT_ROW_PITCH < out_pix_row)
    )
    bad_acc = (d.ACC != 0) & ((d.N != 1) | (d.BAND < g.E_run))
    input_too_big = ~whole & (band_bytes + slack > cfg.in_bytes)
    return [
        ("ZERO_SIZE", zero),
        ("SHAPE", bad_shape),
        ("ALIGN", misaligned),
        ("CLAMP", d.ACT_MIN > d.ACT_MAX),
        ("POOL", bad_pool),
        ("PITCH", bad_pitch),
        ("ACCUMULATE", bad_acc),
        ("INPUT_BUFFER", input_too_big),
        ("ACC_BUFFER", acc_need > cfg.acc_depth),
        ("PARAM_BUFFER", g.m_tiles > cfg.param_depth),
    ]
