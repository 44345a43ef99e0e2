"""Tiling: split a layer too large for the buffers into descriptors that fit.

A layer is never rejected for its size. :func:`plan_tiles` cuts it, in this order, into

* **output-channel groups** of at most ``param_depth · cols`` channels (the parameter buffer),
  fewer when one output row of the group would not fit the accumulator half;
* **column strips**: output columns ``[f0, f1)`` with their input halo
  (``(f1 - f0 - 1)·U + S`` input columns), when the input rows of one band do not fit the
  input banks; the strip's input rows are read with the full row pitch (row mode);
* **input-channel chunks**, accumulated in the int32 accumulators across descriptors
  (``ACC_OUT`` then ``ACC_IN``), when even a one-column window does not fit: for windows of
  one pixel (fully connected, flattened to rows) each chunk is one band over all rows; for
  wider windows the chunks are read in pixel mode (``IN_PIX_PITCH``: chunk sizes multiples of
  the bus width, the input laid out with bus-aligned pixels), each (image, output-row range,
  column strip) one band of all its rows, so that its sums stay in the accumulator half;
* **batch**: images stay in the hardware's N loop (chunked windows: one image per
  descriptor); a fully connected layer runs its batch as the rows of a 1×1 convolution so
  that every weight tile serves all images.

When even one window of one-bus-word pixels overflows a bank, the **filter window** is cut
into R′×S′ pieces accumulated like chunks, on the input laid out with its padding.

A **depthwise** convolution runs as groups of ``cols`` channels, each group one descriptor
(per column strip) of a dense convolution with C = M = the group's channels, read in pixel
mode at the layer's pixel pitch, with block-diagonal weights (zero off the diagonal), written
at the group's channel offset: 1/cols of the array's MACs are useful.

Each :class:`Tile` is one descriptor; :mod:`accel.mapping.job` lays the tiles out in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

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
    e0: int = 0  # output rows [e0, e1) (before pooling); e1 None: to the layer's last row
    e1: int | None = None
    n: int | None = None  # the one image of this descriptor, or None: every image
    r0: int = 0  # filter rows [r0, r1) and columns [s0, s1) (None: to R / S)
    r1: int | None = None
    s0: int = 0
    s1: int | None = None


@dataclass(frozen=True)
class TilePlan:
    """How a layer runs: ``shape`` is the run's loop nest (a fully connected batch becomes
    rows), ``tiles`` the descriptors in order, ``row_mode`` whether inputs are read row by
    row (strips or chunks), ``in_row_pitch`` the bytes between input rows in memory,
    ``in_pix_pitch`` between input pixels (0: pixels contiguous, C bytes apart; else pixel
    mode, the input laid out with pixels of that many bytes)."""

    layer_shape: LayerShape
    shape: LayerShape
    tiles: tuple[Tile, ...]
    row_mode: bool
    in_row_pitch: int
    in_pix_pitch: int = 0
    aligned_columns: bool = True  # row mode: strips start at bus-aligned columns
    split_window: bool = False  # filter windows split: input laid out with its padding

    @property
    def split(self) -> bool:
        return len(self.tiles) > 1 or self.row_mode


ACC_IN, ACC_OUT = 1, 2


def accumulate(i: int, count: int) -> int:
    """ACC bits of piece ``i`` of ``count`` accumulated in turn: ACC_OUT keeps the sums of all
    but the last, ACC_IN adds to them in all but the first (0 for a single piece)."""
    return (ACC_IN if i else 0) | (ACC_OUT if i + 1 < count else 0)


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


def pixel_pitch(C: int, bus_bytes: int) -> int:
    """Bytes between input pixels in a pixel-mode layout: C rounded up to bus words."""
    return -(-C // bus_bytes) * bus_bytes


def _pixel_slot(c0: int, c1: int, bus_bytes: int) -> int:
    """Bank bytes of one pixel's channels [c0, c1) read from bus-aligned pixels."""
    return -(-(c0 % bus_bytes + c1 - c0) // bus_bytes) * bus_bytes


def _fit_columns(
    shape: LayerShape, config: AccelConfig, out_rows: int, slot: int, lane: int = 0
) -> int:
    """Output columns (a multiple of the pooling step, ≤ F) of a window of ``out_rows``
    output rows whose input rows fit the banks with ``slot`` bytes per pixel, each row read
    as whole bus words from byte ``lane`` of the first on."""
    step = _step(shape)
    in_rows = min((out_rows - 1) * shape.U + shape.R, shape.H)
    budget = config.in_bytes // in_rows // config.bus_bytes * config.bus_bytes
    in_cols = (budget - lane) // slot
    if in_cols >= shape.W:
        return shape.F
    if in_cols < shape.S:
        return 0
    return min(((in_cols - shape.S) // shape.U + 1) // step * step, shape.F)


def _even_split(total: int, size: int, step: int) -> list[tuple[int, int]]:
    """[lo, hi) ranges covering ``total`` in as few pieces of ≤ ``size`` as possible, of
    (nearly) equal length, a multiple of ``step``."""
    count = tiles(total, size)
    size = tiles(tiles(total, count), step) * step
    return [(lo, min(lo + size, total)) for lo in range(0, total, size)]


def _strips_of(
    shape: LayerShape, config: AccelConfig, m_size: int, slot: int, lane: int = 0
) -> list:
    """Column strips of ``slot`` bytes per pixel (rows from byte ``lane`` of a bus word on),
    bands chosen later: the widest strip whose minimal band fits."""
    step = _step(shape)
    by_acc = config.acc_depth // tiles(m_size, config.cols) // step
    cols = min(_fit_columns(shape, config, step, slot, lane), by_acc)
    cols = cols // step * step if cols < shape.F else shape.F
    if cols < step:
        raise MappingError(
            f"layer {shape}: one {shape.R}x{shape.S} window of {slot}-byte pixels does not fit "
            f"the input banks ({config.in_bytes} B each)"
        )
    return _even_split(_f_run(shape), cols, step)


def _f_run(shape: LayerShape) -> int:
    """Output columns computed: F, or 2*floor(F/2) when pooling (the last one is dropped)."""
    return shape.F & ~1 if shape.pool else shape.F


def _chunked_windows(
    shape: LayerShape, config: AccelConfig, m_size: int, max_chunk: int | None = None
):
    """(chunks, output-row ranges, strips) for windows wider than one pixel whose channels
    overflow the banks: chunk sizes multiples of the bus width, then the (rows × columns)
    window per chunk, one band each, with the fewest descriptors."""
    bb, step = config.bus_bytes, _step(shape)
    in_rows = min((step - 1) * shape.U + shape.R, shape.H)
    in_cols = min((step - 1) * shape.U + shape.S, shape.W)
    per_pixel = config.in_bytes // (in_rows * in_cols) // bb * bb
    if max_chunk is not None:
        per_pixel = min(per_pixel, max_chunk)
    if per_pixel < bb:
        return None
    chunks = _even_split(shape.C, per_pixel, bb)
    slot = chunks[0][1] - chunks[0][0]
    slot = -(-slot // bb) * bb
    m_tiles = tiles(m_size, config.cols)
    e_run = shape.E_run
    best = None
    for out_rows in range(step, e_run + 1, step):
        by_acc = config.acc_depth // (m_tiles * out_rows)
        cols = min(_fit_columns(shape, config, out_rows, slot), by_acc // step * step)
        if cols < step:
            break
        count = tiles(e_run, out_rows) * tiles(_f_run(shape), cols)
        if best is None or count < best[0]:
            best = (count, out_rows, cols)
    if best is None:
        raise MappingError(
            f"layer {shape}: {m_tiles} channel tiles of {step}x{step} output pixels exceed "
            f"the accumulator half ({config.acc_depth})"
        )
    _, out_rows, cols = best
    return chunks, _even_split(e_run, out_rows, step), _even_split(_f_run(shape), cols, step)


def _depthwise_plan(shape: LayerShape, config: AccelConfig) -> TilePlan:
    """Groups of ``cols`` channels (see the module docstring)."""
    bb, g = config.bus_bytes, config.cols
    if shape.M != shape.C:
        raise MappingError(f"depthwise layer {shape}: M must equal C (depth multiplier 1)")
    groups = [(c0, min(c0 + g, shape.C)) for c0 in range(0, shape.C, g)]
    pix = pixel_pitch(shape.C, bb) if len(groups) > 1 else shape.C
    slot = max(_pixel_slot(c0, c1, bb) for c0, c1 in groups) if len(groups) > 1 else shape.C
    whole = shape.H * tiles(shape.W * slot, bb) * bb <= config.in_bytes
    rows = min((_step(shape) - 1) * shape.U + shape.R, shape.H)
    if whole or rows * tiles(shape.W * slot, bb) * bb <= config.in_bytes:
        strips = [(0, shape.F)]
    else:
        strips = _strips_of(shape, config, g, slot)
    out = [Tile(c0, c1, c0, c1, f0, f1) for c0, c1 in groups for f0, f1 in strips]
    return TilePlan(shape, shape, tuple(out), True, shape.W * pix, pix)


def plan_tiles(
    layer_shape: LayerShape,
    config: AccelConfig,
    m_group: int | None = None,
    max_chunk: int | None = None,
) -> TilePlan:
    """Cut ``layer_shape`` into descriptors that fit ``config`` (see the module docstring),
    with output-channel groups of at most ``m_group`` channels if given (not depthwise), and,
    if ``max_chunk`` is given (a multiple of the bus width), input-channel chunks of at most
    that many channels even where the whole window would fit: a planner's choice that trades
    partial-sum passes for bands of more pixels."""
    if m_group is not None and m_group < 1:
        raise ValueError(f"m_group must be positive, not {m_group}")
    if max_chunk is not None and (max_chunk < config.bus_bytes or max_chunk % config.bus_bytes):
        raise ValueError(f"max_chunk must be a multiple of {config.bus_bytes}, not {max_chunk}")
    if layer_shape.depthwise:
        return _depthwise_plan(layer_shape, config)
    shape = run_shape(layer_shape)
    m_size = group_size(shape, config, m_group)
    groups = [(m0, min(m0 + m_size, shape.M)) for m0 in range(0, shape.M, m_size)]
    if max_chunk is not None:
        if shape.H == shape.W == shape.R == shape.S == 1:
            raise ValueError("max_chunk is for convolutions; fully connected layers chunk anyway")
        return _chunk_plan(layer_shape, shape, config, m_size, groups, max_chunk)
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
            return _chunk_plan(layer_shape, shape, config, m_size, groups)
    out = []
    for m0, m1 in groups:
        for f0, f1 in strips:
            for i, (c0, c1) in enumerate(chunks):
                out.append(Tile(m0, m1, c0, c1, f0, f1, accumulate(i, len(chunks))))
    return TilePlan(layer_shape, shape, tuple(out), row_mode, pitch)


def _chunk_plan(layer_shape, shape, config, m_size, groups, max_chunk=None) -> TilePlan:
    """Channel chunks of windows wider than one pixel (pixel mode, see the module docstring):
    per image, output-row range, output-channel group and strip, the chunks in order. First,
    strips whose rows start at any byte (no column alignment) may already fit."""
    bb = config.bus_bytes
    any_byte = _fit_columns(shape, config, _step(shape), shape.C, bb - 1) >= _step(shape)
    if max_chunk is None and any_byte:
        strips = _strips_of(shape, config, m_size, shape.C, bb - 1)
        out = [Tile(m0, m1, 0, shape.C, f0, f1) for m0, m1 in groups for f0, f1 in strips]
        pitch = row_slot(shape.W * shape.C, bb)
        return TilePlan(layer_shape, shape, tuple(out), True, pitch, aligned_columns=False)
    split = _chunked_windows(shape, config, m_size, max_chunk)
    if split is None:
        return _split_window_plan(layer_shape, shape, config, m_size, groups)
    chunks, ranges, strips = split
    pix = pixel_pitch(shape.C, config.bus_bytes)
    images = range(shape.N) if len(chunks) > 1 else [None]
    if len(chunks) == 1:  # the window fits once pixels are read one by one: bands as usual
        ranges = [(0, None)]
        strips = _strips_of(shape, config, m_size, pix)
    out = []
    for n in images:
        for e0, e1 in ranges:
            for m0, m1 in groups:
                for f0, f1 in strips:
                    for i, (c0, c1) in enumerate(chunks):
                        acc = accumulate(i, len(chunks))
                        out.append(Tile(m0, m1, c0, c1, f0, f1, acc, e0, e1, n))
    return TilePlan(layer_shape, shape, tuple(out), True, shape.W * pix, pix)


def _filter_split(shape: LayerShape, config: AccelConfig) -> tuple[list, list]:
    """Filter rows and columns per descriptor when even one-bus-word pixels of a whole
    window overflow a bank: the largest R' × S' sub-window whose minimal tile fits."""
    step, U, words = _step(shape), shape.U, config.in_bytes // config.bus_bytes

    def fits(r: int, s: int) -> bool:
        return ((step - 1) * U + r) * ((step - 1) * U + s) <= words

    if not fits(1, 1):
        raise MappingError(
            f"layer {shape}: {(step - 1) * U + 1}x{(step - 1) * U + 1} input pixels of one "
            f"bus word each (a pooled output pixel at stride {U}) do not fit the input banks "
            f"({config.in_bytes} B each)"
        )
    rows = max(r for r in range(1, shape.R + 1) if fits(r, 1))
    cols = max(c for c in range(1, shape.S + 1) if fits(rows, c))
    return _even_split(shape.R, rows, 1), _even_split(shape.S, cols, 1)


def _split_window_plan(layer_shape, shape, config, m_size, groups) -> TilePlan:
    """Windows split into filter sub-windows, accumulated like channel chunks, for banks
    smaller than one window of one-bus-word pixels. The input is laid out with its padding
    (the input zero point), so every sub-window reads real rows (P = PL = 0)."""
    r_split, s_split = _filter_split(shape, config)
    rows = max(r1 - r0 for r0, r1 in r_split)
    cols = max(s1 - s0 for s0, s1 in s_split)
    P = shape.P
    window = replace(shape, H=shape.H + 2 * P, W=shape.W + 2 * P, P=0, R=rows, S=cols)
    chunks, ranges, strips = _chunked_windows(window, config, m_size)
    pieces = [(r, s, c) for r in r_split for s in s_split for c in chunks]
    out = []
    for n in range(shape.N):
        for e0, e1 in ranges:
            for m0, m1 in groups:
                for f0, f1 in strips:
                    for i, ((r0, r1), (s0, s1), (c0, c1)) in enumerate(pieces):
                        acc = accumulate(i, len(pieces))
                        out.append(Tile(m0, m1, c0, c1, f0, f1, acc, e0, e1, n, r0, r1, s0, s1))
    pix = pixel_pitch(shape.C, config.bus_bytes)
    pitch = (shape.W + 2 * P) * pix
    return TilePlan(layer_shape, shape, tuple(out), True, pitch, pix, split_window=True)
