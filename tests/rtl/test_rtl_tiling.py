"""Every tiling path on the generated Verilog (cocotb + Verilator, AxiRam with back-pressure),
bit-exact against the golden model: column strips with halo (stride 2, pooling, 7×7 with
padding 3, batch 2), output-channel groups, input-channel chunks accumulated across
descriptors (ACC_OUT / ACC_IN) with batch, and combinations; on small buffers where each path
triggers. The counters equal the Amaranth simulation's. Plus the planner's output-channel
groups (chosen by the performance model), whose counters equal accel.perf's."""

import numpy as np
import pytest
from rtl_helpers import CONFIG_4X4, assert_layer_ok

from accel import perf
from accel.driver import choose_band, prepare_layer
from accel.mapping import LayerShape
from accel.mapping.tiled_job import layout_plan
from accel.mapping.tiling import plan_tiles
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
    if len({(t.c0, t.c1) for t in plan.tiles}) > 1:
        kinds.add("chunks")
    assert kinds == CASES[name][3]
    if not spec.backpressure:  # the same cycles as the Amaranth simulation of the core
        assert result.counters == amaranth_sim.run_job(job, config).counters


# The planner (accel.driver.plan_layer) trades output-channel groups for bands of more
# pixels where the performance model predicts it faster: name -> (layer, input NHWC).
PLANNED = {
    "planned-groups-3x3": (dict(M=128, C=8, R=3, S=3, padding=1), (1, 4, 4, 8)),
    "planned-groups-1x1-stride2": (dict(M=256, C=8, R=1, S=1, stride=2), (1, 4, 4, 8)),
}


def _planned_inputs(name):
    params, nhwc = PLANNED[name]
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
def test_planner_groups_are_bit_exact_and_predicted(planned, name):
    spec, result = planned[name]
    assert_layer_ok(spec, result, CONFIG_4X4)
    assert result.counters == perf.predict(spec.job, CONFIG_4X4).counters()
    # one group would have been a single descriptor; the planner split it in two, and the
    # hardware ran faster than one group at its best band is predicted to
    layer, x = _planned_inputs(name)
    shape = spec.job.shape
    assert len(plan_tiles(shape, CONFIG_4X4).tiles) == 1 and len(spec.job.descriptors) == 2
    one_group = prepare_layer(layer, x, CONFIG_4X4, band=choose_band(shape, CONFIG_4X4))
    assert result.counters["CYCLES"] < perf.predict(one_group, CONFIG_4X4).cycles
