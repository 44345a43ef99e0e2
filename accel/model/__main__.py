"""Command line: ``python -m accel.model <command>``.

``export lenet --format tflite|onnx -o FILE``
    Write the shipped int8 LeNet-5 (:mod:`accel.ref.lenet`) as a standard int8 model.
``show FILE``
    Import a .tflite / .onnx model and print its graph and the placement of every op.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from accel.cli import entry_point


def _export(args: argparse.Namespace) -> int:
    from accel.model.export import FORMATS

    try:
        data = FORMATS[args.format]()
        args.output.write_bytes(data)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({len(data)} bytes, int8 LeNet-5, {args.format})")
    return 0


def _show(args: argparse.Namespace) -> int:
    from accel.model import ModelError, load_model
    from accel.model.run import plan

    try:
        graph = load_model(args.file)
        steps = plan(graph)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(graph.summary())
    print("placement:")
    for step in steps:
        note = f" ({step.note})" if step.note else ""
        print(f"  op {step.ops[0].index:3d} {step.label:<24} {step.where}{note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m accel.model", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    e = commands.add_parser("export", help="write the shipped LeNet-5 as .tflite or .onnx")
    e.add_argument("network", choices=["lenet"])
    e.add_argument("--format", choices=["tflite", "onnx"], required=True)
    e.add_argument("-o", "--output", type=Path, required=True, help="output file")
    e.set_defaults(func=_export)
    s = commands.add_parser("show", help="print the imported graph and its placement")
    s.add_argument("file", type=Path)
    s.set_defaults(func=_show)
    return parser


@entry_point("accel.model")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
