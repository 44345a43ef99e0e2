"""``python -m accel.sim network NAME``: the conv/FC layer table of a real network on a
configuration — cycles, PE utilization, roofline ratio, or why a layer is not mapped."""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accel.driver import prepare_layer
from accel.mapping import LayerShape, MappingError
from accel.ref.networks import NetworkLayer, network_layers
from accel.sim import format_table
from accel.spec.config import AccelConfig


@dataclass
class NetworkRow:
    """One network layer on one configuration: its shape and counters, or why it was not run."""

    layer: NetworkLayer
    shape: LayerShape
    counters: dict | None = None
    exact: bool | None = None
    reason: str = ""
    wall_seconds: float = 0.0
    tiles: int = 1

    def record(self, config: AccelConfig) -> dict:
        """JSON-ready numbers (same keys as ``docs/reports.md``'s layer records)."""
        s = self.shape
        record = {"layer": self.layer.name, "depthwise": self.layer.depthwise}
        record.update({k: getattr(s, k) for k in ("N", "M", "C", "H", "W", "R", "S", "E", "F")})
        record.update(U=s.U, P=s.P, pool=s.pool, macs=self.layer.macs)
        record.update(
            ideal_cycles=s.ideal_cycles(config), roofline_cycles=math.ceil(s.roofline(config))
        )
        if self.counters is None:
            record["mapped"] = False
            record["reason"] = self.reason
            return record
        record["mapped"] = True
        record["tiles"] = self.tiles
        record.update({name.lower(): value for name, value in self.counters.items()})
        cycles = self.counters["CYCLES"]
        record["roofline_ratio"] = cycles / record["roofline_cycles"]
        record["utilization"] = self.layer.macs / (config.rows * config.cols * cycles)
        record["bound"] = (
            "compute" if s.macs / (config.rows * config.cols) >= s.roofline(config) else "memory"
        )
        record["wall_seconds"] = self.wall_seconds
        if self.exact is not None:
            record["exact"] = self.exact
        return record


def run_network(
    name: str, config: AccelConfig, backend: str = "perf", input_size: int = 224, seed: int = 0
) -> list[NetworkRow]:
    """Every accelerator layer of ``name`` on ``backend`` (random int8 weights and inputs)."""
    from accel import perf

    rng = np.random.default_rng(seed)
    rows = []
    for layer in network_layers(name, input_size):
        shape = LayerShape.of_network_layer(layer)
        row = NetworkRow(layer, shape)
        rows.append(row)
        start = time.perf_counter()
        try:
            q = layer.random_layer(rng)
            x = rng.integers(-128, 128, size=(1, layer.H, layer.W, layer.C), dtype=np.int8)
            if backend == "perf":  # tiled as the driver tiles it, each tile's band by the model
                job = prepare_layer(q, x, config)
                row.counters = perf.predict(job, config).counters()
                row.tiles = len(job.descriptors)
            else:
                from accel.backends import run_layer_job

                run = run_layer_job(q, x, config, backend)
                row.counters, row.exact = run.counters, run.exact
        except MappingError as error:
            row.reason = str(error)
        row.wall_seconds = time.perf_counter() - start
    return rows


def _table_row(record: dict) -> dict:
    row = {k: record[k] for k in ("layer", "H", "C", "M", "R", "U", "E")}
    row["MACs"] = record["macs"]
    row["tiles"] = record.get("tiles", "")
    if not record["mapped"]:
        reason = record["reason"]
        row["status"] = reason if len(reason) < 60 else reason[:57] + "..."
        return row
    row.update(
        cycles=record["cycles"],
        roofline=record["roofline_cycles"],
        **{"x roofline": f"{record['roofline_ratio']:.2f}"},
        **{"PE util": f"{100 * record['utilization']:.1f}%"},
        bound=record["bound"],
        status="ok" if record.get("exact", True) else "MISMATCH",
    )
    return row


def cmd_network(args) -> int:
    from accel.build.cli import parse_config

    config = parse_config(args)
    started = time.perf_counter()
    try:
        rows = run_network(args.network, config, args.backend, args.input)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    records = [row.record(config) for row in rows]
    mapped = [r for r in records if r["mapped"]]
    print(
        f"{args.network} at {args.input}x{args.input} on a {config.rows}x{config.cols} array, "
        f"backend {args.backend}: {len(mapped)}/{len(records)} layers mapped, "
        f"{elapsed:.2f} s"
    )
    columns = ["layer", "H", "C", "M", "R", "U", "E", "MACs", "tiles", "cycles", "roofline"]
    columns += ["x roofline", "PE util", "bound", "status"]
    total = {"layer": "total (mapped)", "MACs": sum(r["macs"] for r in mapped)}
    cycles = sum(r["cycles"] for r in mapped)
    if mapped:
        pes = config.rows * config.cols
        total.update(cycles=cycles, roofline=sum(r["roofline_cycles"] for r in mapped))
        total["PE util"] = f"{100 * total['MACs'] / (pes * cycles):.1f}%"
        total["x roofline"] = f"{cycles / total['roofline']:.2f}"
    print(format_table(columns, [_table_row(r) for r in records], total))
    if args.json:
        payload = {
            "network": args.network,
            "input_size": args.input,
            "backend": args.backend,
            "config": config.as_dict(),
            "wall_seconds": elapsed,
            "layers": records,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.plot:
        from accel.sim.report import write_network_plot

        title = f"{args.network} {args.input}x{args.input} on {config.rows}x{config.cols}"
        print(f"wrote {write_network_plot(records, title, args.plot)}")
    bad = [r["layer"] for r in records if r.get("exact") is False]
    if bad:
        print(f"error: output differs from the golden model: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0
