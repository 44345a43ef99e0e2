"""Command line of ``python -m accel.build``: generate the Verilog, manifest, C header and ISA
document of a configuration, or synthesize it (``--synth``)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from accel.build import synth
from accel.build.generate import DEFAULT_HEADER, DEFAULT_ISA_DOC, DEFAULT_RTL_DIR, write_outputs
from accel.cli import entry_point
from accel.spec.config import AccelConfig


def parse_config(args: argparse.Namespace) -> AccelConfig:
    """The configuration given by the options of :func:`add_config_arguments` (one a field)."""
    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(AccelConfig)}
    try:
        return AccelConfig(**values)
    except ValueError as error:
        raise SystemExit(f"accel.build: invalid configuration: {error}") from None


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    default = AccelConfig()
    parser.add_argument("--rows", type=int, default=default.rows, help="MAC array rows")
    parser.add_argument("--cols", type=int, default=default.cols, help="MAC array columns")
    parser.add_argument("--bus-width", type=int, default=default.bus_width, help="AXI data bits")
    parser.add_argument(
        "--in-depth", type=int, default=default.in_depth, help="words per input bank"
    )
    parser.add_argument(
        "--acc-depth", type=int, default=default.acc_depth, help="accumulator entries per half"
    )
    parser.add_argument(
        "--param-depth", type=int, default=default.param_depth, help="parameter tiles"
    )
    parser.add_argument(
        "--weight-depth", type=int, default=default.weight_depth, help="weight FIFO tiles"
    )
    parser.add_argument("--max-burst", type=int, default=default.max_burst, help="AXI burst beats")
    parser.add_argument(
        "--logic-mul-cols",
        type=int,
        default=default.logic_mul_cols,
        help="array columns whose PEs multiply in logic, not in DSP blocks",
    )


@entry_point("accel.build")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accel.build", description=__doc__)
    add_config_arguments(parser)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: rtl/)")
    parser.add_argument(
        "--synth",
        choices=("ecp5", "ice40"),
        default=None,
        help="synthesize and place-and-route for this FPGA family and print LUT4/FF/DSP/BRAM/"
        "Fmax (files go to --out, default: a temporary folder; rtl/ is not written)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="FPGA device for --synth (ecp5: 25k, 45k, 85k [default]; ice40: up5k [default], "
        "u4k, hx8k, lp8k)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the --synth report here")
    parser.add_argument(
        "--soc",
        action="store_true",
        help="write the VexRiscv SoC instead (accel_soc.v: the accelerator on the CFU port of "
        "VexRiscv_FullCfu from pythondata-cpu-vexriscv, shared RAM, MMIO; docs/soc.md); needs "
        "--out",
    )
    parser.add_argument(
        "--ram-kib",
        type=int,
        default=None,
        help="SoC RAM in KiB (a power of two; default 256, with --synth 128)",
    )
    parser.add_argument(
        "--ram-ports",
        type=int,
        choices=(4, 2),
        default=None,
        help="SoC RAM ports: 4 (AXI read, AXI write, CPU read, CPU write: the DMA timing "
        "accel.perf models; the default) or 2 read-write ports (CPU; DMA read and write "
        "channels sharing one): what FPGA block RAM has, the default and only choice of --synth",
    )
    parser.add_argument(
        "--no-pnr",
        action="store_true",
        help="--synth: Yosys only (resource counts), no place-and-route",
    )
    parser.add_argument(
        "--firmware", type=Path, default=None, help="SoC: raw image (.bin) to initialise the RAM"
    )
    args = parser.parse_args(argv)
    config = parse_config(args)
    if args.no_pnr and args.synth is None:
        parser.error("--no-pnr needs --synth")
    if args.soc:
        return _write_soc(parser, args, config)
    if args.firmware is not None or args.ram_kib is not None or args.ram_ports is not None:
        parser.error("--firmware, --ram-kib and --ram-ports need --soc")
    if args.synth is None:
        if args.device is not None or args.json is not None:
            parser.error("--device and --json need --synth")
    else:
        try:
            synth.get_device(args.synth, args.device)
            synth.build_report(
                config,
                args.synth,
                args.device,
                out_dir=args.out,
                json_path=args.json,
                pnr=not args.no_pnr,
            )
        except (ValueError, synth.SynthError) as error:
            raise SystemExit(f"accel.build: {error}") from None
        return 0
    default_out = args.out is None
    out_dir = DEFAULT_RTL_DIR if default_out else args.out
    # The committed header and ISA doc describe the default build; other builds keep theirs
    # next to the Verilog.
    header = DEFAULT_HEADER if default_out else None
    isa_doc = DEFAULT_ISA_DOC if default_out else None
    for path in write_outputs(config, out_dir, header, isa_doc):
        print(f"wrote {path}")
    return 0


def _write_soc(parser: argparse.ArgumentParser, args: argparse.Namespace, config) -> int:
    from accel.soc.build import write_soc
    from accel.soc.vexriscv import VexRiscvMissing

    if args.firmware is not None and not args.firmware.is_file():
        parser.error(f"--firmware {args.firmware}: no such file")
    if args.synth is not None:
        return _synth_soc(parser, args, config)
    if args.device is not None or args.json is not None:
        parser.error("--device and --json need --synth")
    if args.out is None:
        parser.error("--soc needs --out DIR (rtl/ holds the accelerator alone)")
    ram_kib = 256 if args.ram_kib is None else args.ram_kib
    ram_ports = 4 if args.ram_ports is None else args.ram_ports
    try:
        paths = write_soc(config, args.out, ram_kib * 1024, args.firmware, ram_ports)
    except (ValueError, VexRiscvMissing) as error:
        raise SystemExit(f"accel.build: {error}") from None
    for path in paths:
        print(f"wrote {path}")
    from accel.soc.vexriscv import verilog_path

    print(f"the core: {verilog_path()} (module VexRiscv; pass it to the simulator/synthesis)")
    return 0


def _synth_soc(parser: argparse.ArgumentParser, args: argparse.Namespace, config) -> int:
    from accel.soc.build import SYNTH_RAM_BYTES, SYNTH_RAM_PORTS, synth_soc
    from accel.soc.vexriscv import VexRiscvMissing

    if args.ram_ports == 4:
        parser.error("--synth needs --ram-ports 2: a 4-port RAM does not map to block RAM")
    ram_bytes = SYNTH_RAM_BYTES if args.ram_kib is None else args.ram_kib * 1024
    try:
        synth.get_device(args.synth, args.device)
        synth_soc(
            config,
            args.synth,
            args.device,
            ram_bytes=ram_bytes,
            ram_ports=SYNTH_RAM_PORTS,
            firmware=args.firmware,
            out_dir=args.out,
            json_path=args.json,
            pnr=not args.no_pnr,
        )
    except (ValueError, VexRiscvMissing, synth.SynthError) as error:
        raise SystemExit(f"accel.build: {error}") from None
    return 0
