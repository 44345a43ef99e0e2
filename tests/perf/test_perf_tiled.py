"""accel.perf on tiled layers (ISA v2 descriptors from accel.mapping.tiling) against the RTL.

Every case is laid out by :func:`accel.mapping.tiled_job.layout_plan` as in
``tests/hw/test_core.py::test_tiled_layer_bit_exact`` and run on the Amaranth simulator: the
output must be the reference layer's and the five counters (summed over the descriptors,
START then CONTINUE) must equal :func:`accel.perf.predict`'s.
"""

import numpy as np
import pytest
from perf_cases import tiled_job

from accel.mapping.tiled_job import largest_band
from accel.perf import MemoryTiming, best_descriptor_band, predict
from accel.ref.layer import run_layer
from accel.spec.config import AccelConfig
from accel.verif.amaranth_sim import run_job

TINY = dict(rows=4, cols=4, in_depth=16, acc_depth=32, param_depth=2)

# layer parameters, input NHWC, configuration (over TINY), (read, write) latency, band choice
CASES = {
    # strips with a halo and pooling (row-mode input, one output region per row)
    "strips_pool": (
        dict(M=4, C=5, R=3, S=3, pool=True), (1, 8, 18, 5), dict(in_depth=32), (2, 2), "largest"
    ),
    # 7x7 stride 2 padding 3: left padding in the first strip, skipped columns in the others
    "strips_7x7_stride2_pad3": (
        dict(M=4, C=3, R=7, S=7, stride=2, padding=3), (1, 7, 30, 3), dict(in_depth=64), (4, 1),
        "best",
    ),
    # output-channel groups: one output region per pixel
    "m_groups": (dict(M=19, C=3, R=1, S=1), (1, 3, 3, 3), {}, (5, 1), "best"),
    # input-channel chunks: ACC_OUT, ACC_IN | ACC_OUT, ACC_IN (row mode, one pixel per row)
    "fc_chunks": (dict(M=6, C=300, R=1, S=1), (1, 1, 1, 300), {}, (1, 4), "largest"),
    # chunks and groups, a batch of 3 as the rows of one image
    "fc_chunks_groups_batch3": (
        dict(M=11, C=200, R=1, S=1), (3, 1, 1, 200), {}, (2, 2), "largest"
    ),
    # strips of a batch of 2: the output rows of both images, row mode per image
    "strips_batch2": (
        dict(M=4, C=3, R=3, S=3, padding=1), (2, 4, 14, 3), {}, (3, 2), "largest"
    ),
    # groups x strips, stride 2: per-pixel output regions from row-mode windows
    "groups_strips_stride2": (
        dict(M=11, C=3, R=3, S=3, stride=2, padding=1), (1, 6, 18, 3), {}, (1, 3), "largest"
    ),
    # groups x strips with pooling, bands chosen by the model
    "groups_strips_pool": (
        dict(M=10, C=2, R=2, S=2, pool=True), (1, 6, 20, 2), {}, (2, 2), "best"
    ),
    # channel chunks of a 3x3 window (pixel mode, ACC_OUT / ACC_IN) with padding
    "rs_chunks_pad1": (
        dict(M=6, C=24, R=3, S=3, padding=1), (1, 4, 4, 24), {}, (2, 2), "largest"
    ),
    # chunks x strips x groups, stride 2, C not a multiple of the bus width
    "rs_chunks_strips_groups_stride2": (
        dict(M=9, C=20, R=3, S=3, stride=2, padding=1), (1, 5, 7, 20), {}, (3, 1), "largest"
    ),
    # chunks with pooling and a batch of 2: one image and output-row range per descriptor
    "rs_chunks_pool_batch2": (
        dict(M=4, C=17, R=3, S=3, padding=1, pool=True), (2, 4, 5, 17), {}, (1, 2), "largest"
    ),
    # strips whose rows start at any byte (no column alignment): 5x5 windows of 3 channels
    "strips_any_byte_5x5": (
        dict(M=4, C=3, R=5, S=5, padding=2), (1, 6, 10, 3), {}, (2, 1), "largest"
    ),
    # depthwise: groups of 4 channels (10 = 4 + 4 + 2), padding, strips, bands by the model
    "depthwise_pad1": (
        dict(M=10, C=10, R=3, S=3, padding=1, depthwise=True), (1, 6, 7, 10), {}, (2, 2), "best"
    ),
    # depthwise, stride 2, a batch of 2
    "depthwise_stride2_batch2": (
        dict(M=12, C=12, R=3, S=3, stride=2, padding=1, depthwise=True), (2, 7, 7, 12), {},
        (1, 3), "best",
    ),
}  # fmt: skip

CHOOSERS = {"largest": largest_band, "best": best_descriptor_band}


def case_job(name):
    params, nhwc, extra, latency, choice = CASES[name]
    config = AccelConfig(**(TINY | extra))
    layer, x, job = tiled_job(len(name), params, nhwc, config, CHOOSERS[choice])
    return layer, x, config, job, MemoryTiming(*latency)


@pytest.mark.parametrize("name", CASES)
def test_tiled_layer_counters_equal_rtl(name):
    layer, x, config, job, memory = case_job(name)
    assert len(job.descriptors) > 1
    result = run_job(
        job, config, read_latency=memory.read_latency, write_latency=memory.write_latency
    )
    np.testing.assert_array_equal(result.output, run_layer(layer, x))
    report = predict(job, config, memory)
    assert report.counters() == result.counters
    assert report.dma_write_bytes == job.output_bytes
    assert report.mac_cycles == report.mapping_cycles
    assert sum(report.phases.values()) == report.cycles


def test_cases_cover_every_v2_feature():
    """Row-mode input (also from an unaligned IN_ADDR), pixel-mode input (chunks accumulated,
    depthwise groups at unaligned channel offsets), the three output modes, ACC_IN / ACC_OUT
    and model-chosen bands that are not the largest all occur among the cases."""
    seen = set()
    for name in CASES:
        _, _, config, job, _ = case_job(name)
        for d in job.descriptors:
            f_out = d["F"] // 2 if d["POOL"] else d["F"]
            if d["IN_ROW_PITCH"] != d["W"] * d["C"]:
                seen.add("row mode")
            if d["OUT_PIX_PITCH"] != d["M"]:
                seen.add("per pixel")
            elif d["OUT_ROW_PITCH"] != f_out * d["M"]:
                seen.add("per row")
            else:
                seen.add("per band")
            seen.update(flag for bit, flag in ((1, "ACC_IN"), (2, "ACC_OUT")) if d["ACC"] & bit)
            if d["BAND"] != largest_band(d, config):
                seen.add("smaller band")
            pixel_mode = d["IN_PIX_PITCH"] not in (0, d["C"])
            if pixel_mode:
                seen.add("pixel mode")
                if d["ACC"]:
                    seen.add("pixel mode ACC")
                if d["IN_ADDR"] % config.bus_bytes:
                    seen.add("pixel mode lane")
            elif d["IN_ROW_PITCH"] != d["W"] * d["C"] and d["IN_ADDR"] % config.bus_bytes:
                seen.add("row mode lane")
    assert seen == {
        "row mode", "per pixel", "per row", "per band", "ACC_IN", "ACC_OUT", "smaller band",
        "pixel mode", "pixel mode ACC", "pixel mode lane", "row mode lane",
    }  # fmt: skip
