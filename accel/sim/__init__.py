"""Simulation front end: run LeNet-5 (or single layers) on a backend and report per layer.

Backends: ``golden`` (the NumPy int8 model of :mod:`accel.ref`); the command line lives in
:mod:`accel.sim.__main__` (``python -m accel.sim``). This module holds the reusable report
helpers: :func:`layer_rows` derives the loop-nest shape of every layer (letters N M C H W R
S E F U P as in :mod:`accel.ref.loopnest`) and :func:`format_layer_table` prints them, with
optional extra columns (cycles, utilization, …) supplied by a backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from accel.ref import loopnest
from accel.ref.layer import QuantizedLayer

__all__ = ["LAYER_COLUMNS", "layer_rows", "format_table", "format_layer_table"]

#: Columns of the per-layer shape table, in order.
LAYER_COLUMNS = ("layer", "N", "M", "C", "H", "W", "R", "S", "E", "F", "U", "P", "pool", "MACs")


def layer_rows(layers: Sequence[QuantizedLayer], input_shape: Sequence[int]) -> list[dict]:
    """Shape of every layer for an NHWC ``input_shape`` (N, H, W, C) of the first layer.

    Returns one dict per layer with the keys of :data:`LAYER_COLUMNS`: E×F is the
    convolution output (before the optional 2×2 max-pool), ``pool`` a bool, ``MACs`` =
    N·M·C·E·F·R·S. Each layer's input shape is the previous layer's output shape.
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 4:
        raise ValueError(f"input_shape must be NHWC (N, H, W, C), got {shape}")
    rows = []
    for layer in layers:
        N, H, W, C = shape
        out_shape = layer.output_shape(shape)  # validates channels and sizes
        rows.append(
            {
                "layer": layer.name,
                "N": N,
                "M": layer.M,
                "C": C,
                "H": H,
                "W": W,
                "R": layer.R,
                "S": layer.S,
                "E": loopnest.output_size(H, layer.R, layer.stride, layer.padding),
                "F": loopnest.output_size(W, layer.S, layer.stride, layer.padding),
                "U": layer.stride,
                "P": layer.padding,
                "pool": layer.pool,
                "MACs": layer.macs(shape),
            }
        )
        shape = out_shape
    return rows


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def format_table(
    columns: Sequence[str], rows: Sequence[Mapping], total: Mapping | None = None
) -> str:
    """Plain-text table: a header, a rule, one line per row, and an optional total line.

    Cells missing from a row are blank; numbers are right-aligned, text left-aligned.
    """
    body = [[_cell(row[c]) if c in row else "" for c in columns] for row in rows]
    lines = [list(columns), *body]
    if total is not None:
        lines.append([_cell(total[c]) if c in total else "" for c in columns])
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    numeric = [
        all(
            isinstance(row.get(c), int | float) and not isinstance(row.get(c), bool)
            for row in rows
            if c in row
        )
        and any(c in row for row in rows)
        for c in columns
    ]

    def render(cells: list[str]) -> str:
        parts = [
            cell.rjust(width) if num else cell.ljust(width)
            for cell, width, num in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [render(lines[0]), render(["-" * w for w in widths])]
    out += [render(cells) for cells in body]
    if total is not None:
        out.append(render(["-" * w for w in widths]))
        out.append(render(lines[-1]))
    return "\n".join(out)


def format_layer_table(
    rows: Sequence[Mapping],
    extra_columns: Sequence[str] = (),
    sum_columns: Sequence[str] = ("MACs",),
) -> str:
    """The per-layer table (:data:`LAYER_COLUMNS` + ``extra_columns``) with a total line.

    The total line sums ``sum_columns`` (default: the MACs) over all rows.
    """
    columns = (*LAYER_COLUMNS, *extra_columns)
    total = {"layer": "total"}
    for c in sum_columns:
        total[c] = sum(row[c] for row in rows)
    return format_table(columns, rows, total)
