"""Command line: ``python -m accel.sim <command> [options]``.

Commands:

``lenet``
    Run the int8 LeNet-5 on the held-out test images of the shipped model and print the
    float and int8 accuracy and the per-layer table (N M C H W R S E F U P, pool, MACs)::

        python -m accel.sim lenet --backend golden [--images N] [--weights FILE]

Backends are registered in :data:`BACKENDS`: a backend takes the int8 layers and the int8
NHWC images and returns a :class:`BackendResult` (the int8 logits, plus optional extra
per-layer table columns such as cycles). Only ``golden`` exists so far.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..ref import lenet
from ..ref.layer import QuantizedLayer
from . import format_layer_table, layer_rows


@dataclass
class BackendResult:
    """What a backend returns for a batch of images.

    ``logits``: int8 (N, 10) output of the last layer. ``columns``: names of extra per-layer
    table columns; ``layer_stats[layer name][column]`` their values. ``sum_columns``: which
    extra columns the total line adds up.
    """

    logits: np.ndarray
    columns: tuple[str, ...] = ()
    layer_stats: dict[str, dict] = field(default_factory=dict)
    sum_columns: tuple[str, ...] = ()


def run_golden(layers: Sequence[QuantizedLayer], x_int8: np.ndarray) -> BackendResult:
    """The NumPy int8 golden model (:func:`accel.ref.lenet.forward_int8`)."""
    return BackendResult(logits=lenet.forward_int8(layers, x_int8))


#: Backend name -> function(layers, int8 NHWC images) -> BackendResult.
BACKENDS: dict[str, Callable[[Sequence[QuantizedLayer], np.ndarray], BackendResult]] = {
    "golden": run_golden,
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _accuracy_line(label: str, predictions: np.ndarray, labels: np.ndarray) -> str:
    correct = int(np.sum(predictions == labels))
    return f"{label:<16}{100.0 * correct / len(labels):6.2f} % ({correct}/{len(labels)})"


def cmd_lenet(args: argparse.Namespace) -> int:
    try:
        model = lenet.load_params(args.weights)
    except lenet.WeightFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    available = len(model.test_labels)
    n = available if args.images is None else args.images
    if n > available:
        print(
            f"error: --images {n}: the model file holds only {available} test images",
            file=sys.stderr,
        )
        return 2
    x_float = model.test_images[:n]
    x_int8 = model.test_images_int8[:n]
    labels = model.test_labels[:n]

    float_logits = lenet.forward_float(model.params, x_float)
    result = BACKENDS[args.backend](model.layers, x_int8)

    print(f"LeNet-5 int8, backend {args.backend}, {n} held-out images ({args.weights})")
    print(_accuracy_line("float accuracy:", np.argmax(float_logits, axis=1), labels))
    print(_accuracy_line("int8 accuracy:", np.argmax(result.logits, axis=1), labels))
    print()
    rows = layer_rows(model.layers, x_int8.shape)
    for row in rows:
        row.update(result.layer_stats.get(row["layer"], {}))
    print(
        format_layer_table(
            rows, extra_columns=result.columns, sum_columns=("MACs", *result.sum_columns)
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m accel.sim",
        description="Run networks and layers on the accelerator models and report per layer.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = commands.add_parser("lenet", help="int8 LeNet-5 on the held-out test images")
    p.add_argument(
        "--backend",
        choices=sorted(BACKENDS),
        default="golden",
        help="execution backend (default golden)",
    )
    p.add_argument(
        "--images",
        type=_positive_int,
        default=None,
        metavar="N",
        help="number of test images (default: all in the model file)",
    )
    p.add_argument(
        "--weights",
        type=Path,
        default=lenet.DEFAULT_PATH,
        metavar="FILE",
        help="model .npz written by python -m accel.train (default: the shipped one)",
    )
    p.set_defaults(func=cmd_lenet)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
