"""accel.perf against the RTL's own counters: LeNet-5 layers and optional random shapes.

    python benchmarks/perf_vs_rtl.py                  # LeNet, Amaranth simulator
    python benchmarks/perf_vs_rtl.py --verilator      # also the Verilog under cocotb (AxiRam)
    python benchmarks/perf_vs_rtl.py --random 8       # plus 8 random shapes on a 4x4 array

Prints one row per layer: the model's cycles, the simulated CYCLES counter, the difference,
whether every other counter (MAC_CYCLES, STALL_CYCLES, DMA bytes) matched too, and the time
the model and the simulation took. The model is expected to be exact (difference 0).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from accel.driver import prepare_layer
from accel.mapping import MappingError
from accel.perf import MemoryTiming, predict
from accel.ref.layer import random_layer
from accel.ref.lenet import int8_activations, load_default
from accel.spec.config import AccelConfig
from accel.verif.amaranth_sim import run_job

SMALL = AccelConfig(rows=4, cols=4, in_depth=64, acc_depth=128)


def lenet_cases(config: AccelConfig):
    model = load_default()
    acts = int8_activations(model.layers, model.test_images_int8[:1])
    for layer in model.layers:
        yield layer.name, prepare_layer(layer, acts[layer.name], config), config


def random_cases(count: int, seed: int):
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        R, S = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        U = int(rng.integers(1, 3))
        P = int(rng.integers(0, min(R, S)))
        C, M = int(rng.integers(1, 9)), int(rng.integers(1, 13))
        H, W = int(rng.integers(R + 1, 12)), int(rng.integers(S + 1, 12))
        N = int(rng.integers(1, 3))
        pool = bool(rng.integers(0, 2)) and (H + 2 * P - R) // U >= 1 and (W + 2 * P - S) // U >= 1
        layer = random_layer(rng, M=M, C=C, R=R, S=S, stride=U, padding=P, pool=pool)
        x = rng.integers(-128, 128, size=(N, H, W, C), dtype=np.int8)
        try:
            job = prepare_layer(layer, x, SMALL)
            predict(job, SMALL)
        except MappingError:
            continue
        made += 1
        name = f"rand{made} {N}x{H}x{W}x{C} M{M} {R}x{S}/{U} P{P}{' pool' if pool else ''}"
        yield name, job, SMALL


def model_row(job, config, memory):
    start = time.perf_counter()
    report = predict(job, config, memory)
    return report, (time.perf_counter() - start) * 1e3


def print_table(title, rows):
    print(f"\n{title}\n")
    head = "| layer | band | model cycles | RTL cycles | diff | other counters | util | model ms "
    print(head + "| sim s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, band, report, ms, counters, sim_s in rows:
        diff = report.cycles - counters["CYCLES"]
        others = "equal" if report.counters() == counters else "DIFFER"
        print(
            f"| {name} | {band} | {report.cycles} | {counters['CYCLES']} | {diff:+d} | {others} "
            f"| {report.utilization:.1%} | {ms:.2f} | {sim_s:.1f} |"
        )
    exact = sum(report.counters() == counters for _, _, report, _, counters, _ in rows)
    print(f"\n{exact}/{len(rows)} layers with every counter exact")


def run_amaranth(cases, memory):
    rows = []
    for name, job, config in cases:
        start = time.perf_counter()
        result = run_job(
            job, config, read_latency=memory.read_latency, write_latency=memory.write_latency
        )
        sim_s = time.perf_counter() - start
        report, ms = model_row(job, config, memory)
        rows.append((name, job.band, report, ms, result.counters, sim_s))
    return rows


def run_verilator(cases):
    from accel.verif.rtlsim import RtlJob, run_jobs

    rows = []
    by_config = {}
    for case in cases:
        by_config.setdefault(case[2], []).append(case)
    for config, group in by_config.items():
        start = time.perf_counter()
        results = run_jobs([RtlJob(job, name=name) for name, job, _ in group], config)
        sim_s = (time.perf_counter() - start) / len(group)
        for (name, job, _), result in zip(group, results, strict=True):
            report, ms = model_row(job, config, MemoryTiming.axi_ram())
            rows.append((name, job.band, report, ms, result.counters, sim_s))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--random", type=int, default=0, help="random shapes on a 4x4 array")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--read-latency", type=int, default=2, help="Amaranth memory model")
    parser.add_argument("--write-latency", type=int, default=2, help="Amaranth memory model")
    parser.add_argument("--verilator", action="store_true", help="also run the Verilog (cocotb)")
    args = parser.parse_args()

    cases = list(lenet_cases(AccelConfig()))
    cases += list(random_cases(args.random, args.seed))
    memory = MemoryTiming(args.read_latency, args.write_latency)
    print_table(
        f"Amaranth simulator (MemoryModel, read latency {memory.read_latency}, "
        f"write latency {memory.write_latency})",
        run_amaranth(cases, memory),
    )
    if args.verilator:
        print_table(
            "Verilator + cocotb (cocotbext-axi AxiRam, MemoryTiming.axi_ram())",
            run_verilator(cases),
        )


if __name__ == "__main__":
    main()
