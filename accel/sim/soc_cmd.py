"""``python -m accel.sim firmware lenet --cpu vexriscv``: the firmware on the VexRiscv SoC.

The same ``firmware/model.c`` as on the ISS runs on VexRiscv in the Verilator model of the SoC
(:mod:`accel.soc.sim`, built once and cached); one simulator process runs every image. The
report: logits, class, CPU cycles (reset to exit), accelerator cycles per layer (the
accelerator's CYCLES counter as the firmware recorded it), instructions retired (VexRiscv's
minstret), wall time; with several images the totals and the simulation speed.
``--ram-ports 2`` runs the SoC with the FPGA's two-port RAM: the logits must still equal the
golden model's, the accelerator cycles may exceed the ISS's (which models independent DMA read
and write channels); both are reported. ``--ram-kib 128`` (with ``--ram-ports 2``: the SoC
``accel.build --soc --synth`` synthesizes) links the firmware for that RAM
(:class:`accel.firmware.build.MemoryLayout`); the ISS it is compared with has the same RAM.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from accel.sim import format_table


def cmd_firmware_soc(args, model, config, indices) -> int:
    from accel.firmware.build import FirmwareBuildError, MemoryLayout
    from accel.firmware.run import model_elf
    from accel.soc.run import run_lenet
    from accel.soc.sim import SocSimError
    from accel.soc.vexriscv import VexRiscvMissing

    started = time.perf_counter()
    ram_ports = 4 if args.ram_ports is None else args.ram_ports
    ram_bytes = 256 * 1024 if args.ram_kib is None else args.ram_kib * 1024
    try:
        layout = MemoryLayout(ram_bytes)
        elf = model_elf(config=config, layout=layout)
        print("building / loading the SoC model (first build: a few minutes)", file=sys.stderr)
        results = run_lenet(model, indices, config, elf, ram_ports=ram_ports, ram_bytes=ram_bytes)
    except (FirmwareBuildError, SocSimError, VexRiscvMissing, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - started
    for result in results:
        extra = result.extra
        if extra["exit_code"] != 0:
            if extra["bus_error"] is not None:
                why = f"accessed the unmapped address 0x{extra['bus_error']:08x}"
            elif extra["trap"] is not None:
                why = "trapped (mcause {:#x}, mepc {:#x}, mtval {:#x})".format(*extra["trap"])
            elif extra["exit_code"] is None:
                why = "did not exit (cycle limit)"
            else:
                why = f"exited with {extra['exit_code']}"
            print(f"error: image {result.image}: the firmware {why}", file=sys.stderr)
            print(result.console[-300:], file=sys.stderr)
            return 1
    if len(results) == 1:
        (result,) = results
        cycles = result.extra["cpu_cycles"]
        print(
            f"LeNet-5 firmware on the VexRiscv SoC (Verilator, {ram_bytes // 1024} KiB "
            f"{ram_ports}-port RAM)"
        )
        print(
            f"test image {result.image}: label {result.label}, predicted class {result.predicted}"
        )
        print("logits:", " ".join(str(int(v)) for v in result.logits))
        print(f"golden logits match: {'yes' if result.exact else 'NO'}")
        print(f"CPU cycles: {cycles}; instructions retired (minstret): {result.instructions}")
        from accel.firmware.run import run_functional

        iss = run_functional(model, result.image, config, elf, layout)
        same_logits = np.array_equal(iss.logits, result.logits)
        same_cycles = iss.layer_cycles == result.layer_cycles
        if ram_ports == 4:
            agree = same_logits and same_cycles
            print(
                f"the ISS (functional accelerator): {iss.instructions} instructions; logits and "
                f"accelerator cycles equal to VexRiscv's: {'yes' if agree else 'NO'}"
            )
        else:
            agree = same_logits
            print(
                f"the ISS (functional accelerator): {iss.instructions} instructions; logits "
                f"equal to VexRiscv's: {'yes' if agree else 'NO'}; accelerator cycles "
                f"{sum(iss.layer_cycles)} on the ISS (accel.perf), {sum(result.layer_cycles)} "
                "with the 2-port RAM"
            )
        rows = [
            {"layer": layer.name, "accelerator cycles": c}
            for layer, c in zip(model.layers, result.layer_cycles, strict=True)
        ]
        total_row = {"layer": "total", "accelerator cycles": sum(result.layer_cycles)}
        print(format_table(["layer", "accelerator cycles"], rows, total_row))
        speed = cycles / result.wall_seconds
        print(
            f"wall time: {result.wall_seconds:.3f} s simulating ({speed:,.0f} cycles/s; CPU "
            f"time {result.extra['cpu_seconds']:.3f} s), {total:.2f} s in all"
        )
        if not agree:
            return 1
    else:
        exact = sum(r.exact for r in results)
        correct = sum(r.predicted == r.label for r in results)
        cycles = sum(r.extra["cpu_cycles"] for r in results)
        wall = sum(r.wall_seconds for r in results)
        cpu = sum(r.extra["cpu_seconds"] for r in results)
        print(
            f"{len(results)} images on the VexRiscv SoC: logits identical to the golden model "
            f"for {exact}/{len(results)}; accuracy {100 * correct / len(results):.2f} % "
            f"({correct}/{len(results)}); {cycles / len(results):,.0f} CPU cycles per image; "
            f"simulation {cycles / wall:,.0f} cycles/s wall ({cycles / cpu:,.0f} per CPU "
            f"second); {total / len(results):.3f} s per image, {total:.1f} s in all"
        )
    return 0 if all(r.exact for r in results) else 1
