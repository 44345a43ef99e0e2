"""One processing element of the weight-stationary systolic MAC array.

See :class:`accel.hw.array.SystolicArray` for how the elements are connected: activations
move right along a row (one reduction index ``k`` per row), partial sums move down a column
(one output channel ``m`` per column), weights stay put.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ProcessingElement"]


class ProcessingElement(wiring.Component):
    """Weight-stationary int8 × int8 → int32 multiply-accumulate cell with two weight banks.

    Every output is a register: a value presented on the inputs in cycle ``t`` appears on the
    outputs in cycle ``t + 1``.

    Data ports (one activation per cycle):

    ``x_in`` : ``In(signed(8))``
        Activation from the left neighbour (or from the array's row skew).
    ``x_valid`` : ``In(1)``
        ``x_in``/``bank_in`` carry a real activation this cycle.
    ``bank_in`` : ``In(1)``
        Weight bank the activation was issued with.
    ``psum_in`` : ``In(signed(32))``
        Partial sum from the element above (0 at the top of a column).
    ``x_out``, ``bank_out``, ``valid_out`` : ``Out``
        ``x_in``, ``bank_in``, ``x_valid`` delayed by one cycle, for the right neighbour.
        They are passed on whatever ``x_valid`` is.
    ``psum_out`` : ``Out(signed(32))``
        ``psum_in + x_in * w[bank_in]`` if ``x_valid`` is high, else ``psum_in`` unchanged
        (pass-through), delayed by one cycle. The sum wraps modulo 2**32 (two's complement).

    Weight ports:

    ``load`` : ``In(1)``, ``load_bank`` : ``In(1)``, ``load_weight`` : ``In(signed(8))``
        When ``load`` is high, ``w[load_bank] <- load_weight`` at the clock edge. The
        multiplication in the same cycle still uses the old weight; the new weight is used
        from the next cycle on.
    """

    x_in: In(signed(8))
    x_valid: In(1)
    bank_in: In(1)
    psum_in: In(signed(32))

    x_out: Out(signed(8))
    bank_out: Out(1)
    valid_out: Out(1)
    psum_out: Out(signed(32))

    load: In(1)
    load_bank: In(1)
    load_weight: In(signed(8))

    def elaborate(self, platform):
        m = Module()

        w0 = Signal(signed(8))  # weight bank 0
        w1 = Signal(signed(8))  # weight bank 1

        with m.If(self.load):
            with m.If(self.load_bank):
                m.d.sync += w1.eq(self.load_weight)
            with m.Else():
                m.d.sync += w0.eq(self.load_weight)

        weight = Mux(self.bank_in, w1, w0)
        product = Mux(self.x_valid, self.x_in * weight, 0)
        m.d.sync += [
            self.x_out.eq(self.x_in),
            self.bank_out.eq(self.bank_in),
            self.valid_out.eq(self.x_valid),
            # 33-bit sum truncated to 32 bits: two's complement wrap.
            self.psum_out.eq(self.psum_in + product),
        ]
        return m
