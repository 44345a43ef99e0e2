"""Per-layer tables of real networks on the exact performance model, as Markdown.

    python benchmarks/network_tables.py [--rows 8 --cols 8] [--input 224] [NETWORK ...]

Runs ``accel.sim.network.run_network`` (every conv/FC layer tiled as the driver tiles it,
each tile's band chosen by accel.perf) and prints one table per network with cycles, PE
utilization, roofline ratio and tile count per layer, the totals, and the model's run time.
"""

import argparse
import time

from accel.ref.networks import NETWORKS
from accel.sim.network import run_network
from accel.spec.config import AccelConfig


def table(name: str, config: AccelConfig, size: int) -> str:
    start = time.perf_counter()
    rows = [row.record(config) for row in run_network(name, config, "perf", size)]
    seconds = time.perf_counter() - start
    pes = config.rows * config.cols
    out = [
        f"### {name}, {size}×{size}, {config.rows}×{config.cols} "
        f"(accel.perf: {seconds:.2f} s for the whole network)",
        "",
        "| layer | H×W×C → M, R×S/U | tiles | cycles | roofline | × roofline | PE util |",
        "|---|---|---|---|---|---|---|",
    ]
    mapped = [r for r in rows if r["mapped"]]
    for r in rows:
        shape = f"{r['H']}×{r['W']}×{r['C']} → {r['M']}, {r['R']}×{r['S']}/{r['U']}"
        if not r["mapped"]:
            out.append(f"| {r['layer']} | {shape} | – | {r['reason']} | | | |")
            continue
        util = 100 * r["utilization"]
        out.append(
            f"| {r['layer']} | {shape} | {r['tiles']} | {r['cycles']:,} | "
            f"{r['roofline_cycles']:,} | {r['roofline_ratio']:.2f} | {util:.1f} % |"
        )
    cycles = sum(r["cycles"] for r in mapped)
    roof = sum(r["roofline_cycles"] for r in mapped)
    macs = sum(r["macs"] for r in mapped)
    out.append(
        f"| **total** ({len(mapped)}/{len(rows)} mapped) | | | **{cycles:,}** | {roof:,} | "
        f"{cycles / roof:.2f} | {100 * macs / (pes * cycles):.1f} % |"
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("networks", nargs="*", default=list(NETWORKS))
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--input", type=int, default=224)
    args = parser.parse_args()
    config = AccelConfig(rows=args.rows, cols=args.cols)
    for name in args.networks:
        print(table(name, config, args.input))
        print()


if __name__ == "__main__":
    main()
