"""``python -m accel.formal [--rows R --cols C] [--depth N] [--top] [--layer] [--only NAME]``.

Runs the proofs of :func:`accel.formal.proofs.proofs` and prints every property with its
result and method; exits 0 only if every property passed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from accel.build.cli import parse_config
from accel.cli import entry_point, positive_int
from accel.formal.layer import ERROR_MARGIN
from accel.formal.mutants import MUTANTS
from accel.formal.proofs import (
    DESCRIPTOR_BITS,
    LAYER_LATENCY,
    formal_config,
    layer_bound,
    proofs,
    run_proof,
)
from accel.formal.toolchain import ToolchainError, warm_up
from accel.spec.config import AccelConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m accel.formal", description=__doc__)
    parser.add_argument("--rows", type=positive_int, default=2, help="MAC array rows (default 2)")
    parser.add_argument(
        "--cols", type=positive_int, default=2, help="MAC array columns (default 2)"
    )
    parser.add_argument(
        "--depth",
        type=positive_int,
        default=12,
        help="BMC depth of the whole-accelerator proof (--top; default 12)",
    )
    parser.add_argument(
        "--top",
        action="store_true",
        help="also run the whole-accelerator BMC (slow: seconds per step at 2x2)",
    )
    parser.add_argument(
        "--layer",
        action="store_true",
        help="also run a whole tiny layer on the accelerator: the end-of-layer BMC and its "
        "covers (slow: minutes)",
    )
    parser.add_argument(
        "--latency",
        type=positive_int,
        default=LAYER_LATENCY,
        help=f"the AXI slave's latency bound in the layer proofs (default {LAYER_LATENCY})",
    )
    parser.add_argument(
        "--bits",
        type=positive_int,
        default=DESCRIPTOR_BITS,
        help="the descriptor proof's product factors (H, W, C, M, ...) range over 0..2**BITS-1 "
        f"(default {DESCRIPTOR_BITS}; every other register is free)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="the default configuration's bus width, burst length and buffers (64-bit bus, "
        "16-beat bursts) instead of the smallest ones",
    )
    parser.add_argument(
        "--covers",
        action="store_true",
        help="also run the covers (the whole-layer covers of --top need a depth beyond ~80)",
    )
    parser.add_argument("--only", action="append", metavar="PROOF", help="run only this proof")
    parser.add_argument(
        "--mutant",
        choices=sorted(MUTANTS),
        help="run the proof that must catch this deliberately broken design instead; exit 0 "
        "only if its property fails",
    )
    parser.add_argument("--workdir", type=Path, help="keep the sby files and traces here")
    return parser


@entry_point("accel.formal")
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.bits > 16:
        raise ValueError(f"--bits must be in 1..16 (the registers are 16 bits), not {args.bits}")
    if args.full:
        config = parse_config(
            argparse.Namespace(
                **{**vars(AccelConfig()).copy(), "rows": args.rows, "cols": args.cols}
            )
        )
    else:
        config = formal_config(args.rows, args.cols)
    factories, caught = None, None
    if args.mutant:
        key, factory, proof_name, caught = MUTANTS[args.mutant]
        factories = {key: factory}
        args.only = [proof_name]
    every = proofs(
        config,
        depth=args.depth,
        factories=factories,
        layer_latency=args.latency,
        descriptor_bits=args.bits,
    )
    optional = {"top": args.top, "layer": args.layer, "layer_covers": args.layer}
    selected = [p for p in every if optional.get(p.name, True)]
    if args.only:
        names = {p.name for p in every}
        unknown = sorted(set(args.only) - names)
        if unknown:
            raise ValueError(f"unknown proof {unknown[0]!r}; proofs: {', '.join(sorted(names))}")
        selected = [p for p in every if p.name in args.only]
    try:
        warm_up()
    except ToolchainError as exc:
        print(f"accel.formal: {exc}", file=sys.stderr)
        return 2
    print(f"accel.formal: {config.rows}x{config.cols} array, {config.bus_width}-bit bus")
    if "descriptor" not in {p.name for p in every}:
        print("descriptor: not run (LayerSetup counts tiles on non-power-of-two array sizes)")
    failed, names = 0, set()
    for proof in selected:
        begin = time.monotonic()
        workdir = args.workdir / proof.name if args.workdir else None
        results, sby = run_proof(proof, workdir, covers=args.covers)
        seconds = time.monotonic() - begin
        print(f"\n{proof.name}: {proof.method()}, sby {sby.status}, {seconds:.1f} s")
        for r in results:
            print(f"  {r.status:<7} {r.kind:<6} {r.name:<40} {r.method}")
            failed += r.status != "PASS"
            if r.status == "FAIL":
                names.add(r.name)
        if sby.status not in ("PASS", "FAIL") and not results:
            failed += 1
    if caught is not None:
        bound = layer_bound(args.latency)
        caught = caught.format(bound=bound, error_bound=bound - ERROR_MARGIN)
        verdict = "caught" if caught in names else "NOT caught"
        print(f"\nmutant {args.mutant}: {verdict} by {caught}")
        return 0 if caught in names else 1
    print(f"\n{'all properties passed' if not failed else f'{failed} properties not proven'}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
