"""RV32IM decoding for the ISS: an instruction word at a PC becomes a closure.

:func:`compile_instruction` returns a closure that executes the instruction and returns the
next PC, with its operands, immediate, next PC and jump target bound at decode time. The
decoder is a table: :data:`_FORMATS` maps the opcode to a small compile function per
instruction format, which looks up ``funct3`` (and ``funct7``) in the format's own table.

Each table entry holds the instruction's semantics as a line of Python (``"add": "(regs[rs1]
+ regs[rs2]) & M32"``); :func:`_factory` puts it into the closure shape of its format and
compiles that source once, at import. Every closure is then straight-line code with its
operation inline, as fast as a hand-written one, while the shape is written once per
format. In that source ``regs`` is the register list (``rd`` 0 is mapped to the scratch slot
32, so writes to ``x0`` vanish), ``nxt`` is ``pc + 4``, and loads and stores index ``view``
(a typed view of memory) with ``a``, the address minus the memory base, masked to 32 bits:
one unsigned comparison with ``size`` catches addresses below the base and beyond the end.

What the decoder needs from the hart (an :class:`~accel.firmware.riscv.iss.ISS`):
``_regs``, ``memory``, ``_cache`` (cleared by ``FENCE.I``), and the handlers ``_ecall(pc,
word)``, ``_ebreak()``, ``_counter(rd, csr, nxt)`` (``csrr`` of a counter) and ``_custom(pc,
word, function_id, rs1_value, rs2_value, rd)``.
"""

from __future__ import annotations

import linecache
import textwrap
from collections.abc import Callable
from keyword import iskeyword

from accel.firmware.riscv.errors import AccessFault, IllegalInstruction, ISSError, MisalignedAccess

M32 = 0xFFFF_FFFF
SIGN = 0x8000_0000

Closure = Callable[[], int]

ECALL = 0x00000073
EBREAK = 0x00100073
#: VexRiscv's data-cache flush (MISC-MEM, funct3 5, rs2 = 0; ``firmware/soc.h``).
DCACHE_FLUSH = 0x0000500F


# --- faults: built at decode time or when a closure faults ----------------------------------


def _illegal(pc: int, word: int, why: str = "illegal instruction") -> IllegalInstruction:
    return IllegalInstruction(why, pc, word)


def target_error(mem, pc: int, word: int, target: int) -> ISSError | None:
    """The fault of a jump (or taken branch) at ``pc`` to ``target``; ``None`` if it is fine."""
    base, size = mem.base, mem.size
    if target & 3:
        return MisalignedAccess(f"jump to misaligned address 0x{target:08x}", pc, word, target)
    if (target - base) & M32 >= size:
        return AccessFault(
            f"jump to 0x{target:08x} outside memory 0x{base:08x}..0x{base + size:08x}",
            pc,
            word,
            target,
        )
    return None


def access_error(mem, pc: int, word: int, kind: str, nbytes: int, offset: int) -> ISSError:
    """The fault of an ``nbytes`` load or store (``kind``) at ``offset`` from the memory base."""
    base, size = mem.base, mem.size
    address = (offset + base) & M32
    if address & (nbytes - 1):
        return MisalignedAccess(
            f"misaligned {nbytes}-byte {kind} at 0x{address:08x}", pc, word, address
        )
    return AccessFault(
        f"{nbytes}-byte {kind} at 0x{address:08x} outside memory 0x{base:08x}..0x{base + size:08x}",
        pc,
        word,
        address,
    )


# --- division: RISC-V semantics on unsigned 32-bit encodings --------------------------------


def _div(a: int, b: int) -> int:
    """DIV: truncating, x / 0 = -1, INT_MIN / -1 = INT_MIN."""
    if b == 0:
        return M32
    sa, sb = (a ^ SIGN) - SIGN, (b ^ SIGN) - SIGN
    q = abs(sa) // abs(sb)
    return (-q if (sa < 0) != (sb < 0) else q) & M32


def _rem(a: int, b: int) -> int:
    """REM: the sign of the dividend, x % 0 = x, INT_MIN % -1 = 0."""
    if b == 0:
        return a
    sa, sb = (a ^ SIGN) - SIGN, (b ^ SIGN) - SIGN
    r = abs(sa) % abs(sb)
    return (-r if sa < 0 else r) & M32


# --- closure factories from source ----------------------------------------------------------

_NAMES = {
    "M32": M32,
    "SIGN": SIGN,
    "_div": _div,
    "_rem": _rem,
    "_access_error": access_error,
    "_target_error": target_error,
}


