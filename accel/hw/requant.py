"""Pipelined, bit-exact int32 → int8 requantization (TFLite / gemmlowp semantics).

For each of ``lanes`` output channels the unit computes, exactly as
:func:`accel.ref.quant.requantize`::

    x = wrap_int32(acc + bias)
    x = wrap_int32(x << max(shift, 0))
    y = SaturatingRoundingDoublingHighMul(x, multiplier)
    z = RoundingDivideByPOT(y, max(-shift, 0))
    out = min(max(z + output_zero_point, act_min), act_max)

The pipeline runs freely: every stage moves on in every cycle, so no register has a clock
enable and nothing depends on the consumer (the consumer takes every output; the
post-processor guarantees room with credits, see :class:`accel.hw.postproc.PostProcessor`).
One register stage per step, each one adder, one multiplier or one mux network, so that the
unit maps onto ECP5 DSPs and carry chains at 100 MHz and more:

The first stage adds ``acc`` and ``bias``: drive them from registers (not straight from a
block RAM's read port, whose clock-to-output delay leaves no time for the adder).

1. ``x = acc + bias`` (32-bit wrap); split ``shift`` into left and right amounts.
2. ``x <<= left`` (32-bit wrap, barrel shifter); ``m_hi + m_lo`` of the multiplier's halves.
3. ``x_hi + x_lo`` (Karatsuba: the product from three multiplies instead of four).
4. ``hh = x_hi·m_hi``, ``ll = x_lo·m_lo`` and ``cross = (x_hi + x_lo)(m_hi + m_lo)``, each at
   most 18×18 bits signed (one DSP each).
5. ``base = hh·2¹⁶ + ll>>16 + 2¹⁴`` (the rounding nudge) and
   ``mid = cross - hh - ll = x_hi·m_lo + x_lo·m_hi``.
6. ``y = (base + mid) >> 15``, i.e. ``floor((x·multiplier + 2³⁰) / 2³¹)``.  This equals
   gemmlowp's nudge-then-truncate for *both* signs of the product (for a negative product
   ``trunc((ab + 1 - 2³⁰) / 2³¹) == floor((ab + 2³⁰) / 2³¹)``).
7. ``t = y + round`` with ``round = 2^(right-1) - (y < 0)`` (0 when ``right == 0``).
8. ``z = t >> right`` (arithmetic).
9. ``w = z + output_zero_point``.
10. ``out = clamp(w, act_min, act_max)``.

Saturation needs no logic: the only saturating case, ``x == multiplier == -2³¹``, yields
``y = 2³¹`` here instead of ``2³¹ - 1``; the datapath is wide enough to hold it, and both
values give the same result after the rounding shift (for ``right >= 1``) or after the
clamp to ``act_max <= 127`` (for ``right == 0``).
"""

from amaranth import Cat, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.spec import timing

__all__ = ["Requantizer", "input_layout", "output_layout"]

MAX_LANES = 64


def input_layout(lanes: int, tag_width: int = 0) -> data.StructLayout:
    """Payload of :attr:`Requantizer.i`."""
    return data.StructLayout(
        {
            "acc": data.ArrayLayout(signed(32), lanes),
            "bias": data.ArrayLayout(signed(32), lanes),
            "multiplier": data.ArrayLayout(signed(32), lanes),
            "shift": data.ArrayLayout(signed(6), lanes),
            "tag": unsigned(tag_width),
        }
    )


def output_layout(lanes: int, tag_width: int = 0) -> data.StructLayout:
    """Payload of :attr:`Requantizer.o`."""
    return data.StructLayout(
        {
            "data": data.ArrayLayout(signed(8), lanes),
            "tag": unsigned(tag_width),
        }
    )


