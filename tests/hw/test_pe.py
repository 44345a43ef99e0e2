"""Tests of accel.hw.pe.ProcessingElement against a cycle-level Python model."""

import random

import pytest
from amaranth.sim import Simulator

from accel.hw.pe import ProcessingElement
from accel.spec import timing

# The documented multiplier pipeline depth, stated independently of the HDL: a wrong
# PE_MUL_STAGES fails here, then every timing test below.
MUL_STAGES = 2


def wrap32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def test_documented_pipeline_depth():
    assert timing.PE_MUL_STAGES == MUL_STAGES


class PEModel:
    """Pipelined int8 MAC with two weight banks, written independently of the HDL: the product
    of the activation of cycle t is added to the partial sum of cycle t + MUL_STAGES."""

    def __init__(self):
        self.w = [0, 0]
        self.products = [0] * MUL_STAGES  # oldest first
        self.out = {"x_out": 0, "bank_out": 0, "valid_out": 0, "psum_out": 0}

    def step(self, inp: dict) -> None:
        """One clock edge with the inputs ``inp`` present during the cycle before it."""
        product = inp["x_in"] * self.w[inp["bank_in"]] if inp["x_valid"] else 0
        self.products.append(product)
        self.out = {
            "x_out": inp["x_in"],
            "bank_out": inp["bank_in"],
            "valid_out": inp["x_valid"],
            "psum_out": wrap32(inp["psum_in"] + self.products.pop(0)),
        }
        if inp["load"]:
            self.w[inp["load_bank"]] = inp["load_weight"]


IDLE = {
    "x_in": 0,
    "x_valid": 0,
    "bank_in": 0,
    "psum_in": 0,
    "load": 0,
    "load_bank": 0,
    "load_weight": 0,
}


def run(cycles: list[dict], dsp: bool = True) -> list[dict]:
    """Drive one input dict per cycle; return the outputs seen in the following cycle."""
    dut = ProcessingElement(dsp=dsp)
    seen = []

    async def testbench(ctx):
        for inp in cycles:
            for name, value in inp.items():
                ctx.set(getattr(dut, name), value)
            await ctx.tick()
            seen.append({name: ctx.get(getattr(dut, name)) for name in PEModel().out})

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return seen


def cycle(**kw) -> dict:
    return {**IDLE, **kw}


def add_psums(cycles: list[dict], psums: dict[int, int]) -> list[dict]:
    """``cycles`` with ``psum_in = psums[n]`` in cycle n + MUL_STAGES, where the activation of
    cycle n meets it (cycles appended as needed)."""
    cycles = [dict(c) for c in cycles] + [cycle() for _ in range(MUL_STAGES)]
    for n, psum in psums.items():
        cycles[n + MUL_STAGES]["psum_in"] = psum
    return cycles


def test_hand_cases():
    cycles = [
        cycle(load=1, load_bank=0, load_weight=3),
        cycle(load=1, load_bank=1, load_weight=-5),
        cycle(x_in=7, x_valid=1, bank_in=0),  # 10 + 7*3
        cycle(x_in=7, x_valid=1, bank_in=1),  # 10 + 7*-5
        cycle(x_in=7, x_valid=0, bank_in=1),  # invalid: pass-through
        cycle(load=1, load_bank=0, load_weight=-128),
        cycle(x_in=-128, x_valid=1, bank_in=0),  # -128 * -128
        cycle(x_in=127, x_valid=1, bank_in=0),  # 1 + 127*-128
    ]
    outs = run(add_psums(cycles, {2: 10, 3: 10, 4: -123456, 5: 0, 6: 0, 7: 1}))
    sums = [o["psum_out"] for o in outs[MUL_STAGES:]]
    assert sums[2:5] == [31, -25, -123456]
    assert sums[6:8] == [16384, 1 - 16256]
    assert [o["x_out"] for o in outs[2:5]] == [7, 7, 7]
    assert [o["bank_out"] for o in outs[2:5]] == [0, 1, 1]
    assert [o["valid_out"] for o in outs[2:5]] == [1, 1, 0]


def test_load_and_use_same_cycle_uses_old_weight():
    cycles = [
        cycle(load=1, load_bank=1, load_weight=2),
        cycle(x_in=10, x_valid=1, bank_in=1, load=1, load_bank=1, load_weight=-3),
        cycle(x_in=10, x_valid=1, bank_in=1),
        cycle(x_in=10, x_valid=1, bank_in=0, load=1, load_bank=0, load_weight=9),  # w0 = 0
        cycle(x_in=10, x_valid=1, bank_in=0),
    ]
    outs = run(add_psums(cycles, {}))
    assert [o["psum_out"] for o in outs[1 + MUL_STAGES :]] == [20, -30, 0, 90]


def test_int32_wraps():
    cycles = [
        cycle(load=1, load_bank=0, load_weight=1),
        cycle(load=1, load_bank=1, load_weight=-1),
        cycle(x_in=1, x_valid=1, bank_in=0),
        cycle(x_in=1, x_valid=1, bank_in=1),
        cycle(x_in=-128, x_valid=1, bank_in=1),
    ]
    outs = run(add_psums(cycles, {2: 2**31 - 1, 3: -(2**31), 4: 2**31 - 100}))
    sums = [o["psum_out"] for o in outs[2 + MUL_STAGES :]]
    assert sums == [-(2**31), 2**31 - 1, -(2**31) + 28]


@pytest.mark.parametrize("dsp", [True, False], ids=["dsp", "logic"])
def test_random_sequence_matches_model(dsp):
    rng = random.Random(1234)
    cycles = []
    for _ in range(400):
        psum = rng.choice([rng.randrange(-(2**31), 2**31), rng.randrange(-1000, 1000)])
        cycles.append(
            {
                "x_in": rng.randrange(-128, 128),
                "x_valid": rng.randrange(2),
                "bank_in": rng.randrange(2),
                "psum_in": psum,
                "load": int(rng.random() < 0.3),
                "load_bank": rng.randrange(2),
                "load_weight": rng.randrange(-128, 128),
            }
        )
    outs = run(cycles, dsp)
    model = PEModel()
    for n, inp in enumerate(cycles):
        model.step(inp)
        assert outs[n] == model.out, f"cycle {n}: inputs {inp}"
