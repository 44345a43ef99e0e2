"""A model as a memory image for the firmware (``firmware/model.c``).

The image starts at the accelerator arena with a ``model_image_t`` header
(``firmware/model_image.h``): magic, op and descriptor counts, the address of the
descriptor table, the first graph output, result fields written by the firmware, then one
``model_op_t`` per op in execution order: an accelerator layer (a range of descriptors, one
per tile) or a host op (the address of its record, :mod:`accel.firmware.host_records`).
Weights, parameters, records, constant tensors and one buffer per activation tensor follow
(int8 NHWC, as :mod:`accel.mapping.job` lays them out for the accelerator), then the
descriptors in :data:`accel.spec.isa.REGISTERS` order. Only the model's inputs and
constants are written: every intermediate activation must be produced by the firmware.

:class:`ImageBuilder` lays out ops one by one; :func:`build_model_image` is the chain of
accelerator layers of LeNet-5; :func:`accel.firmware.from_model.build_graph_image` a whole
imported graph.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

from accel.driver import prepare_layer
from accel.firmware.host_records import HostRecord
from accel.mapping import LayerJob
from accel.ref.layer import QuantizedLayer
from accel.spec import isa
from accel.spec.config import AccelConfig

MAGIC = 0x4D434342  # "BCCM": version 2 (ops interleave accelerator layers and host ops)
MAX_OPS = 64
FIXED_WORDS = 10  # magic .. failed_op
OP_WORDS = 5  # kind, arg, n_descs, cycles, instructions
HEADER_WORDS = FIXED_WORDS + OP_WORDS * MAX_OPS
HEADER_BYTES = 4 * HEADER_WORDS
DESC_BYTES = 4 * len(isa.REGISTERS)
PREDICTED_OFFSET = 28
OP_ACCEL = 0
#: status the firmware writes for a malformed image (``MODEL_E_IMAGE`` in model.c)
STATUS_BAD_IMAGE = 100


def _align(value: int, alignment: int = 64) -> int:
    return -(-value // alignment) * alignment


@dataclass
class ImageOp:
    """One op of the image: ``where`` accel or host, its ``label`` (graph op and type), the
    accelerator's ``job`` or the host ``record``."""

    label: str
    where: str
    job: LayerJob | None = None
    record: HostRecord | None = None
    arg: int = 0  # a host op: the address of its record
    elements: int = 0  # the number of output elements (for instructions per element)

    @property
    def kind(self) -> int:
        return OP_ACCEL if self.record is None else self.record.code


@dataclass
class ImageOutput:
    """A tensor the host reads back: address, shape (batch 1) and dtype."""

    name: str
    addr: int
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize


@dataclass
class ModelImage:
    """Bytes to place in memory before the firmware starts, and where results appear."""

    base: int
    regions: list[tuple[int, bytes]]
    ops: list[ImageOp]
    outputs: list[ImageOutput]
    input_addr: int
    end: int  # the end of the constants (the activation buffers lie above, up to the limit)
    activation_bytes: int = 0  # activation buffers live at once, at most
    notes: list[str] = field(default_factory=list)

    @property
    def jobs(self) -> list[LayerJob]:
        """The accelerator layers, in order."""
        return [op.job for op in self.ops if op.job is not None]

    @property
    def output_addr(self) -> int:
        return self.outputs[0].addr

    @property
    def output_bytes(self) -> int:
        return self.outputs[0].nbytes

    def write_to(self, write) -> None:
        """Write every region with ``write(addr, data)``."""
        for addr, data in self.regions:
            write(addr, data)

    def read_back(self) -> dict[str, tuple[int, int]]:
        """The (address, length) of every result the firmware writes: the header and each
        graph output."""
        spans = {"header": (self.base, HEADER_BYTES)}
        for i, out in enumerate(self.outputs):
            spans[f"output{i}"] = (out.addr, out.nbytes)
        return spans

    def read_result(self, read) -> dict:
        """Predicted class, firmware status, per-op counters and the outputs, read with
        ``read(addr, n)`` at the spans of :meth:`read_back` only."""
        spans = self.read_back()
        header = struct.unpack(f"<{HEADER_WORDS}I", bytes(read(*spans["header"])))
        predicted, status, failed_op = header[7:10]
        ops = []
        for i, op in enumerate(self.ops):
            words = header[FIXED_WORDS + OP_WORDS * i : FIXED_WORDS + OP_WORDS * (i + 1)]
            ops.append(
                {
                    "label": op.label,
                    "where": op.where,
                    "cycles": words[3],
                    "instructions": words[4],
                    "elements": op.elements,
                }
            )
        outputs = []
        for i, out in enumerate(self.outputs):
            raw = bytes(read(*spans[f"output{i}"]))
            outputs.append(np.frombuffer(raw, dtype=out.dtype).reshape(out.shape).copy())
        return {
            "predicted": predicted,
            "status": status,
            "failed_op": failed_op,
            "ops": ops,
            "cycles": [o["cycles"] for o in ops if o["where"] == "accel"],
            "outputs": outputs,
            "output": outputs[0].reshape(-1),
        }


