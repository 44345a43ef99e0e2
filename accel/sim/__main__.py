"""Command line: ``python -m accel.sim <command> [options]``.

Commands:

``lenet``
    The int8 LeNet-5 on the held-out test images (float and int8 accuracy, per-layer table),
    or with ``--layer NAME`` / ``--all`` single layers on a layer backend
    (:data:`accel.backends.BACKENDS`: golden, perf, amaranth, rtl) with cycles and
    utilization.
``conv``
    One convolution layer from .npy files on a layer backend.
``network``
    The conv/FC layers of ResNet-18, VGG-16, AlexNet or MobileNet-v1 on a backend (perf by
    default) with cycles, utilization and roofline ratio per layer.
``firmware``
    LeNet-5 driven by the RV32IM firmware on the ISS (functional or RTL accelerator), or
    with ``--cpu vexriscv`` on the VexRiscv SoC in Verilator (:mod:`accel.sim.soc_cmd`).
``model``
    An imported int8 .tflite / .onnx model (:mod:`accel.sim.model_cmd`): per-op table.

``--json FILE`` writes the layer report as numbers (schema: ``docs/reports.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accel.backends import HARDWARE_BACKENDS, LAYER_BACKENDS
from accel.cli import entry_point, positive_int
from accel.ref import lenet
from accel.ref.layer import QuantizedLayer
from accel.ref.networks import NETWORKS
from accel.sim import format_layer_table, format_table, layer_rows
from accel.sim.model_cmd import add_model_parser
from accel.sim.network import cmd_network


@dataclass
class BackendResult:
    """What a whole-network backend returns for a batch of images.

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


#: Whole-network backend name -> function(layers, int8 NHWC images) -> BackendResult.
BACKENDS: dict[str, Callable[[Sequence[QuantizedLayer], np.ndarray], BackendResult]] = {
    "golden": run_golden,
}


def _accuracy_line(label: str, predictions: np.ndarray, labels: np.ndarray) -> str:
    correct = int(np.sum(predictions == labels))
    return f"{label:<16}{100.0 * correct / len(labels):6.2f} % ({correct}/{len(labels)})"


def cmd_lenet(args: argparse.Namespace) -> int:
    try:
        model = lenet.load_params(args.weights)
    except lenet.WeightFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.layer or args.all:
        return _lenet_layers(args, model)
    if args.backend not in BACKENDS:
        print(
            f"error: backend {args.backend!r} runs single layers: add --layer NAME or --all",
            file=sys.stderr,
        )
        return 2
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


def _progress(text: str) -> None:
    """A one-line progress indicator on stderr (only on a terminal)."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()


def _config(args: argparse.Namespace):
    from accel.build.cli import parse_config

    return parse_config(args)


def _print_reports(reports, config, args) -> int:
    rows = [report.row(config) for report in reports]
    columns = list(rows[0])
    table = format_table(columns, rows)
    print(table)
    if args.json:
        payload = {
            "config": config.as_dict(),
            "backend": args.backend,
            "layers": [_plain(report.record(config)) for report in reports],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    failed = [report.name for report in reports if not report.exact]
    if failed:
        print(f"error: output differs from the golden model: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _plain(record: dict) -> dict:
    """NumPy scalars as Python numbers, for JSON."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in record.items()}


def _lenet_layers(args: argparse.Namespace, model) -> int:
    from accel.backends import run_layer_job

    config = _config(args)
    names = [layer.name for layer in model.layers] if args.all else args.layer
    unknown = [name for name in names if name not in lenet.LAYER_NAMES]
    if unknown:
        print(
            f"error: unknown layer {unknown[0]!r}; LeNet-5 layers: {', '.join(lenet.LAYER_NAMES)}",
            file=sys.stderr,
        )
        return 2
    if not 0 <= args.image < len(model.test_images_int8):
        print(f"error: --image must be in 0..{len(model.test_images_int8) - 1}", file=sys.stderr)
        return 2
    image = model.test_images_int8[args.image : args.image + 1]
    inputs = lenet.int8_activations(model.layers, image)
    print(
        f"LeNet-5 test image {args.image} (label {int(model.test_labels[args.image])}), "
        f"backend {args.backend}, {config.rows}x{config.cols} array, {config.bus_width}-bit bus"
    )
    reports = []
    selected = [layer for layer in model.layers if layer.name in names]
    for number, layer in enumerate(selected, 1):
        _progress(f"[{number}/{len(selected)}] {layer.name} on {args.backend}")
        reports.append(run_layer_job(layer, inputs[layer.name], config, args.backend, vcd=args.vcd))
    _progress("")
    code = _print_reports(reports, config, args)
    if args.plot:
        from accel.sim.report import write_plots

        for path in write_plots(reports, config, args.plot):
            print(f"wrote {path}")
    return code


