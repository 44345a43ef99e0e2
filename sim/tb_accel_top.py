"""cocotb testbench of ``accel_top``: runs a list of jobs in one simulator invocation.

The pytest side (:mod:`accel.verif.rtlsim`) writes a job file and names it in the environment
variable ``ACCEL_RTL_JOBS``. Each job is run on a freshly reset accelerator:

1. the AXI memory (:class:`tb_axi_memory.AccelAxiRam`, main memory at address 0) is filled
   with seeded random bytes, the job's regions (weights, parameters, input) are written, and
   the output region is pre-filled with the bitwise complement of the expected output so that
   every byte the accelerator fails to write is caught;
2. error ranges and random back-pressure (every AXI channel; gaps between commands and
   ``rsp_ready`` stalls on the control port) are set up as the job asks;
3. the control-port driver (:class:`tb_cfu.CfuDriver`) issues the job's commands one by one,
   and then reads the performance counters;
4. the scoreboard compares the output region integer for integer with the golden output and
   checks that no byte outside the output region changed.

Every job's results go to the results file (JSON) named in the job file; the test fails at
the end if any job mismatched, hung (no response within its cycle budget) or made an access
outside the memory.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, SimTimeoutError, with_timeout
from cocotbext.axi import AxiBus

from sim.tb_axi_memory import AccelAxiRam, HandshakeMonitor
from sim.tb_cfu import CfuDriver
from sim.tb_scoreboard import compare_bytes, compare_outside

CLOCK_NS = 10
MAX_REPORTED = 8


def _cycles() -> int:
    return int(get_sim_time("ns")) // CLOCK_NS


def _quiet_bus_models(dut) -> None:
    # cocotbext-axi logs every burst at INFO level; that costs more time than the simulation.
    for name in (f"cocotb.{dut._name}", "cocotb.m_axi"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def _reset(dut, clk, cycles: int = 3) -> None:
    dut.reset.value = 1
    await ClockCycles(clk, cycles)


async def _run_job(dut, clk, ram: AccelAxiRam, blobs, job: dict, index: int) -> dict:
    seed = job.get("seed")
    rng = random.Random(seed) if seed is not None else None
    result = {"name": job["name"], "error": None, "mismatches": [], "n_mismatches": 0}

    # Memory image: random background, regions, complemented expected output.
    background = random.Random(index if seed is None else seed).randbytes(ram.size)
    ram.mem[:] = background
    for addr, key in job["regions"]:
        ram.write(addr, blobs[key].tobytes())
    expected = blobs[job["expected"]].tobytes() if job.get("expected") else None
    out_addr, out_bytes = job["output"] if job.get("output") else (0, 0)
    if expected is not None:
        if len(expected) != out_bytes:
            raise ValueError(
                f"{job['name']}: expected output has {len(expected)} bytes, not {out_bytes}"
            )
        ram.write(out_addr, bytes(b ^ 0xFF for b in expected))
    before = bytes(ram.mem)

    ram.clear_error_ranges()
    for start, stop, resp in job.get("error_ranges", ()):
        ram.add_error_range(start, stop, resp)
    ram.violations.clear()
    ram.set_backpressure(rng, job.get("axi_pause", 0.0) if rng else 0.0)
    driver = CfuDriver(
        dut,
        clk,
        rng,
        gap_probability=job.get("cmd_gap", 0.0),
        rsp_stall_probability=job.get("rsp_stall", 0.0),
    )

    await ClockCycles(clk, 2)
    dut.reset.value = 0
    await ClockCycles(clk, 2)
    monitor = None
    if rng is not None and job.get("axi_pause", 0.0) > 0:
        monitor = HandshakeMonitor(dut, clk, ram.violations)
        monitor.start()

    commands = [tuple(c) for c in job["commands"]] + [
        (fid, 0, 0) for _name, fid in job.get("counters", ())
    ]
    responses, at_cycle, at_wall = [], [], []
    in_flight = [0]

    async def issue_all():
        for i, (fid, in0, in1) in enumerate(commands):
            in_flight[0] = i
            responses.append(await driver.command(fid, in0, in1))
            at_cycle.append(_cycles())
            at_wall.append(time.perf_counter())

    t0, c0 = time.perf_counter(), _cycles()
    try:
        await with_timeout(issue_all(), job["timeout_cycles"] * CLOCK_NS, "ns")
    except SimTimeoutError:
        i = in_flight[0]
        result["error"] = (
            f"hung: command {i} (function_id 0x{commands[i][0]:03x}) got no response within "
            f"{job['timeout_cycles']} cycles"
        )
    except AssertionError as exc:  # protocol violation seen by the control-port driver
        result["error"] = f"command {in_flight[0]}: {exc}"
    if monitor is not None:
        monitor.stop()
    result["wall_s"] = time.perf_counter() - t0
    result["cycles"] = _cycles() - c0
    result["responses"] = responses
    result["response_cycles"] = [c - c0 for c in at_cycle]
    result["response_wall_s"] = [w - t0 for w in at_wall]
    n_cmd = len(job["commands"])
    status_index = job.get("status_index")
    ok = len(responses) == len(commands)
    result["status"] = responses[status_index] if ok and status_index is not None else None
    names = [name for name, _fid in job.get("counters", ())]
    result["counters"] = dict(zip(names, responses[n_cmd:], strict=True)) if ok else {}

    # Scoreboard.
    after = bytes(ram.mem)
    result["output"] = after[out_addr : out_addr + out_bytes].hex()
    if expected is not None and ok:
        n, report = compare_bytes(after[out_addr : out_addr + out_bytes], expected, MAX_REPORTED)
        result["n_mismatches"], result["mismatches"] = n, report
    if job.get("untouched"):  # the job must not write at all
        stray = compare_outside(before, after, 0, 0, MAX_REPORTED)
    else:
        stray = compare_outside(before, after, out_addr, out_bytes, MAX_REPORTED)
    result["violations"] = list(ram.violations) + stray

    ram.set_backpressure(None)
    driver.idle()
    return result


@cocotb.test()
async def run_jobs(dut):
    """Run every job of the job file on a freshly reset accelerator and score it."""
    with open(os.environ["ACCEL_RTL_JOBS"]) as f:
        spec = json.load(f)
    blobs = np.load(spec["blobs"])
    _quiet_bus_models(dut)
    clk = dut.clk
    Clock(clk, CLOCK_NS, unit="ns").start()
    dut.reset.value = 1
    ram = AccelAxiRam(AxiBus.from_prefix(dut, "m_axi"), clk, dut.reset, size=spec["memory_size"])
    CfuDriver(dut, clk).idle()

    results, failures = [], []
    for index, job in enumerate(spec["items"]):
        await _reset(dut, clk)
        result = await _run_job(dut, clk, ram, blobs, job, index)
        results.append(result)
        problems = []
        if result["error"]:
            problems.append(result["error"])
        if result["n_mismatches"]:
            problems.append(
                f"{result['n_mismatches']} output bytes differ from the golden model "
                f"({'; '.join(result['mismatches'])})"
            )
        problems += result["violations"]
        if problems:
            failures.append(f"job {index} ({job['name']}): " + " | ".join(problems))
            dut._log.error("%s", failures[-1])
        partial = spec["results"] + ".part"
        with open(partial, "w") as f:
            json.dump(results, f)
        os.replace(partial, spec["results"])  # atomic: a killed run leaves complete results

    assert not failures, f"{len(failures)} of {len(results)} jobs failed:\n" + "\n".join(failures)