class ActivationPool:
    """Activation buffers, allocated downward from ``top`` and reused once freed (first
    fit, 64-byte granules): a block at offset ``o`` of ``size`` bytes is ``[top - o - size,
    top - o)``. :attr:`peak` is the most bytes in use at once."""

    def __init__(self, top: int):
        self.top = top
        self.free_blocks: list[tuple[int, int]] = []  # (offset, size), sorted by offset
        self.sizes: dict[int, int] = {}
        self.peak = 0

    def alloc(self, nbytes: int) -> int:
        size = _align(max(int(nbytes), 1))
        for i, (offset, free) in enumerate(self.free_blocks):
            if free >= size:
                self.free_blocks[i : i + 1] = [(offset + size, free - size)] if free > size else []
                break
        else:
            offset, self.peak = self.peak, self.peak + size
        addr = self.top - offset - size
        self.sizes[addr] = size
        return addr

    def release(self, addr: int) -> None:
        size = self.sizes.pop(addr)
        blocks = sorted([*self.free_blocks, (self.top - addr - size, size)])
        merged = [blocks[0]]
        for offset, free in blocks[1:]:
            last_offset, last = merged[-1]
            if last_offset + last == offset:
                merged[-1] = (last_offset, last + free)
            else:
                merged.append((offset, free))
        self.free_blocks = merged


