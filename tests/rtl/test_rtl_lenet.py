"""Every LeNet-5 layer on the generated Verilog (default 8x8 build) against the golden model.

Shipped trained int8 weights, the activations of a real held-out test image; cocotb +
Verilator with cocotbext-axi's AxiRam as main memory. All layers run in one simulator
invocation; conv2 runs a second time with random AXI, command and response back-pressure.
The performance counters of the RTL equal those of the Amaranth simulation when its memory
model has AxiRam's timing.
"""

import pytest
from rtl_helpers import CONFIG_8X8, assert_layer_ok

from accel.driver import prepare_layer
from accel.ref.layer import run_layer
from accel.ref.lenet import int8_activations, load_default
from accel.verif import amaranth_sim as simrun
from accel.verif import rtlsim

LAYERS = ("conv1", "conv2", "conv3", "fc1", "fc2")


@pytest.fixture(scope="module")
def lenet_results():
    model = load_default()
    assert tuple(layer.name for layer in model.layers) == LAYERS
    acts = int8_activations(model.layers, model.test_images_int8[:1])
    specs = []
    for layer in model.layers:
        x = acts[layer.name]
        job = prepare_layer(layer, x, CONFIG_8X8)
        specs.append(rtlsim.RtlJob(job, run_layer(layer, x), name=layer.name))
    conv2 = specs[1]
    specs.append(
        rtlsim.RtlJob(
            conv2.job, conv2.expected, name="conv2-backpressure", seed=2, backpressure=True
        )
    )
    results = rtlsim.run_jobs(specs, CONFIG_8X8, check=False)
    return {spec.name: (spec, result) for spec, result in zip(specs, results, strict=True)}


@pytest.mark.parametrize("name", [*LAYERS, "conv2-backpressure"])
def test_lenet_layer_bit_exact(lenet_results, name):
    spec, result = lenet_results[name]
    assert_layer_ok(spec, result, CONFIG_8X8)


def test_backpressure_costs_cycles_but_not_results(lenet_results):
    _, plain = lenet_results["conv2"]
    _, stalled = lenet_results["conv2-backpressure"]
    assert stalled.counters["CYCLES"] > plain.counters["CYCLES"]
    assert stalled.counters["MAC_CYCLES"] == plain.counters["MAC_CYCLES"]
    assert stalled.counters["DMA_WRITE_BYTES"] == plain.counters["DMA_WRITE_BYTES"]


# cocotbext-axi's AxiRam answers a read 2 clock edges after the AR handshake and a write 2
# edges after the last W beat (see sim/README.md): the Amaranth simulation's memory model
# uses the same latencies by default.
AXIRAM_READ_LATENCY = AXIRAM_WRITE_LATENCY = 2


@pytest.mark.parametrize("name", ["conv1", "fc2"])
def test_counters_equal_the_amaranth_simulation(lenet_results, name):
    spec, result = lenet_results[name]
    assert (simrun.READ_LATENCY, simrun.WRITE_LATENCY) == (
        AXIRAM_READ_LATENCY,
        AXIRAM_WRITE_LATENCY,
    )
    amaranth = simrun.run_job(spec.job, CONFIG_8X8)
    assert (amaranth.output == result.output).all()
    assert amaranth.counters == result.counters
