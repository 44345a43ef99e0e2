# amaranth: UnusedElaboratable=no
"""Helpers shared by test files: simulation runners and NumPy goldens of memory traffic."""

import random
from types import SimpleNamespace

import numpy as np
import pytest
from amaranth.sim import Simulator

from accel.hw.memport import MemPortSignature
from accel.verif.models import MemoryModel

PAGE = 4096


async def ticks(ctx, n):
    """Wait ``n`` clock edges."""
    for _ in range(n):
        await ctx.tick()


def run_simulation(dut, *adders, testbenches=(), background=()):
    """Simulate ``dut`` with a 1 MHz clock, simulation models registered by ``adders``
    (callables taking the simulator), the ``background`` testbenches and the given
    testbenches, until the latter finish."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for add in adders:
        add(sim)
    for tb in background:
        sim.add_testbench(tb, background=True)
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


def rejects(factory, cases, error=ValueError):
    """A test that ``factory(**kwargs)`` raises ``error`` matching ``message`` for every
    ``(kwargs, message)`` of ``cases`` (one parametrized case each)."""

    @pytest.mark.parametrize("kwargs, message", cases)
    def test(kwargs, message):
        with pytest.raises(error, match=message):
            factory(**kwargs)

    return test


# --- DMA engines (accel.hw.reader, accel.hw.writer) on a MemoryModel --------------------

#: Bus widths and burst lengths every DMA engine rejects (the checks of accel.hw.memport).
DMA_PARAMETER_ERRORS = [
    ({"data_width": 16}, "data_width"),
    ({"data_width": 48}, "data_width"),
    ({"max_burst": 0}, "max_burst"),
    ({"max_burst": 257}, "max_burst"),
    ({"max_burst": 300}, "max_burst"),
]


def memory_port(dut):
    """A full memory-port view of a DMA engine: the channels ``dut`` has, unused ones (of a
    port of its data width) for the others."""
    unused = MemPortSignature(dut.data_width).create()
    own = dut.signature.members
    return SimpleNamespace(
        **{name: getattr(dut if name in own else unused, name) for name in unused.signature.members}
    )


def run_dma(dut, model, monitor, background):
    """Simulate the DMA engine ``dut`` on ``model`` (through :func:`memory_port`) with the
    ``background`` testbenches until ``monitor`` finishes."""
    run_simulation(
        dut,
        lambda sim: model.add_to(sim, memory_port(dut)),
        background=background,
        testbenches=[monitor],
    )


def paged_memory(size, *, seed, mem_stall, error_pages):
    """A MemoryModel of ``size`` bytes stalling with probability ``mem_stall`` (random stream
    ``seed + 1``) and answering with an error in the 4 KiB pages ``error_pages``."""
    return MemoryModel(
        size,
        rng=random.Random(seed + 1) if mem_stall else None,
        stall_probability=mem_stall,
        error_ranges=[(p * PAGE, (p + 1) * PAGE) for p in error_pages],
    )


async def finish_dma_trace(ctx, dut, trace, counter, *, settle, clear_at_end):
    """The end of a DMA monitor: ``clear`` low, ``settle`` more idle samples, the final
    ``trace.status`` (idle, error and the ``counter`` output, e.g. ``beats_read``) and, with
    ``clear_at_end``, error and counter after a ``clear`` pulse (as ``error_after_clear`` and,
    for ``beats_read``, ``beats_after_clear``)."""
    ctx.set(dut.clear, 0)
    for _ in range(settle):
        _, _, idle = await ctx.tick().sample(dut.idle)
        trace.idle.append(idle)
    count = getattr(dut, counter)
    trace.status = {"idle": ctx.get(dut.idle), "error": ctx.get(dut.error), counter: ctx.get(count)}
    if clear_at_end:
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        trace.status["error_after_clear"] = ctx.get(dut.error)
        trace.status[counter.partition("_")[0] + "_after_clear"] = ctx.get(count)
