"""Run the LeNet-5 firmware on the RV32IM ISS against an accelerator backend.

Backends: ``functional`` (golden numerics on the shared memory + :mod:`accel.perf` counters,
milliseconds) and ``rtl`` (the ISS co-simulated with the generated Verilog under cocotb +
Verilator, :mod:`accel.verif.rtlsim`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from accel.firmware import build as firmware
from accel.firmware.image import build_model_image
from accel.firmware.riscv.iss import ISS, Memory
from accel.ref import lenet
from accel.spec.config import AccelConfig


@dataclass
class FirmwareResult:
    image: int
    label: int
    predicted: int
    logits: np.ndarray
    expected_logits: np.ndarray
    layer_cycles: list[int]
    instructions: int
    custom_instructions: int
    wall_seconds: float
    console: str
    extra: dict = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return bool(np.array_equal(self.logits, self.expected_logits))


def lenet_elf(out_dir=None):
    """Build (or reuse) ``firmware/lenet.c``."""
    return firmware.build("lenet", out_dir)


def prepare(model, index: int, config: AccelConfig, elf=None):
    """ISS with the firmware loaded and the model image for test image ``index`` written."""
    memory = Memory(firmware.RAM_SIZE, base=firmware.RAM_BASE)
    iss = ISS(memory)
    iss.load_elf(elf if elf is not None else lenet_elf())
    image = model.test_images_int8[index : index + 1]
    model_image = build_model_image(
        list(model.layers), image, config, firmware.ARENA_BASE, firmware.ARENA_END
    )
    model_image.write_to(memory.write)
    expected = lenet.forward_int8(model.layers, image)[0]
    return iss, model_image, expected


def run_functional(model, index: int, config: AccelConfig, elf=None) -> FirmwareResult:
    from accel.firmware.riscv.functional import FunctionalBackend

    start = time.perf_counter()
    iss, model_image, expected = prepare(model, index, config, elf)
    backend = FunctionalBackend(iss.memory, config)
    iss.backend = backend
    exit_code = iss.run(max_instructions=50_000_000)
    if exit_code != 0:
        raise RuntimeError(f"firmware exited with {exit_code}: {iss.text_output}")
    result = model_image.read_result(iss.memory.read)
    return FirmwareResult(
        image=index,
        label=int(model.test_labels[index]),
        predicted=result["predicted"],
        logits=result["logits"],
        expected_logits=expected,
        layer_cycles=result["cycles"],
        instructions=iss.instret,
        custom_instructions=iss.custom_count,
        wall_seconds=time.perf_counter() - start,
        console=iss.text_output,
    )


def run_rtl_batch(model, indices, config: AccelConfig, elf=None) -> list[FirmwareResult]:
    """Co-simulate the firmware with the generated Verilog for several test images."""
    from accel.firmware.image import CYCLES_OFFSET, MAX_LAYERS, PREDICTED_OFFSET
    from accel.verif import rtlsim

    elf = elf if elf is not None else lenet_elf()
    items, images, expected = [], [], []
    for index in indices:
        image = model.test_images_int8[index : index + 1]
        model_image = build_model_image(
            list(model.layers), image, config, firmware.ARENA_BASE, firmware.ARENA_END
        )
        images.append(model_image)
        expected.append(lenet.forward_int8(model.layers, image)[0])
        items.append(
            {
                "name": f"image{index}",
                "regions": model_image.regions,
                "read_back": {
                    "result": (model_image.base + PREDICTED_OFFSET, 8),
                    "cycles": (model_image.base + CYCLES_OFFSET, 4 * MAX_LAYERS),
                    "logits": (model_image.logits_addr, 10),
                },
            }
        )
    raw = rtlsim.run_firmware(elf, items, config, memory_size=firmware.RAM_SIZE)
    results = []
    for index, model_image, want, out in zip(indices, images, expected, raw, strict=True):
        memory = {
            model_image.base + PREDICTED_OFFSET: out["reads"]["result"],
            model_image.base + CYCLES_OFFSET: out["reads"]["cycles"],
            model_image.logits_addr: out["reads"]["logits"],
        }
        fields = model_image.read_result(lambda addr, n, memory=memory: memory[addr][:n])
        results.append(
            FirmwareResult(
                image=index,
                label=int(model.test_labels[index]),
                predicted=fields["predicted"],
                logits=fields["logits"],
                expected_logits=want,
                layer_cycles=fields["cycles"],
                instructions=out["instructions"],
                custom_instructions=out["custom_instructions"],
                wall_seconds=out["wall_time"],
                console=out["console"],
                extra={"sim_cycles": out["cycles"]},
            )
        )
    return results


def run_rtl(model, index: int, config: AccelConfig, elf=None) -> FirmwareResult:
    return run_rtl_batch(model, [index], config, elf)[0]
