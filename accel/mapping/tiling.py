"""Tiling: split a layer too large for the buffers into descriptors that fit.

A layer is never rejected for its size. :func:`plan_tiles` cuts it, in this order, into

* **output-channel groups** of at most ``param_depth · cols`` channels (the parameter buffer),
  fewer when one output row of the group would not fit the accumulator half;
* **column strips**: output columns ``[f0, f1)`` with their input halo
  (``(f1 - f0 - 1)·U + S`` input columns), when the input rows of one band do not fit the
  input banks; the strip's input rows are read with the full row pitch (row mode);
* **input-channel chunks**, accumulated in the int32 accumulators across descriptors
  (``ACC_OUT`` then ``ACC_IN``), when even a one-column window does not fit — for layers whose
  window is one pixel (fully connected, 1×1 stride-1 convolutions, flattened to rows);
* **batch**: images stay in the hardware's N loop; a fully connected layer runs its batch as
  the rows of a 1×1 convolution so that every weight tile serves all images.

Each :class:`Tile` is one descriptor; :mod:`accel.mapping.job` lays the tiles out in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accel.mapping.shape import LayerShape, MappingError, tiles
from accel.spec.config import AccelConfig


@dataclass(frozen=True)
class Tile:
    """One descriptor of a tiled layer: output channels ``[m0, m1)``, input channels
    ``[c0, c1)``, output columns ``[f0, f1)`` (before pooling) of the run ``shape``; ``acc``
    is the accumulate mode (0, or ACC_OUT / ACC_IN bits for channel chunks)."""

    m0: int
    m1: int
    c0: int
    c1: int
    f0: int
    f1: int
    acc: int = 0


@dataclass(frozen=True)
class TilePlan:
    """How a layer runs: ``shape`` is the run's loop nest (a fully connected batch becomes
    rows), ``tiles`` the descriptors in order, ``row_mode`` whether inputs are read row by
    row (strips or chunks), ``in_row_pitch`` the bytes between input rows in memory."""

    layer_shape: LayerShape
    shape: LayerShape
    tiles: tuple[Tile, ...]
    row_mode: bool
    in_row_pitch: int

    @property
    def split(self) -> bool:
        return len(self.tiles) > 1 or self.row_mode


ACC_IN, ACC_OUT = 1, 2


def run_shape(shape: LayerShape) -> LayerShape:
    """The loop nest the hardware runs: a fully connected layer's batch as rows of pixels."""
    fc = shape.H == shape.W == shape.R == shape.S == 1 and shape.P == 0 and not shape.pool
    if fc and shape.N > 1:
        return LayerShape(1, shape.N, 1, shape.C, shape.M, 1, 1, shape.N, 1, 1, 0, False)
    return shape


def column_alignment(C: int, bus_bytes: int) -> int:
    """Input columns between bus-aligned column starts (row mode reads aligned rows)."""
    return bus_bytes // math.gcd(C, bus_bytes)


