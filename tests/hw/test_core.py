"""The whole accelerator in the Amaranth simulator against the golden model.

A Python memory model serves the internal memory port; the host side issues the driver's
custom-instruction sequence on the CFU port. Every output byte is compared with
``accel.ref.layer.run_layer``.
"""

import numpy as np
import pytest

from accel.driver import prepare_layer
from accel.mapping import LayerShape, failed_check
from accel.ref.layer import random_layer, run_layer
from accel.ref.lenet import int8_activations, load_default
from accel.spec import isa
from accel.spec.config import AccelConfig
from accel.verif.amaranth_sim import run_command_script, run_job

DONE = 1 << isa.STATUS_BIT["DONE"].bit


@pytest.fixture(scope="module")
def lenet():
    model = load_default()
    return model, int8_activations(model.layers, model.test_images_int8[:1])


def check(layer, x, config, **kwargs):
    job = prepare_layer(layer, x, config, band=kwargs.pop("band", None))
    result = run_job(job, config, **kwargs)
    expected = run_layer(layer, x)
    assert result.status & isa.ERROR_MASK == 0, f"status {result.status:#x}"
    assert result.status & DONE
    np.testing.assert_array_equal(result.output, expected)
    return job, result


@pytest.mark.parametrize("name", ["conv1", "conv2"])
def test_lenet_layer_bit_exact(lenet, name):
    model, acts = lenet
    layer = next(layer for layer in model.layers if layer.name == name)
    job, result = check(layer, acts[name], AccelConfig())
    counters = result.counters
    assert counters["MAC_CYCLES"] > 0
    assert counters["CYCLES"] >= counters["MAC_CYCLES"]
    assert counters["DMA_WRITE_BYTES"] == job.output_bytes


def test_lenet_fc_layer_bit_exact(lenet):
    model, acts = lenet
    layer = next(layer for layer in model.layers if layer.name == "fc2")
    check(layer, acts["fc2"], AccelConfig())


def test_tiling_k_m_and_pixels_with_small_buffers():
    """K, M and pixel tiling: buffers far smaller than the layer; two images; pooling."""
    rng = np.random.default_rng(11)
    config = AccelConfig(rows=4, cols=4, in_depth=64, acc_depth=128, weight_depth=2)
    layer = random_layer(rng, M=10, C=7, R=3, S=3, stride=1, padding=1, pool=True)
    x = rng.integers(-128, 128, size=(2, 12, 12, 7), dtype=np.int8)
    job, result = check(layer, x, config)
    assert job.band < job.shape.E  # pixel tiles
    assert job.shape.K > config.rows and job.shape.M > config.cols
    assert 12 * 12 * 7 > config.in_bytes  # the input is reloaded band by band


@pytest.mark.parametrize("seed", range(4))
def test_random_shapes(seed):
    """Stride 1/2, padding, C and M not multiples of the array, random memory stalls."""
    rng = np.random.default_rng(100 + seed)
    config = AccelConfig(rows=4, cols=4, in_depth=64, acc_depth=128)
    R, S = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    stride = int(rng.integers(1, 3))
    padding = int(rng.integers(0, min(R, S)))
    C, M = int(rng.integers(1, 7)), int(rng.integers(1, 10))
    H, W = int(rng.integers(R + 1, 10)), int(rng.integers(S + 1, 10))
    pool = bool(rng.integers(0, 2)) and (H - R) // stride >= 2 and (W - S) // stride >= 2
    layer = random_layer(rng, M=M, C=C, R=R, S=S, stride=stride, padding=padding, pool=pool)
    x = rng.integers(-128, 128, size=(1, H, W, C), dtype=np.int8)
    check(layer, x, config, seed=seed)


def test_non_power_of_two_array():
    rng = np.random.default_rng(7)
    config = AccelConfig(rows=3, cols=5)
    layer = random_layer(rng, M=7, C=4, R=2, S=2, stride=2, padding=1)
    x = rng.integers(-128, 128, size=(1, 7, 6, 4), dtype=np.int8)
    check(layer, x, config)


