"""Area, Fmax and LeNet-5 throughput of several array sizes on an ECP5 (or iCE40).

For each ROWS×COLS (square arrays; the other parameters at their defaults) the script runs the
flow of ``python -m accel.build --synth`` (:func:`accel.build.synth.build_report`: Yosys, then
nextpnr at 100 MHz with a fixed seed, out of context) and the Amaranth simulation of the five
LeNet-5 layers (``python -m accel.sim lenet --all --backend amaranth``), and prints::

    LUT4  FF  DSP  BRAM  Fmax  cycles  GOPS at Fmax  GOPS per DSP

GOPS = 2 × MACs / (cycles / Fmax), with MACs and cycles summed over the five layers (one
image, batch 1, START to done of each layer, DMA included); peak = 2 × ROWS × COLS × Fmax.
Usage (from the repository root, with the project's Python)::

    python benchmarks/synth_sweep.py [--sizes 4 8 16] [--family ecp5] [--device 85k]
                                     [--out DIR] [--json FILE] [--markdown FILE]
                                     [--timeout SECONDS]

It is a benchmark, not a test: the 8×8 array takes a few minutes of synthesis and tens of
minutes of place-and-route on a 2-core machine. Everything is kept in ``--out`` (default
``build/synth_sweep``): the Verilog and tool logs under ``<out>/<R>x<C>/``, the cycle report
in ``<out>/cycles_<R>x<C>.json`` (reused if present), and each size's synthesis report in
``<out>/<R>x<C>.json`` (reused if present unless ``--force``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from accel.build import synth
from accel.spec.config import AccelConfig

REPO = Path(__file__).resolve().parent.parent


def lenet_cycles(rows: int, cols: int, out: Path) -> dict:
    """Per-layer cycles and MACs of LeNet-5 on the Amaranth simulation (cached in ``out``)."""
    path = out / f"cycles_{rows}x{cols}.json"
    if not path.exists():
        cmd = [sys.executable, "-m", "accel.sim", "lenet", "--all", "--backend", "amaranth"]
        cmd += ["--rows", str(rows), "--cols", str(cols), "--json", str(path)]
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    report = json.loads(path.read_text())
    layers = report["layers"]
    exact = all(layer.get("exact") is True for layer in layers)
    return {
        "layers": {layer["layer"]: layer["cycles"] for layer in layers},
        "cycles": sum(layer["cycles"] for layer in layers),
        "macs": sum(layer["macs"] for layer in layers),
        "exact": exact,
    }


def throughput(rows: int, cols: int, macs: int, cycles: int, fmax_mhz, dsp: int) -> dict:
    """GOPS at ``fmax_mhz`` (2 ops per MAC) for ``macs`` in ``cycles``; per DSP; peak."""
    target = 2 * macs * synth.DEFAULT_FREQ_MHZ / cycles / 1e3
    if fmax_mhz is None:
        return {
            "gops": None,
            "gops_per_dsp": None,
            "peak_gops": None,
            "ms_per_image": None,
            "gops_at_target": target,
        }
    gops = 2 * macs * fmax_mhz / cycles / 1e3
    return {
        "gops_at_target": target,
        "gops": gops,
        "gops_per_dsp": gops / dsp if dsp else None,
        "peak_gops": 2 * rows * cols * fmax_mhz / 1e3,
        "ms_per_image": cycles / fmax_mhz / 1e3,
    }


def markdown(rows: list[dict]) -> str:
    head = (
        "| array | LUT4 | FF | DSP | BRAM | Fmax MHz | LeNet-5 cycles | GOPS at Fmax | "
        "GOPS/DSP | peak GOPS | µs/image | GOPS at 100 MHz | yosys s | P&R s |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:

        def f(value, fmt):
            return "-" if value is None else format(value, fmt)

        lines.append(
            f"| {r['rows']}×{r['cols']} | {r['lut4']} | {r['ff']} | {r['dsp']} | {r['bram']} | "
            f"{f(r['fmax_mhz'], '.1f')} | {r['cycles']} | {f(r['gops'], '.2f')} | "
            f"{f(r['gops_per_dsp'], '.4f')} | {f(r['peak_gops'], '.1f')} | "
            f"{f(None if r['ms_per_image'] is None else r['ms_per_image'] * 1e3, '.0f')} | "
            f"{r['gops_at_target']:.2f} | "
            f"{r['yosys_seconds']:.0f} | {f(r['nextpnr_seconds'], '.0f')} |"
        )
    notes = [f"- {r['rows']}×{r['cols']}: {r['note']}" for r in rows if r["note"]]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--family", choices=synth.FAMILIES, default="ecp5")
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "synth_sweep")
    parser.add_argument("--json", type=Path, default=None, help="write all rows as JSON")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="per tool run")
    parser.add_argument("--force", action="store_true", help="redo cached synthesis reports")
    args = parser.parse_args(argv)
    synth.get_device(args.family, args.device)
    args.out.mkdir(parents=True, exist_ok=True)

    results = []
    for n in args.sizes:
        config = AccelConfig(rows=n, cols=n)
        report_path = args.out / f"{n}x{n}.json"
        start = time.monotonic()
        if report_path.exists() and not args.force:
            report = json.loads(report_path.read_text())
            print(f"{n}x{n}: reusing {report_path}")
        else:
            try:
                synth.build_report(
                    config,
                    args.family,
                    args.device,
                    out_dir=args.out / f"{n}x{n}",
                    json_path=report_path,
                    timeout=args.timeout,
                )
            except synth.SynthError as error:
                print(f"{n}x{n}: {error}")
                continue
            report = json.loads(report_path.read_text())
        cycles = lenet_cycles(n, n, args.out)
        row = {
            "rows": n,
            "cols": n,
            **{k: report[k] for k in ("lut4", "ff", "dsp", "bram", "fmax_mhz", "note")},
            "yosys_seconds": report["yosys_seconds"],
            "nextpnr_seconds": report["nextpnr_seconds"],
            "cycles": cycles["cycles"],
            "layer_cycles": cycles["layers"],
            "macs": cycles["macs"],
            "bit_exact": cycles["exact"],
            "critical_path": (report["critical_paths"] or [None])[0],
            "wall_seconds": round(time.monotonic() - start, 1),
        }
        row |= throughput(n, n, cycles["macs"], cycles["cycles"], report["fmax_mhz"], row["dsp"])
        results.append(row)
        print(markdown(results))
    table = markdown(results)
    print(table)
    if args.markdown is not None:
        args.markdown.write_text(table)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
