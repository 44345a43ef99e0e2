# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.array.SystolicArray against NumPy matrix products."""

import random

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from accel.hw.array import SystolicArray

SHAPES = [(1, 1), (3, 5), (4, 4), (8, 8)]
TAG_WIDTH = 7
MUL_STAGES = 2  # the PE's documented multiplier pipeline, independent of accel.spec.timing


def wrap32(values: np.ndarray) -> np.ndarray:
    return (values.astype(np.int64) + 2**31) % 2**32 - 2**31


def golden(x: list[int], tile: list[int], rows: int, cols: int) -> list[int]:
    """``x @ W`` with ``W[k, m] = tile[k * cols + m]``, in int64, wrapped to int32."""
    w = np.array(tile, dtype=np.int64).reshape(rows, cols)
    return wrap32(np.array(x, dtype=np.int64) @ w).tolist()


def random_int8(rng: random.Random, n: int) -> list[int]:
    return [rng.randrange(-128, 128) for _ in range(n)]


class Schedule:
    """What to put on the array's ports in each cycle; cycles without an event idle."""

    def __init__(self):
        self.loads: dict[int, tuple[int, list[int]]] = {}
        self.vectors: dict[int, tuple[int, list[int], int]] = {}

    def load(self, cycle: int, bank: int, tile: list[int]) -> None:
        assert cycle not in self.loads
        self.loads[cycle] = (bank, tile)

    def vector(self, cycle: int, bank: int, x: list[int], tag: int = 0) -> None:
        assert cycle not in self.vectors
        self.vectors[cycle] = (bank, x, tag)

    @property
    def end(self) -> int:
        return max([*self.loads, *self.vectors]) + 1


def simulate(dut: SystolicArray, sched: Schedule, seed: int = 0) -> list[tuple[int, list, int]]:
    """Run ``sched``; return ``(cycle, out_data, out_tag)`` for every cycle with ``out_valid``.

    Idle ports carry random garbage so that a missing ``*_valid`` gate would show.
    """
    rng = random.Random(seed)
    n_cycles = sched.end + dut.latency + 4
    outputs = []

    async def driver(ctx):
        for cycle in range(n_cycles):
            bank, tile = sched.loads.get(cycle, (rng.randrange(2), None))
            ctx.set(dut.load_valid, tile is not None)
            ctx.set(dut.load_bank, bank)
            ctx.set(dut.load_weights, tile or random_int8(rng, dut.rows * dut.cols))
            bank, x, tag = sched.vectors.get(cycle, (rng.randrange(2), None, 0))
            ctx.set(dut.in_valid, x is not None)
            ctx.set(dut.in_bank, bank)
            ctx.set(dut.in_data, x or random_int8(rng, dut.rows))
            if dut.tag_width:
                ctx.set(dut.in_tag, tag if x is not None else rng.randrange(2**dut.tag_width))
            await ctx.tick()

    async def monitor(ctx):
        for cycle in range(n_cycles):
            if ctx.get(dut.out_valid):
                out = ctx.get(dut.out_data)
                tag = ctx.get(dut.out_tag) if dut.tag_width else 0
                outputs.append((cycle, [out[j] for j in range(dut.cols)], tag))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(driver)
    sim.add_testbench(monitor)
    sim.run()
    return outputs


def expected_outputs(dut: SystolicArray, sched: Schedule, latency: int) -> list:
    """Golden outputs, tracking which tile each bank holds at each vector's issue cycle.

    Only valid for schedules that obey the bank rule (the tile a vector sees is the last one
    loaded into its bank in a cycle <= its issue cycle, as the rule allows).
    """
    banks: dict[int, list[int]] = {}
    expected = []
    for cycle in range(sched.end):
        if cycle in sched.loads:
            bank, tile = sched.loads[cycle]
            banks[bank] = tile
        if cycle in sched.vectors:
            bank, x, tag = sched.vectors[cycle]
            expected.append((cycle + latency, golden(x, banks[bank], dut.rows, dut.cols), tag))
    return expected


@pytest.mark.parametrize(("rows", "cols"), SHAPES)
def test_random_stream_with_gaps(rows, cols):
    rng = random.Random(rows * 100 + cols)
    dut = SystolicArray(rows, cols, tag_width=TAG_WIDTH)
    sched = Schedule()
    sched.load(0, 0, random_int8(rng, rows * cols))
    sched.load(1, 1, random_int8(rng, rows * cols))
    cycle = 2
    n_vectors = 150 if rows * cols <= 16 else 100
    for _ in range(n_vectors):
        cycle += rng.choice([0, 0, 0, 1, 2])  # random gaps with in_valid low
        sched.vector(cycle, rng.randrange(2), random_int8(rng, rows), rng.randrange(2**TAG_WIDTH))
        cycle += 1
    # The observed delay must be the documented latency; expected_outputs uses an independent
    # constant so that a wrong dut.latency fails the comparison below.
    assert dut.latency == rows + cols + MUL_STAGES
    outputs = simulate(dut, sched, seed=rows + cols)
    expected = expected_outputs(dut, sched, latency=rows + cols + MUL_STAGES)
    assert len(outputs) == n_vectors
    assert outputs == expected
    first_in = min(sched.vectors)
    assert outputs[0][0] - first_in == dut.latency


