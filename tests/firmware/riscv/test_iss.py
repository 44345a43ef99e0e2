"""The RV32IM ISS, instruction by instruction, against hand-computed results.

Instruction words are assembled by the small encoder below, written from the RISC-V
specification's encoding tables independently of the simulator's decoder.
"""

import asyncio
from fractions import Fraction

import pytest

from accel.firmware import riscv

M32 = 0xFFFF_FFFF
INT_MIN = 0x8000_0000

# --- encoder --------------------------------------------------------------------------------

X = {f"x{i}": i for i in range(32)}
ABI = "zero ra sp gp tp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5 a6 a7".split()
X.update({name: i for i, name in enumerate(ABI)})


def _r(name):
    return X[name] if isinstance(name, str) else name


def enc_r(opcode, funct3, funct7, rd, rs1, rs2):
    return (
        (funct7 << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) | (funct3 << 12) | (_r(rd) << 7) | opcode
    )


def enc_i(opcode, funct3, rd, rs1, imm):
    assert -2048 <= imm < 4096
    return ((imm & 0xFFF) << 20) | (_r(rs1) << 15) | (funct3 << 12) | (_r(rd) << 7) | opcode


def enc_s(funct3, rs1, rs2, imm):
    assert -2048 <= imm < 2048
    imm &= 0xFFF
    return (
        ((imm >> 5) << 25)
        | (_r(rs2) << 20)
        | (_r(rs1) << 15)
        | (funct3 << 12)
        | ((imm & 31) << 7)
        | 0x23
    )


def enc_b(funct3, rs1, rs2, offset):
    assert -4096 <= offset < 4096
    v = offset & 0x1FFF
    return (
        ((v >> 12) << 31)
        | (((v >> 5) & 0x3F) << 25)
        | (_r(rs2) << 20)
        | (_r(rs1) << 15)
        | (funct3 << 12)
        | (((v >> 1) & 0xF) << 8)
        | (((v >> 11) & 1) << 7)
        | 0x63
    )


def enc_u(opcode, rd, imm20):
    return ((imm20 & 0xFFFFF) << 12) | (_r(rd) << 7) | opcode


def enc_j(rd, offset):
    v = offset & 0x1FFFFF
    return (
        ((v >> 20) << 31)
        | (((v >> 1) & 0x3FF) << 21)
        | (((v >> 11) & 1) << 20)
        | (((v >> 12) & 0xFF) << 12)
        | (_r(rd) << 7)
        | 0x6F
    )


R_OPS = {  # name: (funct3, funct7)
    "add": (0, 0x00),
    "sub": (0, 0x20),
    "sll": (1, 0x00),
    "slt": (2, 0x00),
    "sltu": (3, 0x00),
    "xor": (4, 0x00),
    "srl": (5, 0x00),
    "sra": (5, 0x20),
    "or": (6, 0x00),
    "and": (7, 0x00),
    "mul": (0, 0x01),
    "mulh": (1, 0x01),
    "mulhsu": (2, 0x01),
    "mulhu": (3, 0x01),
    "div": (4, 0x01),
    "divu": (5, 0x01),
    "rem": (6, 0x01),
    "remu": (7, 0x01),
}
I_OPS = {"addi": 0, "slti": 2, "sltiu": 3, "xori": 4, "ori": 6, "andi": 7}
LOADS = {"lb": 0, "lh": 1, "lw": 2, "lbu": 4, "lhu": 5}
STORES = {"sb": 0, "sh": 1, "sw": 2}
BRANCHES = {"beq": 0, "bne": 1, "blt": 4, "bge": 5, "bltu": 6, "bgeu": 7}


def r_op(name, rd, rs1, rs2):
    funct3, funct7 = R_OPS[name]
    return enc_r(0x33, funct3, funct7, rd, rs1, rs2)


def i_op(name, rd, rs1, imm):
    return enc_i(0x13, I_OPS[name], rd, rs1, imm)


def shift_imm(name, rd, rs1, shamt):
    funct3, funct7 = {"slli": (1, 0), "srli": (5, 0), "srai": (5, 0x20)}[name]
    return enc_r(0x13, funct3, funct7, rd, rs1, shamt)


def load(name, rd, rs1, imm):
    return enc_i(0x03, LOADS[name], rd, rs1, imm)


def store(name, rs2, rs1, imm):
    return enc_s(STORES[name], rs1, rs2, imm)


def branch(name, rs1, rs2, offset):
    return enc_b(BRANCHES[name], rs1, rs2, offset)


def lui(rd, imm20):
    return enc_u(0x37, rd, imm20)


def auipc(rd, imm20):
    return enc_u(0x17, rd, imm20)


def jal(rd, offset):
    return enc_j(rd, offset)


def jalr(rd, rs1, imm):
    return enc_i(0x67, 0, rd, rs1, imm)


def custom0(funct3, funct7, rd, rs1, rs2):
    return enc_r(0x0B, funct3, funct7, rd, rs1, rs2)


ECALL = 0x00000073
EBREAK = 0x00100073
FENCE = 0x0FF0000F
FENCE_I = 0x0000100F
NOP = 0x00000013

# --- harness --------------------------------------------------------------------------------


def make_iss(words, regs=None, size=0x1000, base=0, backend=None):
    """An ISS with ``words`` at ``base`` followed by EBREAK, and registers preset."""
    iss = riscv.ISS(riscv.Memory(size, base=base), backend=backend)
    code = b"".join(w.to_bytes(4, "little") for w in [*words, EBREAK])
    iss.memory.write(base, code)
    iss.reset(pc=base)
    for name, value in (regs or {}).items():
        iss.set_reg(_r(name), value)
    return iss


def run(words, regs=None, **kwargs):
    iss = make_iss(words, regs, **kwargs)
    iss.run(max_instructions=10_000)
    assert iss.halted and iss.halt_reason == "ebreak"
    return iss


def u32(x):
    return x & M32


def s32(x):
    x &= M32
    return x - (1 << 32) if x >> 31 else x


# --- U/J types and jumps --------------------------------------------------------------------


