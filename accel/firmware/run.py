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
from accel.firmware.image import ModelImage, build_model_image
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


#: Instruction budget of one model run (the Python ISS retires about 2 M per second).
MAX_INSTRUCTIONS = 200_000_000


def model_elf(
    out_dir=None,
    config: AccelConfig | None = None,
    layout: firmware.MemoryLayout = firmware.DEFAULT_LAYOUT,
):
    """Build ``firmware/model.c`` with the host kernels (``host_ops.c``), the firmware that
    runs any model image (against the ``accel.h`` of ``config``, default: the committed
    default configuration's), linked for the RAM of ``layout`` (another layout than the
    default builds into ``firmware/build/ram<K>k`` unless ``out_dir`` is given)."""
    if out_dir is None and layout != firmware.DEFAULT_LAYOUT:
        out_dir = firmware.DEFAULT_OUT_DIR / f"ram{layout.ram_bytes // 1024}k"
    return firmware.build("model", out_dir, config=config, layout=layout)


def chain_image(
    layers, x, config: AccelConfig, layout: firmware.MemoryLayout = firmware.DEFAULT_LAYOUT
) -> ModelImage:
    """The model image of a chain of accelerator layers on int8 NHWC input ``x``, in the
    arena of ``layout``."""
    return build_model_image(list(layers), x, config, layout.arena_base, layout.arena_end)


def graph_image(
    graph, inputs, config: AccelConfig, layout: firmware.MemoryLayout = firmware.DEFAULT_LAYOUT
) -> ModelImage:
    """The model image of an imported graph on one sample ``inputs``, in the arena of
    ``layout``."""
    from accel.firmware.from_model import build_graph_image

    return build_graph_image(graph, inputs, config, layout.arena_base, layout.arena_end)


def run_image_functional(
    image: ModelImage,
    config: AccelConfig,
    elf=None,
    layout: firmware.MemoryLayout = firmware.DEFAULT_LAYOUT,
) -> dict:
    """Run ``image`` under firmware on the ISS with the functional accelerator; returns the
    image's results (outputs, per-op counters, ...) and the ISS counts. The ISS has the RAM
    of ``layout`` (``elf``, default ``model.c``, must be linked for it)."""
    from accel.firmware.riscv.functional import FunctionalBackend

    start = time.perf_counter()
    memory = Memory(layout.ram_bytes, base=firmware.RAM_BASE)
    iss = ISS(memory)
    iss.load_elf(elf if elf is not None else model_elf(layout=layout))
    image.write_to(memory.write)
    iss.backend = FunctionalBackend(iss.memory, config)
    exit_code = iss.run(max_instructions=MAX_INSTRUCTIONS)
    if not iss.halted:
        raise RuntimeError(f"the firmware did not finish within {MAX_INSTRUCTIONS} instructions")
    if exit_code != 0:
        raise RuntimeError(f"firmware exited with {exit_code}: {iss.text_output}")
    result = image.read_result(iss.memory.read)
    result.update(
        instructions=iss.instret,
        custom_instructions=iss.custom_count,
        console=iss.text_output,
        wall_seconds=time.perf_counter() - start,
        image=image,
    )
    return result


def run_chain_functional(
    layers,
    x,
    config: AccelConfig,
    elf=None,
    layout: firmware.MemoryLayout = firmware.DEFAULT_LAYOUT,
) -> dict:
    """The chain ``layers`` on int8 NHWC input ``x`` under firmware, functional accelerator."""
    return run_image_functional(chain_image(layers, x, config, layout), config, elf, layout)


def run_images_rtl(images: list[ModelImage], config: AccelConfig, elf=None) -> list[dict]:
    """Co-simulate the firmware with the generated Verilog for several model images in one
    simulator run; returns per image its results and the ISS counts."""
    from accel.verif import rtlsim

    elf = elf if elf is not None else model_elf()
    items = [
        {"name": f"image{i}", "regions": image.regions, "read_back": image.read_back()}
        for i, image in enumerate(images)
    ]
    raw = rtlsim.run_firmware(
        elf, items, config, memory_size=firmware.RAM_SIZE, max_instructions=MAX_INSTRUCTIONS
    )
    results = []
    for image, out in zip(images, raw, strict=True):
        if out["exit_code"] != 0:
            raise RuntimeError(f"firmware exited with {out['exit_code']}: {out['console']}")
        memory = {image.read_back()[name][0]: out["reads"][name] for name in out["reads"]}
        result = image.read_result(lambda addr, n, memory=memory: memory[addr][:n])
        result.update(
            instructions=out["instructions"],
            custom_instructions=out["custom_instructions"],
            console=out["console"],
            wall_seconds=out["wall_time"],
            sim_cycles=out["cycles"],
            image=image,
        )
        results.append(result)
    return results


def run_chains_rtl(chains, config: AccelConfig, elf=None) -> list[dict]:
    """Co-simulate the firmware with the generated Verilog for several (layers, x) chains."""
    return run_images_rtl([chain_image(layers, x, config) for layers, x in chains], config, elf)


def run_functional(
    model,
    index: int,
    config: AccelConfig,
    elf=None,
    layout: firmware.MemoryLayout = firmware.DEFAULT_LAYOUT,
) -> FirmwareResult:
    """LeNet-5 test image ``index`` under firmware, functional accelerator (in the RAM of
    ``layout``)."""
    image = model.test_images_int8[index : index + 1]
    result = run_chain_functional(model.layers, image, config, elf, layout)
    return _lenet_result(model, index, result)


def run_rtl_batch(model, indices, config: AccelConfig, elf=None) -> list[FirmwareResult]:
    """LeNet-5 test images ``indices`` under firmware, co-simulated with the Verilog."""
    chains = [(model.layers, model.test_images_int8[i : i + 1]) for i in indices]
    raw = run_chains_rtl(chains, config, elf)
    return [_lenet_result(model, i, r) for i, r in zip(indices, raw, strict=True)]


def run_rtl(model, index: int, config: AccelConfig, elf=None) -> FirmwareResult:
    return run_rtl_batch(model, [index], config, elf)[0]


def _lenet_result(model, index: int, result: dict) -> FirmwareResult:
    image = model.test_images_int8[index : index + 1]
    return FirmwareResult(
        image=index,
        label=int(model.test_labels[index]),
        predicted=result["predicted"],
        logits=result["output"],
        expected_logits=lenet.forward_int8(model.layers, image)[0],
        layer_cycles=result["cycles"],
        instructions=result["instructions"],
        custom_instructions=result["custom_instructions"],
        wall_seconds=result["wall_seconds"],
        console=result["console"],
        extra={"sim_cycles": result["sim_cycles"]} if "sim_cycles" in result else {},
    )
