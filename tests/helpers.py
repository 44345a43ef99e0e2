"""Helpers shared by test files: simulation runners and NumPy goldens of memory traffic."""

import numpy as np
from amaranth.sim import Simulator


async def ticks(ctx, n):
    """Wait ``n`` clock edges."""
    for _ in range(n):
        await ctx.tick()


def run_simulation(dut, *adders, testbenches=()):
    """Simulate ``dut`` with a 1 MHz clock, simulation models registered by ``adders``
    (callables taking the simulator) and the given testbenches, until they finish."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for add in adders:
        add(sim)
    for tb in testbenches:
        sim.add_testbench(tb)
    sim.run()


def beat_int(golden, addr, nb):
    """The ``nb``-byte little-endian beat at ``addr`` of the golden memory (uint8 array)."""
    return int.from_bytes(golden[addr : addr + nb].tobytes(), "little")


def apply_write(golden, addr, data, strb, nb):
    """NumPy golden of a strobed write burst of ``nb``-byte beats."""
    for i, (d, s) in enumerate(zip(data, strb, strict=True)):
        lanes = np.frombuffer(d.to_bytes(nb, "little"), dtype=np.uint8)
        enable = ((s >> np.arange(nb)) & 1).astype(bool)
        region = golden[addr + i * nb : addr + (i + 1) * nb]
        region[enable] = lanes[enable]