class ImageBuilder:
    """Lays out a model image op by op in the arena ``base`` .. ``limit``: the header, then
    upward the constants (weights, parameters, records, constant tensors, descriptors), and
    downward from ``limit`` the activation buffers (:class:`ActivationPool`)."""

    def __init__(self, config: AccelConfig, base: int, limit: int):
        self.config = config
        self.base, self.limit = base, limit
        self.cursor = _align(base + HEADER_BYTES)
        self.pool = ActivationPool(limit - limit % 64)
        self.regions: list[tuple[int, bytes]] = []
        self.ops: list[ImageOp] = []
        self.notes: list[str] = []

    def alloc(self, nbytes: int) -> int:
        """An activation buffer (not written: the firmware produces it)."""
        return self.pool.alloc(nbytes)

    def release(self, addr: int) -> None:
        """The buffer at ``addr`` is dead: later activations may reuse it."""
        self.pool.release(addr)

    def input(self, payload: bytes) -> int:
        """An activation buffer the host writes before the firmware starts (a model input)."""
        addr = self.pool.alloc(len(payload))
        self.regions.append((addr, bytes(payload)))
        return addr

    def data(self, payload: bytes, alignment: int = 64) -> int:
        """Place a constant ``payload`` (weights, a constant tensor, a record) upward."""
        addr = _align(self.cursor, alignment)
        self.cursor = addr + max(len(payload), 1)
        self.regions.append((addr, bytes(payload)))
        return addr

    def accel(self, layer: QuantizedLayer, x_shape, input_addr: int, output_addr: int, label: str):
        """An accelerator layer on the int8 NHWC tensor of ``x_shape`` at ``input_addr``
        (raises :class:`accel.mapping.MappingError` if the accelerator cannot run it)."""
        x = np.zeros(x_shape, dtype=np.int8)
        job = prepare_layer(
            layer, x, self.config, base=self.cursor, input_addr=input_addr, output_addr=output_addr
        )
        self.cursor = job.extra["end"]
        self.regions += [region for name, region in job.regions.items() if name != "input"]
        self.ops.append(ImageOp(label, "accel", job=job))
        return job

    def host(self, record: HostRecord, label: str) -> None:
        self.ops.append(ImageOp(label, "host", record=record, arg=self.data(record.data, 4)))

    def finish(self, outputs: list[ImageOutput], input_addr: int) -> ModelImage:
        """The header and the descriptor table; raises ValueError if the image does not fit."""
        if not 0 < len(self.ops) <= MAX_OPS:
            raise ValueError(f"a model image holds 1 to {MAX_OPS} ops, got {len(self.ops)}")
        descs, op_words = [], []
        for op in self.ops:
            if op.job is not None:
                op_words += [OP_ACCEL, len(descs), len(op.job.descriptors), 0, 0]
                descs += op.job.descriptors
            else:
                op_words += [op.record.code, op.arg, 0, 0, 0]
        desc_words = [desc[reg.name] & 0xFFFF_FFFF for desc in descs for reg in isa.REGISTERS]
        descs_addr = self.data(struct.pack(f"<{len(desc_words)}I", *desc_words), 4)
        end = self.cursor
        if end > self.pool.top - self.pool.peak:
            constants, activations = end - self.base, self.pool.peak
            raise ValueError(
                f"the model needs memory up to {self.base + constants + activations:#x} "
                f"({constants} bytes of header, weights, parameters and records, {activations} "
                f"bytes of activation buffers live at once), the arena ends at {self.limit:#x}"
            )
        first = outputs[0]
        words = [MAGIC, len(self.ops), len(descs), descs_addr, first.addr]
        words += [math.prod(first.shape), int(first.dtype == "float32"), 0, 0, 0]
        words += op_words + [0] * (OP_WORDS * (MAX_OPS - len(self.ops)))
        header = (self.base, struct.pack(f"<{HEADER_WORDS}I", *words))
        return ModelImage(
            self.base,
            [header, *self.regions],
            self.ops,
            outputs,
            input_addr,
            end,
            self.pool.peak,
            self.notes,
        )


def build_model_image(
    layers: list[QuantizedLayer], x: np.ndarray, config: AccelConfig, base: int, limit: int
) -> ModelImage:
    """Lay out the chain ``layers`` (each layer's output is the next one's input) and its
    int8 NHWC input ``x`` from ``base`` (up to ``limit``)."""
    if not 0 < len(layers) <= MAX_OPS:
        raise ValueError(f"a model image holds 1 to {MAX_OPS} layers, got {len(layers)}")
    x = np.asarray(x)
    if x.dtype != np.int8 or x.ndim != 4:
        raise ValueError(f"input must be int8 NHWC, got {x.dtype} {x.shape}")
    builder = ImageBuilder(config, base, limit)
    addr = input_addr = builder.input(np.ascontiguousarray(x).tobytes())
    shape = x.shape
    for layer in layers:
        out_shape = layer.output_shape(shape)
        out_addr = builder.alloc(math.prod(out_shape))
        builder.accel(layer, shape, addr, out_addr, layer.name)
        addr, shape = out_addr, out_shape
    return builder.finish([ImageOutput("output", addr, tuple(shape), "int8")], input_addr)
