"""SCALE-Sim 3.0.0 and ``accel.perf`` side by side on the conv/FC layers of a real network.

For every convolution and fully connected layer of ``--network`` (the shapes of
``accel.ref.networks``; depthwise layers are left out, SCALE-Sim's topology format has no
groups) this prints SCALE-Sim's stall-free cycle count for the weight-stationary and
output-stationary dataflows next to the cycles ``accel.perf`` predicts for this accelerator
(START to done, DMA and post-processing included, the tile plan of ``accel.driver``), and the
run time of both simulators (SCALE-Sim's wall time and peak memory as a subprocess).

SCALE-Sim runs in its own virtual environment (see ``scalesim_compare.py``; created on first
use). At 224×224 SCALE-Sim needs far more time and memory than a benchmark should take, so
``--scalesim closed-form`` replaces the runs by the closed form of its cycle count (read from
its source, checked against its own runs by ``--scalesim run`` on a smaller input)::

    python benchmarks/scalesim_network.py --network resnet18 --input 32 --markdown out.md
    python benchmarks/scalesim_network.py --network resnet18 --input 224 --scalesim closed-form
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from scalesim_compare import (
    DATAFLOWS,
    DEFAULT_VENV,
    _pct,
    ensure_scalesim,
    format_markdown,
    format_text,
    run_scalesim,
    scalesim_model,
    write_scalesim_inputs,
)

from accel.driver import plan_cycles, plan_layer
from accel.mapping.shape import LayerShape
from accel.ref.networks import NETWORKS, network_layers
from accel.spec.config import AccelConfig


def accel_cycles(shape: LayerShape, config: AccelConfig) -> tuple[int, int]:
    """(cycles, descriptors) that accel.perf predicts for the driver's plan of ``shape``."""
    plan = plan_layer(shape, config)
    return plan_cycles(plan, config), len(plan.tiles)


def scalesim_runs(layers, config: dict, name: str, venv: Path, workdir: Path):
    """SCALE-Sim's 'Total Cycles' per layer and dataflow, with wall seconds and peak MiB."""
    python = ensure_scalesim(venv)
    topology, layout, configs = write_scalesim_inputs(workdir, layers, config, name)
    cycles, costs = {}, {}
    for df in DATAFLOWS:
        start = time.perf_counter()
        report = run_scalesim(python, workdir, topology, layout, configs[df], df, name)
        seconds = time.perf_counter() - start
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        cycles[df] = [int(row["Total Cycles"]) for row in report]
        costs[df] = (seconds, peak_mib)
    return cycles, costs


def closed_form_differences(layers, cycles: dict, rows: int, cols: int) -> list[str]:
    """Layers where SCALE-Sim's run differs from the closed form of its cycle count."""
    out = []
    for df in DATAFLOWS:
        for layer, got in zip(layers, cycles[df], strict=True):
            want = scalesim_model(layer, df, rows, cols)[2]
            if got != want:
                out.append(f"SCALE-Sim {df} on {layer.name}: {got} cycles, closed form {want}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=NETWORKS, default="resnet18")
    parser.add_argument("--input", type=int, default=32, help="input height/width")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--scalesim", choices=("run", "closed-form"), default="run")
    parser.add_argument("--scalesim-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--workdir", type=Path, help="keep SCALE-Sim's files here")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown")
    args = parser.parse_args(argv)
    config = AccelConfig(rows=args.rows, cols=args.cols)
    layers = [layer for layer in network_layers(args.network, args.input) if not layer.depthwise]
    start = time.perf_counter()
    ours = [accel_cycles(LayerShape.of_network_layer(layer), config) for layer in layers]
    accel_seconds = time.perf_counter() - start
    if args.scalesim == "run":
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scalesim-"))
        workdir.mkdir(parents=True, exist_ok=True)
        name = f"{args.network}_{args.input}"
        cycles, costs = scalesim_runs(layers, config.as_dict(), name, args.scalesim_venv, workdir)
        differences = closed_form_differences(layers, cycles, args.rows, args.cols)
    else:
        cycles = {
            df: [scalesim_model(layer, df, args.rows, args.cols)[2] for layer in layers]
            for df in DATAFLOWS
        }
        costs, differences = None, []
    pes = args.rows * args.cols
    header = ["layer", "MACs", "SCALE-Sim WS", "WS util", "SCALE-Sim OS", "OS util"]
    header += ["accel.perf", "accel util", "descriptors"]
    table, totals = [], {"macs": 0, "ws": 0, "os": 0, "accel": 0}
    for i, layer in enumerate(layers):
        ws, os_, (mine, descs) = cycles["ws"][i], cycles["os"][i], ours[i]
        table.append(
            [layer.name, str(layer.macs), str(ws), _pct(100 * layer.macs / (pes * ws))]
            + [str(os_), _pct(100 * layer.macs / (pes * os_)), str(mine)]
            + [_pct(100 * layer.macs / (pes * mine)), str(descs)]
        )
        for key, value in (("macs", layer.macs), ("ws", ws), ("os", os_), ("accel", mine)):
            totals[key] += value
    macs = totals["macs"]
    table.append(
        ["total", str(macs), str(totals["ws"]), _pct(100 * macs / (pes * totals["ws"]))]
        + [str(totals["os"]), _pct(100 * macs / (pes * totals["os"])), str(totals["accel"])]
        + [_pct(100 * macs / (pes * totals["accel"])), ""]
    )
    title = f"{args.network} at {args.input}x{args.input} on {args.rows}x{args.cols}"
    lines = [f"accel.perf: {accel_seconds:.2f} s for {len(layers)} layers"]
    if costs:
        for df, (seconds, peak) in costs.items():
            lines.append(f"SCALE-Sim {df.upper()}: {seconds:.1f} s, peak {peak:.0f} MiB")
        lines += differences or ["SCALE-Sim's cycles equal the closed form on every layer"]
    else:
        lines.append("SCALE-Sim: closed form of its cycle count (not run)")
    print(title)
    print(format_text(header, table))
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text(
            f"{title}\n\n{format_markdown(header, table)}\n\n" + "\n".join(lines) + "\n"
        )
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"error: {error}") from None