def test_lui_and_auipc():
    iss = run([NOP, lui("a0", 0xABCDE), auipc("a1", 0x12345), auipc("a2", 0xFFFFF)])
    assert iss.reg(10) == 0xABCDE000
    assert iss.reg(11) == 0x12345000 + 8  # AUIPC at pc 8
    assert iss.reg(12) == u32(0xFFFFF000 + 12)  # -4096 + 12


def test_jal_links_and_jumps_forward_and_backward():
    words = [
        jal("ra", 12),  # 0: -> 12, ra = 4
        NOP,  # 4
        EBREAK,  # 8 (not reached before 12)
        jal("t0", 8),  # 12: -> 20, t0 = 16
        EBREAK,  # 16 (skipped)
        jal("zero", -12),  # 20: -> 8, no link
    ]
    iss = run(words, {"zero": 0})
    assert iss.reg(1) == 4
    assert iss.reg(5) == 16
    assert iss.reg(0) == 0
    assert iss.pc == 8


def test_jalr_link_clears_bit0_and_reads_rs1_before_writing_rd():
    # a0 = 13 -> target (13 + 4) & ~1 = 16; rd == rs1 must use the old value.
    words = [jalr("a0", "a0", 4), EBREAK, EBREAK, EBREAK, i_op("addi", "a1", 0, 7)]
    iss = run(words, {"a0": 13})
    assert iss.reg(10) == 4  # link = pc + 4
    assert iss.reg(11) == 7  # the instruction at 16 ran
    iss = run([jalr("ra", "t1", -2), EBREAK, i_op("addi", "a2", 0, 1)], {"t1": 11})
    assert iss.reg(1) == 4 and iss.reg(12) == 1  # (11 - 2) & ~1 = 8


# --- branches -------------------------------------------------------------------------------

BRANCH_GOLDEN = {
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
    "blt": lambda a, b: s32(a) < s32(b),
    "bge": lambda a, b: s32(a) >= s32(b),
    "bltu": lambda a, b: a < b,
    "bgeu": lambda a, b: a >= b,
}
BRANCH_VALUES = [(1, 1), (1, 2), (2, 1), (M32, 1), (1, M32), (INT_MIN, 0x7FFFFFFF), (0, INT_MIN)]


@pytest.mark.parametrize("name", list(BRANCHES))
@pytest.mark.parametrize("a,b", BRANCH_VALUES)
def test_branches_forward(name, a, b):
    # taken: skip the "a0 = 1" at 4; not taken: execute it.
    words = [branch(name, "t0", "t1", 8), i_op("addi", "a0", 0, 1), i_op("addi", "a1", 0, 2)]
    iss = run(words, {"t0": a, "t1": b})
    taken = BRANCH_GOLDEN[name](a, b)
    assert iss.reg(10) == (0 if taken else 1)
    assert iss.reg(11) == 2


@pytest.mark.parametrize("name", list(BRANCHES))
def test_branches_backward(name):
    # Count a loop: t2 += 1 until the branch (checked at pc 8 against pc 4) falls through.
    a, b = {
        "beq": (5, 5),
        "bne": (5, 6),
        "blt": (M32, 0),
        "bge": (0, M32),
        "bltu": (0, 1),
        "bgeu": (M32, 0),
    }[name]
    words = [
        NOP,
        i_op("addi", "t2", "t2", 1),  # 4
        branch("beq", "t2", "a3", 12),  # 8: leave to the EBREAK at 20 after 3 iterations
        branch(name, "t0", "t1", -8),  # 12: backward, always taken for these values
        i_op("addi", "a4", 0, 99),  # 16: not reached
    ]
    iss = run(words, {"t0": a, "t1": b, "a3": 3})
    assert iss.reg(7) == 3
    assert iss.reg(14) == 0
    assert iss.pc == 20


# --- loads and stores -----------------------------------------------------------------------


def test_loads_sign_and_zero_extend():
    iss = make_iss(
        [
            load("lb", "a0", "t0", 0),
            load("lbu", "a1", "t0", 0),
            load("lh", "a2", "t0", 2),
            load("lhu", "a3", "t0", 2),
            load("lw", "a4", "t0", 4),
            load("lb", "a5", "t0", 1),
            load("lh", "a6", "t0", 0),
            load("lw", "a7", "t1", -4),  # negative offset
        ],
        {"t0": 0x800, "t1": 0x808},
    )
    iss.memory.write(0x800, bytes([0x85, 0x7F, 0x34, 0x92, 0xEF, 0xBE, 0xAD, 0xDE]))
    iss.run(100)
    assert iss.reg(10) == 0xFFFFFF85
    assert iss.reg(11) == 0x85
    assert iss.reg(12) == 0xFFFF9234
    assert iss.reg(13) == 0x9234
    assert iss.reg(14) == 0xDEADBEEF
    assert iss.reg(15) == 0x7F
    assert iss.reg(16) == 0x7F85
    assert iss.reg(17) == 0xDEADBEEF


def test_stores_write_only_their_bytes():
    iss = make_iss(
        [
            store("sw", "a0", "t0", 0),
            store("sb", "a1", "t0", 5),
            store("sh", "a2", "t0", 6),
            store("sh", "a1", "t1", -8),  # 0x800 - ... negative offset: 0x808 - 8 = 0x800
        ],
        {"t0": 0x800, "t1": 0x808, "a0": 0x11223344, "a1": 0xAABBCCDD, "a2": 0x5566EEFF},
    )
    iss.memory.write(0x800, bytes(range(0xF0, 0xF8)))
    iss.run(100)
    assert iss.memory.read(0x800, 8) == bytes([0xDD, 0xCC, 0x22, 0x11, 0xF4, 0xDD, 0xFF, 0xEE])


# --- ALU with immediates --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,a,imm,expected",
    [
        ("addi", 5, -7, u32(-2)),
        ("addi", 0xFFFFFFFF, 1, 0),  # wraps
        ("addi", 0x7FFFFFFF, 1, 0x80000000),
        ("slti", u32(-5), -4, 1),
        ("slti", 3, -4, 0),
        ("slti", u32(-4), -4, 0),
        ("sltiu", 5, -1, 1),  # -1 sign-extends to 0xFFFFFFFF
        ("sltiu", 0xFFFFFFFF, -1, 0),
        ("sltiu", 0, 1, 1),  # SEQZ
        ("xori", 0x0F0F0F0F, -1, 0xF0F0F0F0),  # NOT
        ("xori", 0x12345678, 0x7FF, 0x12345187),
        ("ori", 0x12340000, -2048, 0xFFFFF800),
        ("andi", 0x12345678, -16, 0x12345670),
        ("andi", 0xFFFFFFFF, 0x0FF, 0xFF),
    ],
)
def test_alu_immediate(name, a, imm, expected):
    iss = run([i_op(name, "a0", "t0", imm)], {"t0": a})
    assert iss.reg(10) == expected


