"""accel.perf against the RTL: the predicted counters must equal the Amaranth simulation's.

The golden values are the performance counters of the accelerator itself, read back by
:func:`accel.verif.amaranth_sim.run_job` (Amaranth simulator,
:class:`accel.verif.models.MemoryModel`).
"""

import time

import numpy as np
import pytest

from accel.driver import choose_band, prepare_layer
from accel.mapping import LayerShape, MappingError
from accel.perf import PHASES, MemoryTiming, best_band, descriptor_for, legal_bands, predict
from accel.ref.layer import random_layer, run_layer
from accel.ref.lenet import int8_activations, load_default
from accel.spec.config import AccelConfig
from accel.verif import amaranth_sim as simrun
from accel.verif.amaranth_sim import run_job

SMALL = dict(rows=4, cols=4, in_depth=64, acc_depth=128)


@pytest.fixture(scope="module")
def lenet():
    model = load_default()
    return model, int8_activations(model.layers, model.test_images_int8[:1])


def _lenet_job(lenet, name, config):
    model, acts = lenet
    layer = next(layer for layer in model.layers if layer.name == name)
    return layer, acts[name], prepare_layer(layer, acts[name], config)


def _check_against_rtl(layer, x, job, config, latencies):
    read_latency, write_latency = latencies
    result = run_job(job, config, read_latency=read_latency, write_latency=write_latency)
    np.testing.assert_array_equal(result.output, run_layer(layer, x))
    report = predict(job, config, MemoryTiming(read_latency, write_latency))
    assert report.counters() == result.counters
    return report, result


@pytest.mark.parametrize("name, latencies", [("conv2", (2, 2)), ("fc2", (4, 1))])
def test_lenet_layer_counters_equal_rtl(lenet, name, latencies):
    config = AccelConfig()
    layer, x, job = _lenet_job(lenet, name, config)
    report, result = _check_against_rtl(layer, x, job, config, latencies)
    assert report.dma_write_bytes == job.output_bytes
    assert report.mapping_cycles == result.counters["MAC_CYCLES"]


# seed, layer parameters, input shape NHWC, configuration, band, (read, write) memory latency
RANDOM_CASES = [
    pytest.param(
        1,
        dict(M=6, C=3, R=3, S=3, stride=2, padding=1),
        (1, 9, 9, 3),
        SMALL,
        None,
        (4, 1),
        id="stride2_padding",
    ),
    pytest.param(
        2,
        dict(M=5, C=2, R=3, S=3, pool=True),
        (1, 10, 8, 2),
        SMALL,
        2,
        (1, 3),
        id="pool_four_bands",
    ),
    pytest.param(
        3,
        dict(M=4, C=7, R=2, S=2),
        (2, 9, 9, 7),
        dict(SMALL, weight_depth=2),
        2,
        (2, 2),
        id="batch2_input_reloaded_per_band",
    ),
    pytest.param(
        4,
        dict(M=11, C=37, R=1, S=1),
        (2, 1, 1, 37),
        SMALL,
        None,
        (7, 2),
        id="fc_k_and_m_tiles_batch2",
    ),
]


