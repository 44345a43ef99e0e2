"""A RV32IM instruction-set simulator with a pluggable custom-0 accelerator backend.

Speed comes from decoding each instruction once: the first time the simulator reaches a
PC it turns the instruction word into a closure with its operands, immediates, next PC and
jump target already bound (:mod:`accel.firmware.riscv.decode`), and caches it by PC.
Running is then one dict lookup and one call per instruction. Registers are a list of
unsigned 32-bit ints (``x0`` writes go to a scratch slot, so ``x0`` stays 0 without a
test). Memory is a flat buffer accessed through typed ``memoryview`` casts (byte/half/word,
signed and unsigned).

The decode cache assumes code is not modified while it runs; ``FENCE.I`` (the RISC-V way
to announce self-modifying code) and :meth:`ISS.flush_cache` discard it.

Custom-0 (opcode ``0x0B``) R-type instructions go to the accelerator: ``function_id =
(funct7 << 3) | funct3``, ``rs1``/``rs2`` values in, ``rd`` value out. Two ways to drive it:

* synchronous — :meth:`ISS.run` calls ``backend.execute(function_id, rs1_value, rs2_value)``
  and writes the returned value to ``rd``;
* deferred — :meth:`ISS.run_until_custom` stops *before* a custom instruction and returns
  a :class:`CustomRequest`; the caller answers it (e.g. after a cocotb ``cmd``/``rsp``
  transaction on the RTL) with :meth:`ISS.complete_custom`. :meth:`ISS.run_async` is that
  loop for an ``async`` execute function.

CSRs (Zicsr) other than the counters are plain storage in :attr:`ISS.csrs` (CSR number ->
value): the ISS has no traps, interrupts or caches, so the start-up code's ``mtvec`` and
CFU-enable writes (``firmware/start.S``, for VexRiscv) are recorded and have no effect, and
VexRiscv's data-cache flush is a no-op. The counters are read-only (see ``csrr`` below);
writing one, or any access to the machine counters (``mcycle``, ``minstret``, ``mhpm*``), is
an illegal instruction.

Environment calls: ``a7 = 93`` (exit) halts with exit code ``a0``; ``a7 = 64``
(``write(fd, buf, len)``, fd 1 or 2) appends ``len`` bytes at ``buf`` to :attr:`ISS.output`
and returns ``len``. ``csrr`` reads the counters ``cycle``, ``time`` and ``instret`` (and
their upper halves): all three are the number of instructions retired before it (the ISS
has no clock). ``EBREAK`` halts (:attr:`ISS.halt_reason` ``"ebreak"``). Illegal
instructions, misaligned or out-of-range loads, stores, jumps and fetches raise an
:class:`ISSError` subclass naming the PC and the instruction word; the simulator state is
left at the faulting instruction.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from accel.firmware.riscv.decode import M32, SIGN, compile_instruction
from accel.firmware.riscv.elf import ElfFile, parse_elf, read_elf
from accel.firmware.riscv.errors import (  # all re-exported: the ISS raises them
    AccessFault,
    EnvironmentCallError,
    ISSError,
    MisalignedAccess,
    NoBackendError,
)
from accel.firmware.riscv.errors import IllegalInstruction as IllegalInstruction

DEFAULT_MEMORY_SIZE = 0x40000  # 256 KiB, matches firmware/link.ld

SYS_WRITE = 64
SYS_EXIT = 93

ABI_NAMES = (
    "zero ra sp gp tp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5 a6 a7 "
    "s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 t3 t4 t5 t6"
).split()


# --- memory ---------------------------------------------------------------------------------


class Memory:
    """Flat little-endian RAM of ``size`` bytes at address ``base``.

    ``buffer`` (optional) is any writable buffer of exactly ``size`` bytes — a ``bytearray``
    or an ``mmap`` — to share memory with another model: a ``cocotbext.axi.AxiRam`` built
    with ``mem=memory.buffer`` sees the CPU's stores and the CPU sees its writes (offsets in
    the buffer are addresses minus ``base``). Host-side accessors check the range.
    """

    def __init__(self, size: int = DEFAULT_MEMORY_SIZE, base: int = 0, buffer=None):
        if not isinstance(size, int) or size <= 0 or size % 4:
            raise ValueError(f"memory size must be a positive multiple of 4, not {size!r}")
        if not isinstance(base, int) or base < 0 or base % 4 or base + size > 1 << 32:
            raise ValueError(
                f"memory base must be a multiple of 4 with base + size <= 2**32, not {base!r}"
            )
        if sys.byteorder != "little":
            raise RuntimeError("the ISS memory views need a little-endian host")
        if buffer is None:
            buffer = bytearray(size)
        view = memoryview(buffer)
        if view.readonly or view.nbytes != size:
            raise ValueError(
                f"buffer must be writable and exactly {size} bytes, not {view.nbytes} bytes"
                + (" (read-only)" if view.readonly else "")
            )
        self.size = size
        self.base = base
        self.buffer = buffer
        self.u8 = view.cast("B")
        self.s8 = view.cast("b")
        self.u16 = view.cast("H")
        self.s16 = view.cast("h")
        self.u32 = view.cast("I")
        if self.u32.itemsize != 4:  # pragma: no cover - exotic platforms
            raise RuntimeError("the ISS needs a 4-byte C unsigned int")

    def _offset(self, address: int, length: int) -> int:
        offset = address - self.base
        if length < 0 or offset < 0 or offset + length > self.size:
            raise ValueError(
                f"{length} bytes at 0x{address:08x} are outside memory "
                f"0x{self.base:08x}..0x{self.base + self.size:08x}"
            )
        return offset

    def read(self, address: int, length: int) -> bytes:
        """``length`` bytes at ``address``."""
        offset = self._offset(address, length)
        return bytes(self.u8[offset : offset + length])

    def write(self, address: int, data) -> None:
        """Write the bytes of ``data`` (bytes-like or NumPy array) at ``address``."""
        data = memoryview(data).cast("B")
        offset = self._offset(address, data.nbytes)
        self.u8[offset : offset + data.nbytes] = data

    def fill(self, address: int, length: int, value: int = 0) -> None:
        offset = self._offset(address, length)
        self.u8[offset : offset + length] = bytes([value & 0xFF]) * length

    def read_u32(self, address: int) -> int:
        return int.from_bytes(self.read(address, 4), "little")

    def write_u32(self, address: int, value: int) -> None:
        self.write(address, (value & M32).to_bytes(4, "little"))


# --- accelerator interface ------------------------------------------------------------------


class Backend(Protocol):
    """What :meth:`ISS.run` needs from an accelerator model."""

    def execute(self, function_id: int, rs1_value: int, rs2_value: int) -> int: ...


@dataclass(frozen=True)
class CustomRequest:
    """A custom-0 instruction waiting for its answer: the CFU ``cmd`` payload
    (``function_id``, ``inputs_0`` = ``rs1_value``, ``inputs_1`` = ``rs2_value``, all
    unsigned), plus where it came from (``pc``, ``word``, destination register ``rd``)."""

    pc: int
    word: int
    function_id: int
    rs1_value: int
    rs2_value: int
    rd: int

    @property
    def funct3(self) -> int:
        return self.function_id & 7

    @property
    def funct7(self) -> int:
        return self.function_id >> 3


class _Halt(Exception):
    pass


class _Defer(Exception):
    pass


class _CounterRead(Exception):
    """A ``csrr`` of a counter: :meth:`ISS._run` answers it, as it alone knows how many
    instructions of the current run have retired."""

    def __init__(self, rd: int, csr: int, nxt: int):
        self.rd, self.csr, self.nxt = rd, csr, nxt


# --- the simulator --------------------------------------------------------------------------


class ISS:
    """RV32IM hart with ``memory`` (a :class:`Memory`, or a size in bytes for a fresh one at
    address 0) and an optional accelerator ``backend`` for :meth:`run`.

    State: :attr:`pc`; registers through :meth:`reg`/:meth:`set_reg` (:attr:`regs` is a
    copy of ``x0..x31``); :attr:`halted`, :attr:`halt_reason` (``"exit"`` or
    ``"ebreak"``), :attr:`exit_code` (``a0`` of the exit call, as a signed int);
    :attr:`output` (bytes written by the ``write`` call); counters :attr:`instret`
    (instructions retired) and :attr:`custom_count` (custom instructions completed);
    :attr:`pending` (the :class:`CustomRequest` a deferred run stopped at, else ``None``).
    """

    def __init__(self, memory: Memory | int = DEFAULT_MEMORY_SIZE, backend: Backend | None = None):
        if isinstance(memory, int):
            memory = Memory(memory)
        if not isinstance(memory, Memory):
            raise TypeError(f"memory must be a Memory or a size in bytes, not {memory!r}")
        self.memory = memory
        self.backend = backend
        self._regs = [0] * 33  # x0..x31, then a scratch slot that absorbs writes to x0
        self._cache: dict[int, Callable[[], int]] = {}
        self.csrs: dict[int, int] = {}
        self._defer = False
        self.elf: ElfFile | None = None
        self.reset()

    # -- state ------------------------------------------------------------------------------

    def reset(self, pc: int | None = None) -> None:
        """Clear registers, counters, output and halt state; set ``pc`` (default: the loaded
        ELF's entry point, else the memory base). Memory is left as it is."""
        self._regs[:] = [0] * 33
        if pc is None:
            pc = self.elf.entry if self.elf is not None else self.memory.base
        self.pc = pc
        self.halted = False
        self.halt_reason: str | None = None
        self.exit_code: int | None = None
        self.output = bytearray()
        self.instret = 0
        self.custom_count = 0
        self.pending: CustomRequest | None = None
        self.csrs.clear()

    def reg(self, index: int) -> int:
        """Register ``x<index>`` as an unsigned 32-bit value."""
        if not 0 <= index < 32:
            raise ValueError(f"register index must be in 0..31, not {index}")
        return self._regs[index]

    def set_reg(self, index: int, value: int) -> None:
        """Set ``x<index>`` to ``value`` (taken modulo 2**32; writes to ``x0`` are ignored)."""
        if not 0 <= index < 32:
            raise ValueError(f"register index must be in 0..31, not {index}")
        if index:
            self._regs[index] = value & M32

    @property
    def regs(self) -> list[int]:
        return self._regs[:32]

    @property
    def text_output(self) -> str:
        return self.output.decode("utf-8", "replace")

    def dump(self) -> str:
        """The PC and registers, four per line with their ABI names (for error reports)."""
        lines = [f"pc   {self.pc:08x}"]
        for row in range(0, 32, 4):
            lines.append(
                "  ".join(f"{ABI_NAMES[i]:>4} {self._regs[i]:08x}" for i in range(row, row + 4))
            )
        return "\n".join(lines)

    def flush_cache(self) -> None:
        """Forget decoded instructions (after the host modified code in memory)."""
        self._cache.clear()

    def load_elf(self, elf: ElfFile | str | Path | bytes) -> ElfFile:
        """Copy the ``PT_LOAD`` segments of ``elf`` (an :class:`ElfFile`, a path or the file's
        bytes) into memory, zero their ``.bss`` part, and :meth:`reset` to the entry point."""
        if isinstance(elf, (bytes, bytearray)):
            elf = parse_elf(elf)
        elif not isinstance(elf, ElfFile):
            elf = read_elf(elf)
        mem = self.memory
        for seg in elf.segments:
            start, end = seg.address, seg.address + seg.memsize
            if start < mem.base or end > mem.base + mem.size:
                raise ISSError(
                    f"ELF segment 0x{start:08x}..0x{end:08x} does not fit memory "
                    f"0x{mem.base:08x}..0x{mem.base + mem.size:08x}"
                )
            mem.write(start, seg.data)
            mem.fill(start + len(seg.data), seg.memsize - len(seg.data))
        self.elf = elf
        self.flush_cache()
        self.reset(elf.entry)
        return elf

    # -- running ----------------------------------------------------------------------------

    def run(self, max_instructions: int | None = None) -> int | None:
        """Run until the program halts or ``max_instructions`` retire; custom instructions
        call ``backend.execute`` synchronously. Returns :attr:`exit_code` (``None`` if not
        halted by an exit call)."""
        self._run(max_instructions, defer=False)
        return self.exit_code

    def step(self) -> None:
        """Execute one instruction (custom instructions synchronously)."""
        self._run(1, defer=False)

    def run_until_custom(self, max_instructions: int | None = None) -> CustomRequest | None:
        """Run until the next custom instruction and return its request without executing
        it (answer with :meth:`complete_custom`); ``None`` if the program halted or
        ``max_instructions`` retired first."""
        self._run(max_instructions, defer=True)
        return self.pending

    def complete_custom(self, rd_value: int) -> None:
        """Finish the pending custom instruction: write ``rd_value`` to ``rd``, advance."""
        req = self.pending
        if req is None:
            raise ISSError("complete_custom() called with no pending custom instruction")
        self._regs[req.rd or 32] = int(rd_value) & M32
        self.pending = None
        self.pc = (req.pc + 4) & M32
        self.instret += 1
        self.custom_count += 1

    async def run_async(
        self,
        execute: Callable[[int, int, int], Awaitable[int]],
        max_instructions: int | None = None,
    ) -> int | None:
        """Run to the end, answering every custom instruction with
        ``await execute(function_id, rs1_value, rs2_value)`` (e.g. a cocotb CFU
        transaction). Returns :attr:`exit_code`."""
        limit = None if max_instructions is None else self.instret + max_instructions
        while not self.halted:
            budget = None if limit is None else limit - self.instret
            if budget is not None and budget <= 0:
                break
            req = self.run_until_custom(budget)
            if req is None:
                break
            self.complete_custom(await execute(req.function_id, req.rs1_value, req.rs2_value))
        return self.exit_code

    def _run(self, limit: int | None, defer: bool) -> None:
        if self.halted:
            return
        if self.pending is not None:
            raise ISSError(
                "a custom instruction is pending; answer it with complete_custom() first",
                self.pending.pc,
                self.pending.word,
            )
        if limit is not None and limit <= 0:
            return
        self._defer = defer
        remaining = sys.maxsize if limit is None else limit
        while remaining > 0:
            read, retired = self._run_block(remaining)
            remaining -= retired
            if read is None:
                return
            # the csrr retires here: its value counts the instructions before it
            value = self.instret >> 32 if read.csr & 0x80 else self.instret
            self._regs[read.rd] = value & M32
            self.pc = read.nxt
            self.instret += 1
            remaining -= 1

    def _run_block(self, limit: int) -> tuple[_CounterRead | None, int]:
        """Run up to ``limit`` instructions; stop at a counter read (returned, not retired),
        a halt or a deferred custom instruction. Returns (read, instructions retired)."""
        cache = self._cache
        decode = self._decode_at
        pc = self.pc
        n = 0  # instructions retired; in the loop, the index of the one executing
        read = None
        try:
            # one loop for both cases: a range is cheaper than counting by hand
            for n in range(limit):  # noqa: B007 (read below)
                try:
                    fn = cache[pc]
                except KeyError:
                    fn = decode(pc)
                pc = fn()
            n += 1  # the budget ran out after instruction n
        except _Halt:
            n += 1  # the halting instruction retires
        except _Defer:
            pass
        except _CounterRead as exc:
            read = exc
        finally:
            self.pc = pc
            self.instret += n
        return read, n

    def _counter(self, rd: int, csr: int, nxt: int) -> None:
        raise _CounterRead(rd, csr, nxt)

    # -- environment and accelerator --------------------------------------------------------

    def _ecall(self, pc: int, word: int) -> None:
        regs = self._regs
        number = regs[17]
        if number == SYS_EXIT:
            code = regs[10]
            self.exit_code = code - ((code & SIGN) << 1)
            self.halt_reason = "exit"
            self.halted = True
            raise _Halt
        if number == SYS_WRITE:
            fd, buf, length = regs[10], regs[11], regs[12]
            if fd not in (1, 2):
                raise EnvironmentCallError(f"write to unsupported fd {fd}", pc, word)
            try:
                self.output += self.memory.read(buf, length)
            except ValueError as exc:
                raise AccessFault(f"write ecall buffer: {exc}", pc, word, buf) from None
            regs[10] = length
            return
        raise EnvironmentCallError(
            f"unsupported environment call a7={number} (supported: exit=93, write=64)", pc, word
        )

    def _ebreak(self) -> None:
        self.halt_reason = "ebreak"
        self.halted = True
        raise _Halt

    def _custom(self, pc: int, word: int, fid: int, a: int, b: int, rd: int) -> int:
        if self._defer:
            self.pending = CustomRequest(pc, word, fid, a, b, rd)
            raise _Defer
        if self.backend is None:
            raise NoBackendError(
                f"custom-0 instruction (function_id 0x{fid:03x}) but no accelerator backend",
                pc,
                word,
            )
        value = self.backend.execute(fid, a, b)
        self.custom_count += 1
        return int(value) & M32

    # -- decoding ---------------------------------------------------------------------------

    def _decode_at(self, pc: int) -> Callable[[], int]:
        mem = self.memory
        if pc & 3:
            raise MisalignedAccess(f"instruction fetch from misaligned address 0x{pc:08x}", pc)
        offset = (pc - mem.base) & M32
        if offset >= mem.size:
            raise AccessFault(
                f"instruction fetch from 0x{pc:08x} outside memory "
                f"0x{mem.base:08x}..0x{mem.base + mem.size:08x}",
                pc,
                address=pc,
            )
        word = mem.u32[offset >> 2]
        fn = compile_instruction(self, pc, word)
        self._cache[pc] = fn
        return fn