def row_slot(width_bytes: int, bus_bytes: int) -> int:
    """Bank bytes of one input row in row mode: whole bus words."""
    return -(-width_bytes // bus_bytes) * bus_bytes


def _step(shape: LayerShape) -> int:
    return 2 if shape.pool else 1


def group_size(shape: LayerShape, config: AccelConfig, m_group: int | None = None) -> int:
    """Output channels per group: the parameter buffer, one minimal band in the accumulator
    half, and ``m_group`` (a planner's choice: smaller groups give bands of more pixels, so
    every weight tile serves more cycles)."""
    step = _step(shape)
    by_params = config.param_depth * config.cols
    by_acc = (config.acc_depth // (step * step)) * config.cols
    size = min(shape.M, by_params, by_acc, m_group or shape.M)
    if size < 1:
        raise MappingError(f"accumulator half of {config.acc_depth} entries is too small")
    return size


def _strip_fits(shape: LayerShape, config: AccelConfig, m_size: int, cols: int, C: int) -> bool:
    """Can a strip of ``cols`` output columns (row mode) run one minimal band?"""
    step = _step(shape)
    if tiles(m_size, config.cols) * step * cols > config.acc_depth:
        return False
    width = (cols - 1) * shape.U + shape.S + column_alignment(C, config.bus_bytes) - 1
    rows = min((step - 1) * shape.U + shape.R, shape.H)
    return rows * row_slot(min(width, shape.W) * C, config.bus_bytes) <= config.in_bytes


def _whole_rows_fit(shape: LayerShape, config: AccelConfig, m_size: int) -> bool:
    """Does the contiguous (v1) mapping have a legal band for a group of ``m_size``?"""
    step = _step(shape)
    if tiles(m_size, config.cols) * step * shape.F > config.acc_depth:
        return False
    whole = shape.H * shape.W * shape.C + config.bus_bytes - 1 <= config.in_bytes
    rows = min((step - 1) * shape.U + shape.R, shape.H)
    return whole or rows * shape.W * shape.C + config.bus_bytes - 1 <= config.in_bytes


def _strip_width(shape: LayerShape, config: AccelConfig, m_size: int) -> int:
    """The widest strip (output columns, even when pooling) that fits, or 0."""
    step = _step(shape)
    best = 0
    lo, hi = 1, -(-shape.F // step)
    while lo <= hi:  # fitting is monotonic in the width
        mid = (lo + hi) // 2
        if _strip_fits(shape, config, m_size, mid * step, shape.C):
            best, lo = mid * step, mid + 1
        else:
            hi = mid - 1
    return min(best, shape.F)


def _chunk_size(shape: LayerShape, config: AccelConfig, m_size: int) -> int:
    """Input channels per chunk for a one-pixel window (rows of one pixel each)."""
    bb = config.bus_bytes
    if tiles(m_size, config.cols) * shape.E > config.acc_depth:
        raise MappingError(
            f"{shape.E} rows of {tiles(m_size, config.cols)} channel tiles exceed the "
            f"accumulator half ({config.acc_depth}); split the batch"
        )
    per_row = config.in_bytes // shape.H // bb * bb  # every row of the single band
    if per_row < bb:
        raise MappingError(
            f"{shape.H} input rows do not fit the input banks ({config.in_bytes} B); "
            "split the batch"
        )
    return per_row


def plan_tiles(
    layer_shape: LayerShape, config: AccelConfig, m_group: int | None = None
) -> TilePlan:
    """Cut ``layer_shape`` into descriptors that fit ``config`` (see the module docstring),
    with output-channel groups of at most ``m_group`` channels if given."""
    if m_group is not None and m_group < 1:
        raise ValueError(f"m_group must be positive, not {m_group}")
    shape = run_shape(layer_shape)
    m_size = group_size(shape, config, m_group)
    groups = [(m0, min(m0 + m_size, shape.M)) for m0 in range(0, shape.M, m_size)]
    pitch = shape.W * shape.C
    if _whole_rows_fit(shape, config, m_size):
        strips, chunks, row_mode = [(0, shape.F)], [(0, shape.C)], False
    else:
        width = _strip_width(shape, config, m_size)
        if width:
            count = -(-shape.F // width)  # as few strips as fit, of (nearly) equal width
            step = _step(shape)
            width = tiles(tiles(shape.F, count), step) * step
            strips = [(f0, min(f0 + width, shape.F)) for f0 in range(0, shape.F, width)]
            chunks, row_mode = [(0, shape.C)], True
        elif shape.W == shape.R == shape.S == 1 and shape.P == 0:
            size = _chunk_size(shape, config, m_size)
            strips, row_mode = [(0, 1)], True
            chunks = [(c0, min(c0 + size, shape.C)) for c0 in range(0, shape.C, size)]
        else:
            raise MappingError(
                f"layer {layer_shape}: one {shape.R}x{shape.S} window of {shape.C} channels does "
                f"not fit the input banks ({config.in_bytes} B each); channel chunking of "
                "windows wider than one pixel is not implemented"
            )
    out = []
    for m0, m1 in groups:
        for f0, f1 in strips:
            for i, (c0, c1) in enumerate(chunks):
                acc = 0
                if len(chunks) > 1:
                    acc = (ACC_IN if i else 0) | (ACC_OUT if i + 1 < len(chunks) else 0)
                out.append(Tile(m0, m1, c0, c1, f0, f1, acc))
    return TilePlan(layer_shape, shape, tuple(out), row_mode, pitch)
