"""Control-protocol and error cases on the generated Verilog (4x4 build).

Mirrors the protocol cases of tests/hw/test_core.py at the RTL level: invalid descriptors
(every check), unknown function ids, START/SET while busy, CLEAR, INFO, GET; AXI error
responses (SLVERR and DECERR on reads, SLVERR on writes) injected by the AxiRam subclass of
sim/; and the harness itself: a job that does not answer within its cycle budget is reported
as hung (and the next job still runs), a simulation over its wall-clock budget is killed.
Every job must answer every command: nothing may hang.
"""

import numpy as np
import pytest
from rtl_helpers import BUSY, CONFIG_4X4, DONE, assert_layer_ok, status_bit

from accel.driver import prepare_layer
from accel.ref.layer import random_layer, run_layer
from accel.spec import isa
from accel.verif import rtlsim

CONFIG = CONFIG_4X4
ERR_DESCRIPTOR = status_bit("ERR_DESCRIPTOR")
ERR_UNKNOWN = status_bit("ERR_UNKNOWN")
ERR_BUSY = status_bit("ERR_BUSY")
ERR_BUS = status_bit("ERR_BUS")
SLVERR, DECERR = 2, 3


def _layer_and_input(seed=3, M=4, C=2, R=3, S=3, H=5, W=5):
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, M=M, C=C, R=R, S=S)
    x = rng.integers(-128, 128, size=(1, H, W, C), dtype=np.int8)
    return layer, x


def _set(name, value):
    return (isa.function_id("SET", isa.REGISTER[name].index), value, 0)


def _get(name):
    return (isa.function_id("GET", isa.REGISTER[name].index), 0, 0)


def _ctrl(name):
    return (isa.function_id("CTRL", isa.CONTROL_OP[name].index), 0, 0)


LAYER, X = _layer_and_input()
JOB = prepare_layer(LAYER, X, CONFIG)
EXPECTED = run_layer(LAYER, X)
# A layer with 320-byte input rows: one output row fits the 512-byte input buffer, two do not.
WIDE_LAYER, WIDE_X = _layer_and_input(seed=5, M=3, C=16, R=1, S=1, H=20, W=20)
WIDE_JOB = prepare_layer(WIDE_LAYER, WIDE_X, CONFIG, band=1)
# A fully connected shape (E = F = 1), for the parameter buffer check.
FC_LAYER, FC_X = _layer_and_input(seed=6, M=4, C=4, R=1, S=1, H=1, W=1)
FC_JOB = prepare_layer(FC_LAYER, FC_X, CONFIG)

# check name -> (base job, descriptor edits)
DESCRIPTOR_CASES = {
    "ZERO_SIZE-C": (JOB, [_set("C", 0)]),
    "ZERO_SIZE-N": (JOB, [_set("N", 0)]),
    "ZERO_SIZE-BAND": (JOB, [_set("BAND", 0)]),
    "SHAPE-E": (JOB, [_set("E", JOB.descriptor["E"] + JOB.descriptor["R"])]),
    "SHAPE-PL": (JOB, [_set("PL", JOB.descriptor["S"])]),
    "PITCH-IN": (JOB, [_set("IN_ROW_PITCH", 8)]),
    "ACCUMULATE": (JOB, [_set("ACC", 1), _set("N", 2)]),
    "SHAPE-P": (JOB, [_set("P", 3)]),
    "ALIGN-W_ADDR": (JOB, [_set("W_ADDR", JOB.descriptor["W_ADDR"] + 4)]),
    "ALIGN-PARAM_ADDR": (JOB, [_set("PARAM_ADDR", JOB.descriptor["PARAM_ADDR"] + 1)]),
    "CLAMP": (JOB, [_set("ACT_MIN", 100), _set("ACT_MAX", 5)]),
    "POOL": (JOB, [_set("POOL", 1), _set("BAND", 1)]),
    "INPUT_BUFFER": (WIDE_JOB, [_set("BAND", 2)]),
    "ACC_BUFFER": (JOB, [_set("BAND", 1000)]),
    "PARAM_BUFFER": (
        FC_JOB,
        [_set("M", 300), _set("OUT_PIX_PITCH", 300), _set("OUT_ROW_PITCH", 300)],
    ),
}

