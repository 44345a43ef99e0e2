"""Command line of ``python -m accel.firmware``: build (and run) firmware, or run an
imported model under firmware (``--model FILE``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from accel.cli import entry_point
from accel.firmware.build import DEFAULT_LAYOUT, FirmwareBuildError, MemoryLayout, build_image


@entry_point("accel.firmware")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m accel.firmware", description="Build (and run) RV32IM firmware."
    )
    parser.add_argument("program", nargs="?", default="selftest", help="firmware/<program>.c")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    parser.add_argument(
        "--run", action="store_true", help="run it on the ISS with a stub accelerator"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="an int8 .tflite/.onnx model: build its memory image (accelerator layers and host "
        "ops) and run firmware/model.c on the ISS (functional accelerator, or --backend rtl), "
        "checked against the golden model",
    )
    parser.add_argument(
        "--input",
        type=Path,
        default=None,
        help="the model's input (.npy in its dtype; .npz for several), batch 1",
    )
    parser.add_argument(
        "--image", type=int, default=0, help="else: LeNet-5 test image K (LeNet-shaped input)"
    )
    parser.add_argument("--backend", choices=("functional", "rtl"), default="functional")
    parser.add_argument(
        "--ram-kib",
        type=int,
        default=None,
        metavar="K",
        help="link the program for a RAM of K KiB (a power of two >= 64; default 256: "
        "firmware/link.ld)",
    )
    parser.add_argument(
        "--link-script",
        action="store_true",
        help="print the linker script of the --ram-kib layout (firmware/link.ld: 256) and exit",
    )
    args = parser.parse_args(argv)
    try:
        layout = DEFAULT_LAYOUT if args.ram_kib is None else MemoryLayout(args.ram_kib * 1024)
    except ValueError as exc:
        parser.error(str(exc))
    if args.link_script:
        print(layout.link_script(), end="")
        return 0
    if args.model is not None:
        if layout != DEFAULT_LAYOUT:
            parser.error("--ram-kib is for building a program; --model runs in the default RAM")
        return _run_model(args)
    try:
        image = build_image(args.program, args.out, layout=layout)
    except FirmwareBuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{image.elf}\n{image.bin}")
    if args.run:
        from accel.firmware.riscv.__main__ import run_elf

        return run_elf(image.elf)
    return 0


def _run_model(args) -> int:
    from accel.firmware.model_cli import run_model_file

    return run_model_file(args)