def _job(config):
    rng = np.random.default_rng(3)
    layer = random_layer(rng, M=4, C=2, R=3, S=3)
    x = rng.integers(-128, 128, size=(1, 5, 5, 2), dtype=np.int8)
    return prepare_layer(layer, x, config)


def _set(name, value):
    return (isa.function_id("SET", isa.REGISTER[name].index), value, 0)


def _ctrl(name):
    return (isa.function_id("CTRL", isa.CONTROL_OP[name].index), 0, 0)


def test_invalid_descriptor_reports_code_and_does_not_hang():
    config = AccelConfig(rows=4, cols=4)
    job = _job(config)
    cases = {
        "ZERO_SIZE": [_set("C", 0)],
        "SHAPE": [_set("E", job.descriptor["E"] + job.descriptor["R"])],
        "PITCH": [_set("OUT_PIX_PITCH", job.descriptor["M"] - 1)],
        "ACCUMULATE": [_set("ACC", 2), _set("BAND", 1)],
        "ALIGN": [_set("W_ADDR", job.descriptor["W_ADDR"] + 4)],
        "CLAMP": [_set("ACT_MIN", 100), _set("ACT_MAX", 5)],
        "POOL": [_set("POOL", 1), _set("BAND", 1)],
        "ACC_BUFFER": [_set("BAND", 1000)],
        # pixel mode: rows closer than W pixels, and pixels not a whole number of bus words
        "PITCH-pixel": [_set("IN_PIX_PITCH", 8), _set("IN_ROW_PITCH", 16)],
        "ALIGN-pixel": [_set("IN_PIX_PITCH", 12), _set("IN_ROW_PITCH", 64)],
    }
    for case, edits in cases.items():
        check_name = case.split("-")[0]
        script = job.commands()[:-2] + edits + [_ctrl("START"), _ctrl("WAIT")]
        responses = run_command_script(job, config, script)
        status = responses[-1]
        assert status & (1 << isa.STATUS_BIT["ERR_DESCRIPTOR"].bit), check_name
        assert not status & (1 << isa.STATUS_BIT["BUSY"].bit)
        code = (status >> isa.ERR_CODE_SHIFT) & 0xFF
        assert code == isa.DESCRIPTOR_CHECK[check_name].code, (check_name, code)
        # the Python mirror used by the driver, accel.perf and the ISS backend agrees
        edited = dict(job.descriptor)
        for function_id, value, _ in edits:
            reg = next(r for r in isa.REGISTERS if function_id >> 3 == r.index)
            edited[reg.name] = value
        assert failed_check(edited, config).code == code


def test_unknown_function_start_while_busy_clear_and_info():
    config = AccelConfig(rows=4, cols=4)
    job = _job(config)
    err_unknown = 1 << isa.STATUS_BIT["ERR_UNKNOWN"].bit
    err_busy = 1 << isa.STATUS_BIT["ERR_BUSY"].bit
    script = [
        (isa.function_id("INFO", isa.INFO_ITEM["ROWS"].index), 0, 0),
        (isa.function_id("INFO", isa.INFO_ITEM["COLS"].index), 0, 0),
        (0x3FF, 0, 0),  # funct3 = 7: no such group
        (isa.function_id("SET", 100), 5, 0),  # no such register
        _ctrl("STATUS"),
        _ctrl("CLEAR"),
        _ctrl("STATUS"),
        *job.commands()[:-1],  # descriptor + START
        _ctrl("START"),  # while busy
        _set("N", 3),  # while busy: refused
        _ctrl("WAIT"),
        (isa.function_id("GET", isa.REGISTER["N"].index), 0, 0),
    ]
    responses = run_command_script(job, config, script)
    assert responses[0] == 4 and responses[1] == 4
    assert responses[4] & err_unknown
    assert responses[6] & isa.ERROR_MASK == 0
    final = responses[-2]
    assert final & err_busy and final & (1 << isa.STATUS_BIT["DONE"].bit)
    assert responses[-1] == job.descriptor["N"]


