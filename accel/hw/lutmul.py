"""Signed int8 × int8 multiplier built from logic (no DSP block), for PEs beyond a device's DSPs.

Radix-4 Booth recoding of the weight: ``w = sum_i d_i * 4**i`` with digits
``d_i = w[2i-1] + w[2i] - 2*w[2i+1]`` in ``{-2, -1, 0, 1, 2}`` (``w[-1] = 0``), so the product is
the sum of four partial products ``d_i * x * 4**i``. A negative digit takes the one's complement
of ``|d_i| * x`` and adds its ``+1`` in a separate correction term, so that there is no
negation adder: five operands, three levels of adders. Yosys sees additions only (no ``$mul``),
so the product is never mapped to a DSP.
"""

from amaranth.hdl import Cat, Const, Mux, Value

__all__ = ["booth_product"]


def booth_product(x: Value, w: Value) -> Value:
    """The 16-bit signed product of the signed 8-bit values ``x`` and ``w`` (combinational)."""
    x = x.as_signed()
    terms = []
    ones = []  # the +1 of each negative digit's two's complement, at the digit's weight
    for i in range(4):
        low = w[2 * i - 1] if i else Const(0, 1)
        mid, high = w[2 * i], w[2 * i + 1]
        one = mid ^ low  # |d| = 1
        two = (high & ~mid & ~low) | (~high & mid & low)  # |d| = 2
        negative = high & ~(mid & low)  # d < 0 (d = -0 gives ~0 + 1 = 0: harmless)
        magnitude = Mux(two, x << 1, Mux(one, x, 0)).as_signed()  # signed(10)
        inverted = Mux(negative, ~magnitude, magnitude)
        terms.append(inverted.as_signed().shift_left(2 * i))
        ones.append(negative)
    correction = Cat(*(Cat(bit, Const(0, 1)) for bit in ones))  # bit 2i: digit i negative
    total = (terms[0] + terms[1]) + (terms[2] + (terms[3] + correction))
    return total.as_signed()[:16].as_signed()