def cmd_conv(args: argparse.Namespace) -> int:
    from accel.backends import run_layer_job
    from accel.ref.layer import QuantizedLayer
    from accel.ref.quant import quantize_multiplier

    def load(path, dtype, what):
        try:
            array = np.load(path)
        except (OSError, ValueError, EOFError) as exc:
            raise SystemExit(f"error: cannot read {what} file {path}: {exc}") from None
        if array.dtype != dtype:
            raise SystemExit(
                f"error: {what} in {path} must be {np.dtype(dtype)}, not {array.dtype}"
            )
        return array

    x = load(args.input, np.int8, "input")
    w = load(args.weights, np.int8, "weights")
    if w.ndim != 4:
        raise SystemExit(f"error: weights must be (M, R, S, C), got shape {w.shape}")
    M, R, S, C = w.shape
    if x.ndim != 4 or x.shape[3] != C:
        raise SystemExit(
            f"error: input must be (N, H, W, C) with C = {C} like the weights, got {x.shape}"
        )
    if not np.isfinite(args.scale) or args.scale <= 0:
        raise SystemExit(f"error: --scale must be a positive finite number, got {args.scale}")
    if not 0 <= args.padding < min(R, S):
        raise SystemExit(
            f"error: --padding must be in 0..{min(R, S) - 1} for a {R}x{S} kernel "
            f"(a larger one puts whole windows in padding), got {args.padding}"
        )
    bias = load(args.bias, np.int32, "bias") if args.bias else np.zeros(M, np.int32)
    if bias.shape != (M,):
        raise SystemExit(f"error: bias must be ({M},) for {M} filters, got {bias.shape}")
    multiplier, shift = quantize_multiplier(args.scale)
    try:
        layer = QuantizedLayer(
            name="conv",
            weights=w,
            bias=bias,
            multiplier=np.full(M, multiplier, np.int32),
            shift=np.full(M, shift, np.int32),
            input_zero_point=args.input_zero_point,
            output_zero_point=args.output_zero_point,
            act_min=args.output_zero_point if args.relu else -128,
            act_max=127,
            stride=args.stride,
            padding=args.padding,
            pool=args.pool,
        )
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    config = _config(args)
    report = run_layer_job(layer, x, config, args.backend, vcd=args.vcd)
    if args.output:
        np.save(args.output, report.output)
    return _print_reports([report], config, args)


