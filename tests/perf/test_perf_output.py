"""accel.perf's output side with ISA v2 regions against the RTL: one write region per output
row (``OUT_ROW_PITCH`` ≠ F_out·M) or per output pixel (``OUT_PIX_PITCH`` ≠ M) on untiled
layers, and ``ACC_OUT`` (the sums kept, no output)."""

import pytest
from perf_cases import assert_exact, pitched_job

from accel.perf import MemoryTiming, predict, predict_descriptor
from accel.ref.layer import run_layer

SMALL = dict(rows=4, cols=4, in_depth=64, acc_depth=128)
LONG_ROWS = dict(SMALL, acc_depth=512, in_depth=256)

# seed, layer parameters, input NHWC, configuration, band, pitches, (read, write) latency
CASES = {
    "rows_unaligned_pitch": (
        1, dict(M=6, C=3, R=3, S=3, padding=1), (1, 8, 8, 3), SMALL, 2,
        dict(out_row_pitch=8 * 6 + 13), (2, 2),
    ),
    "rows_across_pages_pool": (
        2, dict(M=5, C=2, R=3, S=3, pool=True), (1, 10, 8, 2), SMALL, 2,
        dict(out_row_pitch=1500), (3, 1),
    ),
    # long rows: the output side skips repeated periods within a row
    "rows_periods": (
        12, dict(M=4, C=2, R=1, S=1), (1, 4, 200, 2), LONG_ROWS, 2,
        dict(out_row_pitch=808), (2, 2),
    ),
    "pixels": (
        3, dict(M=6, C=3, R=3, S=3, padding=1), (1, 6, 6, 3), SMALL, 3,
        dict(out_pix_pitch=9), (2, 2),
    ),
    "pixels_m_tiles_pool_row_pitch": (
        4, dict(M=10, C=3, R=2, S=2, pool=True), (1, 7, 7, 3), SMALL, 2,
        dict(out_pix_pitch=16, out_row_pitch=200), (1, 3),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_output_regions_counters_equal_rtl(name):
    layer, x, config, job, latency = pitched_job(CASES[name])
    report = assert_exact(job, config, latency, run_layer(layer, x))
    assert report.dma_write_bytes == job.output_bytes


def test_regions_change_the_timing_not_the_work():
    """Per-row and per-pixel regions write the same bytes in more commands: the MAC cycles
    stay, the cycles grow (a region always starts a new bus beat)."""
    _, x, config, job, _ = pitched_job(CASES["pixels"])
    contiguous = dict(job.descriptor, OUT_PIX_PITCH=job.shape.M)
    contiguous["OUT_ROW_PITCH"] = job.shape.F_out * job.shape.M
    per_pixel = predict(job, config)
    per_band = predict_descriptor(contiguous, config)
    assert per_pixel.mac_cycles == per_band.mac_cycles
    assert per_pixel.dma_write_bytes == per_band.dma_write_bytes
    assert per_pixel.cycles > per_band.cycles


def test_acc_out_writes_nothing():
    """ACC_OUT keeps the sums: no parameters wait, no post-processing, no output bytes."""
    _, _, config, job, _ = pitched_job(CASES["rows_unaligned_pitch"])
    desc = dict(job.descriptor, BAND=job.shape.E)
    kept = predict_descriptor(dict(desc, ACC=2), config, MemoryTiming(3, 5))
    written = predict_descriptor(desc, config, MemoryTiming(3, 5))
    assert kept.dma_write_bytes == 0
    assert kept.mac_cycles == written.mac_cycles
    assert kept.dma_read_bytes == written.dma_read_bytes
    assert kept.cycles < written.cycles
    assert predict_descriptor(dict(desc, ACC=1), config, MemoryTiming(3, 5)) == written
