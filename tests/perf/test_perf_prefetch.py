"""accel.perf's input prefetcher in row mode (``IN_ROW_PITCH`` ≠ W·C: one read per input
row into bank slots of whole bus words) and pixel mode (``IN_PIX_PITCH``: one read per input
pixel) against the RTL, on untiled layers whose input rows (or pixels) are laid out padded."""

import pytest
from perf_cases import assert_exact, pitched_job

from accel.perf import predict_descriptor
from accel.ref.layer import run_layer

SMALL = dict(rows=4, cols=4, in_depth=64, acc_depth=128)
LONG_ROWS = dict(SMALL, acc_depth=512, in_depth=256)

# seed, layer parameters, input NHWC, configuration, band, pitches, (read, write) latency
CASES = {
    # the whole image fits the banks: rows are appended band by band
    "whole_image_stride2": (
        5, dict(M=6, C=3, R=3, S=3, stride=2, padding=1), (1, 9, 9, 3), SMALL, 1,
        dict(in_pitch=40), (2, 2),
    ),
    # a window per band, reloaded for each band of each image
    "windows_batch2": (
        6, dict(M=4, C=7, R=2, S=2), (2, 9, 9, 7), dict(SMALL, weight_depth=2), 2,
        dict(in_pitch=72), (4, 1),
    ),
    # rows 1600 bytes apart from 3000 bytes into a page: reads split at 4 KiB boundaries
    "rows_across_pages": (
        7, dict(M=4, C=5, R=3, S=3), (1, 6, 10, 5), SMALL, 2,
        dict(in_pitch=1600, in_gap=3000), (1, 4),
    ),
    # long rows in and out: output-side periods with row-mode input
    "rows_in_and_out_periods": (
        15, dict(M=4, C=2, R=1, S=1), (1, 4, 200, 2), LONG_ROWS, 2,
        dict(in_pitch=408, out_row_pitch=803), (1, 2),
    ),
    "rows_in_and_out_batch2": (
        8, dict(M=5, C=3, R=3, S=3, padding=1), (2, 6, 7, 3), SMALL, 3,
        dict(in_pitch=32, out_row_pitch=40, out_gap=3), (2, 3),
    ),
    # row mode from an unaligned IN_ADDR: each row's bus words from byte 5 of a word on
    "rows_unaligned_start": (
        12, dict(M=3, C=3, R=3, S=3, padding=1), (1, 5, 6, 3), SMALL, 2,
        dict(in_pitch=40, in_gap=5), (2, 1),
    ),
    # pixel mode (IN_PIX_PITCH): 5 of 16 channels from byte 3 of each pixel (2 bus words)
    "pixels_lane3_pad1": (
        9, dict(M=5, C=5, R=3, S=3, padding=1), (1, 5, 6, 5), SMALL, 2,
        dict(in_pix_pitch=16, in_channel=3), (2, 2),
    ),
    # pixel mode, stride 2, a window per band, rows further apart than their pixels
    "pixels_stride2_windows": (
        10, dict(M=3, C=8, R=3, S=3, stride=2, padding=1), (1, 9, 9, 8), SMALL, 1,
        dict(in_pix_pitch=24, in_channel=8, in_pitch=232), (3, 1),
    ),
    # pixel mode with a batch: one read per pixel of each image
    "pixels_batch2": (
        11, dict(M=4, C=3, R=2, S=2), (2, 4, 5, 3), SMALL, 4,
        dict(in_pix_pitch=8, in_channel=4), (1, 1),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_row_mode_input_counters_equal_rtl(name):
    layer, x, config, job, latency = pitched_job(CASES[name])
    assert_exact(job, config, latency, run_layer(layer, x))


def test_row_mode_reads_whole_bus_words_per_row():
    """In row mode each row is read as whole bus words wherever it lies: the pitch moves the
    rows, not the bytes read (here 4 beats for a row of 27 bytes)."""
    _, _, config, job, _ = pitched_job(CASES["whole_image_stride2"])
    desc = job.descriptor
    near = predict_descriptor(desc, config)
    far = predict_descriptor(dict(desc, IN_ROW_PITCH=4000), config)
    assert (near.dma_read_bytes, near.mac_cycles) == (far.dma_read_bytes, far.mac_cycles)
    width = dict(desc, W=desc["W"] - 1, F=desc["F"] - 1)  # rows of 24 bytes: 3 beats
    narrow = predict_descriptor(width, config)
    assert near.dma_read_bytes - narrow.dma_read_bytes == desc["H"] * config.bus_bytes
