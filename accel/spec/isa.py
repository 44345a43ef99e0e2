"""The accelerator's instruction set: the one table everything else is generated from.

The control port is a RISC-V custom-instruction port with the CFU interface. An R-type
instruction on opcode custom-0 (0x0B) carries ``function_id = {funct7, funct3}``
(funct3 in bits [2:0]); ``rs1`` arrives as ``inputs_0``, ``rs2`` as ``inputs_1`` and the
response ``outputs_0`` is written to ``rd``. Every command answers, including unknown ones.

``funct3`` selects the instruction group, ``funct7`` the register/counter/operation:

=========  ===================  =============================================================
funct3     group                funct7
=========  ===================  =============================================================
0          ``SET``              descriptor register index; rs1 = value; rd = 0
1          ``GET``              descriptor register index; rd = value
2          ``CTRL``             operation (START, WAIT, STATUS, CLEAR)
3          ``COUNTER``          performance counter index; rd = value (low 32 bits)
4          ``INFO``             hardware parameter index; rd = value
=========  ===================  =============================================================

The Verilog (through :mod:`accel.hw.control`), the JSON manifest, ``firmware/include/accel.h``
and ``docs/isa.md`` are all generated from the tables in this module.
"""

from __future__ import annotations

from dataclasses import dataclass

OPCODE_CUSTOM0 = 0x0B
FUNCT3_BITS = 3
FUNCT7_BITS = 7
FUNCTION_ID_BITS = FUNCT3_BITS + FUNCT7_BITS


@dataclass(frozen=True)
class Entry:
    """One row of a table: a name, its number (funct7, bit or code) and its documentation."""

    name: str
    index: int
    doc: str


@dataclass(frozen=True)
class Group:
    name: str
    funct3: int
    doc: str


GROUPS = (
    Group("SET", 0, "write descriptor register funct7 with rs1; returns 0"),
    Group("GET", 1, "read descriptor register funct7"),
    Group("CTRL", 2, "control operation funct7 (see CONTROL_OPS)"),
    Group("COUNTER", 3, "read performance counter funct7 (32 bits)"),
    Group("INFO", 4, "read hardware parameter funct7"),
)
GROUP = {g.name: g for g in GROUPS}


@dataclass(frozen=True)
class Register:
    """One descriptor field: ``index`` is its funct7 in SET/GET."""

    name: str
    index: int
    width: int
    doc: str
    signed: bool = False


# The layer descriptor. Shapes use the letters of Sze et al. (see accel.ref.loopnest).
REGISTERS = (
    Register("N", 0, 16, "batch size"),
    Register("H", 1, 16, "input height"),
    Register("W", 2, 16, "input width"),
    Register("C", 3, 16, "input channels"),
    Register("M", 4, 16, "output channels (filters)"),
    Register("R", 5, 8, "filter height"),
    Register("S", 6, 8, "filter width"),
    Register("E", 7, 16, "output height (before pooling)"),
    Register("F", 8, 16, "output width (before pooling)"),
    Register("U", 9, 4, "stride"),
    Register("P", 10, 4, "top padding rows (bottom padding follows from E)"),
    Register("IN_ADDR", 11, 32, "input activations, int8 NHWC, any byte address"),
    Register("W_ADDR", 12, 32, "packed weight tiles (see docs/architecture.md), bus-aligned"),
    Register("PARAM_ADDR", 13, 32, "packed per-channel bias/multiplier/shift, bus-aligned"),
    Register("OUT_ADDR", 14, 32, "output activations, int8 NHWC, any byte address"),
    Register("IN_ZP", 15, 8, "input zero point (value of padded pixels)", signed=True),
    Register("OUT_ZP", 16, 8, "output zero point", signed=True),
    Register("ACT_MIN", 17, 8, "clamp minimum (ReLU: = OUT_ZP)", signed=True),
    Register("ACT_MAX", 18, 8, "clamp maximum", signed=True),
    Register("POOL", 19, 1, "1: fused 2x2 max-pool (stride 2, floor) after requantization"),
    Register("BAND", 20, 16, "output rows per pixel tile (even when POOL=1)"),
    Register(
        "PL",
        21,
        8,
        "left padding columns, right padding follows from F (< 0: columns skipped)",
        signed=True,
    ),
    Register("IN_ROW_PITCH", 22, 32, "bytes between input rows (W*C: rows are contiguous)"),
    Register("OUT_ROW_PITCH", 23, 32, "bytes between output rows (F_out*M: contiguous)"),
    Register("OUT_PIX_PITCH", 24, 16, "bytes between output pixels (M: contiguous)"),
    Register(
        "ACC", 25, 2, "bit 0: add to the sums in the accumulators, bit 1: keep the sums, no output"
    ),
    Register(
        "IN_PIX_PITCH",
        26,
        16,
        "bytes between input pixels (0 or C: contiguous, else pixel mode: C of its channels)",
    ),
)
REGISTER = {r.name: r for r in REGISTERS}


class ControlOp(Entry):
    pass


CONTROL_OPS = (
    ControlOp("START", 0, "validate the descriptor and start the layer; returns STATUS"),
    ControlOp("WAIT", 1, "answer only when the accelerator is idle; returns STATUS"),
    ControlOp("STATUS", 2, "returns STATUS without waiting"),
    ControlOp("CLEAR", 3, "clear error bits and performance counters; returns 0"),
    ControlOp("CONTINUE", 4, "START the next descriptor of a layer: counters keep counting"),
)
CONTROL_OP = {op.name: op for op in CONTROL_OPS}


class StatusBit(Entry):
    @property
    def bit(self) -> int:
        return self.index


