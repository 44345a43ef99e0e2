"""Models under firmware control: firmware/model.c on the ISS (LeNet-5 and tiled layers)."""

import re

import numpy as np
import pytest

from accel.firmware import image as model_image
from accel.firmware.run import model_elf, run_functional
from accel.ref.lenet import load_default
from accel.spec import isa
from accel.spec.config import AccelConfig


@pytest.fixture(scope="module")
def model():
    return load_default()


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return model_elf(tmp_path_factory.mktemp("fw"))


def test_ten_images_give_the_golden_logits(model, elf):
    config = AccelConfig()
    for index in range(10):
        result = run_functional(model, index, config, elf)
        np.testing.assert_array_equal(result.logits, result.expected_logits)
        assert result.predicted == int(np.argmax(result.expected_logits))
        assert f"class {result.predicted}" in result.console
        # 5 layers x (STATUS, CLEAR, 21 SETs, START, WAIT, 5 counters) + 7 INFO probes
        assert result.custom_instructions == 5 * (2 + len(isa.REGISTERS) + 2 + 5) + 7


def _c_struct_fields(text, name):
    body = re.search(rf"typedef struct {name} \{{(.*?)\}}", text, re.S).group(1)
    fields = []
    for line in body.split(";"):
        line = re.sub(r"/\*.*?\*/", "", line, flags=re.S).strip()
        if line:
            decl = line.split(None, 1)[1]
            fields += [f.strip() for f in decl.split(",")]
    return fields


def test_c_structs_match_the_python_layout():
    root = model_image.__file__.rsplit("/accel/", 1)[0] + "/firmware/"
    driver = open(root + "accel_drv.h").read()
    assert "typedef accel_desc_t accel_layer_t;" in driver
    generated = open(root + "include/accel.h").read()
    assert _c_struct_fields(generated, "accel_desc") == [r.name.lower() for r in isa.REGISTERS]
    # model_image.h and the host-op records: tests/firmware/test_host_kernels.py


def test_model_image_rejects_a_model_that_does_not_fit(model):
    image = model.test_images_int8[:1]
    with pytest.raises(ValueError, match="arena ends"):
        model_image.build_model_image(list(model.layers), image, AccelConfig(), 0x10000, 0x12000)


def test_firmware_on_the_rtl_ten_images(model, elf):
    """Co-simulation: the ISS runs model.c, custom instructions drive the generated Verilog."""
    from accel.firmware.run import run_rtl_batch

    results = run_rtl_batch(model, list(range(10)), AccelConfig(), elf)
    for result in results:
        np.testing.assert_array_equal(result.logits, result.expected_logits)
        assert result.predicted == int(np.argmax(result.expected_logits))
        assert all(cycles > 0 for cycles in result.layer_cycles)
    # the RTL's counters are the same for every image (data-independent timing)
    assert len({tuple(r.layer_cycles) for r in results}) == 1


def test_functional_backend_counters_come_from_the_perf_model(model, elf):
    from accel import perf
    from accel.mapping import LayerShape

    result = run_functional(model, 0, AccelConfig(), elf)
    shape = LayerShape.of(model.layers[1], (1, 14, 14, 6))
    expected = perf.predict(shape, AccelConfig(), perf.MemoryTiming.axi_ram()).cycles
    assert result.layer_cycles[1] == expected


TINY = AccelConfig(rows=4, cols=4, in_depth=16, acc_depth=32, param_depth=2, weight_depth=2)


def _tiled_chain():
    """Two layers that do not fit TINY's buffers: a 3x3 convolution in column strips, then a
    1x1 convolution in strips and output-channel groups (per-pixel output regions)."""
    from accel.ref.layer import random_layer, run_layer

    rng = np.random.default_rng(42)
    conv = random_layer(rng, M=8, C=8, R=3, S=3, padding=1, name="conv3x3")
    point = random_layer(rng, M=11, C=8, R=1, S=1, name="conv1x1")
    x = rng.integers(-128, 128, size=(1, 6, 20, 8), dtype=np.int8)
    return [conv, point], x, run_layer(point, run_layer(conv, x))


@pytest.fixture(scope="module")
def tiny_elf(tmp_path_factory):
    return model_elf(tmp_path_factory.mktemp("fw_tiny"), TINY)


def test_tiled_chain_under_firmware_on_the_rtl(tiny_elf):
    """The firmware runs tiled layers (START, then CONTINUE per descriptor) on the Verilog."""
    from accel.firmware.run import run_chains_rtl

    layers, x, expected = _tiled_chain()
    (result,) = run_chains_rtl([(layers, x)], TINY, tiny_elf)
    assert result["status"] == 0, result["console"]
    np.testing.assert_array_equal(result["output"], expected.reshape(-1))
    jobs = result["image"].jobs
    assert all(len(job.descriptors) > 1 for job in jobs)
    assert all(cycles > 0 for cycles in result["cycles"])
