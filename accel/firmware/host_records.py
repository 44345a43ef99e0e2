"""The host-op records of a model image: the C structs of ``firmware/host_ops.h`` in Python.

Each record is a sequence of 32-bit little-endian words; :data:`RECORDS` lists per C struct
its op codes and its fields in declaration order (``name[4]`` is an array of four words),
the order :func:`pack` writes them in. ``tests/firmware/test_host_kernels.py`` checks the
fields and the op codes against the C header.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import numpy as np

__all__ = ["OP_CODES", "RECORDS", "HostRecord", "pack", "float_bits", "double_words"]

#: Op code of every host kernel (``enum host_op_code``); 0 is an accelerator layer.
OP_CODES = {
    "ADD": 1,
    "MAX_POOL": 2,
    "AVERAGE_POOL": 3,
    "MEAN": 4,
    "PAD": 5,
    "CONCAT": 6,
    "SOFTMAX": 7,
    "REQUANTIZE": 8,
    "QUANTIZE": 9,
    "DEQUANTIZE": 10,
    "TRANSPOSE": 11,
    "CONV": 12,
}

MAX_CONCAT = 8

_D4 = "[4]"
_CAT = f"[{MAX_CONCAT}]"

#: C struct name -> (op codes, fields).
RECORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "host_add": (
        ("ADD",),
        ("a_addr", "b_addr", "out_addr", "dims" + _D4, "a_strides" + _D4, "b_strides" + _D4)
        + ("a_zp", "b_zp", "out_zp", "a_mult", "a_shift", "b_mult", "b_shift")
        + ("out_mult", "out_shift", "act_min", "act_max"),
    ),
    "host_pool": (
        ("MAX_POOL", "AVERAGE_POOL"),
        ("in_addr", "out_addr", "n", "h", "w", "c", "e", "f", "fh", "fw", "sh", "sw")
        + ("pad_top", "pad_left", "act_min", "act_max"),
    ),
    "host_mean": (
        ("MEAN",),
        ("in_addr", "out_addr", "dims" + _D4, "axes", "count", "in_zp", "multiplier")
        + ("shift", "out_zp"),
    ),
    "host_pad": (
        ("PAD",),
        ("in_addr", "out_addr", "in_dims" + _D4, "before" + _D4, "out_dims" + _D4, "value"),
    ),
    "host_concat": (
        ("CONCAT",),
        ("out_addr", "outer", "out_inner", "n_parts", "out_zp", "part_addr" + _CAT)
        + ("part_inner" + _CAT, "part_requantize" + _CAT, "part_scale" + _CAT)
        + ("part_bias" + _CAT,),
    ),
    "host_softmax": (
        ("SOFTMAX",),
        ("in_addr", "out_addr", "rows", "depth", "multiplier", "left_shift", "diff_min"),
    ),
    "host_requantize": (
        ("REQUANTIZE",),
        ("in_addr", "out_addr", "count", "in_zp", "multiplier", "shift", "out_zp"),
    ),
    "host_affine": (
        ("QUANTIZE", "DEQUANTIZE"),
        ("in_addr", "out_addr", "count", "zp", "scale_lo", "scale_hi"),
    ),
    "host_transpose": (
        ("TRANSPOSE",),
        ("in_addr", "out_addr", "elem_bytes", "out_dims" + _D4, "in_strides" + _D4),
    ),
    "host_conv": (
        ("CONV",),
        ("in_addr", "out_addr", "weights_addr", "bias_addr", "multiplier_addr", "shift_addr")
        + ("n", "h", "w", "c", "e", "f", "m", "r", "s", "sh", "sw", "pad_top", "pad_left")
        + ("depth_multiplier", "in_zp", "out_zp", "act_min", "act_max"),
    ),
}

_STRUCT_OF = {code: name for name, (codes, _) in RECORDS.items() for code in codes}
_ARRAY = re.compile(r"^(\w+)\[(\d+)\]$")


@dataclass(frozen=True)
class HostRecord:
    """A host op of the model image: its op ``code`` and its packed record ``data``."""

    kind: str
    code: int
    data: bytes


def pack(kind: str, **values) -> HostRecord:
    """The record of host op ``kind`` (a key of :data:`OP_CODES`) from its field values;
    array fields take sequences (shorter ones are padded with 0)."""
    words = []
    fields = RECORDS[_STRUCT_OF[kind]][1]
    missing = {f.split("[")[0] for f in fields} - set(values)
    extra = set(values) - {f.split("[")[0] for f in fields}
    if missing or extra:
        raise ValueError(f"{kind} record: missing {sorted(missing)}, unknown {sorted(extra)}")
    for field in fields:
        array = _ARRAY.match(field)
        if array is None:
            words.append(int(values[field]))
            continue
        items = [int(v) for v in values[array.group(1)]]
        size = int(array.group(2))
        if len(items) > size:
            raise ValueError(f"{kind} record: {array.group(1)} holds at most {size} values")
        words += items + [0] * (size - len(items))
    data = struct.pack(f"<{len(words)}I", *(w & 0xFFFF_FFFF for w in words))
    return HostRecord(kind, OP_CODES[kind], data)


def float_bits(value) -> int:
    """The IEEE float32 bit pattern of ``value`` (already a float32, or rounded to one)."""
    return int(np.asarray(value, dtype=np.float32).view(np.uint32))


def double_words(value: float) -> tuple[int, int]:
    """(low, high) 32-bit words of the IEEE float64 ``value``."""
    low, high = struct.unpack("<II", struct.pack("<d", float(value)))
    return low, high
