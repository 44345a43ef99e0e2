"""One processing element of the weight-stationary systolic MAC array.

See :class:`accel.hw.array.SystolicArray` for how the elements are connected: activations
move right along a row (one reduction index ``k`` per row), partial sums move down a column
(one output channel ``m`` per column), weights stay put.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.hw.lutmul import booth_product
from accel.spec import timing

__all__ = ["ProcessingElement"]


class ProcessingElement(wiring.Component):
    """Weight-stationary int8 × int8 → int32 multiply-accumulate cell with two weight banks.

    The activation path is one register per element: ``x_in``/``bank_in``/``x_valid`` appear on
    ``x_out``/``bank_out``/``valid_out`` one cycle later. The multiply-add is pipelined over
    ``PE_MUL_STAGES`` (:mod:`accel.spec.timing`) further cycles: an activation presented in cycle
    ``t`` is multiplied with the weight its bank bit selects in cycle ``t`` (operand registers),
    the product is registered, and it is added to the ``psum_in`` of cycle ``t + PE_MUL_STAGES``;
    the sum is on ``psum_out`` in cycle ``t + PE_MUL_STAGES + 1``. Partial sums from above must
    therefore arrive ``PE_MUL_STAGES`` cycles after the activation, which is what the systolic
    skew gives when every element in a column has the same pipeline.

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
        ``psum_in + x * w[bank]`` for the activation of ``PE_MUL_STAGES`` cycles before if it
        was valid, else ``psum_in`` unchanged (pass-through), delayed by one cycle. The sum
        wraps modulo 2**32 (two's complement).

    ``dsp`` (constructor): multiply with a ``*`` that synthesis maps to a DSP block (default),
    or with :func:`accel.hw.lutmul.booth_product` in logic; the results are identical.

    Weight ports:

    ``load`` : ``In(1)``, ``load_bank`` : ``In(1)``, ``load_weight`` : ``In(signed(8))``
        When ``load`` is high, ``w[load_bank] <- load_weight`` at the clock edge. An activation
        presented in the same cycle still uses the old weight; the new weight is used from the
        next cycle on.
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

    def __init__(self, dsp: bool = True):
        self.dsp = dsp
        super().__init__()

    def elaborate(self, platform):
        m = Module()

        w0 = Signal(signed(8))  # weight bank 0
        w1 = Signal(signed(8))  # weight bank 1

        with m.If(self.load):
            with m.If(self.load_bank):
                m.d.sync += w1.eq(self.load_weight)
            with m.Else():
                m.d.sync += w0.eq(self.load_weight)

        m.d.sync += [
            self.x_out.eq(self.x_in),
            self.bank_out.eq(self.bank_in),
            self.valid_out.eq(self.x_valid),
        ]
        # Operand registers: an invalid activation multiplies as 0, so the adder needs no mux.
        x_op = Signal(signed(8))
        w_op = Signal(signed(8))
        m.d.sync += [
            x_op.eq(Mux(self.x_valid, self.x_in, 0)),
            w_op.eq(Mux(self.bank_in, w1, w0)),
        ]
        product = x_op * w_op if self.dsp else booth_product(x_op, w_op)
        for stage in range(timing.PE_MUL_STAGES - 1):
            registered = Signal(signed(16), name=f"product_{stage}")
            m.d.sync += registered.eq(product)
            product = registered
        # 33-bit sum truncated to 32 bits: two's complement wrap.
        m.d.sync += self.psum_out.eq(self.psum_in + product)
        return m