@pytest.mark.parametrize(("rows", "cols"), SHAPES)
@pytest.mark.parametrize("logic", [False, True], ids=["dsp", "logic_cols"])
def test_extreme_values(rows, cols, logic):
    dut = SystolicArray(rows, cols, logic_mul_cols=(cols + 1) // 2 if logic else 0)
    sched = Schedule()
    sched.load(0, 0, [-128] * (rows * cols))
    sched.load(1, 1, [127] * (rows * cols))
    sched.vector(1, 0, [-128] * rows)
    sched.vector(2, 1, [-128] * rows)
    sched.vector(3, 0, [127] * rows)
    sched.vector(4, 1, [127, -128] * (rows // 2) + [127] * (rows % 2))
    outputs = simulate(dut, sched)
    assert [o[1] for o in outputs] == [
        [16384 * rows] * cols,
        [-16256 * rows] * cols,
        [-16256 * rows] * cols,
        [127 * (127 * (rows - rows // 2) - 128 * (rows // 2))] * cols,
    ]


def test_no_output_without_valid():
    dut = SystolicArray(3, 5, tag_width=TAG_WIDTH)
    sched = Schedule()
    sched.load(0, 0, [1] * 15)
    sched.load(1, 1, [-1] * 15)
    sched.load(40, 0, [2] * 15)  # only garbage on in_* for 40 cycles
    assert simulate(dut, sched, seed=7) == []


def tile_sequence(dut: SystolicArray, sizes: list[int], rng: random.Random, gaps: bool) -> Schedule:
    """The integrator's schedule: tile t in bank t % 2, each bank reloaded as early as allowed.

    Tile t (t >= 2) is loaded ``bank_reuse_delay`` cycles after the last vector of tile t - 2
    (the previous user of its bank), and its vectors start right after those of tile t - 1, but
    not before the load cycle + ``load_to_use_delay``.
    """
    rows, cols = dut.rows, dut.cols
    sched = Schedule()
    load_cycles: list[int] = []
    last_vectors: list[int] = []
    for t, n in enumerate(sizes):
        if t < 2:
            load_cycle = t
        else:
            load_cycle = max(last_vectors[t - 2] + dut.bank_reuse_delay, load_cycles[-1] + 1)
        sched.load(load_cycle, t % 2, random_int8(rng, rows * cols))
        load_cycles.append(load_cycle)
        cycle = load_cycle + dut.load_to_use_delay
        if last_vectors:
            cycle = max(cycle, last_vectors[-1] + 1)
        for _ in range(n):
            if gaps:
                cycle += rng.choice([0, 0, 1])
            sched.vector(cycle, t % 2, random_int8(rng, rows), t % 2**TAG_WIDTH)
            cycle += 1
        last_vectors.append(cycle - 1)
    return sched


@pytest.mark.parametrize(("rows", "cols"), SHAPES)
@pytest.mark.parametrize("gaps", [False, True], ids=["dense", "gaps"])
def test_back_to_back_tile_switching(rows, cols, gaps):
    rng = random.Random(rows * 1000 + cols * 10 + gaps)
    # With gaps, the right half of the columns multiplies in logic (same results and timing).
    logic_cols = cols // 2 if gaps else 0
    dut = SystolicArray(rows, cols, tag_width=TAG_WIDTH, logic_mul_cols=logic_cols)
    # Single-vector tiles (fully connected layers at batch 1) mixed with longer ones.
    sizes = [1, 1, 1, 3, 1, 2 * (rows + cols), 1, 1, 5, 1, 1, 1, rows + cols - 1, 2, 1, 1]
    sched = tile_sequence(dut, sizes, rng, gaps)
    outputs = simulate(dut, sched, seed=3)
    assert outputs == expected_outputs(dut, sched, latency=rows + cols + MUL_STAGES)
    assert len(outputs) == sum(sizes)


def reload_experiment(rows: int, cols: int, delay: int):
    """Vector ``x`` on bank 0 (tile A) in cycle 2, bank 0 reloaded with tile C in 2 + delay.

    Also issues ``x`` on bank 1 (tile B) in every cycle between, and ``x`` on bank 0 in the
    reload cycle and the cycle after. Returns the outputs and the tiles.
    """
    rng = random.Random(rows * 31 + cols * 7 + delay)
    dut = SystolicArray(rows, cols)
    tile_a, tile_b = random_int8(rng, rows * cols), random_int8(rng, rows * cols)
    tile_c = random_int8(rng, rows * cols)
    tile_c[-1] = tile_a[-1] + (1 if tile_a[-1] < 0 else -1)  # PE(rows-1, cols-1) differs
    x = random_int8(rng, rows)
    x[-1] = 100
    t0, t_load = 2, 2 + delay
    sched = Schedule()
    sched.load(0, 0, tile_a)
    sched.load(1, 1, tile_b)
    sched.vector(t0, 0, x)
    for cycle in range(t0 + 1, t_load):
        sched.vector(cycle, 1, x)
    sched.load(t_load, 0, tile_c)
    if t_load > t0:
        sched.vector(t_load, 0, x)
    sched.vector(t_load + 1, 0, x)
    return dut, simulate(dut, sched), (tile_a, tile_b, tile_c, x)


@pytest.mark.parametrize(("rows", "cols"), SHAPES)
def test_reload_at_bank_reuse_delay_keeps_in_flight_vector(rows, cols):
    delay = rows + cols - 1
    dut, outputs, (tile_a, tile_b, tile_c, x) = reload_experiment(rows, cols, delay)
    assert dut.bank_reuse_delay == delay
    assert dut.load_to_use_delay == 0
    values = [o[1] for o in outputs]
    assert values[0] == golden(x, tile_a, rows, cols)  # in flight, unaffected
    assert values[1:-2] == [golden(x, tile_b, rows, cols)] * (delay - 1)
    # A vector issued in the load cycle, and one after, use the new tile in every PE.
    assert values[-2:] == [golden(x, tile_c, rows, cols)] * 2


@pytest.mark.parametrize(("rows", "cols"), SHAPES)
def test_reload_window_is_tight(rows, cols):
    """A reload in cycle t + d changes exactly the weights of PEs with i + j >= d.

    In particular d = bank_reuse_delay - 1 corrupts the in-flight vector (the delay is not
    larger than necessary), and d = 0 (load in the vector's own cycle) replaces every weight.
    """
    for delay in range(rows + cols):
        _, outputs, (tile_a, _, tile_c, x) = reload_experiment(rows, cols, delay)
        a = np.array(tile_a).reshape(rows, cols)
        c = np.array(tile_c).reshape(rows, cols)
        i, j = np.indices((rows, cols))
        mixed = np.where(i + j >= delay, c, a).reshape(-1).tolist()
        assert outputs[0][1] == golden(x, mixed, rows, cols), f"reload delay {delay}"
        if delay < rows + cols - 1:
            assert outputs[0][1] != golden(x, tile_a, rows, cols)
        assert outputs[-1][1] == golden(x, tile_c, rows, cols)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 4), "Array rows must be an integer between 1 and 64, not 0"),
        ((65, 4), "Array rows must be an integer between 1 and 64, not 65"),
        ((4.0, 4), "Array rows must be an integer between 1 and 64, not 4.0"),
        ((4, 0), "Array cols must be an integer between 1 and 64, not 0"),
        ((4, 65), "Array cols must be an integer between 1 and 64, not 65"),
        ((4, True), "Array cols must be an integer between 1 and 64, not True"),
        ((4, 4, -1), "Tag width must be a non-negative integer, not -1"),
    ],
)
def test_constructor_errors(args, message):
    with pytest.raises(ValueError, match=f"^{message}$".replace(".", r"\.")):
        SystolicArray(*args)


def test_ports_and_verilog():
    dut = SystolicArray(2, 3, tag_width=5)
    assert (dut.latency, dut.bank_reuse_delay, dut.load_to_use_delay) == (5 + MUL_STAGES, 4, 0)
    text = verilog.convert(dut, name="systolic_array")
    top = text[text.index("module systolic_array(") :]
    top = top[: top.index("endmodule")]
    for decl in [
        "input load_valid;",
        "input load_bank;",
        "input [47:0] load_weights;",
        "input in_valid;",
        "input in_bank;",
        "input [15:0] in_data;",
        "input [4:0] in_tag;",
        "output out_valid;",
        "output [95:0] out_data;",
        "output [4:0] out_tag;",
    ]:
        assert decl in top


def test_no_tag_ports_without_tag_width():
    members = SystolicArray(1, 64).signature.members
    assert "in_tag" not in members and "out_tag" not in members
    assert members["out_data"].shape.length == 64