def cmd_firmware(args: argparse.Namespace) -> int:
    from accel.firmware import run as firmware_run

    if args.images is not None and args.images < 0:
        print("error: --images must be >= 0 (0: the whole test set)", file=sys.stderr)
        return 2
    model = lenet.load_params(args.weights)
    config = _config(args)
    count = len(model.test_labels) if args.images == 0 else args.images
    indices = (
        [args.image] if args.images is None else list(range(min(count, len(model.test_labels))))
    )
    if not 0 <= indices[0] < len(model.test_labels) or not indices:
        print(f"error: --image must be in 0..{len(model.test_labels) - 1}", file=sys.stderr)
        return 2
    if (args.ram_ports is not None or args.ram_kib is not None) and args.cpu != "vexriscv":
        print("error: --ram-ports and --ram-kib need --cpu vexriscv", file=sys.stderr)
        return 2
    if args.cpu == "vexriscv":
        from accel.sim.soc_cmd import cmd_firmware_soc

        return cmd_firmware_soc(args, model, config, indices)
    started = time.perf_counter()
    elf = firmware_run.model_elf()
    if args.backend == "functional":
        results = [firmware_run.run_functional(model, i, config, elf) for i in indices]
    else:  # one simulator process per chunk of images: start-up costs ~1 s
        results = []
        for first in range(0, len(indices), 64):
            chunk = indices[first : first + 64]
            _progress(
                f"[{first}/{len(indices)} images] co-simulating images {chunk[0]}..{chunk[-1]}"
            )
            results += firmware_run.run_rtl_batch(model, chunk, config, elf)
        _progress("")
    for index, result in zip(indices, results, strict=True):
        if len(indices) == 1:
            print(f"LeNet-5 firmware on the RV32IM ISS, accelerator backend {args.backend}")
            print(f"test image {index}: label {result.label}, predicted class {result.predicted}")
            print("logits:", " ".join(str(int(v)) for v in result.logits))
            print(f"golden logits match: {'yes' if result.exact else 'NO'}")
            print(
                f"CPU instructions retired: {result.instructions} "
                f"({result.custom_instructions} custom)"
            )
            rows = [
                {"layer": layer.name, "accelerator cycles": cycles}
                for layer, cycles in zip(model.layers, result.layer_cycles, strict=True)
            ]
            print(
                format_table(
                    ["layer", "accelerator cycles"],
                    rows,
                    {"layer": "total", "accelerator cycles": sum(result.layer_cycles)},
                )
            )
            print(
                f"wall time: {result.wall_seconds:.2f} s running the image, "
                f"{time.perf_counter() - started:.2f} s in all (firmware and simulator start-up)"
            )
    if len(indices) > 1:
        exact = sum(r.exact for r in results)
        correct = sum(r.predicted == r.label for r in results)
        wall = sum(r.wall_seconds for r in results)
        print(
            f"{len(results)} images, backend {args.backend}: logits identical to the golden "
            f"model for {exact}/{len(results)}; accuracy {100 * correct / len(results):.2f} % "
            f"({correct}/{len(results)}); {wall / len(results):.2f} s per image, "
            f"{time.perf_counter() - started:.1f} s in all"
        )
    return 0 if all(r.exact for r in results) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m accel.sim",
        description="Run networks and layers on the accelerator models and report per layer.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = commands.add_parser("lenet", help="int8 LeNet-5 on the held-out test images")
    p.add_argument(
        "--backend",
        choices=sorted(set(BACKENDS) | set(LAYER_BACKENDS)),
        default=None,
        help="golden (default for the whole network), or for --layer/--all: rtl (default), "
        "amaranth, perf",
    )
    p.add_argument("--layer", action="append", metavar="NAME", help="simulate this layer")
    p.add_argument("--all", action="store_true", help="simulate every layer on one image")
    p.add_argument("--image", type=int, default=0, help="test image for --layer/--all")
    p.add_argument("--plot", type=Path, metavar="DIR", help="write PNG plots (needs matplotlib)")
    _hardware_arguments(p)
    p.add_argument(
        "--images",
        type=positive_int,
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

    c = commands.add_parser("conv", help="one convolution layer from .npy files")
    c.add_argument("--input", required=True, type=Path, help="int8 NHWC input (.npy)")
    c.add_argument("--weights", required=True, type=Path, help="int8 (M, R, S, C) weights (.npy)")
    c.add_argument("--bias", type=Path, help="int32 (M,) bias (.npy), default zeros")
    c.add_argument("--scale", type=float, default=1 / 256, help="real requantization multiplier")
    c.add_argument("--input-zero-point", type=int, default=0)
    c.add_argument("--output-zero-point", type=int, default=0)
    c.add_argument("--stride", type=int, default=1)
    c.add_argument("--padding", type=int, default=0)
    c.add_argument("--relu", action="store_true")
    c.add_argument("--pool", action="store_true", help="fused 2x2 max-pool")
    c.add_argument("--backend", choices=LAYER_BACKENDS, default="rtl")
    c.add_argument("--output", type=Path, help="write the int8 output (.npy)")
    _hardware_arguments(c)
    c.set_defaults(func=cmd_conv)

    n = commands.add_parser("network", help="the conv/FC layers of a real CNN on the model")
    n.add_argument("network", choices=NETWORKS, help="built-in layer shapes")
    n.add_argument("--input", type=int, default=224, help="input height = width (default 224)")
    n.add_argument(
        "--backend",
        choices=HARDWARE_BACKENDS,
        default="perf",
        help="perf (default: the exact model, seconds for a whole network), or amaranth/rtl "
        "(random int8 weights, checked bit-exactly; slow at 224x224)",
    )
    n.add_argument("--plot", type=Path, metavar="DIR", help="write a PNG of the table")
    _hardware_arguments(n)
    n.set_defaults(func=cmd_network)

    f = commands.add_parser("firmware", help="LeNet-5 driven by RISC-V firmware on the ISS")
    f.add_argument("network", choices=["lenet"], help="the firmware program")
    f.add_argument("--image", type=int, default=0, help="test image index")
    f.add_argument(
        "--images",
        type=int,
        default=None,
        metavar="N",
        help="run the first N test images (0: all) and report accuracy",
    )
    f.add_argument(
        "--backend",
        choices=["functional", "rtl"],
        default="rtl",
        help="accelerator: rtl (co-simulated Verilog) or functional (fast); ISS only",
    )
    f.add_argument(
        "--cpu",
        choices=["iss", "vexriscv"],
        default="iss",
        help="iss (the Python RV32IM simulator, default) or vexriscv (the SoC in Verilator: "
        "the real core, the accelerator on its CFU port, shared RAM; docs/soc.md)",
    )
    f.add_argument(
        "--ram-ports",
        type=int,
        choices=(4, 2),
        default=None,
        help="vexriscv: the SoC RAM's ports, 4 (default: the DMA timing accel.perf models) or "
        "2 read-write ports as an FPGA block RAM has (the DMA's read and write channels share "
        "one: accelerator cycles may exceed the ISS's)",
    )
    f.add_argument(
        "--ram-kib",
        type=int,
        default=None,
        metavar="K",
        help="vexriscv: the SoC RAM in KiB, a power of two >= 128 for LeNet (default 256; 128 "
        "with --ram-ports 2 is the SoC that `accel.build --soc --synth` synthesizes); the "
        "firmware is linked for it",
    )
    f.add_argument("--weights", type=Path, default=lenet.DEFAULT_PATH, metavar="FILE")
    _hardware_arguments(f)
    f.set_defaults(func=cmd_firmware)
    add_model_parser(commands)
    return parser


def _hardware_arguments(parser: argparse.ArgumentParser) -> None:
    from accel.build.cli import add_config_arguments

    add_config_arguments(parser)
    parser.add_argument("--json", type=Path, help="write the report as JSON")
    parser.add_argument("--vcd", type=str, help="write a waveform (amaranth: VCD; rtl: see sim/)")


@entry_point("accel.sim")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "rows"):
        _config(args)  # a bad configuration is an error even where it goes unused
    if args.command == "lenet" and args.backend is None:
        args.backend = "rtl" if (args.layer or args.all) else "golden"
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