def _factory(name: str, params: str, body: str) -> Callable[..., Closure]:
    """``make(<params>)``, returning a closure ``<name>()`` that runs ``body`` (Python
    statements, one per line, or an indented block).

    The source is registered with :mod:`linecache`, so tracebacks show the closure's lines.
    """
    closure = name + "_" if iskeyword(name) else name
    if closure in _NAMES or closure in params.replace(" ", "").split(","):
        raise ValueError(f"closure name {closure!r} would shadow a name its body uses")
    source = (
        f"def make({params}):\n"
        f"    def {closure}():\n"
        f"{textwrap.indent(textwrap.dedent(body).strip(), ' ' * 8)}\n"
        f"    return {closure}\n"
    )
    filename = f"<riscv {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(_NAMES)
    exec(compile(source, filename, "exec"), namespace)
    return namespace["make"]


def _alu(name: str, operands: str, expr: str) -> Callable[..., Closure]:
    """A factory for ``rd = expr`` (an unsigned 32-bit value), then on to ``nxt``."""
    return _factory(name, f"regs, rd, {operands}, nxt", f"regs[rd] = {expr}\nreturn nxt")


# rs1 and rs2 as signed integers
_S1 = "((regs[rs1] ^ SIGN) - SIGN)"
_S2 = "((regs[rs2] ^ SIGN) - SIGN)"

# OP (R-type ALU and M extension), keyed by (funct7, funct3)
_OP = {
    key: _alu(name, "rs1, rs2", expr)
    for key, (name, expr) in {
        (0x00, 0): ("add", "(regs[rs1] + regs[rs2]) & M32"),
        (0x20, 0): ("sub", "(regs[rs1] - regs[rs2]) & M32"),
        (0x00, 1): ("sll", "(regs[rs1] << (regs[rs2] & 31)) & M32"),
        (0x00, 2): ("slt", "1 if (regs[rs1] ^ SIGN) < (regs[rs2] ^ SIGN) else 0"),
        (0x00, 3): ("sltu", "1 if regs[rs1] < regs[rs2] else 0"),
        (0x00, 4): ("xor", "regs[rs1] ^ regs[rs2]"),
        (0x00, 5): ("srl", "regs[rs1] >> (regs[rs2] & 31)"),
        (0x20, 5): ("sra", f"({_S1} >> (regs[rs2] & 31)) & M32"),
        (0x00, 6): ("or", "regs[rs1] | regs[rs2]"),
        (0x00, 7): ("and", "regs[rs1] & regs[rs2]"),
        (0x01, 0): ("mul", "(regs[rs1] * regs[rs2]) & M32"),
        (0x01, 1): ("mulh", f"(({_S1} * {_S2}) >> 32) & M32"),
        (0x01, 2): ("mulhsu", f"(({_S1} * regs[rs2]) >> 32) & M32"),
        (0x01, 3): ("mulhu", "(regs[rs1] * regs[rs2]) >> 32"),
        (0x01, 4): ("div", "_div(regs[rs1], regs[rs2])"),
        (0x01, 5): ("divu", "regs[rs1] // regs[rs2] if regs[rs2] else M32"),
        (0x01, 6): ("rem", "_rem(regs[rs1], regs[rs2])"),
        (0x01, 7): ("remu", "regs[rs1] % regs[rs2] if regs[rs2] else regs[rs1]"),
    }.items()
}


# OP-IMM, keyed by funct3 (the shifts by (funct3, funct7)): the factory, and how to bind
# ``imm`` from the sign-extended immediate
def _u32(imm: int) -> int:
    return imm & M32


def _biased(imm: int) -> int:  # for a signed comparison as an unsigned one
    return (imm & M32) ^ SIGN


def _shamt(imm: int) -> int:
    return imm & 31


_OP_IMM = {
    key: (_alu(name, "rs1, imm", expr), bind)
    for key, (name, expr, bind) in {
        0: ("addi", "(regs[rs1] + imm) & M32", _u32),
        2: ("slti", "1 if (regs[rs1] ^ SIGN) < imm else 0", _biased),
        3: ("sltiu", "1 if regs[rs1] < imm else 0", _u32),
        4: ("xori", "regs[rs1] ^ imm", _u32),
        6: ("ori", "regs[rs1] | imm", _u32),
        7: ("andi", "regs[rs1] & imm", _u32),
        (1, 0x00): ("slli", "(regs[rs1] << imm) & M32", _shamt),
        (5, 0x00): ("srli", "regs[rs1] >> imm", _shamt),
        (5, 0x20): ("srai", f"({_S1} >> imm) & M32", _shamt),
    }.items()
}

