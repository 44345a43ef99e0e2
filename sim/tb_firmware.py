"""cocotb co-simulation: the RV32IM ISS runs the LeNet-5 firmware against ``accel_top``.

The ISS (:mod:`accel.firmware.riscv`) and the accelerator share one memory: the ISS's memory object
wraps the very ``bytearray`` that :class:`tb_axi_memory.AccelAxiRam` serves on the AXI port.
Every custom-0 instruction the firmware executes becomes one transaction on the CFU
``cmd``/``rsp`` port (:class:`tb_cfu.CfuDriver`); the ISS waits for the response like a
stalled CPU. The job file (``ACCEL_RTL_JOBS``) names the ELF and, per image, the memory
regions to write (the model image of :mod:`accel.firmware.image`); the results file receives
the memory words the host reads back, the CPU instruction counts and the timing.
"""

from __future__ import annotations

import json
import logging
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiBus

from accel.firmware.riscv.iss import ISS, Memory
from sim.tb_axi_memory import AccelAxiRam
from sim.tb_cfu import CfuDriver

CLOCK_NS = 10


@cocotb.test()
async def run_firmware(dut):
    """Run the firmware once per image on a freshly reset accelerator."""
    with open(os.environ["ACCEL_RTL_JOBS"]) as f:
        spec = json.load(f)
    blobs = np.load(spec["blobs"])
    for name in (f"cocotb.{dut._name}", "cocotb.m_axi"):
        logging.getLogger(name).setLevel(logging.WARNING)
    clk = dut.clk
    Clock(clk, CLOCK_NS, unit="ns").start()
    ram = AccelAxiRam(AxiBus.from_prefix(dut, "m_axi"), clk, dut.reset, size=spec["memory_size"])
    driver = CfuDriver(dut, clk)
    driver.idle()
    results = []
    for item in spec["items"]:
        dut.reset.value = 1
        await ClockCycles(clk, 3)
        dut.reset.value = 0
        await ClockCycles(clk, 1)
        ram.mem[:] = bytes(len(ram.mem))
        iss = ISS(Memory(len(ram.mem), buffer=ram.mem))
        iss.load_elf(spec["elf"])
        for region in item["regions"]:
            data = blobs[region["blob"]].tobytes()
            ram.mem[region["addr"] : region["addr"] + len(data)] = data
        started_ns = get_sim_time("ns")
        started = time.perf_counter()
        exit_code = await iss.run_async(driver.command, max_instructions=spec["max_instructions"])
        wall = time.perf_counter() - started
        reads = {
            key: list(ram.mem[addr : addr + n]) for key, (addr, n) in item["read_back"].items()
        }
        results.append(
            {
                "name": item["name"],
                "exit_code": exit_code,
                "console": iss.text_output,
                "instructions": iss.instret,
                "custom_instructions": iss.custom_count,
                "cycles": int(get_sim_time("ns") - started_ns) // CLOCK_NS,
                "wall_time": wall,
                "reads": reads,
            }
        )
        with open(spec["results"], "w") as f:
            json.dump(results, f)
    failed = [r["name"] for r in results if r["exit_code"] != 0]
    assert not failed, f"firmware failed on {failed}: " + " | ".join(
        r["console"] for r in results if r["exit_code"] != 0
    )
