"""Every tiling path on the generated Verilog (cocotb + Verilator, AxiRam with back-pressure),
bit-exact against the golden model: column strips with halo (stride 2, pooling, 7×7 with
padding 3, batch 2, rows from any byte), output-channel groups, input-channel chunks
accumulated across descriptors (ACC_OUT / ACC_IN) with batch — of one-pixel windows and, in
pixel mode (IN_PIX_PITCH), of 3×3 windows with padding, stride 2, output-row ranges, pooling
— filter sub-windows of a 7×7 window larger than the banks, depthwise convolutions as channel
groups, and combinations; on small buffers where each
path triggers. The counters equal the Amaranth simulation's and accel.perf's. Plus the planner's
output-channel groups (chosen by the performance model)."""

import numpy as np
import pytest
from rtl_helpers import CONFIG_4X4, assert_layer_ok

from accel import perf
from accel.driver import plan_cycles, prepare_layer
from accel.mapping import LayerShape
from accel.mapping.tiled_job import layout_plan
from accel.mapping.tiling import ACC_IN, ACC_OUT, plan_tiles
from accel.perf import predict
from accel.ref.layer import random_layer, run_layer
from accel.spec.config import AccelConfig
from accel.verif import amaranth_sim, rtlsim

TINY = AccelConfig(rows=4, cols=4, in_depth=16, acc_depth=32, param_depth=2, weight_depth=2)
ROOMY = AccelConfig(rows=4, cols=4, in_depth=64, acc_depth=32, param_depth=2, weight_depth=2)

# name -> (layer parameters, input NHWC, configuration, tilings that must occur)
CASES = {
    "strips-stride1-pad1": (dict(M=6, C=8, R=3, S=3, padding=1), (1, 6, 20, 8), TINY, {"strips"}),
    "strips-stride2": (
        dict(M=5, C=6, R=3, S=3, stride=2, padding=1),
        (1, 9, 17, 6),
        TINY,
        {"strips"},
    ),
    "strips-7x7-stride2-pad3": (
        dict(M=4, C=3, R=7, S=7, stride=2, padding=3),
        (1, 12, 30, 3),
        ROOMY,
        {"strips"},
    ),
    "strips-batch2": (dict(M=3, C=8, R=3, S=3, padding=1), (2, 4, 19, 8), TINY, {"strips"}),
    "groups": (dict(M=19, C=3, R=1, S=1), (1, 3, 3, 3), TINY, {"groups"}),
    "groups-strips": (
        dict(M=13, C=8, R=3, S=3, padding=1),
        (1, 5, 16, 8),
        TINY,
        {"groups", "strips"},
    ),
    "chunks": (dict(M=6, C=300, R=1, S=1), (1, 1, 1, 300), TINY, {"chunks"}),
    "chunks-groups-batch3": (
        dict(M=11, C=200, R=1, S=1),
        (3, 1, 1, 200),
        TINY,
        {"chunks", "groups"},
    ),
    # channel chunks of 3x3 windows, read in pixel mode (IN_PIX_PITCH), ACC_OUT / ACC_IN
    "rs-chunks-pad1": (dict(M=6, C=24, R=3, S=3, padding=1), (1, 4, 4, 24), TINY, {"chunks"}),
    "rs-chunks-row-ranges": (
        dict(M=4, C=16, R=3, S=3, padding=1),
        (1, 10, 4, 16),
        TINY,
        {"chunks", "rows"},
    ),
    "rs-chunks-strips-groups-stride2": (
        dict(M=9, C=20, R=3, S=3, stride=2, padding=1),
        (1, 5, 7, 20),
        TINY,
        {"chunks", "strips", "groups"},
    ),
    "rs-chunks-pool-batch2": (
        dict(M=4, C=17, R=3, S=3, padding=1, pool=True),
        (2, 4, 5, 17),
        TINY,
        {"chunks", "strips", "images"},
    ),
    # 128-byte banks below one 7x7 window of one-bus-word pixels: filter pieces accumulated
    "split-7x7-stride2-pad3": (
        dict(M=4, C=3, R=7, S=7, stride=2, padding=3),
        (1, 8, 8, 3),
        TINY,
        {"windows", "strips", "rows"},
    ),
    # rows read from any byte (no column alignment)
    "strips-any-byte-5x5": (dict(M=4, C=3, R=5, S=5, padding=2), (1, 6, 12, 3), TINY, {"strips"}),
    # depthwise: groups of 4 channels (10 = 4 + 4 + 2) in pixel mode, block-diagonal weights
    "depthwise-pad1": (
        dict(M=10, C=10, R=3, S=3, padding=1, depthwise=True),
        (1, 6, 7, 10),
        TINY,
        {"groups", "strips"},
    ),
    "depthwise-stride2-batch2": (
        dict(M=12, C=12, R=3, S=3, stride=2, padding=1, depthwise=True),
        (2, 7, 7, 12),
        TINY,
        {"groups", "strips"},
    ),
}


