"""Helpers of the accel.perf v2 tests: tiled layers, untiled layers given their own pitches,
and runs on the Amaranth simulator with the counters read back."""

from __future__ import annotations

import dataclasses

import numpy as np

from accel.mapping import LayerJob, LayerShape, counter_commands
from accel.mapping.job import layout_layer
from accel.mapping.tiled_job import layout_plan
from accel.mapping.tiling import plan_tiles
from accel.perf import MemoryTiming, predict
from accel.ref.layer import random_layer
from accel.spec.config import AccelConfig
from accel.verif.amaranth_sim import run_command_script


def tiled_job(seed: int, params: dict, nhwc: tuple, config: AccelConfig, choose_band):
    """A random layer (``params`` of :func:`accel.ref.layer.random_layer`), its input and the
    job of its tile plan on ``config``, bands by ``choose_band``."""
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, **params)
    x = rng.integers(-128, 128, size=nhwc, dtype=np.int8)
    plan = plan_tiles(LayerShape.of(layer, x.shape), config)
    return layer, x, layout_plan(layer, x, config, plan, choose_band)


def pitched_job(case: tuple):
    """An untiled random layer laid out with its own pitches: ``case`` is (seed, layer
    parameters, input NHWC, configuration keywords, band, :func:`restride` keywords,
    (read, write) latency). Returns the layer, input, configuration, job and latency."""
    seed, params, nhwc, config, band, pitches, latency = case
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, **params)
    x = rng.integers(-128, 128, size=nhwc, dtype=np.int8)
    config = AccelConfig(**config)
    job = restride(layout_layer(layer, x, config, band), x, config, **pitches)
    return layer, x, config, job, latency


def restride(
    job: LayerJob,
    x: np.ndarray,
    config: AccelConfig,
    in_pitch: int | None = None,
    out_row_pitch: int | None = None,
    out_pix_pitch: int | None = None,
    in_gap: int = 0,
    out_gap: int = 0,
    in_pix_pitch: int | None = None,
    in_channel: int = 0,
) -> LayerJob:
    """``job`` (untiled) with its input rows ``in_pitch`` bytes apart and its output rows and
    pixels ``out_row_pitch`` / ``out_pix_pitch`` apart, input and output moved to the end of
    memory (``in_gap`` / ``out_gap`` bytes further, the input kept bus-aligned). With
    ``in_pix_pitch`` the input's C channels are bytes ``[in_channel, in_channel + C)`` of
    pixels ``in_pix_pitch`` bytes apart (pixel mode; the other bytes hold junk)."""
    s, desc, bb = job.shape, dict(job.descriptor), config.bus_bytes
    pix = in_pix_pitch or s.C
    in_pitch = in_pitch or s.W * pix
    out_pix = out_pix_pitch or s.M
    out_row = out_row_pitch or s.F_out * out_pix
    end = job.extra["end"]
    in_addr = -(-end // bb) * bb + in_gap
    pixels = np.full((s.N * s.H, s.W, pix), 0x55, dtype=np.int8)
    pixels[:, :, in_channel : in_channel + s.C] = np.asarray(x).reshape(s.N * s.H, s.W, s.C)
    image = np.full((s.N * s.H, in_pitch), 0x33, dtype=np.int8)
    image[:, : s.W * pix] = pixels.reshape(s.N * s.H, s.W * pix)
    out_addr = in_addr + image.size + 64 + out_gap
    e_out = s.E // 2 if s.pool else s.E
    out_end = out_addr + (s.N * e_out - 1) * out_row + (s.F_out - 1) * out_pix + s.M
    desc.update(IN_ADDR=in_addr + in_channel, IN_ROW_PITCH=in_pitch, OUT_ADDR=out_addr)
    desc.update(OUT_ROW_PITCH=out_row, OUT_PIX_PITCH=out_pix, IN_PIX_PITCH=pix)
    regions = dict(job.regions, input=(in_addr, image.tobytes()))
    extra = dict(job.extra, end=out_end, pitches=(out_row, out_pix))
    return dataclasses.replace(
        job, descriptors=[desc], regions=regions, output_addr=out_addr, extra=extra
    )


def rtl_counters(job: LayerJob, config: AccelConfig, latency: tuple[int, int]):
    """The counters of ``job`` on the Amaranth simulator and the output it wrote (NHWC,
    read at the job's output pitches)."""
    counters = counter_commands()
    script = job.commands() + [cmd for _, cmd in counters]
    read, write = latency
    responses, memory = run_command_script(
        job, config, script, return_memory=True, read_latency=read, write_latency=write
    )
    values = dict(zip((n for n, _ in counters), responses[-len(counters) :], strict=True))
    s = job.shape
    e_out, f_out = s.output_shape[1], s.output_shape[2]
    out_row, out_pix = job.extra.get("pitches", (f_out * s.M, s.M))
    out = np.zeros(s.output_shape, dtype=np.int8)
    for n in range(s.N):
        for e in range(e_out):
            for f in range(f_out):
                addr = job.output_addr + (n * e_out + e) * out_row + f * out_pix
                out[n, e, f] = np.frombuffer(memory.read(addr, s.M), dtype=np.int8)
    return values, out


def assert_exact(job: LayerJob, config: AccelConfig, latency: tuple[int, int], expected=None):
    """The predicted counters equal the simulated ones (and the output is ``expected``)."""
    counters, out = rtl_counters(job, config, latency)
    if expected is not None:
        np.testing.assert_array_equal(out, expected)
    report = predict(job, config, MemoryTiming(*latency))
    assert report.counters() == counters
    return report