class Requantizer(wiring.Component):
    """Requantize ``lanes`` int32 accumulators per cycle to int8, bit-exactly.

    Parameters
    ----------
    lanes : int
        Number of channels processed in parallel, 1..64.
    tag_width : int
        Width of the opaque ``tag`` field carried from input to output with its vector
        (0 by default: no tag).

    Attributes
    ----------
    latency : int
        Cycles from a transfer on ``i`` to the corresponding ``o.valid``
        (:data:`Requantizer.LATENCY`, 10).

    Members
    -------
    i : ``In(stream.Signature(input_layout(lanes, tag_width), always_ready=True))``
        One vector per transfer: per lane ``acc``, ``bias``, ``multiplier`` (int32, any value;
        Q0.31 from ``quantize_multiplier`` in practice) and ``shift`` (signed(6); TFLite's range
        is -31..30, every representable value is handled exactly), plus ``tag``.
        Every vector offered is taken.
    o : ``Out(stream.Signature(output_layout(lanes, tag_width), always_ready=True))``
        Per lane the int8 result ``data``, and the ``tag`` of the input vector it came from,
        exactly ``latency`` cycles after the input; the consumer must take it.
    output_zero_point, act_min, act_max : ``In(signed(8))``
        Per-layer configuration shared by all lanes.  They are sampled in the last two
        pipeline stages, so they must be held constant while vectors are in flight (for a
        whole layer).  The clamp is ``min(max(w, act_min), act_max)``, as in TFLite.
    """

    LATENCY = timing.REQUANT_LATENCY

    def __init__(self, lanes: int, *, tag_width: int = 0):
        if not isinstance(lanes, int) or isinstance(lanes, bool):
            raise TypeError(f"Lane count must be an integer, not {lanes!r}")
        if not 1 <= lanes <= MAX_LANES:
            raise ValueError(f"Lane count must be between 1 and {MAX_LANES}, not {lanes}")
        if not isinstance(tag_width, int) or isinstance(tag_width, bool):
            raise TypeError(f"Tag width must be an integer, not {tag_width!r}")
        if tag_width < 0:
            raise ValueError(f"Tag width must be a non-negative integer, not {tag_width}")
        self.lanes = lanes
        self.tag_width = tag_width
        super().__init__(
            {
                "i": In(stream.Signature(input_layout(lanes, tag_width), always_ready=True)),
                "o": Out(stream.Signature(output_layout(lanes, tag_width), always_ready=True)),
                "output_zero_point": In(signed(8)),
                "act_min": In(signed(8)),
                "act_max": In(signed(8)),
            }
        )

    @property
    def latency(self) -> int:
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        stages = self.LATENCY

        # Free-running: a valid bit per stage, shifted every cycle.
        valid = self.i.valid
        for k in range(1, stages + 1):
            valid_k = Signal(name=f"s{k}_valid")
            m.d.sync += valid_k.eq(valid)
            valid = valid_k
        m.d.comb += self.o.valid.eq(valid)

        def reg(stage: int, name: str, value, shape=None):
            """A pipeline register of ``stage`` (1-based), loaded with ``value``."""
            sig = Signal(Shape.cast(shape) if shape is not None else value.shape(), name=name)
            m.d.sync += sig.eq(value)
            return sig

        tag = self.i.p.tag
        for k in range(1, stages + 1):
            tag = reg(k, f"s{k}_tag", tag)
        m.d.comb += self.o.p.tag.eq(tag)

        zero_point = self.output_zero_point
        act_min, act_max = self.act_min, self.act_max
        for lane in range(self.lanes):

            def lreg(stage, name, value, shape=None, lane=lane):
                return reg(stage, f"l{lane}_s{stage}_{name}", value, shape)

            acc = self.i.p.acc[lane]
            bias = self.i.p.bias[lane]
            mult = self.i.p.multiplier[lane]
            shift = self.i.p.shift[lane]

            # 1. x = wrap32(acc + bias); left = max(shift, 0); right = max(-shift, 0).
            x = lreg(1, "x", acc + bias, signed(32))
            left = lreg(1, "left", Mux(shift < 0, 0, shift[:5]), unsigned(5))
            right = lreg(1, "right", Mux(shift < 0, -shift, 0), unsigned(6))
            mult = lreg(1, "mult", mult)

            # 2. x = wrap32(x << left).
            x = lreg(2, "x", x << left, signed(32))
            right = lreg(2, "right", right)
            m_hi, m_lo = mult[16:].as_signed(), mult[:16]
            m_sum = lreg(2, "m_sum", m_hi + m_lo, signed(18))
            mult = lreg(2, "mult", mult)

            # 3. Karatsuba operands: x * mult from three products (hh, ll and the cross
            # product of the half sums), each at most 18×18 bits signed: three DSPs, not four.
            x_hi, x_lo = x[16:].as_signed(), x[:16]
            x_sum = lreg(3, "x_sum", x_hi + x_lo, signed(18))
            x_hi = lreg(3, "x_hi", x_hi)
            x_lo = lreg(3, "x_lo", x_lo)
            m_sum = lreg(3, "m_sum", m_sum)
            mult = lreg(3, "mult", mult)
            right = lreg(3, "right", right)

            # 4. The three products.
            m_hi, m_lo = mult[16:].as_signed(), mult[:16]
            hh = lreg(4, "hh", x_hi * m_hi, signed(32))
            ll = lreg(4, "ll", x_lo * m_lo, unsigned(32))
            cross = lreg(4, "cross", x_sum * m_sum, signed(36))
            right = lreg(4, "right", right)

            # 5. x * mult + 2**30 == (base + mid) * 2**16 + ll[:16]; |base| < 2**47;
            # mid = x_hi * m_lo + x_lo * m_hi (fits 33 bits signed).
            base = lreg(5, "base", Cat(ll[16:], hh).as_signed() + (1 << 14), signed(48))
            mid = lreg(5, "mid", cross - hh - ll, signed(33))
            right = lreg(5, "right", right)

            # 6. y = floor((x * mult + 2**30) / 2**31), in [-2**31 + 1, 2**31].
            y = lreg(6, "y", (base + mid) >> 15, signed(33))
            right = lreg(6, "right", right)

            # 7. t = y + 2**(right-1) - (y < 0), or y when right == 0.
            negative = y[-1]
            round_bits = Cat(
                *(Mux(negative, right > bit + 1, right == bit + 1) for bit in range(32))
            )
            t = lreg(7, "t", y + round_bits, signed(34))
            right = lreg(7, "right", right)

            # 8. z = t >> right (arithmetic): RoundingDivideByPOT(y, right).
            z = lreg(8, "z", t >> right, signed(34))

            # 9. w = z + output_zero_point.
            w = lreg(9, "w", z + zero_point, signed(35))

            # 10. out = min(max(w, act_min), act_max).
            out = Mux(
                (w > act_max) | (act_min > act_max),
                act_max,
                Mux(w < act_min, act_min, w[:8]),
            )
            m.d.comb += self.o.p.data[lane].eq(lreg(10, "out", out, signed(8)))

        return m
