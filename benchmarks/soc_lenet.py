"""LeNet-5 under firmware on the VexRiscv SoC in Verilator: the whole held-out set.

    python benchmarks/soc_lenet.py [--images N] [--ram-ports 4|2] [--ram-kib K] [--json FILE]

Runs ``firmware/model.c`` on every held-out image in one simulator process (the model build
is cached under build/socsim), checks every image's logits against the golden model, runs
the same firmware on the ISS (functional accelerator) for the comparison, and prints: wall
time per image (end to end, including the cache hit and Python), simulated cycles per second
(wall and CPU time of the clock loop), CPU cycles per image on VexRiscv next to the ISS's
instruction count, the accelerator cycles, and whether ISS and VexRiscv agree. With
``--ram-ports 2`` (the FPGA's RAM organisation) "agree" means equal logits; the accelerator
cycles are then reported next to the ISS's (accel.perf), which they may exceed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from accel.firmware.build import MemoryLayout
from accel.firmware.run import model_elf, run_functional
from accel.ref import lenet
from accel.soc.run import run_lenet
from accel.soc.sim import build
from accel.spec.config import AccelConfig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=0, help="first N images (0: all)")
    parser.add_argument("--ram-ports", type=int, choices=(4, 2), default=4, help="SoC RAM ports")
    parser.add_argument(
        "--ram-kib", type=int, default=256, help="SoC RAM in KiB (128: the synthesized SoC's)"
    )
    parser.add_argument("--json", default=None, help="write the numbers here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    config = AccelConfig()
    model = lenet.load_default()
    count = len(model.test_labels) if args.images <= 0 else args.images
    indices = list(range(min(count, len(model.test_labels))))
    ram_bytes = args.ram_kib * 1024
    layout = MemoryLayout(ram_bytes)
    elf = model_elf(config=config, layout=layout)
    build(config, ram_bytes, args.ram_ports)  # the cached model (a cache hit after the first)
    soc = run_lenet(model, indices, config, elf, ram_ports=args.ram_ports, ram_bytes=ram_bytes)
    soc_seconds = time.perf_counter() - started
    iss = [run_functional(model, i, config, elf, layout) for i in indices]
    exact = sum(r.exact for r in soc)
    exact_timing = args.ram_ports == 4  # the 2-port RAM may stall the DMA: cycles may differ
    agree = sum(
        np.array_equal(s.logits, i.logits)
        and (s.layer_cycles == i.layer_cycles or not exact_timing)
        for s, i in zip(soc, iss, strict=True)
    )
    same_cycles = sum(s.layer_cycles == i.layer_cycles for s, i in zip(soc, iss, strict=True))
    correct = sum(r.predicted == r.label for r in soc)
    cycles = [r.extra["cpu_cycles"] for r in soc]
    wall = sum(r.wall_seconds for r in soc)
    cpu = sum(r.extra["cpu_seconds"] for r in soc)
    numbers = {
        "images": len(soc),
        "golden_exact": exact,
        "iss_agrees": agree,
        "accuracy": correct / len(soc),
        "cpu_cycles_per_image": float(np.mean(cycles)),
        "cpu_cycles_min_max": [min(cycles), max(cycles)],
        "instret_per_image": float(np.mean([r.instructions for r in soc])),
        "iss_instructions_per_image": float(np.mean([r.instructions for r in iss])),
        "accelerator_cycles_per_image": float(np.mean([sum(r.layer_cycles) for r in soc])),
        "accelerator_layer_cycles": soc[0].layer_cycles,
        "iss_accelerator_cycles_per_image": float(np.mean([sum(r.layer_cycles) for r in iss])),
        "accelerator_cycles_equal_to_iss": same_cycles,
        "ram_ports": args.ram_ports,
        "ram_kib": args.ram_kib,
        "cycles_per_wall_second": sum(cycles) / wall,
        "cycles_per_cpu_second": sum(cycles) / cpu,
        "clock_loop_seconds_per_image": wall / len(soc),
        "end_to_end_seconds": soc_seconds,
        "end_to_end_seconds_per_image": soc_seconds / len(soc),
    }
    print(f"| images ({args.ram_kib} KiB {args.ram_ports}-port RAM) | {len(soc)} |")
    print(f"| logits identical to the golden model | {exact}/{len(soc)} |")
    what = "logits, accelerator cycles per layer" if exact_timing else "logits"
    print(f"| ISS and VexRiscv agree ({what}) | {agree}/{len(soc)} |")
    print(f"| accuracy | {100 * correct / len(soc):.2f} % ({correct}/{len(soc)}) |")
    print(
        f"| CPU cycles per image (VexRiscv, reset to exit) | {numbers['cpu_cycles_per_image']:,.0f}"
        f" ({min(cycles):,}–{max(cycles):,}) |"
    )
    print(
        f"| instructions retired per image: VexRiscv minstret / ISS | "
        f"{numbers['instret_per_image']:,.0f} / {numbers['iss_instructions_per_image']:,.0f} |"
    )
    print(
        f"| accelerator cycles per image (5 layers) | "
        f"{numbers['accelerator_cycles_per_image']:,.0f} {soc[0].layer_cycles} |"
    )
    if not exact_timing:
        print(
            f"| accelerator cycles per image on the ISS (accel.perf); images with equal cycles | "
            f"{numbers['iss_accelerator_cycles_per_image']:,.0f}; {same_cycles}/{len(soc)} |"
        )
    print(
        f"| simulated cycles per second (clock loop, wall / CPU time) | "
        f"{numbers['cycles_per_wall_second']:,.0f} / {numbers['cycles_per_cpu_second']:,.0f} |"
    )
    print(
        f"| wall time per image, end to end (build cache hit, Python, simulation) | "
        f"{numbers['end_to_end_seconds_per_image']:.3f} s ({soc_seconds:.1f} s for all) |"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(numbers, f, indent=2)
    return 0 if exact == agree == len(soc) else 1


if __name__ == "__main__":
    sys.exit(main())
