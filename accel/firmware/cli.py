"""Command line of ``python -m accel.firmware``: build (and run) firmware, or run an
imported model under firmware (``--model FILE``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from accel.cli import entry_point
from accel.firmware.build import FirmwareBuildError, build_image
from accel.spec.config import AccelConfig


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
        help="an int8 .tflite/.onnx model: build its memory image and run firmware/model.c on "
        "the ISS (functional accelerator, or --backend rtl), checked against the golden model",
    )
    parser.add_argument("--input", type=Path, default=None, help="int8 input (.npy), batch 1")
    parser.add_argument("--image", type=int, default=0, help="else: LeNet-5 test image K")
    parser.add_argument("--backend", choices=("functional", "rtl"), default="functional")
    args = parser.parse_args(argv)
    if args.model is not None:
        return _run_model(args)
    try:
        image = build_image(args.program, args.out)
    except FirmwareBuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{image.elf}\n{image.bin}")
    if args.run:
        from accel.firmware.riscv.__main__ import run_elf

        return run_elf(image.elf)
    return 0


def _run_model(args) -> int:
    import numpy as np

    from accel.firmware import run
    from accel.firmware.from_model import model_input, model_layers
    from accel.model import load_model
    from accel.model.graph import ModelError
    from accel.model.run import run_model
    from accel.ref import lenet

    try:
        graph = load_model(args.model)
        layers = model_layers(graph)
        if args.input is not None:
            raw = np.load(args.input)
        else:
            raw = lenet.load_default().test_images_int8[args.image : args.image + 1]
        x = model_input(graph, raw)
        golden = run_model(graph, [raw]).outputs[0]
    except (ModelError, OSError, ValueError, EOFError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = AccelConfig()
    elf = run.model_elf(args.out)
    if args.backend == "rtl":
        (result,) = run.run_chains_rtl([(layers, x)], config, elf)
    else:
        result = run.run_chain_functional(layers, x, config, elf)
    exact = np.array_equal(result["output"], np.asarray(golden).reshape(-1))
    n_descs = sum(len(job.descriptors) for job in result["image"].jobs)
    print(
        f"{args.model}: {len(layers)} accelerator layers, {n_descs} descriptors, "
        f"firmware on the ISS with the {args.backend} accelerator"
    )
    print("output:", " ".join(str(int(v)) for v in result["output"][:16]))
    print(f"class {result['predicted']}; equals the golden model: {'yes' if exact else 'NO'}")
    print(
        f"accelerator cycles per layer: {result['cycles']}; CPU instructions "
        f"{result['instructions']} ({result['custom_instructions']} custom)"
    )
    return 0 if exact and result["status"] == 0 else 1