@pytest.mark.parametrize(
    "name,a,shamt,expected",
    [
        ("slli", 0x80000001, 1, 0x00000002),
        ("slli", 1, 31, 0x80000000),
        ("srli", 0x80000000, 31, 1),
        ("srli", 0xF0000000, 4, 0x0F000000),
        ("srai", 0xF0000000, 4, 0xFF000000),
        ("srai", 0x70000000, 4, 0x07000000),
        ("srai", 0x80000000, 31, 0xFFFFFFFF),
        ("srai", 0x80000000, 0, 0x80000000),
    ],
)
def test_shift_immediate(name, a, shamt, expected):
    iss = run([shift_imm(name, "a0", "t0", shamt)], {"t0": a})
    assert iss.reg(10) == expected


# --- ALU with registers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,a,b,expected",
    [
        ("add", 0xFFFFFFFF, 2, 1),
        ("add", 0x7FFFFFFF, 0x7FFFFFFF, 0xFFFFFFFE),
        ("sub", 1, 2, 0xFFFFFFFF),
        ("sub", 0x80000000, 1, 0x7FFFFFFF),
        ("sll", 3, 0x23, 24),  # shift by the low 5 bits of rs2 (35 -> 3)
        ("sll", 1, 0xFFFFFFFF, 0x80000000),
        ("srl", 0x80000000, 0x3F, 1),
        ("srl", 0xFFFFFFFF, 0x20, 0xFFFFFFFF),  # 32 & 31 = 0
        ("sra", 0x80000000, 0x41, 0xC0000000),
        ("sra", 0x80000000, 0x21, 0xC0000000),
        ("srl", 0x80000000, 0x21, 0x40000000),
        ("sra", 0x40000000, 0x1E, 1),
        ("slt", u32(-1), 1, 1),
        ("slt", 1, u32(-1), 0),
        ("slt", INT_MIN, 0x7FFFFFFF, 1),
        ("slt", 5, 5, 0),
        ("sltu", u32(-1), 1, 0),
        ("sltu", 1, u32(-1), 1),
        ("sltu", 0, 0, 0),
        ("xor", 0xFF00FF00, 0x0FF00FF0, 0xF0F0F0F0),
        ("or", 0xFF00FF00, 0x0FF00FF0, 0xFFF0FFF0),
        ("and", 0xFF00FF00, 0x0FF00FF0, 0x0F000F00),
    ],
)
def test_alu_register(name, a, b, expected):
    iss = run([r_op(name, "a0", "t0", "t1")], {"t0": a, "t1": b})
    assert iss.reg(10) == expected


def test_writes_to_x0_are_ignored():
    iss = run(
        [
            i_op("addi", "zero", "zero", 5),
            lui("zero", 0x12345),
            r_op("add", "zero", "t0", "t0"),
            load("lw", "zero", "zero", 0),
            jal("zero", 4),
            i_op("addi", "a0", "zero", 0),  # a0 = x0
        ],
        {"t0": 9},
    )
    assert iss.reg(0) == 0 and iss.reg(10) == 0


# --- M extension ----------------------------------------------------------------------------


def golden_m(name, a, b):
    """RISC-V M semantics from the specification's table, via exact rationals."""
    sa, sb = s32(a), s32(b)
    if name == "mul":
        return u32(a * b)
    if name == "mulh":
        return u32((sa * sb) >> 32)
    if name == "mulhsu":
        return u32((sa * b) >> 32)
    if name == "mulhu":
        return (a * b) >> 32
    if name in ("div", "rem"):
        if b == 0:
            q, r = -1, sa
        elif sa == -(2**31) and sb == -1:
            q, r = -(2**31), 0
        else:
            q = int(Fraction(sa, sb))  # int() truncates toward zero
            r = sa - q * sb
        return u32(q if name == "div" else r)
    if b == 0:
        return M32 if name == "divu" else a
    return a // b if name == "divu" else a % b


M_VALUES = [0, 1, 2, 7, u32(-1), u32(-7), INT_MIN, 0x7FFFFFFF, 0x12345678, 0xFEDCBA98]


@pytest.mark.parametrize("name", ["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"])
def test_m_extension_against_spec_table(name):
    for a in M_VALUES:
        for b in M_VALUES:
            iss = run([r_op(name, "a0", "t0", "t1")], {"t0": a, "t1": b})
            assert iss.reg(10) == golden_m(name, a, b), (name, hex(a), hex(b))


@pytest.mark.parametrize(
    "name,a,b,expected",
    [
        # division by zero: quotient all ones, remainder = dividend
        ("div", 42, 0, 0xFFFFFFFF),
        ("div", u32(-42), 0, 0xFFFFFFFF),
        ("divu", 42, 0, 0xFFFFFFFF),
        ("rem", u32(-42), 0, u32(-42)),
        ("remu", 42, 0, 42),
        # signed overflow: INT_MIN / -1 = INT_MIN, remainder 0
        ("div", INT_MIN, u32(-1), INT_MIN),
        ("rem", INT_MIN, u32(-1), 0),
        # truncation toward zero, remainder has the sign of the dividend
        ("div", u32(-7), 2, u32(-3)),
        ("rem", u32(-7), 2, u32(-1)),
        ("div", 7, u32(-2), u32(-3)),
        ("rem", 7, u32(-2), 1),
        ("divu", u32(-7), 2, 0x7FFFFFFC),
        ("remu", u32(-7), 2, 1),
        # high products
        ("mulh", u32(-1), u32(-1), 0),
        ("mulh", INT_MIN, INT_MIN, 0x40000000),
        ("mulh", INT_MIN, 0x7FFFFFFF, 0xC0000000),
        ("mulh", u32(-2), 3, 0xFFFFFFFF),
        ("mulhsu", u32(-1), 0xFFFFFFFF, 0xFFFFFFFF),
        ("mulhsu", INT_MIN, 0xFFFFFFFF, 0x80000000),
        ("mulhsu", 0x7FFFFFFF, 0xFFFFFFFF, 0x7FFFFFFE),
        ("mulhu", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFE),
        ("mulhu", INT_MIN, 2, 1),
        ("mul", 0xFFFFFFFF, 0xFFFFFFFF, 1),
        ("mul", 0x10000, 0x10000, 0),
        ("mul", 123456, u32(-1000), u32(-123456000)),
    ],
)
def test_m_extension_edge_cases(name, a, b, expected):
    iss = run([r_op(name, "a0", "t0", "t1")], {"t0": a, "t1": b})
    assert iss.reg(10) == expected