def test_bus_error_sets_status_and_wait_returns():
    config = AccelConfig(rows=4, cols=4)
    job = _job(config)
    w_addr = job.descriptor["W_ADDR"]
    result = run_job(job, config, error_ranges=[(w_addr, w_addr + 8)])
    assert result.status & (1 << isa.STATUS_BIT["ERR_BUS"].bit)
    assert not result.status & (1 << isa.STATUS_BIT["BUSY"].bit)


def test_consecutive_layers_without_reset():
    """Layer state must not leak: an odd number of weight tiles, then a second layer."""
    rng = np.random.default_rng(21)
    config = AccelConfig(rows=4, cols=4)
    first = random_layer(rng, M=3, C=3, R=3, S=1)  # K = 9 -> 3 tiles: odd
    second = random_layer(rng, M=6, C=2, R=2, S=2, padding=1, relu=False)
    x1 = rng.integers(-128, 128, size=(1, 4, 4, 3), dtype=np.int8)
    x2 = rng.integers(-128, 128, size=(1, 5, 5, 2), dtype=np.int8)
    job1 = prepare_layer(first, x1, config)
    job2 = prepare_layer(second, x2, config, base=job1.extra["end"])
    job1.regions.update({f"second_{k}": v for k, v in job2.regions.items()})
    job1.extra["end"] = job2.extra["end"]
    script = job1.commands() + job2.commands()
    responses, memory = run_command_script(job1, config, script, return_memory=True)
    assert responses[-1] & isa.ERROR_MASK == 0
    y1 = job1.decode_output(memory.read(job1.output_addr, job1.output_bytes))
    y2 = job2.decode_output(memory.read(job2.output_addr, job2.output_bytes))
    np.testing.assert_array_equal(y1, run_layer(first, x1))
    np.testing.assert_array_equal(y2, run_layer(second, x2))


# Every tiling path of accel.mapping.tiling on small buffers (the same cases as
# tests/mapping/test_tiling.py, there run on the functional model): bit-exact on the core.
TILED_CASES = {
    "strips_pool": (dict(M=4, C=5, R=3, S=3, pool=True), (1, 8, 18, 5), dict(in_depth=32)),
    "strips_7x7_stride2_pad3": (
        dict(M=4, C=3, R=7, S=7, stride=2, padding=3),
        (1, 12, 30, 3),
        dict(in_depth=64),
    ),
    "m_groups": (dict(M=19, C=3, R=1, S=1), (1, 3, 3, 3), {}),
    "fc_chunks": (dict(M=6, C=300, R=1, S=1), (1, 1, 1, 300), {}),
    "fc_chunks_groups_batch3": (dict(M=11, C=200, R=1, S=1), (3, 1, 1, 200), {}),
}


@pytest.mark.parametrize("name", TILED_CASES)
def test_tiled_layer_bit_exact(name):
    from accel.mapping.tiled_job import layout_plan
    from accel.mapping.tiling import plan_tiles

    params, nhwc, extra = TILED_CASES[name]
    tiny = dict(rows=4, cols=4, in_depth=16, acc_depth=32, param_depth=2)
    config = AccelConfig(**(tiny | extra))
    rng = np.random.default_rng(len(name))
    layer = random_layer(rng, **params)
    x = rng.integers(-128, 128, size=nhwc, dtype=np.int8)
    plan = plan_tiles(LayerShape.of(layer, x.shape), config)
    assert len(plan.tiles) > 1
    job = layout_plan(layer, x, config, plan)
    result = run_job(job, config)
    np.testing.assert_array_equal(result.output, run_layer(layer, x))
    assert result.status & (1 << isa.STATUS_BIT["DONE"].bit)
    assert not result.status & isa.ERROR_MASK
