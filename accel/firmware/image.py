"""A chain of int8 layers as a memory image for the firmware (``firmware/model.c``).

The image starts at the accelerator arena with a ``model_image_t`` header
(``firmware/model_image.h``): magic, layer and descriptor counts, input and output addresses,
result fields written by the firmware, per layer the range of its descriptors (one, or
several for a tiled layer) and its cycle counter, then every descriptor in
:data:`accel.spec.isa.REGISTERS` order. The packed weights and parameters of every layer
follow, then the input and one output buffer per layer (each layer's output is the next one's
input). Intermediate activations are *not* written: the accelerator must produce them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from accel.driver import plan_layer, prepare_layer
from accel.mapping import LayerJob, LayerShape
from accel.ref.layer import QuantizedLayer
from accel.spec import isa
from accel.spec.config import AccelConfig

MAGIC = 0x4D434341  # "ACCM"
MAX_LAYERS = 32
FIXED_WORDS = 8  # magic .. status
HEADER_WORDS = FIXED_WORDS + 3 * MAX_LAYERS
HEADER_BYTES = 4 * HEADER_WORDS
DESC_BYTES = 4 * len(isa.REGISTERS)
PREDICTED_OFFSET = 24
STATUS_OFFSET = 28
CYCLES_OFFSET = 4 * (FIXED_WORDS + 2 * MAX_LAYERS)


def _align(value: int, alignment: int = 64) -> int:
    return -(-value // alignment) * alignment


@dataclass
class ModelImage:
    """Bytes to place in memory before the firmware starts, and where results appear."""

    base: int
    regions: list[tuple[int, bytes]]
    jobs: list[LayerJob]
    input_addr: int
    output_addr: int
    output_bytes: int
    end: int

    def write_to(self, write) -> None:
        """Write every region with ``write(addr, data)``."""
        for addr, data in self.regions:
            write(addr, data)

    def read_back(self) -> dict[str, tuple[int, int]]:
        """The (address, length) of every result the firmware writes."""
        return {
            "result": (self.base + PREDICTED_OFFSET, 8),
            "cycles": (self.base + CYCLES_OFFSET, 4 * MAX_LAYERS),
            "output": (self.output_addr, self.output_bytes),
        }

    def read_result(self, read) -> dict:
        """Predicted class, firmware status, per-layer cycles and the output bytes via
        ``read(addr, n)``."""
        predicted, status = struct.unpack("<II", bytes(read(self.base + PREDICTED_OFFSET, 8)))
        raw = bytes(read(self.base + CYCLES_OFFSET, 4 * MAX_LAYERS))
        cycles = struct.unpack(f"<{MAX_LAYERS}I", raw)
        output = bytes(read(self.output_addr, self.output_bytes))
        return {
            "predicted": predicted,
            "status": status,
            "cycles": list(cycles[: len(self.jobs)]),
            "output": np.frombuffer(output, dtype=np.int8).copy(),
        }


def build_model_image(
    layers: list[QuantizedLayer], x: np.ndarray, config: AccelConfig, base: int, limit: int
) -> ModelImage:
    """Lay out the chain ``layers`` and its int8 NHWC input ``x`` from ``base`` (up to
    ``limit``): descriptors, weights, parameters, activation buffers."""
    if not 0 < len(layers) <= MAX_LAYERS:
        raise ValueError(f"a model image holds 1 to {MAX_LAYERS} layers, got {len(layers)}")
    x = np.asarray(x)
    if x.dtype != np.int8 or x.ndim != 4:
        raise ValueError(f"input must be int8 NHWC, got {x.dtype} {x.shape}")
    shapes = [x.shape]
    for layer in layers:
        shapes.append(layer.output_shape(shapes[-1]))
    # The descriptors come right after the header; a layer has one per tile of its plan.
    n_descs = sum(
        len(plan_layer(LayerShape.of(layer, shape), config).tiles)
        for layer, shape in zip(layers, shapes, strict=False)
    )
    jobs = _layout(layers, x, shapes, config, _align(base + HEADER_BYTES + n_descs * DESC_BYTES))
    assert sum(len(job.descriptors) for job in jobs) == n_descs
    buffers = [jobs[0].descriptor["IN_ADDR"]] + [job.output_addr for job in jobs]
    end = max(job.extra["end"] for job in jobs)
    if end > limit:
        raise ValueError(f"the model needs memory up to {end:#x}, the arena ends at {limit:#x}")
    out_bytes = int(np.prod(shapes[-1]))
    words = [MAGIC, len(layers), n_descs, buffers[0], buffers[-1], out_bytes, 0, 0]
    firsts, counts, descs = [], [], []
    for job in jobs:
        firsts.append(len(descs))
        counts.append(len(job.descriptors))
        descs += job.descriptors
    pad = [0] * (MAX_LAYERS - len(jobs))
    words += firsts + pad + counts + pad + [0] * MAX_LAYERS
    for desc in descs:
        words += [desc[reg.name] & 0xFFFF_FFFF for reg in isa.REGISTERS]
    regions = [(base, struct.pack(f"<{len(words)}I", *words))]
    regions.append((buffers[0], jobs[0].regions["input"][1]))
    for job in jobs:
        regions += [region for name, region in job.regions.items() if name != "input"]
    return ModelImage(base, regions, jobs, buffers[0], buffers[-1], out_bytes, end)


def _layout(layers, x, shapes, config, addr) -> list[LayerJob]:
    """Every layer laid out from ``addr``: weights and parameters, then the activation
    buffers (the output of layer i is the input of layer i + 1)."""
    buffers = []
    for shape in shapes:
        buffers.append(addr)
        addr = _align(addr + int(np.prod(shape)))
    jobs = []
    for i, layer in enumerate(layers):
        xi = x if i == 0 else np.zeros(shapes[i], dtype=np.int8)
        job = prepare_layer(
            layer, xi, config, base=addr, input_addr=buffers[i], output_addr=buffers[i + 1]
        )
        jobs.append(job)
        addr = job.extra["end"]
    return jobs
