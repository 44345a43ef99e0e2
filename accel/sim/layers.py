"""Run single layers on a backend and report cycles, utilization and traffic.

Backends: ``golden`` (NumPy only), ``perf`` (the analytical model :mod:`accel.perf`),
``amaranth`` (the Amaranth simulator, :mod:`accel.verif.amaranth_sim`) and ``rtl`` (the generated
Verilog under Verilator + cocotb, :mod:`accel.verif.rtlsim`). Hardware backends check the output
bit-exactly against :func:`accel.ref.layer.run_layer`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from accel.driver import prepare_layer
from accel.mapping import LayerJob, LayerShape
from accel.ref.layer import QuantizedLayer, run_layer
from accel.spec.config import AccelConfig

HARDWARE_BACKENDS = ("rtl", "amaranth", "perf")
LAYER_BACKENDS = ("golden", *HARDWARE_BACKENDS)


def ideal_cycles(shape: LayerShape, config: AccelConfig) -> int:
    """MACs / PEs, rounded up."""
    return shape.ideal_cycles(config)


def roofline_cycles(shape: LayerShape, config: AccelConfig) -> int:
    """The roofline bound (:meth:`accel.driver.LayerShape.roofline`), rounded up."""
    return math.ceil(shape.roofline(config))


@dataclass
class LayerReport:
    """One layer run: shape, counters (hardware backends) and the bit-exact verdict."""

    name: str
    backend: str
    shape: LayerShape
    band: int
    output: np.ndarray
    exact: bool
    cycles: int | None = None
    mac_cycles: int | None = None
    stall_cycles: int | None = None
    dma_read_bytes: int | None = None
    dma_write_bytes: int | None = None
    status: int | None = None
    wall_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def row(self, config: AccelConfig) -> dict:
        shape = self.shape
        row = {
            "layer": self.name,
            **{k: getattr(shape, k) for k in ("N", "M", "C", "H", "W", "R", "S", "E", "F", "U")},
            "MACs": shape.macs,
            "ideal": ideal_cycles(shape, config),
            "roofline": roofline_cycles(shape, config),
        }
        if self.cycles is not None:
            util = shape.macs / (config.rows * config.cols * self.cycles)
            row.update(
                {
                    "cycles": self.cycles,
                    "x roofline": f"{self.cycles / row['roofline']:.2f}",
                    "PE util": f"{100 * util:.1f}%",
                    "DMA rd B": self.dma_read_bytes,
                    "DMA wr B": self.dma_write_bytes,
                    "stall": self.stall_cycles if self.stall_cycles is not None else "-",
                }
            )
        row["wall s"] = f"{self.wall_seconds:.2f}"
        if self.cycles is not None and self.backend in ("rtl", "amaranth"):
            row["cycles/s"] = f"{self.cycles / max(self.wall_seconds, 1e-9):,.0f}"
        row["exact"] = "yes" if self.exact else "NO"
        return row


def run_layer_job(
    layer: QuantizedLayer,
    x: np.ndarray,
    config: AccelConfig,
    backend: str,
    *,
    vcd: str | None = None,
    band: int | None = None,
) -> LayerReport:
    """Run ``layer`` on input ``x`` (int8 NHWC) on ``backend``; check it bit-exactly."""
    if backend not in LAYER_BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(LAYER_BACKENDS)}")
    expected = run_layer(layer, x)
    job = prepare_layer(layer, x, config, band=band)
    start = time.perf_counter()
    counters: dict = {}
    status = None
    if backend == "golden":
        output = expected
    elif backend == "perf":
        from accel import perf

        report = perf.predict(job, config)
        output = expected
        counters = {
            "CYCLES": report.cycles,
            "MAC_CYCLES": report.mac_cycles,
            "DMA_READ_BYTES": report.dma_read_bytes,
            "DMA_WRITE_BYTES": report.dma_write_bytes,
            "STALL_CYCLES": getattr(report, "stall_cycles", None),
        }
    elif backend == "amaranth":
        from accel.verif.amaranth_sim import run_job

        result = run_job(job, config, vcd=vcd)
        output, counters, status = result.output, result.counters, result.status
    wall = time.perf_counter() - start
    if backend == "rtl":
        output, counters, status, wall = _run_rtl(job, expected, config, vcd)
    return LayerReport(
        name=layer.name,
        backend=backend,
        shape=job.shape,
        band=job.band,
        output=output,
        exact=bool(np.array_equal(output, expected)),
        cycles=counters.get("CYCLES"),
        mac_cycles=counters.get("MAC_CYCLES"),
        stall_cycles=counters.get("STALL_CYCLES"),
        dma_read_bytes=counters.get("DMA_READ_BYTES"),
        dma_write_bytes=counters.get("DMA_WRITE_BYTES"),
        status=status,
        wall_seconds=wall,
    )


def _run_rtl(job: LayerJob, expected, config, vcd):
    """Verilator + cocotb; the wall time is that of the layer run (START to WAIT response)."""
    import shutil

    from accel.verif import rtlsim

    result = rtlsim.run_layer(job, config, expected, waves=bool(vcd), check=False)
    if vcd and result.waves is not None:
        shutil.copyfile(result.waves, vcd)
    return result.output, result.counters, result.status, result.layer_wall_time
