"""The descriptor proof's formula (accel.formal.descriptor) agrees with the Python mirror of the
checks (accel.mapping.checks.failed_check) on valid driver descriptors and on mutations of
them that hit every check: two independent writings of the documented rules."""

import numpy as np
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from accel.driver import prepare_layer
from accel.formal.descriptor import expected_code
from accel.formal.proofs import formal_config
from accel.hw.control import descriptor_layout
from accel.mapping.checks import failed_check
from accel.ref.layer import random_layer
from accel.spec import isa
from accel.spec.config import AccelConfig

CONFIGS = [formal_config(2, 2), AccelConfig(rows=4, cols=8, bus_width=64, param_depth=4)]


def _driver_descriptors(config, rng, count):
    out = []
    while len(out) < count:
        R = int(rng.integers(1, 4))
        layer = random_layer(
            rng,
            M=int(rng.integers(1, 5)),
            C=int(rng.integers(1, 4)),
            R=R,
            S=R,
            stride=int(rng.integers(1, 3)),
            padding=int(rng.integers(0, R)),
        )
        H = int(rng.integers(R, 5))
        x = np.zeros((1, H, H, layer.weights.shape[3]), dtype=np.int8)
        try:
            job = prepare_layer(layer, x, config)
        except ValueError:
            continue
        out.extend(job.descriptors)
    return out


def _mutate(desc, rng):
    """Change 1-3 registers to a small value, a boundary value or a random one."""
    desc = dict(desc)
    for _ in range(int(rng.integers(1, 4))):
        reg = isa.REGISTERS[int(rng.integers(len(isa.REGISTERS)))]
        low = -(1 << (reg.width - 1)) if reg.signed else 0
        high = (1 << (reg.width - 1)) - 1 if reg.signed else (1 << reg.width) - 1
        choice = int(rng.integers(4))
        if choice == 0:
            value = int(rng.integers(max(low, -3), min(high, 9) + 1))
        elif choice == 1:
            value = int(rng.choice([low, high, low + 1, high - 1]))
        elif choice == 2:
            value = desc[reg.name] + int(rng.integers(-2, 3))
        else:
            value = int(rng.integers(low, high + 1))
        desc[reg.name] = min(max(value, low), high)
    return desc


def _widen(desc, rng):
    """The same layer on a wider image (consistent F and pitches): bands overflow the input
    buffer."""
    desc = dict(desc)
    w = int(rng.integers(8, 400))
    f = (w + 2 * desc["PL"] - desc["S"]) // desc["U"] + 1
    desc.update(W=w, F=f, IN_ROW_PITCH=w * desc["C"], OUT_ROW_PITCH=f * desc["OUT_PIX_PITCH"])
    return desc


def _formula_codes(config, descriptors):
    layout = descriptor_layout()
    raw = Signal(layout.size)
    code = Signal(8)
    m = Module()
    m.d.comb += code.eq(expected_code(layout(raw), config))
    found = []

    async def bench(ctx):
        for desc in descriptors:
            value = 0
            for reg in isa.REGISTERS:
                offset = layout[reg.name].offset
                value |= (desc[reg.name] & ((1 << reg.width) - 1)) << offset
            ctx.set(raw, value)
            found.append(ctx.get(code))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return found


def test_formula_matches_python_checks():
    rng = np.random.default_rng(2026)
    seen = set()
    for config in CONFIGS:
        valid = _driver_descriptors(config, rng, 12)
        descriptors = valid + [_mutate(valid[i % len(valid)], rng) for i in range(1500)]
        descriptors += [_widen(valid[i % len(valid)], rng) for i in range(100)]
        codes = _formula_codes(config, descriptors)
        for desc, code in zip(descriptors, codes, strict=True):
            check = failed_check(desc, config)
            assert code == (check.code if check else 0), (config, desc, code, check)
            seen.add(code)
    # every check is hit at least once, and valid descriptors too
    assert seen == {0} | {c.code for c in isa.DESCRIPTOR_CHECKS}, seen