# --- MISC-MEM, SYSTEM -----------------------------------------------------------------------


def test_fence_is_a_no_op_and_fence_i_picks_up_modified_code():
    new_word = i_op("addi", "a0", "zero", 77)
    words = [
        FENCE,
        jal("ra", 16),  # 4: call the "function" at 20
        store("sw", "t0", "zero", 24),  # 8: overwrite the instruction at 24
        FENCE_I,  # 12
        jal("ra", 4),  # 16: call again
        i_op("addi", "a1", "a1", 1),  # 20: a1 += 1
        i_op("addi", "a0", "zero", 11),  # 24: a0 = 11 (then a0 = 77)
        jalr("zero", "ra", 0),  # 28: return
    ]
    iss = make_iss(words, {"t0": new_word})
    iss.run(11)  # up to and including the second call's return
    assert iss.pc == 20
    assert iss.reg(11) == 2
    assert iss.reg(10) == 77


def test_ecall_exit_returns_signed_code():
    iss = run([])  # just EBREAK
    assert iss.exit_code is None and iss.halt_reason == "ebreak"
    iss = make_iss([i_op("addi", "a7", "zero", 93), i_op("addi", "a0", "zero", -3), ECALL, NOP])
    assert iss.run() == -3
    assert iss.halted and iss.halt_reason == "exit" and iss.exit_code == -3
    assert iss.pc == 8 and iss.instret == 3
    iss.run()  # running a halted ISS does nothing
    assert iss.instret == 3


def test_ecall_write_appends_to_output():
    iss = make_iss(
        [
            i_op("addi", "a7", "zero", 64),
            i_op("addi", "a0", "zero", 1),
            i_op("addi", "a1", "zero", 0x400),
            i_op("addi", "a2", "zero", 5),
            ECALL,
            i_op("addi", "a0", "zero", 2),
            i_op("addi", "a1", "zero", 0x403),
            i_op("addi", "a2", "zero", 3),
            ECALL,
        ]
    )
    iss.memory.write(0x400, b"hello!")
    iss.run(100)
    assert bytes(iss.output) == b"hellolo!"
    assert iss.reg(10) == 3  # the write call returns the length


def test_unsupported_ecall_names_pc():
    iss = make_iss([i_op("addi", "a7", "zero", 57), ECALL])
    with pytest.raises(riscv.EnvironmentCallError, match=r"a7=57.*pc 0x00000004.*0x00000073"):
        iss.run()


# --- custom-0: the accelerator --------------------------------------------------------------


class RecordingBackend:
    def __init__(self):
        self.calls = []

    def execute(self, function_id, rs1_value, rs2_value):
        self.calls.append((function_id, rs1_value, rs2_value))
        return -(len(self.calls))  # negative: must be written as 32-bit two's complement


def test_custom_instruction_calls_backend_synchronously():
    backend = RecordingBackend()
    words = [
        custom0(0b101, 0b1100110, "a0", "t0", "t1"),
        custom0(0, 0, "zero", "t1", "zero"),
        custom0(7, 127, "a1", "zero", "t0"),
    ]
    iss = run(words, {"t0": 0xDEADBEEF, "t1": 3}, backend=backend)
    assert backend.calls == [
        ((0b1100110 << 3) | 0b101, 0xDEADBEEF, 3),
        (0, 3, 0),
        (1023, 0, 0xDEADBEEF),
    ]
    assert iss.reg(10) == 0xFFFFFFFF
    assert iss.reg(0) == 0
    assert iss.reg(11) == 0xFFFFFFFD
    assert iss.custom_count == 3
    assert iss.instret == 4  # three custom instructions + EBREAK


def test_custom_instruction_without_backend_names_pc():
    iss = make_iss([NOP, custom0(4, 1, "a0", "zero", "zero")])
    with pytest.raises(riscv.NoBackendError, match=r"function_id 0x00c.*pc 0x00000004"):
        iss.run()
    assert iss.pc == 4 and iss.instret == 1


def test_deferred_custom_instructions():
    words = [
        i_op("addi", "t0", "zero", 5),
        custom0(2, 1, "a0", "t0", "t1"),
        i_op("addi", "a1", "a0", 1),
        custom0(3, 4, "a2", "a1", "zero"),
    ]
    iss = make_iss(words, {"t1": 9})
    req = iss.run_until_custom()
    assert req == riscv.CustomRequest(
        pc=4, word=words[1], function_id=(1 << 3) | 2, rs1_value=5, rs2_value=9, rd=10
    )
    assert (req.funct3, req.funct7) == (2, 1)
    assert iss.pc == 4 and iss.instret == 1 and iss.custom_count == 0
    with pytest.raises(riscv.ISSError, match="pending"):
        iss.run()
    iss.complete_custom(0x100)
    assert iss.pc == 8 and iss.instret == 2 and iss.custom_count == 1
    req = iss.run_until_custom()
    assert req.rs1_value == 0x101 and req.function_id == (4 << 3) | 3 and req.rd == 12
    iss.complete_custom(-1)
    assert iss.run_until_custom() is None
    assert iss.halted and iss.reg(12) == 0xFFFFFFFF and iss.instret == 5
    with pytest.raises(riscv.ISSError, match="no pending"):
        iss.complete_custom(0)


