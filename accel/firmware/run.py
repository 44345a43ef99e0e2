"""Run the model firmware (``firmware/model.c``) on the RV32IM ISS against an accelerator.

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
    logits: np.ndarray  # the model's int8 output as the firmware left it
    expected_logits: np.ndarray  # the golden model's
    layer_cycles: list[int]
    instructions: int
    custom_instructions: int
    wall_seconds: float
    console: str
    extra: dict = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return bool(np.array_equal(self.logits, self.expected_logits))


def model_elf(out_dir=None):
    """Build ``firmware/model.c``, the firmware that runs any model image."""
    return firmware.build("model", out_dir)


def prepare(model, index: int, config: AccelConfig, elf=None):
    """ISS with the firmware loaded and the model image for test image ``index`` written."""
    memory = Memory(firmware.RAM_SIZE, base=firmware.RAM_BASE)
    iss = ISS(memory)
    iss.load_elf(elf if elf is not None else model_elf())
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
        logits=result["output"],
        expected_logits=expected,
        layer_cycles=result["cycles"],
        instructions=iss.instret,
        custom_instructions=iss.custom_count,
        wall_seconds=time.perf_counter() - start,
        console=iss.text_output,
    )


def run_rtl_batch(model, indices, config: AccelConfig, elf=None) -> list[FirmwareResult]:
    """Co-simulate the firmware with the generated Verilog for several test images."""
    from accel.verif import rtlsim

    elf = elf if elf is not None else model_elf()
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
                "read_back": model_image.read_back(),
            }
        )
    raw = rtlsim.run_firmware(elf, items, config, memory_size=firmware.RAM_SIZE)
    results = []
    for index, model_image, want, out in zip(indices, images, expected, raw, strict=True):
        memory = {
            model_image.read_back()[name][0]: out["reads"][name]
            for name in ("result", "cycles", "output")
        }
        fields = model_image.read_result(lambda addr, n, memory=memory: memory[addr][:n])
        results.append(
            FirmwareResult(
                image=index,
                label=int(model.test_labels[index]),
                predicted=fields["predicted"],
                logits=fields["output"],
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
