"""A functional accelerator backend for the ISS: golden numerics on the shared memory.

START and CONTINUE run the descriptor registers on the ISS memory with the functional model
:class:`accel.verif.descriptor.DescriptorModel` (the formats of :mod:`accel.mapping`): golden
integer numerics, the int8 output written back. Performance counters come from the
analytical model :mod:`accel.perf` (with the memory timing of the RTL test bench), so the
same firmware runs against "perf + golden numerics" in milliseconds.
"""

from __future__ import annotations

from accel.firmware.riscv.stub import StubBackend
from accel.spec import isa
from accel.spec.config import AccelConfig
from accel.verif.descriptor import DescriptorModel

_DONE = 1 << isa.STATUS_BIT["DONE"].bit
_ERR_DESCRIPTOR = 1 << isa.STATUS_BIT["ERR_DESCRIPTOR"].bit


def _tiles(n: int, size: int) -> int:
    return -(-n // size)


class FunctionalBackend(StubBackend):
    """:class:`~accel.firmware.riscv.stub.StubBackend` whose START (and CONTINUE) really
    computes the layer (:class:`accel.verif.descriptor.DescriptorModel`)."""

    def __init__(self, memory, config: AccelConfig | None = None):
        super().__init__(config)
        self.memory = memory
        self.model = DescriptorModel(memory, self.config)
        self.counters = {c.name: 0 for c in isa.COUNTERS}
        self.layers_run = 0

    def execute(self, function_id: int, rs1_value: int, rs2_value: int) -> int:
        funct3, funct7 = function_id & 7, function_id >> 3
        if funct3 == isa.GROUP["COUNTER"].funct3:
            counter = next((c for c in isa.COUNTERS if c.index == funct7), None)
            if counter is not None:
                self.log.append((function_id, rs1_value, rs2_value))
                return self.counters[counter.name] & 0xFFFF_FFFF
        starts = {isa.CONTROL_OP["START"].index: True, isa.CONTROL_OP["CONTINUE"].index: False}
        if funct3 == isa.GROUP["CTRL"].funct3 and funct7 in starts:
            self.log.append((function_id, rs1_value, rs2_value))
            self.starts += 1
            if starts[funct7]:
                self.counters = dict.fromkeys(self.counters, 0)
            self.status &= isa.ERROR_MASK | 0xFF00
            code = self._run()
            if code:
                self.status |= _ERR_DESCRIPTOR | (code << isa.ERR_CODE_SHIFT)
            self.status |= _DONE
            return self.status
        return super().execute(function_id, rs1_value, rs2_value)

    def _run(self) -> int:
        """Run the configured descriptor; returns a descriptor check code (0 = ran)."""
        desc = {reg.name: self.registers[reg.index] for reg in isa.REGISTERS}
        code = self.model.run(desc)
        if code == 0:
            self.layers_run += 1
            self._count(desc)
        return code

    def _count(self, desc: dict[str, int]) -> None:
        from accel import perf

        report = perf.predict_descriptor(desc, self.config, perf.MemoryTiming.axi_ram())
        for name, value in report.counters().items():
            self.counters[name] += value
