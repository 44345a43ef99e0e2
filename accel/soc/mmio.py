"""The SoC's MMIO block: exit code, console character output, cycle counter, reports.

Registers (offsets in :data:`accel.soc.memory_map.MMIO_REGISTERS`, 32-bit accesses):
``EXIT`` (write: ``exit_valid`` rises and stays high until reset, ``exit_code`` holds the
value), ``CHAR`` (write: ``char_valid`` is high for one cycle with ``char_data``),
``CYCLE_LO``/``CYCLE_HI`` (read: the 64-bit count of cycles since reset; reading LO latches
HI, so LO then HI is one consistent value), ``INSTRET_LO``/``INSTRET_HI`` and
``TRAP_CAUSE``/``TRAP_PC``/``TRAP_VAL`` (write: held on the outputs of the same names for the
host; ``trap_valid`` rises with a TRAP_CAUSE write). Other offsets read 0 and ignore writes.
Every access is acknowledged one cycle after ``stb``.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.soc.memory_map import MMIO_REGISTERS as REG
from accel.soc.wishbone import wishbone_signature

_REPORTS = ("INSTRET_LO", "INSTRET_HI", "TRAP_CAUSE", "TRAP_PC", "TRAP_VAL")

#: The block's outputs (name: width), the same names on the interconnect and the SoC top.
OUTPUTS = {
    "exit_valid": 1,
    "exit_code": 32,
    "char_valid": 1,
    "char_data": 8,
    "trap_valid": 1,
    "cycles": 64,
    **{name.lower(): 32 for name in _REPORTS},
}

#: The interconnect's (and the SoC's) further outputs: the decoder's unmapped-access flag.
BUS_ERROR_OUTPUTS = {"bus_error": 1, "bus_error_addr": 32}


class MMIO(wiring.Component):
    """Wishbone slave with the registers above (it decodes address bits 11..2)."""

    def __init__(self):
        members = {"bus": In(wishbone_signature())}
        members.update({name: Out(width) for name, width in OUTPUTS.items()})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        offset = Signal(12)
        m.d.comb += offset.eq(bus.adr[:10] << 2)
        request = bus.cyc & bus.stb & ~bus.ack
        m.d.sync += [bus.ack.eq(request), self.char_valid.eq(0), self.cycles.eq(self.cycles + 1)]
        cycle_hi = Signal(32)
        with m.If(request & ~bus.we):
            with m.Switch(offset):
                with m.Case(REG["CYCLE_LO"]):
                    m.d.sync += [bus.dat_r.eq(self.cycles[:32]), cycle_hi.eq(self.cycles[32:])]
                with m.Case(REG["CYCLE_HI"]):
                    m.d.sync += bus.dat_r.eq(cycle_hi)
                with m.Default():
                    m.d.sync += bus.dat_r.eq(0)
        with m.If(request & bus.we):
            with m.Switch(offset):
                with m.Case(REG["EXIT"]):
                    m.d.sync += [self.exit_valid.eq(1), self.exit_code.eq(bus.dat_w)]
                with m.Case(REG["CHAR"]):
                    m.d.sync += [self.char_valid.eq(1), self.char_data.eq(bus.dat_w[:8])]
                for name in _REPORTS:
                    with m.Case(REG[name]):
                        m.d.sync += getattr(self, name.lower()).eq(bus.dat_w)
                        if name == "TRAP_CAUSE":
                            m.d.sync += self.trap_valid.eq(1)
        return m
