"""Firmware on the VexRiscv SoC: RAM images from a program and a model image, batch runs.

The same ``firmware/model.c`` ELF as on the ISS (:mod:`accel.firmware.run`): its raw image
(``.bin``, from address 0) and the model image (:func:`accel.firmware.image.build_model_image`)
make the RAM contents; :func:`accel.soc.sim.run_images` runs them, and the results are read
back from the RAM at exit exactly as from the ISS memory.
"""

from __future__ import annotations

from pathlib import Path

from accel.firmware import build as firmware
from accel.firmware.riscv.elf import read_elf
from accel.firmware.run import chain_image, model_elf
from accel.soc import sim
from accel.soc.top import DEFAULT_RAM_BYTES
from accel.spec.config import AccelConfig


def program_image(elf: str | Path) -> bytes:
    """The raw image of a built program (``<program>.bin`` next to its ELF)."""
    binary = Path(elf).with_suffix(".bin")
    if not binary.is_file():
        raise FileNotFoundError(f"{binary} is missing: build the program with accel.firmware")
    return binary.read_bytes()


def ram_image(program: bytes, regions=(), ram_bytes: int = DEFAULT_RAM_BYTES) -> bytes:
    """``program`` at address 0 plus ``regions`` (``(addr, bytes)`` pairs) in a RAM image."""
    ram = bytearray(ram_bytes)
    ram[: len(program)] = program
    for addr, blob in regions:
        if addr < 0 or addr + len(blob) > ram_bytes:
            raise ValueError(f"{len(blob)} bytes at 0x{addr:x} do not fit {ram_bytes} of RAM")
        ram[addr : addr + len(blob)] = blob
    return bytes(ram)


def run_model_images(images, config: AccelConfig, elf=None, **options) -> list[dict]:
    """Run ``model.c`` on several model images (:class:`accel.firmware.image.ModelImage`: a
    chain of layers, or an imported graph with host ops) on the SoC, one simulator process;
    per image its results (outputs, per-op counters, predicted, status) plus the SoC's
    ``cpu_cycles``, ``instructions`` (minstret), ``console``, ``wall_seconds``, ``cpu_seconds``,
    ``accel_clocks``/``cpu_clocks`` (cycles the accelerator's and the core's clocks ran,
    :mod:`accel.soc.sim`),
    ``exit_code``, ``trap`` and ``bus_error``."""
    ram_bytes = options.get("ram_bytes", DEFAULT_RAM_BYTES)
    if elf is None:
        elf = model_elf(config=config, layout=firmware.MemoryLayout(ram_bytes))
    stack_top = read_elf(elf).symbol("__stack_top")
    if stack_top > ram_bytes:
        raise ValueError(
            f"{Path(elf).name} is linked for {stack_top} bytes of RAM, the SoC has {ram_bytes}: "
            f"build it with the layout of its RAM (accel.firmware.build.MemoryLayout)"
        )
    program = program_image(elf)
    rams = [ram_image(program, image.regions, ram_bytes) for image in images]
    runs = sim.run_images(config, rams, **options)
    results = []
    for image, run in zip(images, runs, strict=True):
        result = image.read_result(run.read)
        result.update(
            cpu_cycles=run.cycles,
            instructions=run.instret,
            console=run.console,
            wall_seconds=run.seconds,
            cpu_seconds=run.cpu_seconds,
            accel_clocks=run.accel_clocks,
            cpu_clocks=run.cpu_clocks,
            exit_code=run.exit_code,
            trap=run.trap,
            bus_error=run.bus_error,
            image=image,
        )
        results.append(result)
    return results


def run_chains_soc(chains, config: AccelConfig, elf=None, **options) -> list[dict]:
    """:func:`run_model_images` for ``(layers, x)`` chains of accelerator layers (laid out in
    the arena of the SoC RAM's :class:`~accel.firmware.build.MemoryLayout`)."""
    layout = firmware.MemoryLayout(options.get("ram_bytes", DEFAULT_RAM_BYTES))
    images = [chain_image(layers, x, config, layout) for layers, x in chains]
    return run_model_images(images, config, elf, **options)


def run_lenet(model, indices, config: AccelConfig, elf=None, **options) -> list:
    """LeNet-5 test images ``indices`` under ``firmware/model.c`` on the SoC (one simulator
    run); a :class:`accel.firmware.run.FirmwareResult` each, with ``extra``: ``cpu_cycles``,
    ``cpu_seconds``, ``exit_code``."""
    from accel.firmware.run import FirmwareResult
    from accel.ref import lenet

    chains = [(model.layers, model.test_images_int8[i : i + 1]) for i in indices]
    results = []
    for index, raw in zip(indices, run_chains_soc(chains, config, elf, **options), strict=True):
        image = model.test_images_int8[index : index + 1]
        results.append(
            FirmwareResult(
                image=index,
                label=int(model.test_labels[index]),
                predicted=raw["predicted"],
                logits=raw["output"],
                expected_logits=lenet.forward_int8(model.layers, image)[0],
                layer_cycles=raw["cycles"],
                instructions=raw["instructions"],
                custom_instructions=0,  # not counted by the core
                wall_seconds=raw["wall_seconds"],
                console=raw["console"],
                extra={
                    "cpu_cycles": raw["cpu_cycles"],
                    "cpu_seconds": raw["cpu_seconds"],
                    "exit_code": raw["exit_code"],
                    "trap": raw["trap"],
                    "bus_error": raw["bus_error"],
                    "status": raw["status"],
                },
            )
        )
    return results
