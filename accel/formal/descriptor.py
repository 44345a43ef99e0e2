"""The descriptor checks of :class:`~accel.hw.geometry.LayerSetup` against an independent formula.

:class:`SetupHarness` holds one arbitrary descriptor (``AnyConst``: every register any value,
the same in every cycle, as in the real design, where SET is refused while a layer runs) and
a free ``start``; whenever ``done`` pulses, ``error`` must equal the code of the first check of
:data:`accel.spec.isa.DESCRIPTOR_CHECKS` that :func:`expected_code` finds failed (0: valid).

:func:`expected_code` is written from the rules of ``docs/isa.md`` and
:func:`accel.mapping.checks.failed_check`, not from the hardware: Amaranth arithmetic on
unbounded-width values (products and sums widen, nothing wraps), so it computes what the
Python mirror computes on Python integers. The property therefore shows both directions: a
descriptor the formula calls invalid never starts a layer (``run`` needs ``error`` = 0), a
valid one is never rejected, and a rejected one reports the documented first failed check.
"""

from __future__ import annotations

from amaranth.asserts import AnyConst
from amaranth.hdl import Module, Mux, Signal

from accel.formal.harness import _Harness, elaborate_with_invariants
from accel.hw.control import descriptor_layout
from accel.hw.geometry import LayerSetup
from accel.spec import isa
from accel.spec.config import AccelConfig

__all__ = ["SetupHarness", "expected_code", "check_failures"]


def _ceil_to(value, step: int):
    """``value`` rounded up to a multiple of ``step`` (a power of two), without wrapping."""
    return ((value + step - 1) // step) * step


def check_failures(d, config: AccelConfig) -> dict:
    """``{check name: failed}`` of the descriptor ``d`` (a view with one field per register),
    as Amaranth expressions that never overflow (see the module docstring)."""
    bb = config.bus_bytes
    lane = d.IN_ADDR % bb
    pix = (d.IN_PIX_PITCH != 0) & (d.IN_PIX_PITCH != d.C)
    pixel_slot = Mux(pix, _ceil_to(lane + d.C, bb), d.C)  # bank bytes per input pixel
    row_mode = pix | (d.IN_ROW_PITCH != d.W * d.C)
    row_bytes = d.W * pixel_slot + Mux(row_mode & ~pix, lane, 0)
    slot = Mux(row_mode, _ceil_to(row_bytes, bb), row_bytes)  # bank bytes per input row
    slack = Mux(row_mode, 0, bb - 1)
    whole = d.H * slot + slack <= config.in_bytes
    band_rows = (d.BAND - 1) * d.U + d.R
    in_rows = Mux(band_rows < d.H, band_rows, d.H)
    e_run = Mux(d.POOL, d.E - d.E % 2, d.E)
    f_out = Mux(d.POOL, d.F // 2, d.F)
    bottom = (d.E - 1) * d.U + d.R - d.H - d.P  # implied bottom padding rows
    right = (d.F - 1) * d.U + d.S - d.W - d.PL  # implied right padding columns
    in_pix = Mux(pix, d.IN_PIX_PITCH, d.C)
    m_tiles = (d.M + config.cols - 1) // config.cols
    zero = 0
    for name in ("N", "H", "W", "C", "M", "R", "S", "E", "F", "U", "BAND"):
        zero = zero | (d[name] == 0)
    return {
        "ZERO_SIZE": zero,
        "SHAPE": (d.P >= d.R)
        | (d.PL >= d.S)
        | (-d.PL >= d.W)
        | ~((-d.U < bottom) & (bottom < d.R))
        | ~((-d.U < right) & (right < d.S)),
        "ALIGN": (d.W_ADDR % bb != 0)
        | (d.PARAM_ADDR % bb != 0)
        | (row_mode & ((d.IN_ROW_PITCH % bb != 0) | (pix & (in_pix % bb != 0)))),
        "CLAMP": d.ACT_MIN > d.ACT_MAX,
        "POOL": d.POOL & ((d.E < 2) | (d.F < 2) | (d.BAND % 2 == 1)),
        "PITCH": (d.IN_ROW_PITCH < d.W * in_pix)
        | (in_pix < d.C)
        | (d.OUT_PIX_PITCH < d.M)
        | (d.OUT_ROW_PITCH < f_out * d.OUT_PIX_PITCH),
        "ACCUMULATE": (d.ACC != 0) & ((d.N != 1) | (d.BAND < e_run)),
        "INPUT_BUFFER": ~whole & (in_rows * slot + slack > config.in_bytes),
        "ACC_BUFFER": m_tiles * d.BAND * d.F > config.acc_depth,
        "PARAM_BUFFER": m_tiles > config.param_depth,
    }


def expected_code(d, config: AccelConfig):
    """The code of the first failed check of :data:`isa.DESCRIPTOR_CHECKS` (0: valid)."""
    failures = check_failures(d, config)
    result = 0
    for check in reversed(isa.DESCRIPTOR_CHECKS):
        result = Mux(failures[check.name], check.code, result)
    return result


#: The registers that are factors of a product in the checks; the proof bounds them.
FACTORS = ("H", "W", "C", "M", "R", "S", "E", "F", "BAND", "IN_PIX_PITCH", "OUT_PIX_PITCH")


class SetupHarness(_Harness):
    """:class:`~accel.hw.geometry.LayerSetup` with an arbitrary constant descriptor and a
    free ``start``: ``desc.error_code_exact`` at every ``done``.

    ``bits``: the registers of :data:`FACTORS` are assumed below ``2**bits`` (every other
    register, addresses and the 32-bit pitches included, takes any value): the products of
    16- and 32-bit registers would make the solver prove the equality of wide multipliers.
    Needs power-of-two array sizes: otherwise ``LayerSetup`` counts tiles for up to
    max(M/cols, K/rows) cycles, beyond any proof depth.
    """

    def __init__(self, config: AccelConfig, factory=LayerSetup, bits: int = 4):
        if not 1 <= bits <= 16:
            raise ValueError(f"bits must be in 1..16, not {bits}")
        if config.rows & (config.rows - 1) or config.cols & (config.cols - 1):
            raise ValueError(
                f"the descriptor proof needs power-of-two array sizes, not "
                f"{config.rows}x{config.cols}"
            )
        super().__init__(config)
        self.factory = factory
        self.bits = bits

    def elaborate(self, platform):
        m = Module()
        self._sync_domain(m)
        dut = self.factory(self.config)
        elaborate_with_invariants(m, self.props, "dut", dut, platform)
        layout = descriptor_layout()
        desc = Signal(layout.size, name="descriptor")
        m.d.comb += desc.eq(AnyConst(layout.size))
        start = Signal(name="start")
        self.ports.append(start)
        m.d.comb += [dut.descriptor.eq(desc), dut.start.eq(start)]
        d = layout(desc)
        for name in FACTORS:
            self.props.assume(m, f"env.{name}_below_2**{self.bits}", d[name] < (1 << self.bits))
        expected = Signal(8, name="expected_code")
        m.d.comb += expected.eq(expected_code(d, self.config))
        self.props.check(
            m,
            "desc.error_code_exact",
            ~dut.done | (dut.error == expected),
            "at done, error = the code of the first check the independent formula finds "
            "failed (0: valid, the layer runs)",
        )
        for check in isa.DESCRIPTOR_CHECKS:
            self.props.cover(
                m,
                f"cover.desc_rejects_{check.name}",
                dut.done & (dut.error == check.code),
                f"a descriptor rejected with {check.name}",
            )
        self.props.cover(m, "cover.desc_accepts", dut.done & (dut.error == 0), "a valid one")
        return m
