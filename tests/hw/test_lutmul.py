"""The logic multiplier (accel.hw.lutmul.booth_product): every one of the 65 536 int8 pairs,
simulated in the HDL, against Python's integer product."""

from amaranth.hdl import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from accel.hw.lutmul import booth_product

VALUES = list(range(-128, 128))


class _AllActivations(wiring.Component):
    """256 multipliers side by side: ``p[i] = booth_product(x[i], w)``."""

    x: In(data.ArrayLayout(signed(8), len(VALUES)))
    w: In(signed(8))
    p: Out(data.ArrayLayout(signed(16), len(VALUES)))

    def elaborate(self, platform):
        m = Module()
        for i in range(len(VALUES)):
            m.d.comb += self.p[i].eq(booth_product(self.x[i], self.w))
        return m


def test_exhaustive_int8_pairs():
    dut = _AllActivations()
    wrong = []
    checked = 0

    async def testbench(ctx):
        nonlocal checked
        ctx.set(dut.x, VALUES)
        for w in VALUES:
            ctx.set(dut.w, w)
            products = ctx.get(dut.p)
            for i, x in enumerate(VALUES):
                checked += 1
                if products[i] != x * w:
                    wrong.append((x, w, products[i]))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    assert checked == 65536
    assert wrong == []
