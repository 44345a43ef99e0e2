"""The public entry points: :func:`predict`, :func:`best_band` and :func:`descriptor_for`."""

from __future__ import annotations

from functools import lru_cache

from accel.mapping import (
    LayerJob,
    LayerShape,
    MappingError,
    failed_check,
    legal_bands,
    require_mappable,
    shape_descriptor,
)
from accel.perf.geometry import cdiv
from accel.perf.report import MemoryTiming, PerfReport
from accel.perf.sequencer import simulate
from accel.spec import timing
from accel.spec.config import AccelConfig

_AXI_RAM = MemoryTiming()  # the default memory timing

# Registers that only change values, never timing, and the buffer addresses, of which timing
# only sees the position within a 4 KiB page (bursts split at page boundaries; bus alignment
# divides the page size): descriptors equal but for these run in the same cycles.
_DATA_ONLY = frozenset(("IN_ZP", "OUT_ZP", "ACT_MIN", "ACT_MAX"))
_ADDRESSES = frozenset(("IN_ADDR", "W_ADDR", "PARAM_ADDR", "OUT_ADDR"))


def _timing_key(desc: dict) -> tuple:
    """What the counters of a (valid) descriptor depend on, hashable."""
    page = timing.PAGE_BYTES
    return tuple(
        sorted(
            (name, value % page if name in _ADDRESSES else value)
            for name, value in desc.items()
            if name not in _DATA_ONLY
        )
    )


@lru_cache(maxsize=1024)
def _simulate_key(key: tuple, config: AccelConfig, memory: MemoryTiming) -> dict:
    return simulate(dict(key), config, memory.read_latency, memory.write_latency)


def _simulate(desc: dict, config: AccelConfig, memory: MemoryTiming) -> dict:
    """:func:`~accel.perf.sequencer.simulate` of a checked descriptor, remembered for the
    descriptors that run like it (a band search predicts the band it then uses twice; tiles
    of the same shape at the same page offsets run alike). The result is shared: copy
    before changing it."""
    return _simulate_key(_timing_key(desc), config, memory)


def descriptor_for(
    shape: LayerShape, config: AccelConfig, band: int | None = None, base: int = 0x1000
) -> dict[str, int]:
    """The descriptor :func:`accel.driver.prepare_layer` builds for ``shape`` (same addresses);
    without ``band``, the best one (:func:`best_band`)."""
    if band is None:
        require_mappable(shape, config)
        band = best_band(shape, config)
    return shape_descriptor(shape, config, band, base)


def _check_descriptor(d: dict, config: AccelConfig) -> None:
    """An invalid layer never runs: the hardware answers START with ERR_DESCRIPTOR."""
    check = failed_check(d, config)
    if check is not None:
        raise MappingError(f"the accelerator rejects this descriptor: {check.name}: {check.doc}")


def _job_inputs(shape_or_job, config: AccelConfig, band: int | None):
    if isinstance(shape_or_job, LayerJob):
        if band is not None and band != shape_or_job.band:
            raise ValueError(f"band={band} given for a job prepared with band={shape_or_job.band}")
        return shape_or_job.shape, dict(shape_or_job.descriptor)
    if isinstance(shape_or_job, LayerShape):
        return shape_or_job, descriptor_for(shape_or_job, config, band)
    raise TypeError(f"expected a LayerJob or a LayerShape, not {type(shape_or_job).__name__}")


def predict(
    shape_or_job: LayerJob | LayerShape,
    config: AccelConfig,
    memory: MemoryTiming = _AXI_RAM,
    band: int | None = None,
) -> PerfReport:
    """Predict the counters of one layer run on ``config`` (exact; a few milliseconds).

    ``shape_or_job``: a :class:`accel.driver.LayerJob` (its descriptor, band and buffer
    addresses are used as they are) or a :class:`accel.driver.LayerShape` with an optional
    ``band`` (default: :func:`accel.driver.choose_band`), laid out in memory as
    :func:`accel.driver.prepare_layer` would. ``memory``: the latencies of main memory.
    Raises :class:`accel.driver.MappingError` for a layer the accelerator would reject.
    """
    if not isinstance(config, AccelConfig):
        raise TypeError(f"config must be an AccelConfig, not {type(config).__name__}")
    if not isinstance(memory, MemoryTiming):
        raise TypeError(f"memory must be a MemoryTiming, not {type(memory).__name__}")
    if isinstance(shape_or_job, LayerJob) and shape_or_job.tiled:
        if band is not None:
            raise ValueError("band= cannot be given for a tiled job")
        return _sum_reports(shape_or_job, config, memory)
    shape, desc = _job_inputs(shape_or_job, config, band)
    _check_descriptor(desc, config)
    return _report(shape, desc, config, _simulate(desc, config, memory))