@pytest.mark.parametrize("seed, params, x_shape, config, band, latency", RANDOM_CASES)
def test_random_shapes_counters_equal_rtl(seed, params, x_shape, config, band, latency):
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, **params)
    x = rng.integers(-128, 128, size=x_shape, dtype=np.int8)
    config = AccelConfig(**config)
    job = prepare_layer(layer, x, config, band=band)
    report, _ = _check_against_rtl(layer, x, job, config, latency)
    d = job.descriptor  # a fully connected batch runs as the rows of one image
    assert len(report.bands) == d["N"] * -(-(d["E"] & ~1 if d["POOL"] else d["E"]) // d["BAND"])


def test_batch2_case_reloads_the_input_per_band():
    """The third random case really exercises the band-by-band input window."""
    config = AccelConfig(**SMALL)
    assert 9 * 9 * 7 + config.bus_bytes - 1 > config.in_bytes


def test_report_bounds_and_phases(lenet):
    config = AccelConfig()
    model, acts = lenet
    for layer in model.layers:
        job = prepare_layer(layer, acts[layer.name], config)
        report = predict(job, config)
        shape = job.shape
        assert report.macs == shape.macs
        assert report.ideal_cycles == -(-shape.macs // 64)
        assert report.mapping_cycles == report.mac_cycles
        assert report.ideal_cycles <= report.mapping_cycles <= report.cycles
        assert report.roofline_cycles <= report.cycles
        assert report.utilization == shape.macs / (64 * report.cycles)
        assert list(report.phases) == list(PHASES)
        assert sum(report.phases.values()) == report.cycles
        assert report.phases["mac"] == report.mac_cycles
        waits = sum(
            report.phases[p] for p in PHASES if p.startswith("wait_") and p != "wait_accumulator"
        )
        assert waits <= report.stall_cycles


def test_shape_input_uses_the_driver_layout(lenet):
    config = AccelConfig()
    _, _, job = _lenet_job(lenet, "conv1", config)
    assert (
        descriptor_for(job.shape, config, job.band)
        | {k: job.descriptor[k] for k in ("IN_ZP", "OUT_ZP", "ACT_MIN", "ACT_MAX")}
        == job.descriptor
    )
    assert predict(job.shape, config, band=job.band) == predict(job, config)


def test_default_memory_timing_is_the_simulators():
    assert MemoryTiming() == MemoryTiming.axi_ram()
    assert (MemoryTiming().read_latency, MemoryTiming().write_latency) == (
        simrun.READ_LATENCY,
        simrun.WRITE_LATENCY,
    )


def test_memory_latency_and_band_change_the_cycles(lenet):
    config = AccelConfig()
    _, _, job = _lenet_job(lenet, "conv2", config)
    fast = predict(job.shape, config, MemoryTiming(read_latency=1))
    slow = predict(job.shape, config, MemoryTiming(read_latency=40, write_latency=20))
    assert fast.cycles < slow.cycles
    assert fast.mac_cycles == slow.mac_cycles
    cycles = {band: predict(job.shape, config, band=band).cycles for band in (2, 4, 10)}
    assert len(set(cycles.values())) == 3


def test_best_band_is_the_fastest_legal_band():
    config = AccelConfig(**dict(SMALL, acc_depth=256))
    shape = LayerShape(N=1, H=12, W=12, C=7, M=10, R=3, S=3, E=12, F=12, U=1, P=1, pool=True)
    bands = legal_bands(shape, config)
    assert bands == [2, 4]  # 6 input rows of 12 x 7 bytes fit the 512-byte banks, 8 do not
    cycles = {band: predict(shape, config, band=band).cycles for band in bands}
    best = best_band(shape, config)
    assert cycles[best] == min(cycles.values())
    assert cycles[best] <= cycles[choose_band(shape, config)]


def test_illegal_band_and_bad_arguments_raise():
    config = AccelConfig(**dict(SMALL, acc_depth=256))
    shape = LayerShape(N=1, H=12, W=12, C=7, M=10, R=3, S=3, E=12, F=12, U=1, P=1, pool=True)
    with pytest.raises(MappingError, match="input buffer"):
        predict(shape, config, band=6)
    with pytest.raises(MappingError, match="odd BAND"):
        predict(shape, config, band=3)
    whole = LayerShape(N=1, H=12, W=12, C=2, M=10, R=3, S=3, E=12, F=12, U=1, P=1, pool=True)
    assert legal_bands(whole, config) == [2, 4, 6]  # 3 m tiles x BAND x 12 <= 256
    with pytest.raises(MappingError, match="accumulator"):
        predict(whole, config, band=8)
    with pytest.raises(ValueError, match="read_latency"):
        MemoryTiming(read_latency=0)
    with pytest.raises(TypeError, match="LayerJob or a LayerShape"):
        predict("conv1", config)


def test_prediction_takes_milliseconds(lenet):
    config = AccelConfig()
    model, acts = lenet
    jobs = [prepare_layer(layer, acts[layer.name], config) for layer in model.layers]
    start = time.perf_counter()
    for job in jobs:
        predict(job, config)
    assert time.perf_counter() - start < 0.25  # about 5 ms for the five layers
