"""Weight-stationary systolic MAC array (the ``k``-by-``m`` inner loops of the loop nest).

Row ``i`` of the array is one reduction index ``k`` (one element of an im2col column, i.e. one
``(c, r, s)``), column ``j`` is one output channel ``m``. Processing element ``PE(i, j)`` holds
the weight ``w[k=i][m=j]``; an input vector ``x[0..rows)`` (one output pixel) yields the output
vector ``y[j] = sum_i x[i] * w[i][j]`` (int32, wrapping).
"""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from accel.hw.pe import ProcessingElement
from accel.spec import timing

__all__ = ["SystolicArray"]

MAX_DIM = 64


def _check_dim(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DIM:
        raise ValueError(f"Array {name} must be an integer between 1 and {MAX_DIM}, not {value!r}")


class SystolicArray(wiring.Component):
    """``rows`` × ``cols`` weight-stationary systolic array of int8 MACs with two weight banks.

    Seen from outside it is a fixed-latency pipeline with no back-pressure: it accepts one
    input vector in every cycle in which ``in_valid`` is high, and presents the matching output
    vector for exactly one cycle, ``latency`` cycles later. Cycles with ``in_valid`` low produce
    no output. Internally the input vector is skewed (row ``i`` is delayed ``i`` cycles), moves
    right one PE per cycle while partial sums move down one PE per cycle, and the column results
    are de-skewed, so that all ``cols`` results of a vector appear together. Every PE output is
    a register and the inputs are registered on entry; there is no adder tree.

    Parameters
    ----------
    rows : int
        Number of rows (reduction length ``K`` of one tile), 1..64.
    cols : int
        Number of columns (output channels ``M`` of one tile), 1..64.
    tag_width : int
        Width of the opaque tag carried alongside each vector (0: no tag ports).
    logic_mul_cols : int
        The last ``logic_mul_cols`` columns multiply in logic
        (:func:`accel.hw.lutmul.booth_product`), the others with DSP blocks.

    Attributes
    ----------
    latency : int
        ``rows + cols + PE_MUL_STAGES`` (:func:`accel.spec.timing.array_latency`: the
        systolic skew plus the PE's multiplier pipeline). A vector accepted in cycle ``t``
        (``in_valid`` high) has its result on ``out_data`` with ``out_valid`` high in cycle
        ``t + latency``.
    bank_reuse_delay : int
        ``rows + cols - 1``. If the last vector issued with bank ``b`` is accepted in cycle
        ``t``, bank ``b`` may be reloaded in cycle ``t + bank_reuse_delay`` or later without
        changing that vector's result. (A reload one cycle earlier changes the weight used by
        ``PE(rows-1, cols-1)`` for it; in general a reload in cycle ``t + d`` changes the weights
        of the PEs with ``i + j >= d``.)
    load_to_use_delay : int
        ``0``. A tile loaded into bank ``b`` in cycle ``t`` is used, in every PE, by all vectors
        issued with bank ``b`` and accepted in cycle ``t + load_to_use_delay`` or later (so a
        vector may be issued in the same cycle as the load of its bank, and of course in any
        later cycle). Vectors accepted in cycle ``t - bank_reuse_delay`` or earlier never see it.

    A bank therefore turns around in ``bank_reuse_delay + load_to_use_delay`` cycles: last vector
    of the old tile in cycle ``t``, load in cycle ``t + bank_reuse_delay``, first vector of the
    new tile in the same cycle as the load. Vectors using the other bank may be issued in every
    cycle meanwhile; bank switches never drain the pipeline.

    Ports
    -----
    load_valid : In(1)
        Load ``load_weights`` into bank ``load_bank`` of every PE at the end of this cycle.
    load_bank : In(1)
        Bank to load; meaningful when ``load_valid`` is high.
    load_weights : In(ArrayLayout(signed(8), rows * cols))
        Weight tile; element ``i * cols + j`` goes to ``PE(i, j)`` (``k = i``, ``m = j``).
    in_valid : In(1)
        Accept an input vector this cycle.
    in_bank : In(1)
        Weight bank this vector is multiplied with; travels with the vector.
    in_data : In(ArrayLayout(signed(8), rows))
        Input vector; element ``i`` enters row ``i``.
    in_tag : In(tag_width)
        Only if ``tag_width > 0``: opaque value returned on ``out_tag`` with the result.
    out_valid : Out(1)
        ``out_data``/``out_tag`` hold a result this cycle (high for one cycle per vector).
    out_data : Out(ArrayLayout(signed(32), cols))
        Element ``j`` is ``sum_i in_data[i] * w_bank[i * cols + j]`` modulo 2**32 (signed).
    out_tag : Out(tag_width)
        Only if ``tag_width > 0``: ``in_tag`` of the vector, delayed by ``latency``.
    """

    def __init__(self, rows: int, cols: int, tag_width: int = 0, logic_mul_cols: int = 0):
        _check_dim("rows", rows)
        _check_dim("cols", cols)
        if not isinstance(tag_width, int) or isinstance(tag_width, bool) or tag_width < 0:
            raise ValueError(f"Tag width must be a non-negative integer, not {tag_width!r}")
        self.rows = rows
        self.cols = cols
        self.tag_width = tag_width
        if not isinstance(logic_mul_cols, int) or not 0 <= logic_mul_cols <= cols:
            raise ValueError(
                f"Logic multiplier columns must be in 0..{cols}, not {logic_mul_cols!r}"
            )
        self.logic_mul_cols = logic_mul_cols
        self.latency = timing.array_latency(rows, cols)
        self.bank_reuse_delay = timing.bank_reuse_delay(rows, cols)
        self.load_to_use_delay = 0

        members = {
            "load_valid": In(1),
            "load_bank": In(1),
            "load_weights": In(data.ArrayLayout(signed(8), rows * cols)),
            "in_valid": In(1),
            "in_bank": In(1),
            "in_data": In(data.ArrayLayout(signed(8), rows)),
            "out_valid": Out(1),
            "out_data": Out(data.ArrayLayout(signed(32), cols)),
        }
        if tag_width > 0:
            members["in_tag"] = In(tag_width)
            members["out_tag"] = Out(tag_width)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        rows, cols = self.rows, self.cols

        # Input skew. Stage i of the valid/bank line and the last stage of row i's data line
        # are the vector's state i + 1 cycles after it was accepted: what row i's first PE sees.
        valid_line = [Signal(name=f"skew_valid_{i}") for i in range(rows)]
        bank_line = [Signal(name=f"skew_bank_{i}") for i in range(rows)]
        m.d.sync += [valid_line[0].eq(self.in_valid), bank_line[0].eq(self.in_bank)]
        for i in range(1, rows):
            m.d.sync += [valid_line[i].eq(valid_line[i - 1]), bank_line[i].eq(bank_line[i - 1])]

        row_x = []
        for i in range(rows):
            stages = [Signal(signed(8), name=f"skew_x_{i}_{s}") for s in range(i + 1)]
            m.d.sync += stages[0].eq(self.in_data[i])
            for s in range(1, i + 1):
                m.d.sync += stages[s].eq(stages[s - 1])
            row_x.append(stages[-1])

        # PE grid: x/valid/bank move right, partial sums move down.
        dsp_cols = cols - self.logic_mul_cols
        pes = [[ProcessingElement(dsp=j < dsp_cols) for j in range(cols)] for _ in range(rows)]
        for i in range(rows):
            for j in range(cols):
                pe = pes[i][j]
                m.submodules[f"pe_{i}_{j}"] = pe
                if j == 0:
                    m.d.comb += [
                        pe.x_in.eq(row_x[i]),
                        pe.x_valid.eq(valid_line[i]),
                        pe.bank_in.eq(bank_line[i]),
                    ]
                else:
                    left = pes[i][j - 1]
                    m.d.comb += [
                        pe.x_in.eq(left.x_out),
                        pe.x_valid.eq(left.valid_out),
                        pe.bank_in.eq(left.bank_out),
                    ]
                m.d.comb += pe.psum_in.eq(0 if i == 0 else pes[i - 1][j].psum_out)
                m.d.comb += [
                    pe.load.eq(self.load_valid),
                    pe.load_bank.eq(self.load_bank),
                    pe.load_weight.eq(self.load_weights[i * cols + j]),
                ]

        # Output de-skew: column j leaves the bottom j cycles before column cols-1.
        for j in range(cols):
            value = pes[rows - 1][j].psum_out
            for s in range(cols - 1 - j):
                stage = Signal(signed(32), name=f"deskew_{j}_{s}")
                m.d.sync += stage.eq(value)
                value = stage
            m.d.comb += self.out_data[j].eq(value)
        # The last PE's valid has been delayed rows + cols cycles; its sum comes
        # PE_MUL_STAGES cycles after it.
        valid = pes[rows - 1][cols - 1].valid_out
        for s in range(self.latency - rows - cols):
            stage = Signal(name=f"out_valid_{s}")
            m.d.sync += stage.eq(valid)
            valid = stage
        m.d.comb += self.out_valid.eq(valid)

        if self.tag_width > 0:
            value = self.in_tag
            for s in range(self.latency):
                stage = Signal(self.tag_width, name=f"tag_{s}")
                m.d.sync += stage.eq(value)
                value = stage
            m.d.comb += self.out_tag.eq(value)

        return m