# rd = a constant known at decode time
_CONST = {name: _alu(name, "value", "value") for name in ("lui", "auipc", "li")}

# LOAD and STORE, keyed by funct3: the factory and the memory view it indexes
_ACCESS = """
    a = (regs[rs1] + imm) & M32
    if {check}:
        raise _access_error(mem, pc, word, {kind!r}, {nbytes}, a)
    {transfer}
    return nxt
"""


def _access(kind: str, table: dict) -> dict:
    """``table``: ``funct3: (name, bytes, view, the transfer between view[a] and a register)``."""
    factories = {}
    for funct3, (name, nbytes, view, transfer) in table.items():
        check = "a >= size" if nbytes == 1 else f"a & {nbytes - 1} or a >= size"
        body = _ACCESS.format(check=check, kind=kind, nbytes=nbytes, transfer=transfer)
        params = "regs, rd, rs1, rs2, imm, size, view, mem, pc, word, nxt"
        factories[funct3] = (_factory(name, params, body), view)
    return factories


_LOAD = _access(
    "load",
    {
        0: ("lb", 1, "s8", "regs[rd] = view[a] & M32"),
        1: ("lh", 2, "s16", "regs[rd] = view[a >> 1] & M32"),
        2: ("lw", 4, "u32", "regs[rd] = view[a >> 2]"),
        4: ("lbu", 1, "u8", "regs[rd] = view[a]"),
        5: ("lhu", 2, "u16", "regs[rd] = view[a >> 1]"),
    },
)
_STORE = _access(
    "store",
    {
        0: ("sb", 1, "u8", "view[a] = regs[rs2] & 0xFF"),
        1: ("sh", 2, "u16", "view[a >> 1] = regs[rs2] & 0xFFFF"),
        2: ("sw", 4, "u32", "view[a >> 2] = regs[rs2]"),
    },
)


# BRANCH, keyed by funct3: a factory for a good target, and one for a bad target (a taken
# branch faults, a branch not taken falls through)
def _branches(table: dict) -> dict:
    good, bad = "regs, rs1, rs2, target, nxt", "regs, rs1, rs2, error, nxt"
    return {
        funct3: (
            _factory(name, good, f"return target if {cond} else nxt"),
            _factory(f"{name}_bad", bad, f"if {cond}:\n    raise error\nreturn nxt"),
        )
        for funct3, (name, cond) in table.items()
    }


_BRANCH = _branches(
    {
        0: ("beq", "regs[rs1] == regs[rs2]"),
        1: ("bne", "regs[rs1] != regs[rs2]"),
        4: ("blt", "(regs[rs1] ^ SIGN) < (regs[rs2] ^ SIGN)"),
        5: ("bge", "(regs[rs1] ^ SIGN) >= (regs[rs2] ^ SIGN)"),
        6: ("bltu", "regs[rs1] < regs[rs2]"),
        7: ("bgeu", "regs[rs1] >= regs[rs2]"),
    }
)

# the rest, one of a kind
_JAL = _factory("jal", "regs, rd, target, nxt", "regs[rd] = nxt\nreturn target")
_JALR = _factory(
    "jalr",
    "regs, rd, rs1, imm, base, end, mem, pc, word, nxt",
    """
    t = (regs[rs1] + imm) & 0xFFFFFFFE
    if t & 2 or t < base or t >= end:
        raise _target_error(mem, pc, word, t)
    regs[rd] = nxt
    return t
    """,
)
_FAULT = _factory("fault", "error", "raise error")
_FENCE = _factory("fence", "nxt", "return nxt")
_FENCE_I = _factory("fence_i", "cache, nxt", "cache.clear()\nreturn nxt")
_ECALL = _factory("ecall", "on_ecall, pc, word, nxt", "on_ecall(pc, word)\nreturn nxt")
_EBREAK = _factory("ebreak", "on_ebreak, nxt", "on_ebreak()\nreturn nxt")
_CSR = _factory(
    "csr_access",
    "regs, rd, csrs, csr, op, operand, from_reg, nxt",
    """
    old = csrs.get(csr, 0)
    value = regs[operand] if from_reg else operand
    if op == 1:
        csrs[csr] = value
    elif op == 2:
        csrs[csr] = old | value
    else:
        csrs[csr] = old & ~value & M32
    regs[rd] = old
    return nxt
    """,
)
_COUNTER = _factory("counter", "on_counter, rd, csr, nxt", "on_counter(rd, csr, nxt)\nreturn nxt")
_CUSTOM = _factory(
    "accel",
    "regs, rd, rs1, rs2, custom, pc, word, fid, rd_index, nxt",
    "regs[rd] = custom(pc, word, fid, regs[rs1], regs[rs2], rd_index)\nreturn nxt",
)


