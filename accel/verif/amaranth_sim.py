"""Run one layer on the accelerator in the Amaranth simulator (the ``amaranth`` backend)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from accel.hw.core import Accelerator
from accel.mapping import LayerJob, counter_commands
from accel.spec.config import AccelConfig
from accel.verif.models import MemoryModel, stream_get, stream_put


@dataclass
class RunResult:
    output: np.ndarray
    status: int
    counters: dict[str, int]
    sim_cycles: int


# Memory timing of cocotbext-axi's AxiRam (first read beat 2 cycles after AR, write response
# 2 cycles after the last W beat), so that this simulation, the RTL runs and accel.perf count
# the same cycles.
READ_LATENCY = 2
WRITE_LATENCY = 2


def _simulate(
    job, config, script, *, seed, read_latency, write_latency, error_ranges, timeout_cycles, vcd
):
    """Run ``script`` ((function_id, in0, in1) commands) on a fresh accelerator."""
    dut = Accelerator(config)
    size = job.extra["end"] + 4096
    rng = random.Random(seed) if seed is not None else None
    memory = MemoryModel(
        size,
        read_latency=read_latency,
        write_latency=write_latency,
        rng=rng,
        error_ranges=error_ranges,
    )
    for addr, blob in job.regions.values():
        memory.write(addr, blob)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    memory.add_to(sim, dut.mem)
    responses = []
    cycles = 0

    async def host(ctx):
        for function_id, in0, in1 in script:
            payload = {"function_id": function_id, "inputs_0": in0, "inputs_1": in1}
            await stream_put(ctx, dut.cmd, payload)
            responses.append((await stream_get(ctx, dut.rsp)).outputs_0)

    async def watchdog(ctx):
        nonlocal cycles
        while True:
            await ctx.tick()
            cycles += 1
            if cycles > timeout_cycles:
                raise TimeoutError(f"accelerator did not answer within {timeout_cycles} cycles")

    sim.add_testbench(host)
    sim.add_testbench(watchdog, background=True)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return responses, memory, cycles


def run_command_script(
    job: LayerJob, config: AccelConfig, script, *, return_memory: bool = False, **kwargs
):
    """Run an arbitrary command sequence with ``job``'s memory image; returns the responses
    (and the :class:`~accel.verif.models.MemoryModel` with ``return_memory``)."""
    options = dict(
        seed=None,
        read_latency=READ_LATENCY,
        write_latency=WRITE_LATENCY,
        error_ranges=(),
        timeout_cycles=200_000,
        vcd=None,
    )
    options.update(kwargs)
    responses, memory, _ = _simulate(job, config, script, **options)
    return (responses, memory) if return_memory else responses


def run_job(
    job: LayerJob,
    config: AccelConfig,
    *,
    seed: int | None = None,
    read_latency: int = READ_LATENCY,
    write_latency: int = WRITE_LATENCY,
    error_ranges=(),
    timeout_cycles: int = 2_000_000,
    vcd: str | None = None,
) -> RunResult:
    """Simulate ``job`` on a fresh accelerator; ``seed`` enables random memory stalls."""
    counters = counter_commands()
    script = job.commands() + [cmd for _, cmd in counters]
    responses, memory, cycles = _simulate(
        job,
        config,
        script,
        seed=seed,
        read_latency=read_latency,
        write_latency=write_latency,
        error_ranges=error_ranges,
        timeout_cycles=timeout_cycles,
        vcd=vcd,
    )
    status = responses[len(job.commands()) - 1]
    values = dict(
        zip((name for name, _ in counters), responses[len(job.commands()) :], strict=True)
    )
    raw = memory.read(job.output_addr, job.output_bytes)
    return RunResult(job.decode_output(raw), status, values, cycles)