UNKNOWN_IDS = [
    0x3FF,  # funct3 = 7: no such group
    isa.function_id("SET", 100),
    isa.function_id("GET", 100),
    isa.function_id("CTRL", 50),
    isa.function_id("COUNTER", 60),
    isa.function_id("INFO", 70),
]


def _protocol_specs():
    specs = {}
    for name, (job, edits) in DESCRIPTOR_CASES.items():
        script = job.commands()[:-2] + edits + [_ctrl("START"), _ctrl("WAIT")]
        specs[f"descriptor-{name}"] = rtlsim.RtlJob(job, name=name, script=script, untouched=True)

    # Rejected descriptor, then CLEAR, repair and run: no reset needed to recover.
    d = JOB.descriptor
    script = (
        JOB.commands()[:-2]
        + [_set("W_ADDR", d["W_ADDR"] + 4), _ctrl("START"), _ctrl("WAIT"), _ctrl("CLEAR")]
        + [_ctrl("STATUS"), _set("W_ADDR", d["W_ADDR"]), _ctrl("START"), _ctrl("WAIT")]
    )
    specs["recover"] = rtlsim.RtlJob(JOB, EXPECTED, name="recover", script=script)

    # Unknown ids, each followed by STATUS and CLEAR; then the busy cases of test_core.py.
    script = []
    for function_id in UNKNOWN_IDS:
        script += [(function_id, 0x1234, 0x5678), _ctrl("STATUS"), _ctrl("CLEAR")]
    info = [(isa.function_id("INFO", item.index), 0, 0) for item in isa.INFO]
    script += info + [_ctrl("STATUS")]
    script += JOB.commands()[:-1]  # descriptor + START
    script += [_ctrl("START"), _set("N", 3), _ctrl("WAIT"), _get("N"), _ctrl("STATUS")]
    specs["unknown-busy"] = rtlsim.RtlJob(JOB, EXPECTED, name="unknown-busy", script=script)
    specs["unknown-busy-backpressure"] = rtlsim.RtlJob(
        JOB, EXPECTED, name="unknown-busy-bp", script=script, seed=9, backpressure=True
    )

    # AXI error responses.
    w, p = d["W_ADDR"], d["PARAM_ADDR"]
    i, o = d["IN_ADDR"], d["OUT_ADDR"]
    bus_cases = {
        "bus-slverr-weights": ([(w, w + 8, SLVERR)], False),
        "bus-decerr-input": ([(i, i + 1, DECERR)], False),
        "bus-slverr-params": ([(p, p + 8, SLVERR)], False),
        "bus-slverr-output-write": ([(o, o + 1, SLVERR)], False),
        "bus-decerr-input-backpressure": ([(i + 8, i + 9, DECERR)], True),
    }
    for name, (ranges, bp) in bus_cases.items():
        specs[name] = rtlsim.RtlJob(
            JOB, name=name, error_ranges=ranges, seed=11 if bp else None, backpressure=bp
        )

    # Harness: a job that cannot finish within its budget is reported as hung ...
    specs["hang"] = rtlsim.RtlJob(JOB, EXPECTED, name="hang", timeout_cycles=60)
    # ... and the next job (after the reset between jobs) runs normally.
    specs["after-hang"] = rtlsim.RtlJob(JOB, EXPECTED, name="after-hang")
    return specs


@pytest.fixture(scope="module")
def protocol_results():
    specs = _protocol_specs()
    results = rtlsim.run_jobs(list(specs.values()), CONFIG, check=False)
    return {key: (spec, result) for (key, spec), result in zip(specs.items(), results, strict=True)}


@pytest.mark.parametrize("case", list(DESCRIPTOR_CASES))
def test_invalid_descriptor_reports_its_check_and_does_not_hang(protocol_results, case):
    spec, result = protocol_results[f"descriptor-{case}"]
    assert not result.problems, result.problems  # answered in time, memory untouched
    status = result.status
    assert status & ERR_DESCRIPTOR, f"{case}: status {status:#x}"
    assert not status & BUSY
    code = (status >> isa.ERR_CODE_SHIFT) & 0xFF
    assert code == isa.DESCRIPTOR_CHECK[case.split("-")[0]].code, (case, code)
    assert result.counters["DMA_READ_BYTES"] == 0
    assert result.counters["DMA_WRITE_BYTES"] == 0


