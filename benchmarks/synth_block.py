"""Synthesize and place-and-route one block of the accelerator alone (out of context).

Full-design place-and-route of the 8×8 takes ~15 minutes; one block takes seconds to a few
minutes, which is how timing work iterates:

    python benchmarks/synth_block.py array --rows 8 --cols 8 --device 85k
    python benchmarks/synth_block.py requant|setup|output|params|issuer|feeder|core ...

Prints the same table row and critical path as ``python -m accel.build --synth``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from amaranth.back import verilog

from accel.build import synth
from accel.build.cli import add_config_arguments, parse_config
from accel.spec.config import AccelConfig


def make_block(name: str, cfg: AccelConfig):
    """The Amaranth component called ``name`` for configuration ``cfg``."""
    if name == "array":
        from accel.hw.accum import acc_tag_layout
        from accel.hw.array import SystolicArray

        return SystolicArray(
            cfg.rows, cfg.cols, acc_tag_layout(cfg).size, logic_mul_cols=cfg.logic_mul_cols
        )
    if name == "pe":
        from accel.hw.pe import ProcessingElement

        return ProcessingElement()
    if name == "pe_lut":
        from accel.hw.pe import ProcessingElement

        return ProcessingElement(dsp=False)
    if name == "requant":
        from accel.hw.requant import Requantizer

        return Requantizer(cfg.cols)
    if name == "postproc":
        from accel.hw.postproc import PostProcessor

        return PostProcessor(cfg)
    if name == "setup":
        from accel.hw.geometry import LayerSetup

        return LayerSetup(cfg)
    if name == "output":
        from accel.hw.output import OutputSequencer

        return OutputSequencer(cfg)
    if name == "params":
        from accel.hw.params import ParamLoader

        return ParamLoader(cfg)
    if name == "issuer":
        from accel.hw.issuer import Issuer

        return Issuer(cfg)
    if name == "feeder":
        from accel.hw.accum import acc_tag_layout
        from accel.hw.feeder import InputFeeder

        return InputFeeder(cfg, acc_tag_layout(cfg).size)
    if name == "accum":
        from accel.hw.accum import Accumulators

        return Accumulators(cfg)
    if name == "core":
        from accel.hw.core import Accelerator

        return Accelerator(cfg)
    raise SystemExit(f"synth_block: unknown block {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("block")
    add_config_arguments(parser)
    parser.add_argument("--device", default="85k")
    parser.add_argument("--no-pnr", action="store_true", help="synthesis only")
    parser.add_argument("--out", type=Path, default=None, help="keep the tool files here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    cfg = parse_config(args)
    block = make_block(args.block, cfg)
    top = f"block_{args.block}"
    with tempfile.TemporaryDirectory(prefix="accel-block-") as tmp:
        base = Path(tmp) if args.out is None else args.out
        base.mkdir(parents=True, exist_ok=True)
        source = base / f"{top}.v"
        source.write_text(verilog.convert(block, name=top, emit_src=False))
        report = synth.synthesize(
            source, "ecp5", args.device, workdir=base, name=f"{args.block} {cfg.name}",
            top=top, pnr=not args.no_pnr,
        )  # fmt: skip
    print(synth.describe(report))
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2) + "\n")


if __name__ == "__main__":
    main()