# --- the decoder: one compile function per opcode -------------------------------------------


def compile_instruction(hart, pc: int, word: int) -> Closure:
    """The closure for the instruction ``word`` at ``pc``: it executes the instruction and
    returns the next PC. Raises :class:`IllegalInstruction` for anything but RV32IM,
    custom-0, FENCE, FENCE.I, VexRiscv's data-cache flush (a no-op), ``csrr`` of the
    counters, the other Zicsr instructions (on :attr:`ISS.csrs`), ECALL and EBREAK."""
    if word & 3 != 3:
        raise _illegal(
            pc, word, "compressed (16-bit) instruction; the ISS implements RV32IM without C"
        )
    compile_format = _FORMATS.get(word & 0x7F)
    if compile_format is None:
        raise _illegal(pc, word)
    return compile_format(hart, pc, word)


def _imm_i(word: int) -> int:
    return ((word >> 20) ^ 0x800) - 0x800


# The scattered immediates: (first bit in the word, width, first bit in the immediate)
_B_IMM = ((8, 4, 1), (25, 6, 5), (7, 1, 11), (31, 1, 12))
_J_IMM = ((21, 10, 1), (20, 1, 11), (12, 8, 12), (31, 1, 20))


def _jump_target(hart, pc: int, word: int, fields: tuple) -> tuple[int, ISSError | None]:
    """The target of a branch or JAL (its immediate gathered from ``fields`` and sign-
    extended from its top bit), and its fault if it is misaligned or outside memory."""
    imm = 0
    for start, width, to in fields:
        imm |= ((word >> start) & ((1 << width) - 1)) << to
    sign = 1 << to  # the last field is the sign bit
    target = (pc + (imm ^ sign) - sign) & M32
    return target, target_error(hart.memory, pc, word, target)


def _compile_op(hart, pc: int, word: int) -> Closure:
    make = _OP.get((word >> 25, (word >> 12) & 7))
    if make is None:
        raise _illegal(pc, word)
    rd = (word >> 7) & 31 or 32
    return make(hart._regs, rd, (word >> 15) & 31, (word >> 20) & 31, (pc + 4) & M32)


def _compile_op_imm(hart, pc: int, word: int) -> Closure:
    funct3 = (word >> 12) & 7
    rs1 = (word >> 15) & 31
    entry = _OP_IMM.get(funct3) or _OP_IMM.get((funct3, word >> 25))
    if entry is None:
        raise _illegal(pc, word)
    make, bind = entry
    rd = (word >> 7) & 31 or 32
    if funct3 == 0 and rs1 == 0:  # ADDI from x0: LI
        return _CONST["li"](hart._regs, rd, _imm_i(word) & M32, (pc + 4) & M32)
    return make(hart._regs, rd, rs1, bind(_imm_i(word)), (pc + 4) & M32)


def _compile_lui(hart, pc: int, word: int) -> Closure:
    return _CONST["lui"](hart._regs, (word >> 7) & 31 or 32, word & 0xFFFFF000, (pc + 4) & M32)


def _compile_auipc(hart, pc: int, word: int) -> Closure:
    value = (pc + (word & 0xFFFFF000)) & M32
    return _CONST["auipc"](hart._regs, (word >> 7) & 31 or 32, value, (pc + 4) & M32)


def _compile_load(hart, pc: int, word: int) -> Closure:
    return _compile_access(hart, pc, word, _LOAD, _imm_i(word))


def _compile_store(hart, pc: int, word: int) -> Closure:
    imm = ((word >> 25) << 5) | ((word >> 7) & 31)
    return _compile_access(hart, pc, word, _STORE, (imm ^ 0x800) - 0x800)


def _compile_access(hart, pc: int, word: int, table: dict, imm: int) -> Closure:
    entry = table.get((word >> 12) & 7)
    if entry is None:
        raise _illegal(pc, word)
    make, view = entry
    mem = hart.memory
    rd, rs1, rs2 = (word >> 7) & 31 or 32, (word >> 15) & 31, (word >> 20) & 31
    offset, nxt = imm - mem.base, (pc + 4) & M32
    return make(hart._regs, rd, rs1, rs2, offset, mem.size, getattr(mem, view), mem, pc, word, nxt)