def test_run_async_awaits_each_custom_instruction():
    words = [custom0(1, 2, "a0", "t0", "zero"), custom0(1, 3, "a1", "a0", "zero")]
    iss = make_iss(words, {"t0": 20})
    seen = []

    async def execute(function_id, a, b):
        await asyncio.sleep(0)
        seen.append((function_id, a, b))
        return a * 2

    assert asyncio.run(iss.run_async(execute)) is None
    assert iss.halted and iss.halt_reason == "ebreak"
    assert seen == [((2 << 3) | 1, 20, 0), ((3 << 3) | 1, 40, 0)]
    assert iss.reg(11) == 80 and iss.custom_count == 2


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    [
        0x00000000,  # all zeros is defined illegal
        0xFFFFFFFF,
        0x00004501,  # compressed c.li
        shift_imm("slli", "a0", "a0", 1) | (1 << 25),  # SLLI with shamt[5] set (RV64 only)
        enc_r(0x13, 5, 0x10, "a0", "a0", 1),  # SRLI/SRAI with a bad funct7
        enc_r(0x33, 0, 0x02, "a0", "a0", "a1"),  # OP with an unknown funct7
        enc_r(0x33, 1, 0x20, "a0", "a0", "a1"),  # SLL with funct7 0x20
        enc_i(0x03, 3, "a0", "a0", 0),  # LD (RV64)
        enc_i(0x03, 6, "a0", "a0", 0),  # LWU (RV64)
        enc_s(3, "a0", "a1", 0),  # SD (RV64)
        enc_b(2, "a0", "a1", 8),  # branch funct3 2
        enc_i(0x67, 1, "a0", "a0", 0),  # JALR funct3 1
        0x30200073,  # MRET
        0xC0003573,  # CSRRC a0, cycle, x0 (only CSRRS reads the counters)
        0xC0051073,  # CSRW cycle, a0 (the counters are read-only)
        enc_r(0x2B, 0, 0, "a0", "a0", "a1"),  # custom-1
        enc_i(0x0F, 2, 0, 0, 0),  # MISC-MEM funct3 2
    ],
)
def test_illegal_instruction_names_pc_and_word(word):
    iss = make_iss([NOP, NOP, word])
    with pytest.raises(riscv.IllegalInstruction) as info:
        iss.run()
    assert info.value.pc == 8 and info.value.word == word
    assert "pc 0x00000008" in str(info.value) and f"0x{word:08x}" in str(info.value)
    assert iss.pc == 8 and iss.instret == 2 and not iss.halted


@pytest.mark.parametrize(
    "insn,addr",
    [
        (load("lw", "a0", "t0", 2), 0x802),
        (load("lw", "a0", "t0", 1), 0x801),
        (load("lh", "a0", "t0", 1), 0x801),
        (load("lhu", "a0", "t0", 3), 0x803),
        (store("sw", "a0", "t0", 6), 0x806),
        (store("sh", "a0", "t0", -1), 0x7FF),
    ],
)
def test_misaligned_access_names_pc(insn, addr):
    iss = make_iss([NOP, insn], {"t0": 0x800})
    with pytest.raises(riscv.MisalignedAccess) as info:
        iss.run()
    assert info.value.pc == 4 and info.value.word == insn and info.value.address == addr
    assert f"0x{addr:08x}" in str(info.value) and "pc 0x00000004" in str(info.value)


@pytest.mark.parametrize(
    "insn,t0",
    [
        (load("lw", "a0", "t0", 0), 0x1000),  # just past the end
        (load("lb", "a0", "t0", 0), 0xFFFFFFFF),
        (load("lbu", "a0", "t0", -1), 0),  # below the base (wraps to 0xFFFFFFFF)
        (store("sb", "a0", "t0", 0), 0x1000),
        (store("sw", "a0", "t0", 0), 0x40000000),
        (store("sh", "a0", "t0", 0), 0xFFFFFFFE),
    ],
)
def test_out_of_range_access_names_pc(insn, t0):
    iss = make_iss([NOP, insn], {"t0": t0})
    with pytest.raises(riscv.AccessFault, match=r"outside memory.*pc 0x00000004") as info:
        iss.run()
    assert info.value.word == insn


def test_last_bytes_of_memory_are_accessible():
    iss = run(
        [store("sh", "t1", "t0", 0xFFE - 0x800), load("lw", "a0", "t0", 0xFFC - 0x800)],
        {"t0": 0x800, "t1": 0xBEEF},
    )
    assert iss.reg(10) == 0xBEEF0000


def test_access_below_base_with_nonzero_base():
    base = 0x8000_0000
    iss = make_iss([load("lw", "a0", "t0", -4)], {"t0": base}, base=base)
    with pytest.raises(riscv.AccessFault, match=r"0x7ffffffc.*pc 0x80000000"):
        iss.run()
    iss = run([load("lw", "a0", "t0", 0), auipc("a1", 0)], {"t0": base}, base=base)
    assert iss.reg(10) == load("lw", "a0", "t0", 0)  # the instruction reads itself
    assert iss.reg(11) == base + 4


def test_misaligned_and_out_of_range_jumps_name_the_jump():
    iss = make_iss([NOP, jal("zero", 6)])
    with pytest.raises(riscv.MisalignedAccess, match=r"0x0000000a.*pc 0x00000004"):
        iss.run()
    iss = make_iss([jalr("ra", "t0", 0)], {"t0": 0x102})
    with pytest.raises(riscv.MisalignedAccess, match=r"0x00000102.*pc 0x00000000"):
        iss.run()
    assert iss.reg(1) == 0  # no link on a faulting jump
    iss = make_iss([jalr("ra", "t0", 0)], {"t0": 0x2000})
    with pytest.raises(riscv.AccessFault, match=r"0x00002000.*pc 0x00000000"):
        iss.run()
    iss = make_iss([NOP, jal("zero", -8)])
    with pytest.raises(riscv.AccessFault, match=r"0xfffffffc.*pc 0x00000004"):
        iss.run()


