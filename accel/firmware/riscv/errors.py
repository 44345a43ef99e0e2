"""The ISS's exceptions (re-exported by :mod:`accel.firmware.riscv.iss`)."""

from __future__ import annotations


class ISSError(Exception):
    """A simulation error. ``pc`` and ``word`` (the instruction) are set when known."""

    def __init__(self, message: str, pc: int | None = None, word: int | None = None):
        self.pc = pc
        self.word = word
        where = ""
        if pc is not None:
            where = f" at pc 0x{pc:08x}"
            if word is not None:
                where += f" (instruction 0x{word:08x})"
        super().__init__(message + where)


class IllegalInstruction(ISSError):
    """The instruction word is not RV32IM, custom-0, FENCE(.I), ECALL or EBREAK."""


class MisalignedAccess(ISSError):
    """A load/store address not aligned to its size, or a jump/branch target or PC that is
    not a multiple of 4. ``address`` is the offending address."""

    def __init__(self, message: str, pc=None, word=None, address: int | None = None):
        self.address = address
        super().__init__(message, pc, word)


class AccessFault(ISSError):
    """A load, store, jump or fetch outside memory. ``address`` is the offending address."""

    def __init__(self, message: str, pc=None, word=None, address: int | None = None):
        self.address = address
        super().__init__(message, pc, word)


class EnvironmentCallError(ISSError):
    """An ``ECALL`` with an unsupported ``a7`` or arguments."""


class NoBackendError(ISSError):
    """A custom-0 instruction was executed by :meth:`ISS.run` without a backend."""
