"""PNG reports (matplotlib, optional extra ``plot``): per-layer cycles and a design-space sweep."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from accel.mapping import LayerShape, MappingError
from accel.spec.config import AccelConfig

SWEEP_SIZES = (4, 8, 16, 32)


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise RuntimeError(
            "plots need matplotlib: pip install -e '.[plot]' (or pip install matplotlib)"
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def sweep(shapes: Sequence[tuple[str, LayerShape]], sizes: Sequence[int] = SWEEP_SIZES) -> list:
    """``accel.perf`` cycles and utilization of every layer for square arrays of ``sizes``."""
    from accel import perf

    rows = []
    for size in sizes:
        config = AccelConfig(rows=size, cols=size)
        total_cycles = total_macs = 0
        per_layer = {}
        for name, shape in shapes:
            try:
                report = perf.predict(shape, config, perf.MemoryTiming.axi_ram())
            except MappingError:
                per_layer[name] = None
                continue
            per_layer[name] = report.cycles
            total_cycles += report.cycles
            total_macs += shape.macs
        util = total_macs / (size * size * total_cycles) if total_cycles else 0.0
        rows.append({"size": size, "cycles": total_cycles, "util": util, "layers": per_layer})
    return rows


def write_plots(reports, config: AccelConfig, out_dir: Path) -> list[Path]:
    """Write cycles-per-layer, utilization-per-layer and array-size-sweep PNGs to ``out_dir``."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [r.name for r in reports]
    cycles = [r.cycles or 0 for r in reports]
    ideal = [r.shape.ideal_cycles(config) for r in reports]
    roof = [math.ceil(r.shape.roofline(config)) for r in reports]
    written = []

    fig, ax = plt.subplots(figsize=(7, 4))
    x = range(len(names))
    width = 0.27
    ax.bar([i - width for i in x], ideal, width, label="ideal (MACs / PEs)")
    ax.bar(list(x), roof, width, label="roofline")
    ax.bar([i + width for i in x], cycles, width, label="measured")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("cycles")
    ax.set_title(f"LeNet-5 on a {config.rows}x{config.cols} array ({reports[0].backend})")
    ax.legend()
    fig.tight_layout()
    written.append(out_dir / "cycles_per_layer.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    pes = config.rows * config.cols
    util = [
        100 * r.shape.macs / (pes * c) if c else 0 for r, c in zip(reports, cycles, strict=True)
    ]
    ax.bar(names, util, color="tab:green")
    for i, value in enumerate(util):
        ax.text(i, value + 1, f"{value:.1f}%", ha="center")
    ax.set_ylim(0, 105)
    ax.set_ylabel("PE utilization (%)")
    ax.set_title("PE utilization per layer (START to done, DMA included)")
    fig.tight_layout()
    written.append(out_dir / "utilization_per_layer.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)

    rows = sweep([(r.name, r.shape) for r in reports])
    fig, ax1 = plt.subplots(figsize=(7, 4))
    labels = [f"{row['size']}x{row['size']}" for row in rows]
    ax1.bar(labels, [row["cycles"] for row in rows], color="tab:blue")
    ax1.set_ylabel("total cycles (accel.perf)")
    ax2 = ax1.twinx()
    ax2.plot(labels, [100 * row["util"] for row in rows], "o-", color="tab:red")
    ax2.set_ylabel("PE utilization (%)", color="tab:red")
    ax1.set_title("Design-space sweep: LeNet-5 layers vs array size")
    fig.tight_layout()
    written.append(out_dir / "array_size_sweep.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)
    return written


def write_network_plot(records: Sequence[dict], title: str, out_dir: Path) -> Path:
    """One PNG of a network table (``accel.sim.network`` records): per mapped layer the
    cycles against the roofline bound (log scale) and the PE utilization."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mapped = [r for r in records if r["mapped"]]
    names = [r["layer"] for r in mapped]
    x = range(len(mapped))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(7, 0.45 * len(mapped)), 7), sharex=True)
    top.bar([i - 0.2 for i in x], [r["roofline_cycles"] for r in mapped], 0.4, label="roofline")
    top.bar([i + 0.2 for i in x], [r["cycles"] for r in mapped], 0.4, label="cycles (accel.perf)")
    top.set_yscale("log")
    top.set_ylabel("cycles")
    top.set_title(title)
    top.legend()
    bottom.bar(list(x), [100 * r["utilization"] for r in mapped], color="tab:green")
    bottom.set_ylim(0, 105)
    bottom.set_ylabel("PE utilization (%)")
    bottom.set_xticks(list(x), names, rotation=90)
    fig.tight_layout()
    path = out_dir / f"{title.split()[0]}_layers.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