def test_branch_to_bad_target_faults_only_when_taken():
    iss = run([branch("bne", "t0", "t0", 6)])  # not taken: fine
    assert iss.instret == 2
    iss = make_iss([branch("beq", "t0", "t0", 6)])
    with pytest.raises(riscv.MisalignedAccess, match=r"0x00000006.*pc 0x00000000"):
        iss.run()
    iss = make_iss([branch("bgeu", "t0", "t0", -16)])
    with pytest.raises(riscv.AccessFault, match=r"0xfffffff0.*pc 0x00000000"):
        iss.run()


def test_fetch_past_end_of_memory():
    iss = riscv.ISS(riscv.Memory(16))
    iss.memory.write(0, b"".join(NOP.to_bytes(4, "little") for _ in range(4)))
    with pytest.raises(riscv.AccessFault, match=r"fetch from 0x00000010"):
        iss.run()
    assert iss.pc == 16 and iss.instret == 4


# --- driving the simulator ------------------------------------------------------------------


def test_step_and_instruction_budget():
    words = [i_op("addi", "a0", "a0", 1)] * 5
    iss = make_iss(words)
    iss.step()
    assert iss.pc == 4 and iss.reg(10) == 1 and iss.instret == 1
    assert iss.run(max_instructions=2) is None
    assert iss.pc == 12 and iss.reg(10) == 3 and not iss.halted
    iss.run()
    assert iss.reg(10) == 5 and iss.instret == 6 and iss.halted


def test_shared_buffer_memory():
    buffer = bytearray(0x100)
    iss = riscv.ISS(riscv.Memory(0x100, buffer=buffer))
    iss.memory.write(
        0,
        b"".join(
            w.to_bytes(4, "little")
            for w in [store("sw", "t0", "zero", 0x80), load("lw", "a0", "zero", 0x84), EBREAK]
        ),
    )
    buffer[0x84:0x88] = (0xCAFEF00D).to_bytes(4, "little")  # another model writes
    iss.set_reg(5, 0x12345678)
    iss.run()
    assert buffer[0x80:0x84] == (0x12345678).to_bytes(4, "little")
    assert iss.reg(10) == 0xCAFEF00D


def test_memory_validation():
    with pytest.raises(ValueError, match="multiple of 4"):
        riscv.Memory(10)
    with pytest.raises(ValueError, match="exactly 64 bytes"):
        riscv.Memory(64, buffer=bytearray(32))
    with pytest.raises(ValueError, match="read-only"):
        riscv.Memory(4, buffer=bytes(4))
    mem = riscv.Memory(64, base=0x100)
    with pytest.raises(ValueError, match="outside memory"):
        mem.read(0xFC, 8)
    with pytest.raises(ValueError, match="outside memory"):
        mem.write(0x13E, b"abc")
    mem.write_u32(0x13C, 0xA1B2C3D4)
    assert mem.read(0x13C, 4) == bytes([0xD4, 0xC3, 0xB2, 0xA1])
    assert mem.read_u32(0x13C) == 0xA1B2C3D4


def test_register_access_validation():
    iss = riscv.ISS(64)
    iss.set_reg(3, -1)
    assert iss.reg(3) == M32 and iss.regs[3] == M32 and len(iss.regs) == 32
    iss.set_reg(0, 5)
    assert iss.reg(0) == 0
    assert "gp ffffffff" in iss.dump() and iss.dump().startswith("pc   00000000")
    with pytest.raises(ValueError, match="0..31"):
        iss.reg(32)


# --- decoder coverage: every table entry's edge cases ---------------------------------------


@pytest.mark.parametrize("name", list(BRANCHES))
def test_every_branch_to_a_bad_target_faults_only_when_taken(name):
    taken_values = {
        "beq": (3, 3),
        "bne": (3, 4),
        "blt": (M32, 1),
        "bge": (1, M32),
        "bltu": (1, M32),
        "bgeu": (M32, 1),
    }
    a, b = taken_values[name]
    # not taken (operands swapped or made equal so the condition is false): falls through
    not_taken = {"beq": (3, 4), "bne": (3, 3)}.get(name, (b, a))
    iss = run(
        [branch(name, "t0", "t1", 2), i_op("addi", "a0", 0, 5)],
        dict(zip(("t0", "t1"), not_taken, strict=True)),
    )
    assert iss.reg(10) == 5 and iss.instret == 3
    iss = make_iss([NOP, branch(name, "t0", "t1", 2)], {"t0": a, "t1": b})
    with pytest.raises(riscv.MisalignedAccess, match=r"0x00000006.*pc 0x00000004") as info:
        iss.run()
    assert info.value.address == 6 and iss.pc == 4 and iss.instret == 1
    iss = make_iss([NOP, branch(name, "t0", "t1", 0x800)], {"t0": a, "t1": b}, size=0x100)
    with pytest.raises(riscv.AccessFault, match=r"0x00000804.*pc 0x00000004"):
        iss.run()


def test_x0_destination_is_ignored_for_every_format():
    words = [
        auipc("zero", 0x12345),
        jalr("zero", "t1", 0),  # -> 12
        i_op("addi", "a0", "zero", 1),  # 8: skipped
        shift_imm("slli", "zero", "t0", 3),
        shift_imm("srai", "zero", "t0", 1),
        r_op("mul", "zero", "t0", "t0"),
        r_op("div", "zero", "t0", "t2"),
        r_op("sra", "zero", "t0", "t2"),
        load("lb", "zero", "sp", 0),
        load("lhu", "zero", "sp", 0),
        i_op("sltiu", "zero", "t0", 100),
        i_op("addi", "a0", "zero", 0),
    ]
    iss = run(words, {"t0": 9, "t1": 12, "t2": 2, "sp": 0x800})
    assert iss.reg(0) == 0 and iss.reg(10) == 0
    assert iss.instret == len(words)  # all but the skipped one, plus EBREAK


