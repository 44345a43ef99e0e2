"""Run one layer on the accelerator in the Amaranth simulator (the ``amaranth`` backend)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from accel import isa
from accel.config import AccelConfig
from accel.driver import LayerJob, counter_commands
from accel.hw.core import Accelerator
from accel.hw.testbench import MemoryModel, stream_get, stream_put


@dataclass
class RunResult:
    output: np.ndarray
    status: int
    counters: dict[str, int]
    sim_cycles: int


def run_job(
    job: LayerJob,
    config: AccelConfig,
    *,
    seed: int | None = None,
    read_latency: int = 4,
    error_ranges=(),
    timeout_cycles: int = 2_000_000,
    vcd: str | None = None,
) -> RunResult:
    """Simulate ``job`` on a fresh accelerator; ``seed`` enables random memory stalls."""
    dut = Accelerator(config)
    size = job.extra["end"] + 4096
    rng = random.Random(seed) if seed is not None else None
    memory = MemoryModel(size, read_latency=read_latency, rng=rng, error_ranges=error_ranges)
    for addr, blob in job.regions.values():
        memory.write(addr, blob)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    memory.add_to(sim, dut.mem)
    result = {}

    async def host(ctx):
        async def command(function_id, in0=0, in1=0):
            await stream_put(
                ctx, dut.cmd, {"function_id": function_id, "inputs_0": in0, "inputs_1": in1}
            )
            rsp = await stream_get(ctx, dut.rsp)
            return rsp.outputs_0

        start = None
        for function_id, in0, in1 in job.commands():
            if function_id == isa.function_id("CTRL", isa.CONTROL_OP["WAIT"].index):
                start = start or 0
            result["status"] = await command(function_id, in0, in1)
        result["counters"] = {name: await command(*cmd) for name, cmd in counter_commands()}

    cycles = 0

    async def watchdog(ctx):
        nonlocal cycles
        while True:
            await ctx.tick()
            cycles += 1
            if cycles > timeout_cycles:
                raise TimeoutError(f"accelerator did not finish within {timeout_cycles} cycles")

    sim.add_testbench(host)
    sim.add_testbench(watchdog, background=True)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    raw = memory.read(job.output_addr, job.output_bytes)
    return RunResult(job.decode_output(raw), result["status"], result["counters"], cycles)
