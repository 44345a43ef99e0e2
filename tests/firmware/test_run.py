"""LeNet-5 under firmware control: firmware/lenet.c on the ISS, functional accelerator."""

import re

import numpy as np
import pytest

from accel.firmware import image as lenet_image
from accel.firmware.run import lenet_elf, run_functional
from accel.ref.lenet import load_default
from accel.spec import isa
from accel.spec.config import AccelConfig


@pytest.fixture(scope="module")
def model():
    return load_default()


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return lenet_elf(tmp_path_factory.mktemp("fw"))


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
    root = lenet_image.__file__.rsplit("/accel/", 1)[0] + "/firmware/"
    driver = open(root + "accel_drv.h").read()
    assert "typedef accel_desc_t accel_layer_t;" in driver
    generated = open(root + "include/accel.h").read()
    assert _c_struct_fields(generated, "accel_desc") == [r.name.lower() for r in isa.REGISTERS]
    header = open(root + "lenet_model.h").read()
    fields = _c_struct_fields(header, "lenet_model")
    assert fields[:6] == ["magic", "n_layers", "input_addr", "logits_addr", "predicted", "status"]
    assert fields[6:] == ["cycles[LENET_MAX_LAYERS]", "layers[LENET_MAX_LAYERS]"]
    assert f"{lenet_image.MAGIC:#010x}u" in header
    assert f"LENET_MAX_LAYERS {lenet_image.MAX_LAYERS}u" in header


def test_model_image_rejects_a_model_that_does_not_fit(model):
    image = model.test_images_int8[:1]
    with pytest.raises(ValueError, match="arena ends"):
        lenet_image.build_model_image(list(model.layers), image, AccelConfig(), 0x10000, 0x12000)


def test_firmware_on_the_rtl_ten_images(model, elf):
    """Co-simulation: the ISS runs lenet.c, custom instructions drive the generated Verilog."""
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
