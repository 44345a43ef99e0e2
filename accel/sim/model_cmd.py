"""``python -m accel.sim model FILE``: run an imported int8 model, report per op.

The accelerator steps (convolution / fully connected, fused 2×2 max-pool) run on a layer
backend (golden, perf, amaranth, rtl); everything else on the host. The input is a shipped
LeNet-5 test image (``--image K``, for LeNet-shaped models) or a batch from a .npy file in
the model's input layout and dtype (``--input``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from accel.backends import LAYER_BACKENDS
from accel.mapping import MappingError
from accel.model.graph import Graph, ModelError
from accel.sim import format_table

__all__ = ["add_model_parser", "cmd_model"]


def add_model_parser(commands) -> None:
    """Add the ``model`` subcommand to ``python -m accel.sim``."""
    from accel.build.cli import add_config_arguments

    p = commands.add_parser("model", help="an imported int8 .tflite / .onnx model, per op")
    p.add_argument("file", type=Path, help="int8 .tflite or .onnx model")
    p.add_argument("--backend", choices=LAYER_BACKENDS, default="golden", help="layer backend")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--image", type=int, help="shipped LeNet-5 test image K (default 0)")
    source.add_argument("--input", type=Path, help="a batch (.npy) in the model's layout/dtype")
    p.add_argument("--output", type=Path, help="write the model output of the batch (.npy)")
    p.add_argument("--json", type=Path, help="write the per-op report as JSON")
    p.add_argument(
        "--fc-on-host",
        action="store_true",
        help="run FULLY_CONNECTED on the host with LiteRT's reference rounding",
    )
    add_config_arguments(p)
    p.set_defaults(func=cmd_model)


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _lenet_input(graph: Graph, index: int):
    """The shipped test image ``index`` in the layout and dtype of ``graph``'s input."""
    from accel.model.inputs import lenet_input

    return lenet_input(graph, index)


def _load_input(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ModelError(f"cannot read input file {path}: {exc}") from None


def _rows(reports) -> tuple[list[dict], dict]:
    rows = []
    for r in reports:
        where = f"{r.where} ({r.note})" if r.note else r.where
        row = {"op": r.index, "type": r.ops, "where": where, "output shape": str(list(r.shape))}
        row["MACs"] = r.macs
        row["cycles"] = r.cycles if r.cycles is not None else "-"
        row["exact"] = "-" if r.exact is None else ("yes" if r.exact else "NO")
        rows.append(row)
    cycles = [r.cycles for r in reports if r.cycles is not None]
    total = {"op": "total", "MACs": sum(r.macs for r in reports)}
    total["cycles"] = sum(cycles) if cycles else "-"
    return rows, total


def cmd_model(args: argparse.Namespace) -> int:
    from accel.build.cli import parse_config
    from accel.model import load_model
    from accel.model.run import run_model

    config = parse_config(args)
    try:
        graph = load_model(args.file)
        label = None
        if args.input is not None:
            x = _load_input(args.input)
        else:
            x, label = _lenet_input(graph, 0 if args.image is None else args.image)
        run = run_model(graph, x, args.backend, config, fc_on_host=args.fc_on_host)
    except (ModelError, MappingError, ValueError, OSError, RuntimeError) as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    accel_ops = sum(1 for r in run.reports if r.where == "accel")
    print(
        f"{args.file}: {len(graph.ops)} ops, batch {len(x)}, backend {args.backend}, "
        f"{config.rows}x{config.cols} array; {accel_ops} steps on the accelerator"
    )
    rows, total = _rows(run.reports)
    columns = ["op", "type", "where", "output shape", "MACs", "cycles", "exact"]
    print(format_table(columns, rows, total))
    out = run.output
    if label is not None and out.ndim == 2:
        print(f"test image label {label}, predicted class {int(np.argmax(out[0]))}")
    print("output:", np.array2string(out.reshape(len(out), -1)[0], max_line_width=100))
    if args.output:
        if len(run.outputs) == 1:
            np.save(args.output, out)
        else:
            np.savez(args.output, *run.outputs)
        print(f"wrote {args.output}")
    if args.json:
        payload = {
            "model": str(args.file),
            "backend": args.backend,
            "config": config.as_dict(),
            "batch": int(len(x)),
            "ops": [r.record() for r in run.reports],
            "total_macs": total["MACs"],
            "total_cycles": total["cycles"] if total["cycles"] != "-" else None,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    if any(r.exact is False for r in run.reports):
        return _fail("an accelerator step differs from the golden model")
    return 0