@pytest.mark.parametrize(
    "insn,regs,expected",
    [
        (r_op("add", "a0", "a0", "a0"), {"a0": 0x80000001}, 2),
        (r_op("sub", "a0", "a0", "a0"), {"a0": 12345}, 0),
        (r_op("sll", "a0", "a0", "a0"), {"a0": 0x21}, 0x42),  # 0x21 << 1
        (r_op("sra", "a0", "a1", "a0"), {"a0": 4, "a1": 0x80000000}, 0xF8000000),
        (r_op("mulh", "a0", "a0", "a0"), {"a0": u32(-3)}, 0),  # 9 >> 32
        (r_op("mulhsu", "a0", "a0", "a1"), {"a0": u32(-1), "a1": 2}, 0xFFFFFFFF),
        (r_op("divu", "a0", "a0", "a0"), {"a0": 0}, 0xFFFFFFFF),
        (r_op("remu", "a0", "a0", "a0"), {"a0": 0}, 0),
        (r_op("rem", "a0", "a1", "a0"), {"a0": 0, "a1": 17}, 17),
        (r_op("slt", "a0", "zero", "a0"), {"a0": 1}, 1),  # SGTZ
        (r_op("sltu", "a0", "zero", "a0"), {"a0": 7}, 1),  # SNEZ
        (i_op("xori", "a0", "a0", 0x555), {"a0": 0x00000AAA}, 0xFFF),
        (i_op("slti", "a0", "a0", 0), {"a0": 0x80000000}, 1),  # SLTZ
        (shift_imm("srli", "a0", "a0", 0), {"a0": 0xDEADBEEF}, 0xDEADBEEF),
        (shift_imm("srai", "a0", "a0", 31), {"a0": 0x7FFFFFFF}, 0),
        (load("lw", "a0", "a0", 0x100), {"a0": 0x700}, 0x04030201),
        (load("lh", "a0", "a0", 0x102), {"a0": 0x700}, 0x0403),
        (load("lb", "a0", "a0", -1), {"a0": 0x808}, 0xFFFFFFF8),
    ],
)
def test_destination_equal_to_a_source(insn, regs, expected):
    iss = make_iss([insn], regs)
    iss.memory.write(0x800, bytes([1, 2, 3, 4, 0xF5, 0xF6, 0xF7, 0xF8]))
    iss.run(100)
    assert iss.halted and iss.reg(10) == expected


@pytest.mark.parametrize(
    "insn,t0,address",
    [
        (load("lh", "a0", "t0", 0), 0x1000, 0x1000),
        (load("lhu", "a0", "t0", 0), 0xFFFFFFFE, 0xFFFFFFFE),
        (load("lw", "a0", "t0", -4), 0, 0xFFFFFFFC),  # below the base
        (store("sh", "a0", "t0", 0), 0x1000, 0x1000),
        (store("sb", "a0", "t0", -1), 0, 0xFFFFFFFF),
    ],
)
def test_out_of_range_halfwords_and_wrapping_offsets(insn, t0, address):
    iss = make_iss([insn], {"t0": t0})
    with pytest.raises(riscv.AccessFault, match=r"outside memory.*pc 0x00000000") as info:
        iss.run()
    assert info.value.address == address and iss.pc == 0 and iss.instret == 0


def test_every_access_width_at_a_nonzero_base():
    base = 0x2000_0000
    words = [
        store("sw", "a1", "t0", 0x100),
        store("sh", "a2", "t0", 0x104),
        store("sb", "a3", "t0", 0x107),
        load("lw", "a4", "t0", 0x104),
        load("lh", "a5", "t0", 0x102),
        load("lhu", "a6", "t0", 0x102),
        load("lb", "a7", "t0", 0x103),
        load("lbu", "x18", "t0", 0x107),
    ]
    regs = {"t0": base, "a1": 0x89ABCDEF, "a2": 0x1234, "a3": 0x99}
    iss = run(words, regs, base=base)
    assert iss.memory.read(base + 0x100, 8) == bytes([0xEF, 0xCD, 0xAB, 0x89, 0x34, 0x12, 0, 0x99])
    # a4..a7, x18: lw, lh, lhu, lb, lbu
    assert iss.regs[14:19] == [0x99001234, 0xFFFF89AB, 0x89AB, 0xFFFFFF89, 0x99]


def test_jumps_at_a_nonzero_base():
    base = 0x1000_0000
    # JALR to the last word of memory is fine; one word further is outside
    iss = make_iss([jalr("ra", "t0", -4)], {"t0": base + 0x1000}, base=base)
    iss.memory.write_u32(base + 0xFFC, EBREAK)
    iss.run()
    assert iss.halt_reason == "ebreak" and iss.reg(1) == base + 4 and iss.pc == base + 0xFFC
    iss = make_iss([jalr("ra", "t0", 0)], {"t0": base + 0x1000}, base=base)
    with pytest.raises(riscv.AccessFault, match=r"0x10001000.*pc 0x10000000"):
        iss.run()
    iss = make_iss([jalr("ra", "t0", -4)], {"t0": base}, base=base)
    with pytest.raises(riscv.AccessFault, match=r"0x0ffffffc"):
        iss.run()
    iss = run([jal("ra", 8), EBREAK, auipc("a0", 1)], base=base)
    assert iss.reg(1) == base + 4 and iss.reg(10) == base + 8 + 0x1000


def test_lui_and_auipc_wrap_and_keep_the_low_bits_zero():
    iss = run([lui("a0", 0xFFFFF), auipc("a1", 0x80000), lui("a2", 0)], {"a2": 7})
    assert iss.reg(10) == 0xFFFFF000
    assert iss.reg(11) == 0x80000004
    assert iss.reg(12) == 0


def test_fence_variants_and_fence_i_flush_only_the_cache():
    fence_rw = 0x0330000F  # fence rw, rw
    fence_tso = 0x8330000F  # fence.tso
    iss = run([fence_rw, fence_tso, FENCE_I, i_op("addi", "a0", "zero", 3)])
    assert iss.reg(10) == 3 and iss.instret == 5