STATUS_BITS = (
    StatusBit("BUSY", 0, "a layer is running"),
    StatusBit("DONE", 1, "the last started layer finished (cleared by START)"),
    StatusBit("ERR_UNKNOWN", 2, "an unknown function id or register index was received"),
    StatusBit("ERR_DESCRIPTOR", 3, "START rejected: invalid descriptor (see ERR_CODE)"),
    StatusBit("ERR_BUSY", 4, "START or SET received while busy (ignored)"),
    StatusBit("ERR_BUS", 5, "the AXI slave answered SLVERR/DECERR"),
)
STATUS_BIT = {s.name: s for s in STATUS_BITS}
ERROR_MASK = sum(1 << s.bit for s in STATUS_BITS if s.name.startswith("ERR_"))
ERR_CODE_SHIFT = 8  # STATUS[15:8]: code of the first descriptor check that failed


class DescriptorCheck(Entry):
    @property
    def code(self) -> int:
        return self.index


DESCRIPTOR_CHECKS = (
    DescriptorCheck("ZERO_SIZE", 1, "N, H, W, C, M, R, S, E, F, U or BAND is zero"),
    DescriptorCheck(
        "SHAPE", 2, "a first or last window lies wholly in padding or past a skipped output"
    ),
    DescriptorCheck(
        "ALIGN",
        3,
        "W_ADDR, PARAM_ADDR (or in row mode IN_ROW_PITCH, in pixel mode also IN_PIX_PITCH) "
        "not bus-aligned",
    ),
    DescriptorCheck("CLAMP", 4, "ACT_MIN > ACT_MAX"),
    DescriptorCheck("POOL", 5, "POOL with E < 2 or F < 2, or odd BAND"),
    DescriptorCheck("PITCH", 9, "a pitch is smaller than the row or pixel it steps over"),
    DescriptorCheck("ACCUMULATE", 10, "ACC set with N > 1 or a band shorter than the layer"),
    DescriptorCheck("INPUT_BUFFER", 6, "the input rows of one band do not fit the input buffer"),
    DescriptorCheck("ACC_BUFFER", 7, "BAND*F*ceil(M/COLS) exceeds the accumulator buffer"),
    DescriptorCheck("PARAM_BUFFER", 8, "ceil(M/COLS) exceeds the parameter buffer"),
)
DESCRIPTOR_CHECK = {c.name: c for c in DESCRIPTOR_CHECKS}


class Counter(Entry):
    pass


COUNTERS = (
    Counter("CYCLES", 0, "cycles from START to done"),
    Counter("MAC_CYCLES", 1, "cycles in which the array accepted an input vector"),
    Counter("DMA_READ_BYTES", 2, "bytes read from main memory (whole beats)"),
    Counter("DMA_WRITE_BYTES", 3, "bytes written to main memory (strobed bytes)"),
    Counter("STALL_CYCLES", 4, "cycles the array waited for weights or input data"),
)
COUNTER = {c.name: c for c in COUNTERS}


class Info(Entry):
    pass


INFO = (
    Info("VERSION", 0, "ISA version"),
    Info("ROWS", 1, "MAC array rows (reduction K per cycle)"),
    Info("COLS", 2, "MAC array columns (output channels per cycle)"),
    Info("BUS_BYTES", 3, "AXI data bus width in bytes"),
    Info("IN_BYTES", 4, "input buffer capacity per bank, bytes"),
    Info("ACC_DEPTH", 5, "accumulator entries per half (COLS int32 each)"),
    Info("PARAM_DEPTH", 6, "parameter buffer entries (output-channel tiles)"),
)
INFO_ITEM = {i.name: i for i in INFO}

ISA_VERSION = 3  # v3: IN_PIX_PITCH (v2: pitches, PL, ACC, CONTINUE)


def info_values(config) -> dict[str, int]:
    """Values of the INFO items for an :class:`~accel.spec.config.AccelConfig`."""
    return {
        "VERSION": ISA_VERSION,
        "ROWS": config.rows,
        "COLS": config.cols,
        "BUS_BYTES": config.bus_bytes,
        "IN_BYTES": config.in_bytes,
        "ACC_DEPTH": config.acc_depth,
        "PARAM_DEPTH": config.param_depth,
    }


def function_id(group: str, funct7: int) -> int:
    """The 10-bit CFU function id ``{funct7, funct3}`` of an instruction."""
    if not 0 <= funct7 < 1 << FUNCT7_BITS:
        raise ValueError(f"funct7 must be in 0..127, not {funct7}")
    return (funct7 << FUNCT3_BITS) | GROUP[group].funct3


def instructions() -> list[dict]:
    """Every defined instruction: name, group, funct3, funct7, function_id, doc."""
    rows = []
    for reg in REGISTERS:
        rows.append(("SET_" + reg.name, "SET", reg.index, f"write {reg.name}: {reg.doc}"))
        rows.append(("GET_" + reg.name, "GET", reg.index, f"read {reg.name}"))
    for op in CONTROL_OPS:
        rows.append((op.name, "CTRL", op.index, op.doc))
    for ctr in COUNTERS:
        rows.append(("COUNTER_" + ctr.name, "COUNTER", ctr.index, ctr.doc))
    for info in INFO:
        rows.append(("INFO_" + info.name, "INFO", info.index, info.doc))
    return [
        {
            "name": name,
            "group": group,
            "funct3": GROUP[group].funct3,
            "funct7": funct7,
            "function_id": function_id(group, funct7),
            "doc": doc,
        }
        for name, group, funct7, doc in rows
    ]


def _check_table() -> None:
    for table in (REGISTERS, CONTROL_OPS, COUNTERS, INFO):
        indices = [item.index for item in table]
        if len(set(indices)) != len(indices) or max(indices) >= 1 << FUNCT7_BITS:
            raise AssertionError(f"duplicate or out-of-range index in {table}")


_check_table()
