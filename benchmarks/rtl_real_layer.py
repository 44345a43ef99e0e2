"""A real-size layer on the generated Verilog (Verilator + cocotb), tiled, bit-exact.

    python benchmarks/rtl_real_layer.py [NETWORK LAYER] [--rows 8 --cols 8]

Default: ResNet-18's layer4.1.conv2 (7×7×512 → 512, 3×3), random int8 weights and input.
Prints the tiles, the RTL's counters next to accel.perf's prediction, the check against the
golden model and the simulation speed (cycles/s). Not part of the test run (minutes).
"""

import argparse
import time

import numpy as np

from accel import perf
from accel.driver import prepare_layer
from accel.ref.layer import run_layer
from accel.ref.networks import network_layers
from accel.spec.config import AccelConfig
from accel.verif import rtlsim


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("network", nargs="?", default="resnet18")
    parser.add_argument("layer", nargs="?", default="layer4.1.conv2")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--cols", type=int, default=8)
    args = parser.parse_args()
    config = AccelConfig(rows=args.rows, cols=args.cols)
    spec = next(layer for layer in network_layers(args.network) if layer.name == args.layer)
    rng = np.random.default_rng(0)
    layer = spec.random_layer(rng)
    x = rng.integers(-128, 128, size=(1, spec.H, spec.W, spec.C), dtype=np.int8)
    expected = run_layer(layer, x)
    job = prepare_layer(layer, x, config)
    predicted = perf.predict(job, config).counters()
    print(
        f"{args.network} {args.layer}: {spec.H}x{spec.W}x{spec.C} -> {spec.M}, "
        f"{spec.R}x{spec.S}/{spec.U}, {len(job.descriptors)} tiles, {spec.macs:,} MACs"
    )
    started = time.perf_counter()
    result = rtlsim.run_layer(job, config, expected, check=False)
    wall = time.perf_counter() - started
    exact = result.output is not None and np.array_equal(result.output, expected)
    print(f"RTL counters:  {result.counters}")
    print(
        f"accel.perf:    {predicted}  ({'equal' if predicted == result.counters else 'DIFFERENT'})"
    )
    print(
        f"bit-exact: {'yes' if exact else 'NO'}; {result.cycles:,} simulated cycles in "
        f"{wall:.1f} s wall ({result.cycles_per_second:,.0f} cycles/s, build included: see "
        "the first run)"
    )
    return 0 if exact and predicted == result.counters else 1


if __name__ == "__main__":
    raise SystemExit(main())