def _report(shape: LayerShape, desc: dict, config: AccelConfig, result: dict) -> PerfReport:
    pes = config.rows * config.cols
    m_tiles = cdiv(shape.M, config.cols)
    k_tiles = cdiv(shape.K, config.rows)
    cycles = result["CYCLES"]
    return PerfReport(
        cycles=cycles,
        macs=shape.macs,
        pes=pes,
        ideal_cycles=shape.ideal_cycles(config),
        mapping_cycles=m_tiles * k_tiles * shape.N * shape.E_run * shape.F,
        roofline_cycles=shape.roofline(config),
        min_bytes=shape.min_bytes,
        utilization=shape.macs / (pes * cycles),
        dma_read_bytes=result["DMA_READ_BYTES"],
        dma_write_bytes=result["DMA_WRITE_BYTES"],
        mac_cycles=result["MAC_CYCLES"],
        stall_cycles=result["STALL_CYCLES"],
        band=desc["BAND"],
        phases=dict(result["phases"]),
        bands=list(result["bands"]),
    )


def _sum_reports(job: LayerJob, config: AccelConfig, memory: MemoryTiming) -> PerfReport:
    """A tiled layer: its descriptors run one after the other from an idle accelerator, so
    every counter is the sum over them; bounds are the layer's."""
    parts = [predict_descriptor(desc, config, memory) for desc in job.descriptors]
    shape, pes = job.shape, config.rows * config.cols
    cycles = sum(p.cycles for p in parts)
    phases = {name: sum(p.phases[name] for p in parts) for name in parts[0].phases}
    return PerfReport(
        cycles=cycles,
        macs=shape.macs,
        pes=pes,
        ideal_cycles=shape.ideal_cycles(config),
        mapping_cycles=sum(p.mapping_cycles for p in parts),
        roofline_cycles=shape.roofline(config),
        min_bytes=shape.min_bytes,
        utilization=shape.macs / (pes * cycles),
        dma_read_bytes=sum(p.dma_read_bytes for p in parts),
        dma_write_bytes=sum(p.dma_write_bytes for p in parts),
        mac_cycles=sum(p.mac_cycles for p in parts),
        stall_cycles=sum(p.stall_cycles for p in parts),
        band=parts[0].band,
        phases=phases,
        bands=[b for p in parts for b in p.bands],
    )


def predict_descriptor(
    desc: dict, config: AccelConfig, memory: MemoryTiming = _AXI_RAM
) -> PerfReport:
    """Predict the counters of one descriptor run (one tile of a tiled layer, any ISA v2
    feature: row-mode input, per-row or per-pixel output regions, ACC_IN / ACC_OUT)."""
    shape = LayerShape.of_descriptor(desc)
    _check_descriptor(desc, config)
    return _report(shape, desc, config, _simulate(desc, config, memory))


def best_descriptor_band(desc: dict, config: AccelConfig, memory: MemoryTiming = _AXI_RAM) -> int:
    """The legal BAND of a tile descriptor with the fewest predicted cycles (the smallest
    such band on a tie)."""
    from accel.mapping.tiled_job import legal_tile_bands

    best = None
    for band in legal_tile_bands(desc, config):
        cycles = predict_descriptor(dict(desc, BAND=band), config, memory).cycles
        if best is None or cycles < best[0]:
            best = (cycles, band)
    if best is None:
        raise MappingError(f"no band fits the tile descriptor {desc}")
    return best[1]


def best_band(shape: LayerShape, config: AccelConfig, memory: MemoryTiming = _AXI_RAM) -> int:
    """The legal BAND with the fewest predicted cycles (the smallest such band on a tie)."""
    bands = legal_bands(shape, config)
    if not bands:
        raise MappingError(f"layer {shape} has no legal band on this configuration")
    best = None
    for band in bands:
        cycles = predict(shape, config, memory, band=band).cycles
        if best is None or cycles < best[0]:
            best = (cycles, band)
    return best[1]
