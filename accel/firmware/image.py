"""LeNet-5 as a memory image for the firmware (``firmware/lenet.c``).

The image starts at the accelerator arena with a ``lenet_model_t`` header
(``firmware/lenet_model.h``): magic, layer count, input and logits addresses, result fields
written by the firmware, and one descriptor per layer in :data:`accel.spec.isa.REGISTERS` order.
The packed weights and parameters of every layer follow, then the input image and one
output buffer per layer (each layer's output is the next one's input). Intermediate
activations are *not* written: the accelerator must produce them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from accel.driver import prepare_layer
from accel.mapping import LayerJob
from accel.ref.layer import QuantizedLayer
from accel.spec import isa
from accel.spec.config import AccelConfig

MAGIC = 0x354E454C  # "LEN5"
MAX_LAYERS = 8
CLASSES = 10
HEADER_WORDS = 6 + MAX_LAYERS + MAX_LAYERS * len(isa.REGISTERS)
HEADER_BYTES = 4 * HEADER_WORDS
PREDICTED_OFFSET = 16
STATUS_OFFSET = 20
CYCLES_OFFSET = 24


def _align(value: int, alignment: int = 64) -> int:
    return -(-value // alignment) * alignment


@dataclass
class ModelImage:
    """Bytes to place in memory before the firmware starts, and where results appear."""

    base: int
    regions: list[tuple[int, bytes]]
    jobs: list[LayerJob]
    input_addr: int
    logits_addr: int
    end: int

    def write_to(self, write) -> None:
        """Write every region with ``write(addr, data)``."""
        for addr, data in self.regions:
            write(addr, data)

    def read_result(self, read) -> dict:
        """Predicted class, firmware status, per-layer cycles and logits via ``read(addr, n)``."""
        predicted, status = struct.unpack("<II", bytes(read(self.base + PREDICTED_OFFSET, 8)))
        cycles = struct.unpack(f"<{MAX_LAYERS}I", bytes(read(self.base + CYCLES_OFFSET, 32)))
        logits = np.frombuffer(bytes(read(self.logits_addr, CLASSES)), dtype=np.int8).copy()
        return {
            "predicted": predicted,
            "status": status,
            "cycles": list(cycles[: len(self.jobs)]),
            "logits": logits,
        }


def build_model_image(
    layers: list[QuantizedLayer], image: np.ndarray, config: AccelConfig, base: int, limit: int
) -> ModelImage:
    """Lay out ``layers`` and one int8 NHWC ``image`` (1, 32, 32, 1) from ``base``."""
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"at most {MAX_LAYERS} layers fit the model header, got {len(layers)}")
    image = np.asarray(image)
    if image.dtype != np.int8 or image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"image must be int8 NHWC with N = 1, got {image.dtype} {image.shape}")
    addr = _align(base + HEADER_BYTES)
    shapes = [image.shape]
    for layer in layers:
        shapes.append(layer.output_shape(shapes[-1]))
    buffers = []
    for shape in shapes:
        buffers.append(addr)
        addr = _align(addr + int(np.prod(shape)))
    jobs = []
    regions = [(buffers[0], image.tobytes())]
    for i, layer in enumerate(layers):
        x = image if i == 0 else np.zeros(shapes[i], dtype=np.int8)
        job = prepare_layer(
            layer, x, config, base=addr, input_addr=buffers[i], output_addr=buffers[i + 1]
        )
        jobs.append(job)
        regions += [job.regions["weights"], job.regions["params"]]
        addr = job.extra["end"]
    if addr > limit:
        raise ValueError(f"the model needs memory up to {addr:#x}, the arena ends at {limit:#x}")
    words = [MAGIC, len(layers), buffers[0], buffers[-1], 0, 0] + [0] * MAX_LAYERS
    for job in jobs:
        words += [job.descriptor[reg.name] & 0xFFFF_FFFF for reg in isa.REGISTERS]
    words += [0] * (HEADER_WORDS - len(words))
    regions.insert(0, (base, struct.pack(f"<{HEADER_WORDS}I", *words)))
    return ModelImage(base, regions, jobs, buffers[0], buffers[-1], addr)
