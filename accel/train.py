"""Train LeNet-5 in NumPy, quantize it to int8 and write ``accel/data/lenet.npz``.

Usage::

    python -m accel.train [--epochs N] [--seed S] [--mnist-dir DIR] [--out PATH]

Without ``--mnist-dir`` the data is scikit-learn's bundled digits upsampled to 32×32 (see
:mod:`accel.ref.datasets`); with it, MNIST from its IDX files. Calibration of the int8
activation ranges uses the training images. The output file holds the float parameters,
the int8 layers and the held-out test images (at most ``--max-test``) with their labels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from accel.cli import entry_point
from accel.ref import lenet
from accel.ref.datasets import DatasetError, load_digits_32, load_mnist_idx


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m accel.train",
        description="Train LeNet-5 (NumPy), quantize it to int8 and save the parameter file.",
    )
    parser.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch-size", type=int, default=32, help="mini-batch size")
    parser.add_argument("--lr", type=float, default=2e-3, help="initial Adam learning rate")
    parser.add_argument(
        "--max-shift",
        type=int,
        default=2,
        help="augment with random translations of up to this many pixels (default 2)",
    )
    parser.add_argument(
        "--mnist-dir", type=Path, help="train on MNIST IDX files in DIR instead of sklearn digits"
    )
    parser.add_argument(
        "--train-limit", type=int, help="use only the first N training images (MNIST: speed)"
    )
    parser.add_argument(
        "--max-test",
        type=int,
        default=1000,
        help="store at most this many held-out test images (default 1000)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=lenet.DEFAULT_PATH,
        help=f"output .npz (default {lenet.DEFAULT_PATH})",
    )
    return parser


@entry_point("accel.train")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("epochs", "batch_size", "max_test", "train_limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"error: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    if args.max_shift < 0 or args.seed < 0:
        print("error: --max-shift and --seed must be >= 0", file=sys.stderr)
        return 2
    if not np.isfinite(args.lr) or args.lr <= 0:
        print(f"error: --lr must be a positive finite number, got {args.lr}", file=sys.stderr)
        return 2
    try:
        data = load_mnist_idx(args.mnist_dir) if args.mnist_dir else load_digits_32()
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    x_train, y_train = data.x_train, data.y_train
    if args.train_limit:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    x_test, y_test = data.x_test[: args.max_test], data.y_test[: args.max_test]
    source = f"MNIST ({args.mnist_dir})" if args.mnist_dir else "sklearn digits 32x32"
    print(f"data: {source}: {len(x_train)} train, {len(x_test)} test images")

    start = time.perf_counter()

    def report(epoch: int, loss: float) -> None:
        elapsed = time.perf_counter() - start
        print(f"epoch {epoch + 1:3d}/{args.epochs}  loss {loss:.4f}  ({elapsed:.1f} s)")

    params, _ = lenet.train(
        x_train,
        y_train,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        max_shift=args.max_shift,
        on_epoch=report,
    )
    layers = lenet.quantize_lenet(params, x_train)
    x_test_q = lenet.quantize_image(x_test, layers)
    float_acc = lenet.accuracy(lenet.forward_float(params, x_test), y_test)
    int8_acc = lenet.accuracy(lenet.forward_int8(layers, x_test_q), y_test)
    print(f"float test accuracy: {100 * float_acc:.2f} %")
    print(f"int8  test accuracy: {100 * int8_acc:.2f} %")

    model = lenet.LeNetModel(
        params=params,
        layers=tuple(layers),
        test_images=x_test,
        test_images_int8=x_test_q,
        test_labels=np.asarray(y_test),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lenet.save_params(args.out, model)
    lenet.load_params(args.out)  # validate what was written
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