def test_clear_and_repair_after_a_rejected_descriptor(protocol_results):
    spec, result = protocol_results["recover"]
    responses = result.responses
    n = len(JOB.commands()) - 2
    rejected, clear, status_after_clear = responses[n + 2], responses[n + 3], responses[n + 4]
    assert rejected & ERR_DESCRIPTOR
    assert clear == 0
    assert status_after_clear & isa.ERROR_MASK == 0
    assert not result.problems, result.problems
    final = responses[len(spec.script) - 1]
    assert final & isa.ERROR_MASK == 0 and final & DONE
    np.testing.assert_array_equal(result.output, EXPECTED)


@pytest.mark.parametrize("key", ["unknown-busy", "unknown-busy-backpressure"])
def test_unknown_ids_busy_refusals_clear_and_info(protocol_results, key):
    spec, result = protocol_results[key]
    assert not result.problems, result.problems
    r = result.responses[: len(spec.script)]
    for k, function_id in enumerate(UNKNOWN_IDS):
        status, cleared = r[3 * k + 1], r[3 * k + 2]
        assert status & ERR_UNKNOWN, f"function id 0x{function_id:03x}: status {status:#x}"
        assert cleared == 0
    base = 3 * len(UNKNOWN_IDS)
    info = dict(zip((item.name for item in isa.INFO), r[base : base + len(isa.INFO)], strict=True))
    assert info["VERSION"] == isa.ISA_VERSION
    assert (info["ROWS"], info["COLS"]) == (CONFIG.rows, CONFIG.cols)
    assert info["BUS_BYTES"] == CONFIG.bus_bytes and info["IN_BYTES"] == CONFIG.in_bytes
    assert info["ACC_DEPTH"] == CONFIG.acc_depth and info["PARAM_DEPTH"] == CONFIG.param_depth
    assert r[base + len(isa.INFO)] & isa.ERROR_MASK == 0  # CLEAR cleared everything
    start_while_busy, set_while_busy, wait, get_n, status = r[-5:]
    assert start_while_busy & BUSY
    assert wait & ERR_BUSY and wait & DONE and not wait & BUSY, f"{wait:#x}"
    assert get_n == JOB.descriptor["N"]  # the SET while busy was refused
    assert status & ERR_BUSY
    assert set_while_busy == 0
    # The layer itself ran correctly despite the refused commands.
    np.testing.assert_array_equal(result.output, EXPECTED)
    assert result.counters["DMA_WRITE_BYTES"] == JOB.output_bytes


@pytest.mark.parametrize(
    "key",
    [
        "bus-slverr-weights",
        "bus-decerr-input",
        "bus-slverr-params",
        "bus-slverr-output-write",
        "bus-decerr-input-backpressure",
    ],
)
def test_bus_error_sets_status_and_wait_returns(protocol_results, key):
    spec, result = protocol_results[key]
    assert not result.problems, result.problems  # WAIT answered; no stray writes
    assert result.status & ERR_BUS, f"status {result.status:#x}"
    assert not result.status & BUSY


def test_hung_job_is_reported_and_the_next_job_runs(protocol_results):
    spec, result = protocol_results["hang"]
    assert len(result.problems) == 1 and result.problems[0].startswith("hung: command ")
    assert "within 60 cycles" in result.problems[0]
    spec, result = protocol_results["after-hang"]
    assert_layer_ok(spec, result, CONFIG)


def test_simulation_over_its_wall_clock_budget_is_killed():
    script = [_ctrl("STATUS")] * 200_000
    spec = rtlsim.RtlJob(JOB, name="endless", script=script, counters=False)
    with pytest.raises(rtlsim.RtlSimError, match="killed after"):
        rtlsim.run_jobs([spec], CONFIG, wall_timeout=1)
