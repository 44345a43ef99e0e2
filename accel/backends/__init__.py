"""Layer backends: one registry, one result type.

A backend runs a prepared :class:`accel.mapping.LayerJob` and returns its int8 output and the
accelerator's performance counters:

========== ==============================================================================
golden     NumPy golden model (:func:`accel.ref.layer.run_layer`), no counters
perf       the exact performance model :mod:`accel.perf` (counters; output = golden)
amaranth   the Amaranth simulation of the accelerator (:mod:`accel.verif.amaranth_sim`)
rtl        the generated Verilog under Verilator + cocotb (:mod:`accel.verif.rtlsim`)
========== ==============================================================================

:func:`run_layer_job` prepares, runs and checks a layer bit-exactly against the golden model
and returns a :class:`LayerRun`. (The firmware-level backends ``functional`` and ``rtl`` of
``python -m accel.sim firmware`` answer the CPU's custom instructions instead: see
:mod:`accel.firmware.run`.)
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from accel.driver import prepare_layer
from accel.mapping import LayerJob, LayerShape
from accel.ref.layer import QuantizedLayer, run_layer
from accel.spec import isa
from accel.spec.config import AccelConfig

COUNTER_NAMES = tuple(c.name for c in isa.COUNTERS)


@dataclass
class LayerRun:
    """One layer run on a backend: shape, output, counters (by their ISA names; empty for
    ``golden``), status word, wall time of the run and the bit-exact verdict."""

    name: str
    backend: str
    shape: LayerShape
    band: int
    output: np.ndarray
    exact: bool
    counters: dict[str, int] = field(default_factory=dict)
    status: int | None = None
    wall_seconds: float = 0.0

    cycles = property(lambda self: self.counters.get("CYCLES"))
    mac_cycles = property(lambda self: self.counters.get("MAC_CYCLES"))
    stall_cycles = property(lambda self: self.counters.get("STALL_CYCLES"))
    dma_read_bytes = property(lambda self: self.counters.get("DMA_READ_BYTES"))
    dma_write_bytes = property(lambda self: self.counters.get("DMA_WRITE_BYTES"))

    def record(self, config: AccelConfig) -> dict:
        """The run as JSON-ready numbers (schema: ``docs/reports.md``)."""
        shape = self.shape
        record = {"layer": self.name, "backend": self.backend, "band": self.band}
        record.update({k: getattr(shape, k) for k in ("N", "M", "C", "H", "W", "R", "S")})
        record.update({k: getattr(shape, k) for k in ("E", "F", "U", "P")})
        record.update(
            pool=shape.pool,
            macs=shape.macs,
            ideal_cycles=shape.ideal_cycles(config),
            roofline_cycles=math.ceil(shape.roofline(config)),
        )
        if self.cycles is not None:
            record.update({name.lower(): self.counters.get(name) for name in COUNTER_NAMES})
            record["roofline_ratio"] = self.cycles / record["roofline_cycles"]
            record["utilization"] = shape.macs / (config.rows * config.cols * self.cycles)
        record["wall_seconds"] = self.wall_seconds
        if self.cycles is not None and self.backend in ("rtl", "amaranth"):
            record["cycles_per_second"] = self.cycles / max(self.wall_seconds, 1e-9)
        record["exact"] = self.exact
        return record

    def row(self, config: AccelConfig) -> dict:
        """The run as formatted table cells (the text report)."""
        r = self.record(config)
        row = {"layer": self.name}
        row.update({k: r[k] for k in ("N", "M", "C", "H", "W", "R", "S", "E", "F", "U")})
        row.update(MACs=r["macs"], ideal=r["ideal_cycles"], roofline=r["roofline_cycles"])
        if self.cycles is not None:
            stall = r["stall_cycles"]
            row.update(
                {
                    "cycles": self.cycles,
                    "x roofline": f"{r['roofline_ratio']:.2f}",
                    "PE util": f"{100 * r['utilization']:.1f}%",
                    "DMA rd B": r["dma_read_bytes"],
                    "DMA wr B": r["dma_write_bytes"],
                    "stall": stall if stall is not None else "-",
                }
            )
        row["wall s"] = f"{self.wall_seconds:.2f}"
        if "cycles_per_second" in r:
            row["cycles/s"] = f"{r['cycles_per_second']:,.0f}"
        row["exact"] = "yes" if self.exact else "NO"
        return row


@dataclass
class _Raw:
    output: np.ndarray
    counters: dict[str, int] = field(default_factory=dict)
    status: int | None = None
    wall_seconds: float | None = None  # None: the registry times the call


def _golden(job: LayerJob, config: AccelConfig, expected: np.ndarray, vcd) -> _Raw:
    return _Raw(expected)


def _perf(job: LayerJob, config: AccelConfig, expected: np.ndarray, vcd) -> _Raw:
    from accel import perf

    return _Raw(expected, perf.predict(job, config).counters())


def _amaranth(job: LayerJob, config: AccelConfig, expected: np.ndarray, vcd) -> _Raw:
    from accel.verif.amaranth_sim import run_job

    result = run_job(job, config, vcd=vcd)
    return _Raw(result.output, result.counters, result.status)


def _rtl(job: LayerJob, config: AccelConfig, expected: np.ndarray, vcd) -> _Raw:
    """Verilator + cocotb; the wall time is that of the layer run (START to WAIT response)."""
    from accel.verif import rtlsim

    result = rtlsim.run_layer(job, config, expected, waves=bool(vcd), check=False)
    if vcd and result.waves is not None:
        shutil.copyfile(result.waves, vcd)
    return _Raw(result.output, result.counters, result.status, result.layer_wall_time)


#: Backend name -> function(job, config, golden output, vcd path) -> raw result.
BACKENDS: dict[str, Callable[..., _Raw]] = {
    "golden": _golden,
    "perf": _perf,
    "amaranth": _amaranth,
    "rtl": _rtl,
}
HARDWARE_BACKENDS = ("rtl", "amaranth", "perf")
LAYER_BACKENDS = tuple(BACKENDS)


def run_layer_job(
    layer: QuantizedLayer,
    x: np.ndarray,
    config: AccelConfig,
    backend: str,
    *,
    vcd: str | None = None,
    band: int | None = None,
) -> LayerRun:
    """Run ``layer`` on input ``x`` (int8 NHWC) on ``backend``; check it bit-exactly."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    expected = run_layer(layer, x)
    if backend == "golden":  # nothing runs on the accelerator: no memory layout needed
        shape = LayerShape.of(layer, np.shape(x))
        return LayerRun(layer.name, backend, shape, 0, expected, True)
    job = prepare_layer(layer, x, config, band=band)
    start = time.perf_counter()
    raw = BACKENDS[backend](job, config, expected, vcd)
    wall = time.perf_counter() - start if raw.wall_seconds is None else raw.wall_seconds
    return LayerRun(
        name=layer.name,
        backend=backend,
        shape=job.shape,
        band=job.band,
        output=raw.output,
        exact=bool(np.array_equal(raw.output, expected)),
        counters=dict(raw.counters),
        status=raw.status,
        wall_seconds=wall,
    )
