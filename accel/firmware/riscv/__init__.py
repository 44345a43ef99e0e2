"""RV32IM instruction-set simulator and ELF loader for the accelerator's control firmware.

See :mod:`accel.firmware.riscv.iss` for the simulator (decode-once closures, custom-0 instructions
forwarded to a pluggable accelerator backend, synchronously or step-wise for co-simulation)
and :mod:`accel.firmware.riscv.elf` for the ELF32 reader.
"""

from accel.firmware.riscv.elf import ElfError, ElfFile, Segment, Symbol, parse_elf, read_elf
from accel.firmware.riscv.iss import (
    DEFAULT_MEMORY_SIZE,
    ISS,
    AccessFault,
    Backend,
    CustomRequest,
    EnvironmentCallError,
    IllegalInstruction,
    ISSError,
    Memory,
    MisalignedAccess,
    NoBackendError,
)
from accel.firmware.riscv.stub import StubBackend

__all__ = [
    "DEFAULT_MEMORY_SIZE",
    "ISS",
    "AccessFault",
    "Backend",
    "CustomRequest",
    "ElfError",
    "ElfFile",
    "EnvironmentCallError",
    "ISSError",
    "IllegalInstruction",
    "Memory",
    "MisalignedAccess",
    "NoBackendError",
    "Segment",
    "StubBackend",
    "Symbol",
    "parse_elf",
    "read_elf",
]