@pytest.mark.parametrize(
    "word",
    [
        enc_i(0x03, 7, "a0", "a0", 0),  # load funct3 7
        enc_s(4, "a0", "a1", 0),  # store funct3 4
        enc_s(7, "a0", "a1", 0),  # store funct3 7
        enc_b(3, "a0", "a1", 8),  # branch funct3 3
        enc_r(0x33, 0, 0x21, "a0", "a0", "a1"),  # OP funct7 0x21 (neither base nor M)
        enc_r(0x33, 7, 0x20, "a0", "a0", "a1"),  # AND with funct7 0x20
        enc_r(0x33, 4, 0x40, "a0", "a0", "a1"),  # OP funct7 0x40
        enc_r(0x13, 1, 0x20, "a0", "a0", 1),  # SLLI with funct7 0x20
        enc_r(0x13, 5, 0x01, "a0", "a0", 1),  # SRLI with shamt[5] set
        0x000000F3,  # ECALL with rd = 1
        0x00108073,  # EBREAK with rs1 = 1
        0x00200073,  # URET
        0x10500073,  # WFI
        enc_i(0x0F, 7, 0, 0, 0),  # MISC-MEM funct3 7
        enc_r(0x5B, 0, 0, "a0", "a0", "a1"),  # custom-2
        enc_r(0x07, 2, 0, "a0", "a0", 0),  # FLW (no F extension)
        0x0000_0002,  # compressed quadrant 2
        0x0000_0001,  # compressed quadrant 1 (c.nop)
    ],
)
def test_more_illegal_instructions(word):
    iss = make_iss([word])
    with pytest.raises(riscv.IllegalInstruction) as info:
        iss.run()
    assert info.value.pc == 0 and info.value.word == word and iss.instret == 0


def test_illegal_messages_name_the_reason():
    with pytest.raises(riscv.IllegalInstruction, match="compressed"):
        make_iss([0x4501]).run()
    with pytest.raises(riscv.IllegalInstruction, match="only ECALL, EBREAK and csrr"):
        make_iss([0x10500073]).run()
    with pytest.raises(riscv.IllegalInstruction, match=r"^illegal instruction at pc"):
        make_iss([enc_b(2, "a0", "a1", 8)]).run()


def _csrr(rd: int, csr: int) -> int:
    return (csr << 20) | (2 << 12) | (rd << 7) | 0x73


def test_counter_csrs_count_the_instructions_before_them():
    """rdinstret / rdcycle / rdtime (the firmware's per-op counts): instructions retired
    before the read, across run() calls and deferred runs; upper halves 0."""
    words = [NOP, NOP, _csrr(10, 0xC02), _csrr(11, 0xC00), _csrr(12, 0xC01), _csrr(13, 0xC82)]
    iss = make_iss([*words, _csrr(14, 0xC02), EBREAK])
    iss.run(max_instructions=4)
    assert iss.instret == 4 and iss.reg(10) == 2 and iss.reg(11) == 3
    assert iss.run_until_custom() is None
    assert [iss.reg(r) for r in (12, 13, 14)] == [4, 0, 6]
    assert iss.halted and iss.instret == 8


def test_custom_instruction_any_funct3_and_fields_bound_at_decode():
    backend = RecordingBackend()
    words = [custom0(f3, f3 * 3, "a0", "a1", "a2") for f3 in range(8)]
    iss = run(words * 2, {"a1": 1, "a2": 2}, backend=backend)  # decoded once, run once each
    assert [c[0] for c in backend.calls] == [(f3 * 3 << 3) | f3 for f3 in range(8)] * 2
    assert iss.custom_count == 16 and iss.reg(10) == u32(-16)


def test_a_decoded_loop_sums_with_every_alu_family():
    # sum_{i=1..10} (i*i) ^ (i << 2), computed by a loop that reuses its decoded closures
    words = [
        i_op("addi", "t0", "zero", 1),  # 0: i = 1
        i_op("addi", "t1", "zero", 11),  # 4: limit
        r_op("mul", "t2", "t0", "t0"),  # 8: i*i
        shift_imm("slli", "x28", "t0", 2),  # 12: i << 2
        r_op("xor", "t2", "t2", "x28"),  # 16
        r_op("add", "a0", "a0", "t2"),  # 20
        i_op("addi", "t0", "t0", 1),  # 24
        branch("blt", "t0", "t1", -20),  # 28: -> 8
    ]
    iss = run(words)
    assert iss.reg(10) == sum((i * i) ^ (i << 2) for i in range(1, 11))
    assert iss.instret == 2 + 10 * 6 + 1


# --- CSRs and VexRiscv's cache flush (the SoC start-up code) --------------------------------


def csr(funct3, rd, rs1_or_zimm, number):
    return enc_i(0x73, funct3, rd, rs1_or_zimm, 0) | (number << 20)


def test_csr_instructions_are_plain_storage():
    """CSRRW/S/C and the immediate forms on CSR 0xBC0 (VexRiscv's CFU enable) and mtvec:
    old value to rd, then write / set / clear; x0 as rd still writes the CSR."""
    words = [
        csr(1, 0, "a0", 0x305),  # csrw mtvec, a0
        csr(2, "a2", "a1", 0xBC0),  # csrrs a2, 0xbc0, a1 (old 0)
        csr(2, "a3", 0, 0xBC0),  # csrr a3, 0xbc0
        csr(7, "a4", 3, 0xBC0),  # csrrci a4, 0xbc0, 3
        csr(5, "a5", 9, 0x340),  # csrrwi a5, mscratch, 9
        csr(3, "a6", "a1", 0xBC0),  # csrrc a6, 0xbc0, a1
        csr(6, "a7", 16, 0x340),  # csrrsi a7, mscratch, 16
    ]
    iss = run(words, {"a0": 0x1234, "a1": 0x8000_0007})
    assert iss.csrs == {0x305: 0x1234, 0xBC0: 0, 0x340: 25}
    assert [iss.reg(r) for r in range(12, 18)] == [0, 0x8000_0007, 0x8000_0007, 0, 0x8000_0004, 9]
    iss.reset()
    assert iss.csrs == {}


@pytest.mark.parametrize(
    "word",
    [csr(2, "a0", 0, n) for n in (0xB00, 0xB02, 0xB82, 0xB03)]  # csrr of machine counters
    + [csr(1, 0, "a0", 0xC02), csr(6, "a0", 1, 0xC00), csr(2, "a0", "a1", 0xC81)],  # writes
)
def test_machine_counters_and_counter_writes_are_illegal(word):
    with pytest.raises(riscv.IllegalInstruction, match="counter CSRs are read-only"):
        run([word])


def test_vexriscv_dcache_flush_is_a_no_op():
    iss = run([0x0000500F, enc_i(0x0F, 5, "a1", "a2", 0), NOP])  # rs1/rd fields ignored
    assert iss.instret == 4 and iss.pc == 12  # stopped at the EBREAK
