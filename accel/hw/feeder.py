"""Input buffer banks and the im2col feeder of the MAC array.

Implicit im2col: the array wants, every cycle, the ``rows`` im2col elements
``x[n, h, w, c]`` with ``h = e*U - P + r`` and ``w = f*U - P + s`` for the ``rows``
reduction indices ``k = (r*S + s)*C + c`` of the current K tile and one output pixel
``(e, f)``. Each array row has its own input bank holding a copy of the same input window
(written together by a broadcast DMA write) and its own address generator, so the rows read
independently: one wide bank per row, one byte selected per row per cycle.

For a pixel the sequencer supplies ``hb = e*U - P``, ``wb = f*U - P`` and ``pixbase``: the
window byte offset of element ``(hb, wb, 0)``. For each row it supplies the K-tile constants
``r, s`` and ``offset = r*WC + s*PC + c`` (see :class:`KWalker`). Row i then reads window byte
``pixbase + offset_i`` unless ``(hb + r_i, wb + s_i)`` falls into the padding or ``k_i >= K``,
in which case it produces the input zero point (a real zero).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.spec import timing
from accel.spec.config import AccelConfig

PIXBASE_SHAPE = signed(34)
COORD_SHAPE = signed(18)


def bank_write_signature(config: AccelConfig) -> wiring.Signature:
    """Broadcast write of one bus word into every input bank, writer's view.

    ``en``: write ``data`` to word ``addr`` of every bank at the end of this cycle.
    """
    return wiring.Signature(
        {
            "en": Out(1),
            "addr": Out((config.in_depth - 1).bit_length()),
            "data": Out(config.bus_width),
        }
    )


def row_params_layout() -> data.StructLayout:
    """K-tile constants of one array row."""
    return data.StructLayout({"valid": 1, "r": 8, "s": 8, "offset": 32})


class KWalker(wiring.Component):
    """Walks the reduction index k = (r*S + s)*C + c one step per cycle.

    ``restart`` (pulse) returns to k = 0. Each ``step`` (pulse) advances to k + 1; ``last``
    says k + 1 >= K (the next step would leave the reduction). ``params``
    are the row constants of the current k: ``valid`` (k < K), ``r``, ``s`` and
    ``offset = r*WC + s*PC + c`` (bank bytes per row and per pixel; ``PC = C`` unless the
    input is read in pixel mode). Without a divider: c counts to C, then s to S, then r.
    ``pix_step = PC - C + 1``, ``row_step = WC - (S-1)*PC - C + 1``, ``C``, ``S``, ``K`` are
    layer constants.
    """

    params: Out(row_params_layout())
    restart: In(1)
    step: In(1)
    at_end: Out(1)
    last: Out(1)
    K: In(32)
    C: In(16)
    S: In(8)
    pix_step: In(17)
    row_step: In(signed(34))

    def elaborate(self, platform):
        m = Module()
        # Down counters (K-1-k, C-1-c, S-1-s) instead of k, c, s: the tests that steer the
        # walk are then a sign or zero test of a register, not an add and a compare.
        k_left = Signal(signed(33))
        c_left = Signal(16)
        s_left = Signal(8)
        m.d.comb += [
            self.params.valid.eq(~k_left[-1]),
            self.at_end.eq(k_left[-1]),
            self.last.eq(k_left[-1] | (k_left == 0)),
        ]
        with m.If(self.restart):
            m.d.sync += [
                k_left.eq(self.K - 1),
                c_left.eq(self.C - 1),
                s_left.eq(self.S - 1),
                self.params.r.eq(0),
                self.params.s.eq(0),
                self.params.offset.eq(0),
            ]
        with m.Elif(self.step):
            m.d.sync += k_left.eq(k_left - 1)
            with m.If(c_left != 0):
                m.d.sync += [c_left.eq(c_left - 1), self.params.offset.eq(self.params.offset + 1)]
            with m.Else():
                m.d.sync += c_left.eq(self.C - 1)
                with m.If(s_left != 0):
                    m.d.sync += [
                        s_left.eq(s_left - 1),
                        self.params.s.eq(self.params.s + 1),
                        self.params.offset.eq(self.params.offset + self.pix_step),
                    ]
                with m.Else():
                    m.d.sync += [
                        s_left.eq(self.S - 1),
                        self.params.s.eq(0),
                        self.params.r.eq(self.params.r + 1),
                        self.params.offset.eq(self.params.offset + self.row_step),
                    ]
        return m


class InputFeeder(wiring.Component):
    """Input banks plus the per-row address pipeline that feeds the MAC array.

    Write side (DMA, broadcast to every bank): ``write`` (:func:`bank_write_signature`).

    Issue side, one pixel per cycle when ``issue`` is high: ``hb``, ``wb``, ``pixbase`` for
    the pixel, ``rows`` (per-row K-tile constants), ``bank`` (weight bank of the tile) and an
    opaque ``tag``. ``H``, ``W`` and ``zero_point`` are layer constants.

    Array side: ``out_valid``/``out_bank``/``out_data``/``out_tag`` present the pixel's
    ``rows`` int8 elements exactly :attr:`LATENCY` cycles after ``issue``.
    """

    LATENCY = timing.FEEDER_LATENCY

    def __init__(self, config: AccelConfig, tag_width: int):
        self.config = config
        self.tag_width = tag_width
        self.word_bits = (config.in_depth - 1).bit_length()
        self.lane_bits = (config.bus_bytes - 1).bit_length()
        super().__init__(
            {
                "write": In(bank_write_signature(config)),
                "issue": In(1),
                "hb": In(COORD_SHAPE),
                "wb": In(COORD_SHAPE),
                "pixbase": In(PIXBASE_SHAPE),
                "rows": In(data.ArrayLayout(row_params_layout(), config.rows)),
                "bank": In(1),
                "tag": In(tag_width),
                "H": In(16),
                "W": In(16),
                "zero_point": In(signed(8)),
                "out_valid": Out(1),
                "out_bank": Out(1),
                "out_data": Out(data.ArrayLayout(signed(8), config.rows)),
                "out_tag": Out(tag_width),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config

        # Stage 1: per-row window address and padding test.
        s1_valid = Signal()
        s1_bank = Signal()
        s1_tag = Signal(self.tag_width)
        s1_addr = [Signal(PIXBASE_SHAPE, name=f"s1_addr{i}") for i in range(cfg.rows)]
        s1_inside = [Signal(name=f"s1_inside{i}") for i in range(cfg.rows)]
        m.d.sync += [s1_valid.eq(self.issue), s1_bank.eq(self.bank), s1_tag.eq(self.tag)]
        for i in range(cfg.rows):
            row = self.rows[i]
            h = self.hb + row.r
            w = self.wb + row.s
            inside = row.valid & (h >= 0) & (h < self.H) & (w >= 0) & (w < self.W)
            m.d.sync += [s1_addr[i].eq(self.pixbase + row.offset), s1_inside[i].eq(inside)]

        # Stage 2: bank reads (synchronous: data in stage 3).
        s2_valid = Signal()
        s2_bank = Signal()
        s2_tag = Signal(self.tag_width)
        s2_lane = [Signal(max(self.lane_bits, 1), name=f"s2_lane{i}") for i in range(cfg.rows)]
        s2_inside = [Signal(name=f"s2_inside{i}") for i in range(cfg.rows)]
        m.d.sync += [s2_valid.eq(s1_valid), s2_bank.eq(s1_bank), s2_tag.eq(s1_tag)]
        read_data = []
        for i in range(cfg.rows):
            bank = Memory(shape=cfg.bus_width, depth=cfg.in_depth, init=[])
            m.submodules[f"bank{i}"] = bank
            wp = bank.write_port()
            wr = self.write
            m.d.comb += [wp.en.eq(wr.en), wp.addr.eq(wr.addr), wp.data.eq(wr.data)]
            rp = bank.read_port()
            word = s1_addr[i][self.lane_bits : self.lane_bits + self.word_bits]
            m.d.comb += [rp.addr.eq(word), rp.en.eq(s1_valid)]
            if self.lane_bits:
                m.d.sync += s2_lane[i].eq(s1_addr[i][: self.lane_bits])
            m.d.sync += s2_inside[i].eq(s1_inside[i])
            read_data.append(rp.data)

        # Stage 3: byte select and padding, straight into the array's input registers.
        m.d.comb += [
            self.out_valid.eq(s2_valid),
            self.out_bank.eq(s2_bank),
            self.out_tag.eq(s2_tag),
        ]
        for i in range(cfg.rows):
            lanes = data.ArrayLayout(signed(8), cfg.bus_bytes)(read_data[i])
            byte = lanes[s2_lane[i]] if self.lane_bits else lanes[0]
            m.d.comb += self.out_data[i].eq(Mux(s2_inside[i], byte, self.zero_point))
        return m