def _job(name):
    params, nhwc, config, _ = CASES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    layer = random_layer(rng, **params)
    x = rng.integers(-128, 128, size=nhwc, dtype=np.int8)
    plan = plan_tiles(LayerShape.of(layer, x.shape), config)
    return plan, layout_plan(layer, x, config, plan), run_layer(layer, x)


@pytest.fixture(scope="module")
def results():
    out = {}
    for config in (TINY, ROOMY):
        names = [name for name in CASES if CASES[name][2] == config]
        specs = []
        for i, name in enumerate(names):
            _, job, expected = _job(name)
            specs.append(rtlsim.RtlJob(job, expected, name=name, seed=i, backpressure=i % 2 == 1))
        for spec, result in zip(specs, rtlsim.run_jobs(specs, config, check=False), strict=True):
            out[spec.name] = (spec, result)
    return out


@pytest.mark.parametrize("name", CASES)
def test_tiled_layer_bit_exact_on_the_rtl(results, name):
    plan, job, _ = _job(name)
    spec, result = results[name]
    config = CASES[name][2]
    assert_layer_ok(spec, result, config)
    kinds = set()
    if len({(t.m0, t.m1) for t in plan.tiles}) > 1:
        kinds.add("groups")
    if len({(t.f0, t.f1) for t in plan.tiles}) > 1:
        kinds.add("strips")
    if len({(t.c0, t.c1) for t in plan.tiles}) > 1 and not plan.shape.depthwise:
        kinds.add("chunks")
    if len({(t.e0, t.e1) for t in plan.tiles}) > 1:
        kinds.add("rows")
    if len({t.n for t in plan.tiles}) > 1:
        kinds.add("images")
    if len({(t.r0, t.r1, t.s0, t.s1) for t in plan.tiles}) > 1:
        kinds.add("windows")
    assert kinds == CASES[name][3]
    if not spec.backpressure:  # the same cycles as the Amaranth simulation and accel.perf
        if name.startswith(("rs-", "depthwise", "strips-any", "split")):  # Amaranth: tests/perf
            assert result.counters == predict(job, config).counters()
        else:
            assert result.counters == amaranth_sim.run_job(job, config).counters


# The planner (accel.driver.plan_layer) trades output-channel groups and input-channel chunks
# for bands of more pixels where the performance model predicts it faster:
# name -> (layer, input NHWC, what the plan must show).
PLANNED = {
    "planned-groups-3x3": (dict(M=128, C=8, R=3, S=3, padding=1), (1, 4, 4, 8), "groups"),
    "planned-groups-1x1-stride2": (dict(M=256, C=8, R=1, S=1, stride=2), (1, 4, 4, 8), "groups"),
    "planned-chunks-3x3-stride2": (
        dict(M=32, C=16, R=3, S=3, stride=2, padding=1),
        (1, 6, 6, 16),
        "chunks",
    ),
    "planned-chunks-1x1-stride2": (dict(M=16, C=32, R=1, S=1, stride=2), (1, 6, 6, 32), "chunks"),
}


def _planned_inputs(name):
    params, nhwc, _ = PLANNED[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    layer = random_layer(rng, **params)
    return layer, rng.integers(-128, 128, size=nhwc, dtype=np.int8)


@pytest.fixture(scope="module")
def planned():
    specs = []
    for i, name in enumerate(PLANNED):
        layer, x = _planned_inputs(name)
        job = prepare_layer(layer, x, CONFIG_4X4)
        specs.append(rtlsim.RtlJob(job, run_layer(layer, x), name=name, seed=i))
    results = rtlsim.run_jobs(specs, CONFIG_4X4, check=False)
    return dict(zip(PLANNED, zip(specs, results, strict=True), strict=True))


@pytest.mark.parametrize("name", PLANNED)
def test_planner_choices_are_bit_exact_and_predicted(planned, name):
    spec, result = planned[name]
    assert_layer_ok(spec, result, CONFIG_4X4)
    assert result.counters == perf.predict(spec.job, CONFIG_4X4).counters()
    descs = spec.job.descriptors
    if PLANNED[name][2] == "groups":
        assert len({d["OUT_ADDR"] for d in descs}) > 1 and not any(d["ACC"] for d in descs)
    else:
        assert [d["ACC"] for d in descs][:2] == [ACC_OUT, ACC_IN]
    # faster on the hardware than the plan without the choice is predicted to be
    default = plan_tiles(spec.job.shape, CONFIG_4X4)
    assert result.counters["CYCLES"] < 0.9 * plan_cycles(default, CONFIG_4X4)
