"""accel.backends: the layer-backend registry and its one result type."""

import json

import numpy as np
import pytest

from accel.backends import BACKENDS, run_layer_job
from accel.ref.layer import random_layer, run_layer
from accel.spec.config import AccelConfig

CONFIG = AccelConfig(rows=4, cols=4)


@pytest.fixture(scope="module")
def layer_and_input():
    rng = np.random.default_rng(11)
    layer = random_layer(rng, M=6, C=3, R=3, S=3, stride=2, padding=1)
    return layer, rng.integers(-128, 128, size=(1, 7, 7, 3), dtype=np.int8)


def test_registry_names():
    assert set(BACKENDS) == {"golden", "perf", "amaranth", "rtl"}


def test_golden_has_no_counters(layer_and_input):
    layer, x = layer_and_input
    run = run_layer_job(layer, x, CONFIG, "golden")
    np.testing.assert_array_equal(run.output, run_layer(layer, x))
    assert run.exact and run.counters == {} and run.cycles is None
    record = run.record(CONFIG)
    assert "cycles" not in record and record["exact"] is True


def test_perf_and_amaranth_agree_and_records_are_numbers(layer_and_input):
    layer, x = layer_and_input
    perf = run_layer_job(layer, x, CONFIG, "perf")
    sim = run_layer_job(layer, x, CONFIG, "amaranth")
    assert sim.exact and perf.counters == sim.counters
    record = sim.record(CONFIG)
    json.dumps(record)
    assert isinstance(record["cycles"], int) and isinstance(record["utilization"], float)
    assert record["utilization"] == record["macs"] / (16 * record["cycles"])
    assert record["roofline_ratio"] >= 1.0
    assert sim.row(CONFIG)["PE util"].endswith("%")


def test_unknown_backend(layer_and_input):
    layer, x = layer_and_input
    with pytest.raises(ValueError, match="unknown backend 'spice'"):
        run_layer_job(layer, x, CONFIG, "spice")
