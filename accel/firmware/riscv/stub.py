"""A stub accelerator backend: the register file and status protocol of :mod:`accel.spec.isa`,
without any computation. For running firmware on the ISS when only the control flow
matters (``python -m accel.firmware.riscv``, ``python -m accel.firmware --run``)."""

from __future__ import annotations

from accel.spec import isa
from accel.spec.config import AccelConfig


class StubBackend:
    """Answers every custom instruction like the accelerator would, except that START
    finishes immediately without touching memory and the counters read 0.

    INFO answers come from ``config``; SET/GET use a register file (values truncated to the
    register width and sign-extended for signed registers, as GET returns them); START
    returns ``DONE``; WAIT and STATUS return the status; CLEAR clears the error bits.
    Unknown function ids set ``ERR_UNKNOWN`` and answer 0. ``log`` records every
    ``(function_id, rs1_value, rs2_value)``.
    """

    def __init__(self, config: AccelConfig | None = None):
        self.config = config if config is not None else AccelConfig()
        self.registers = {reg.index: 0 for reg in isa.REGISTERS}
        self.status = 0
        self.log: list[tuple[int, int, int]] = []
        self.starts = 0

    def _info(self, index: int) -> int | None:
        values = isa.info_values(self.config)
        for item in isa.INFO:
            if item.index == index:
                return values[item.name]
        return None

    def _unknown(self) -> int:
        self.status |= 1 << isa.STATUS_BIT["ERR_UNKNOWN"].bit
        return 0

    def execute(self, function_id: int, rs1_value: int, rs2_value: int) -> int:
        self.log.append((function_id, rs1_value, rs2_value))
        funct3, funct7 = function_id & 7, function_id >> 3
        group = next((g.name for g in isa.GROUPS if g.funct3 == funct3), None)
        if group in ("SET", "GET"):
            reg = next((r for r in isa.REGISTERS if r.index == funct7), None)
            if reg is None:
                return self._unknown()
            if group == "GET":
                return self.registers[funct7] & 0xFFFF_FFFF
            value = rs1_value & ((1 << reg.width) - 1)
            if reg.signed and value >> (reg.width - 1):
                value -= 1 << reg.width
            self.registers[funct7] = value
            return 0
        if group == "CTRL":
            op = next((o.name for o in isa.CONTROL_OPS if o.index == funct7), None)
            if op in ("START", "CONTINUE"):
                self.starts += 1
                self.status = (self.status & isa.ERROR_MASK) | 1 << isa.STATUS_BIT["DONE"].bit
                return self.status
            if op in ("WAIT", "STATUS"):
                return self.status
            if op == "CLEAR":
                self.status &= ~isa.ERROR_MASK & 0xFFFF_00FF
                return 0
            return self._unknown()
        if group == "COUNTER":
            if any(c.index == funct7 for c in isa.COUNTERS):
                return 0
            return self._unknown()
        if group == "INFO":
            value = self._info(funct7)
            return self._unknown() if value is None else value
        return self._unknown()
