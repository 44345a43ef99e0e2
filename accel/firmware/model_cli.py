"""``python -m accel.firmware --model FILE``: an imported model under firmware on the ISS.

The model image (:func:`accel.firmware.from_model.build_graph_image`) holds every op:
accelerator layers and host-op records. ``firmware/model.c`` runs it on the RV32IM ISS with
the functional accelerator or co-simulated with the generated Verilog (``--backend rtl``);
the per-op table shows the instructions the CPU retired for each op (``rdinstret``) and
the accelerator's CYCLES counter of each layer. The outputs are checked against the golden
model (:func:`accel.model.run.run_model`, itself judged against LiteRT in ``tests/model``).
"""

from __future__ import annotations

import sys

import numpy as np

from accel.firmware import run
from accel.model.graph import ModelError
from accel.spec.config import AccelConfig


def run_model_file(args) -> int:
    """The ``--model`` command: ``args.model``, ``args.input`` (``.npy``; ``.npz`` for
    several inputs) / ``args.image``,
    ``args.backend``, ``args.out``. Returns the exit code (0: equal to the golden model)."""
    from accel.model import load_model
    from accel.model.inputs import lenet_input
    from accel.model.run import run_model

    config = AccelConfig()
    try:
        graph = load_model(args.model)
        if args.input is not None:
            inputs = _load_inputs(args.input, graph.inputs)
            source = str(args.input)
        else:
            x, label = lenet_input(graph, args.image)
            inputs = [x]
            source = f"LeNet-5 test image {args.image} (label {label})"
        image = run.graph_image(graph, inputs, config)
        golden = run_model(graph, inputs).outputs
    except (ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        elf = run.model_elf(args.out)
        if args.backend == "rtl":
            (result,) = run.run_images_rtl([image], config, elf)
        else:
            result = run.run_image_functional(image, config, elf)
    except RuntimeError as exc:  # FirmwareBuildError, RtlSimError, a failed firmware run
        print(f"error: {exc}", file=sys.stderr)
        return 1
    exact = len(golden) == len(result["outputs"]) and all(
        g.dtype == r.dtype and np.array_equal(g.reshape(r.shape), r)
        for g, r in zip(golden, result["outputs"], strict=True)
    )
    n_accel = sum(op.where == "accel" for op in image.ops)
    print(
        f"{args.model}: {len(image.ops)} ops ({n_accel} accelerator layers, "
        f"{len(image.ops) - n_accel} host ops), {sum(len(j.descriptors) for j in image.jobs)} "
        f"descriptors; input {source}; firmware on the ISS with the {args.backend} accelerator"
    )
    for note in image.notes:
        print(f"note: {note}")
    print(format_ops(result["ops"]))
    first = result["outputs"][0].reshape(-1)
    print("output:", " ".join(str(v) for v in first[:16].tolist()))
    print(f"class {result['predicted']}; equals the golden model: {'yes' if exact else 'NO'}")
    print(
        f"CPU instructions {result['instructions']} ({result['custom_instructions']} custom); "
        f"wall {result['wall_seconds']:.2f} s"
    )
    return 0 if exact and result["status"] == 0 else 1


def format_ops(ops: list[dict]) -> str:
    """The per-op table: label, where, CPU instructions (per output element of a host op),
    accelerator cycles."""
    width = max(len("accelerator layers"), *(len(op["label"]) for op in ops))
    lines = [f"{'op':<{width}}  where  instructions  per element  accel cycles"]
    for op in ops:
        cycles = str(op["cycles"]) if op["where"] == "accel" else "-"
        per = "-"
        if op["where"] == "host" and op.get("elements"):
            per = f"{op['instructions'] / op['elements']:.1f}"
        lines.append(
            f"{op['label']:<{width}}  {op['where']:<5}  {op['instructions']:>12}  {per:>11}"
            f"  {cycles:>12}"
        )
    host = sum(op["instructions"] for op in ops if op["where"] == "host")
    accel = sum(op["cycles"] for op in ops if op["where"] == "accel")
    lines.append(f"{'host ops':<{width}}  host   {host:>12}  {'':>11}  {'-':>12}")
    lines.append(f"{'accelerator layers':<{width}}  accel  {'':>12}  {'':>11}  {accel:>12}")
    return "\n".join(lines)


def _load_inputs(path, names: list[str]) -> list[np.ndarray]:
    """One array (``.npy``), or one per graph input (``.npz``: by input name, else in the
    order of the file)."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read input file {path}: {exc}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        return [data]
    with data:
        keys = names if set(names) <= set(data.files) else data.files
        return [data[k] for k in keys]