def _compile_branch(hart, pc: int, word: int) -> Closure:
    entry = _BRANCH.get((word >> 12) & 7)
    if entry is None:
        raise _illegal(pc, word)
    target, error = _jump_target(hart, pc, word, _B_IMM)
    rs1, rs2, nxt = (word >> 15) & 31, (word >> 20) & 31, (pc + 4) & M32
    if error is None:
        return entry[0](hart._regs, rs1, rs2, target, nxt)
    return entry[1](hart._regs, rs1, rs2, error, nxt)


def _compile_jal(hart, pc: int, word: int) -> Closure:
    target, error = _jump_target(hart, pc, word, _J_IMM)
    if error is not None:
        return _FAULT(error)
    return _JAL(hart._regs, (word >> 7) & 31 or 32, target, (pc + 4) & M32)


def _compile_jalr(hart, pc: int, word: int) -> Closure:
    if (word >> 12) & 7:
        raise _illegal(pc, word)
    mem = hart.memory
    rd, rs1, imm = (word >> 7) & 31 or 32, (word >> 15) & 31, _imm_i(word)
    end = mem.base + mem.size  # valid targets: 4-aligned (bit 0 is cleared) and in memory
    return _JALR(hart._regs, rd, rs1, imm, mem.base, end, mem, pc, word, (pc + 4) & M32)


def _compile_misc_mem(hart, pc: int, word: int) -> Closure:
    funct3 = (word >> 12) & 7
    if funct3 == 0:  # FENCE: a single hart with one memory needs no ordering
        return _FENCE((pc + 4) & M32)
    if funct3 == 1:  # FENCE.I: code may have changed, decode again
        return _FENCE_I(hart._cache, (pc + 4) & M32)
    if word & 0x01F0707F == DCACHE_FLUSH:  # VexRiscv's data-cache flush: the ISS has no cache
        return _FENCE((pc + 4) & M32)
    raise _illegal(pc, word)


#: The read-only user counters (Zicntr) ``csrr rd, <csr>`` reads: cycle, time, instret and
#: their upper halves. On the ISS all three count retired instructions.
COUNTER_CSRS = {0xC00: "cycle", 0xC01: "time", 0xC02: "instret"}
COUNTER_CSRS.update({csr | 0x80: f"{name}h" for csr, name in list(COUNTER_CSRS.items())})


def _compile_system(hart, pc: int, word: int) -> Closure:
    if word == ECALL:
        return _ECALL(hart._ecall, pc, word, (pc + 4) & M32)
    if word == EBREAK:
        return _EBREAK(hart._ebreak, (pc + 4) & M32)
    csr, rs1, funct3 = word >> 20, (word >> 15) & 31, (word >> 12) & 7
    if funct3 == 2 and rs1 == 0 and csr in COUNTER_CSRS:  # CSRRS rd, csr, x0: csrr
        return _COUNTER(hart._counter, (word >> 7) & 31 or 32, csr, (pc + 4) & M32)
    if funct3 & 3:  # CSRRW CSRRS CSRRC, and their immediate forms (funct3 5..7)
        if csr in COUNTER_CSRS or csr & 0xF60 == 0xB00:  # writes; mcycle, minstret, mhpm*
            raise _illegal(pc, word, "counter CSRs are read-only (csrr of cycle, time, instret)")
        rd, op = (word >> 7) & 31 or 32, funct3 & 3
        return _CSR(hart._regs, rd, hart.csrs, csr, op, rs1, funct3 < 4, (pc + 4) & M32)
    raise _illegal(
        pc,
        word,
        "unsupported SYSTEM instruction (only ECALL, EBREAK and csrr of a counter, "
        "and the other CSR instructions)",
    )


def _compile_custom(hart, pc: int, word: int) -> Closure:
    """custom-0, R-type: the accelerator, ``function_id = (funct7 << 3) | funct3``."""
    fid = ((word >> 25) << 3) | ((word >> 12) & 7)
    rd = (word >> 7) & 31
    rs1, rs2 = (word >> 15) & 31, (word >> 20) & 31
    return _CUSTOM(hart._regs, rd or 32, rs1, rs2, hart._custom, pc, word, fid, rd, (pc + 4) & M32)


_FORMATS: dict[int, Callable[..., Closure]] = {
    0x37: _compile_lui,
    0x17: _compile_auipc,
    0x6F: _compile_jal,
    0x67: _compile_jalr,
    0x63: _compile_branch,
    0x03: _compile_load,
    0x23: _compile_store,
    0x13: _compile_op_imm,
    0x33: _compile_op,
    0x0F: _compile_misc_mem,
    0x73: _compile_system,
    0x0B: _compile_custom,
}
