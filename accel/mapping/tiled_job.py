"""Memory layout and descriptors of a tiled layer (:func:`accel.mapping.tiling.plan_tiles`).

Regions: the packed weights of every (output-channel group, input-channel chunk), the
parameters of every group (biases folded over the whole reduction), the input (in row mode
with each row padded to whole bus words), the output (int8 NHWC, contiguous). Every tile is
one descriptor; its input and output are windows of the layer's tensors located by pitches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from accel.mapping.checks import check_register_ranges, failed_check
from accel.mapping.job import LayerJob, _align
from accel.mapping.packing import folded_bias, pack_param_values, pack_weight_array
from accel.mapping.shape import MappingError
from accel.mapping.tiling import Tile, TilePlan, column_alignment, row_slot
from accel.ref.layer import QuantizedLayer
from accel.spec.config import AccelConfig


def _sub_weights(layer: QuantizedLayer, tile: Tile, config: AccelConfig) -> bytes:
    """Packed weights of ``tile``: its output channels over its input channels; for a
    depthwise group the dense block-diagonal filters (filter j only on channel j)."""
    if layer.depthwise:
        w = layer.weights[tile.m0 : tile.m1, :, :, 0]
        dense = np.zeros((len(w), layer.R, layer.S, tile.c1 - tile.c0), dtype=np.int8)
        dense[np.arange(len(w)), :, :, np.arange(len(w)) + tile.m0 - tile.c0] = w
        return pack_weight_array(dense, config)
    r, s = slice(tile.r0, tile.r1), slice(tile.s0, tile.s1)
    return pack_weight_array(layer.weights[tile.m0 : tile.m1, r, s, tile.c0 : tile.c1], config)


def _input_rows(x: np.ndarray, plan: TilePlan, pitch: int, zero_point: int) -> bytes:
    """The input as the run's rows (N*H of W*C bytes), each padded to ``pitch`` bytes (pixel
    mode: each pixel padded to ``plan.in_pix_pitch`` bytes)."""
    s = plan.shape
    pix = plan.in_pix_pitch or s.C
    if plan.split_window:  # the padding laid out as the input zero point
        P = s.P
        x = np.pad(np.asarray(x), ((0, 0), (P, P), (P, P), (0, 0)), constant_values=zero_point)
        s = replace(s, H=s.H + 2 * P, W=s.W + 2 * P)
    if pix != s.C:
        pixels = np.zeros((s.N * s.H, s.W, pix), dtype=np.int8)
        pixels[:, :, : s.C] = np.asarray(x).reshape(s.N * s.H, s.W, s.C)
        x = pixels
    rows = np.ascontiguousarray(x).reshape(s.N * s.H, s.W * pix)
    if pitch == s.W * pix:
        return rows.tobytes()
    out = np.zeros((s.N * s.H, pitch), dtype=np.int8)
    out[:, : s.W * pix] = rows
    return out.tobytes()


def quant_fields(layer: QuantizedLayer) -> dict[str, int]:
    """The descriptor fields of a layer's quantization (no effect on timing)."""
    return {
        "IN_ZP": layer.input_zero_point,
        "OUT_ZP": layer.output_zero_point,
        "ACT_MIN": layer.act_min,
        "ACT_MAX": layer.act_max,
    }


def _row_window(plan: TilePlan, tile: Tile) -> tuple[int, int, int, int]:
    """(first input row, input rows, top padding, output rows) of ``tile``'s output rows."""
    s = plan.shape
    if tile.e1 is None:  # every row of every image: the image stride stays H rows
        return 0, s.H, s.P, s.E
    e1 = tile.e1
    h_first = tile.e0 * s.U - s.P
    h_lo = max(h_first, 0)
    h_hi = min(s.H, (e1 - 1) * s.U - s.P + s.R)
    return h_lo, h_hi - h_lo, h_lo - h_first, e1 - tile.e0


def tile_descriptor(
    quant: dict[str, int],
    plan: TilePlan,
    tile: Tile,
    addresses: dict[str, int],
    in_pitch: int,
    band: int,
    config: AccelConfig,
) -> dict[str, int]:
    """The descriptor of one tile; ``quant`` holds the :func:`quant_fields`, ``addresses``
    the tile's weight and parameter addresses and the layer's input and output bases."""
    if plan.split_window:
        return _split_window_descriptor(quant, plan, tile, addresses, in_pitch, config)
    s = plan.shape
    pix = plan.in_pix_pitch or s.C
    w_first = tile.f0 * s.U - s.P
    if plan.row_mode:
        # rows read as they lie start at a bus word; pixels read one by one start anywhere
        contiguous = pix == tile.c1 - tile.c0 and plan.aligned_columns
        step = column_alignment(pix, config.bus_bytes) if contiguous else 1
        w_lo = max(w_first, 0) // step * step
        w_hi = min(s.W, (tile.f1 - 1) * s.U - s.P + s.S)
    else:
        w_lo, w_hi = 0, s.W
    h_lo, rows, top, out_rows = _row_window(plan, tile)
    n_off = 0 if tile.n is None else tile.n
    e_out0 = tile.e0 // 2 if s.pool else tile.e0
    out_f0 = tile.f0 // 2 if s.pool else tile.f0
    desc = {
        "N": s.N if tile.n is None else 1,
        "H": rows,
        "W": w_hi - w_lo,
        "C": tile.c1 - tile.c0,
        "M": tile.m1 - tile.m0,
        "R": s.R,
        "S": s.S,
        "E": out_rows,
        "F": tile.f1 - tile.f0,
        "U": s.U,
        "P": top,
        "PL": w_lo - w_first,
        "IN_ADDR": addresses["IN_ADDR"] + (n_off * s.H + h_lo) * in_pitch + w_lo * pix + tile.c0,
        "IN_ROW_PITCH": in_pitch if plan.row_mode else (w_hi - w_lo) * s.C,
        "W_ADDR": addresses["W_ADDR"],
        "PARAM_ADDR": addresses["PARAM_ADDR"],
        "OUT_ADDR": addresses["OUT_ADDR"]
        + (n_off * s.E_out + e_out0) * s.F_out * s.M
        + out_f0 * s.M
        + tile.m0,
        "OUT_ROW_PITCH": s.F_out * s.M,
        "OUT_PIX_PITCH": s.M,
        **quant,
        "POOL": int(s.pool),
        "BAND": band,
        "ACC": tile.acc,
        "IN_PIX_PITCH": plan.in_pix_pitch or tile.c1 - tile.c0,
    }
    return desc


_ADDRESSES = ("IN_ADDR", "W_ADDR", "PARAM_ADDR", "OUT_ADDR")


def _split_window_descriptor(quant, plan, tile, addresses, in_pitch, config) -> dict[str, int]:
    """The descriptor of a filter sub-window ``[r0, r1) × [s0, s1)`` on the input laid out
    with its padding: the rows and columns its outputs read, no padding of its own."""
    s = plan.shape
    R, S = tile.r1 - tile.r0, tile.s1 - tile.s0
    h_lo, w_lo = tile.e0 * s.U + tile.r0, tile.f0 * s.U + tile.s0
    plain = replace(plan, split_window=False)
    desc = tile_descriptor(quant, plain, tile, addresses, in_pitch, 1, config)
    e_out0 = tile.e0 // 2 if s.pool else tile.e0
    desc.update(
        H=(tile.e1 - tile.e0 - 1) * s.U + R,
        W=(tile.f1 - tile.f0 - 1) * s.U + S,
        R=R,
        S=S,
        P=0,
        PL=0,
        IN_ADDR=addresses["IN_ADDR"]
        + (tile.n * (s.H + 2 * s.P) + h_lo) * in_pitch
        + w_lo * plan.in_pix_pitch
        + tile.c0,
        OUT_ADDR=addresses["OUT_ADDR"]
        + (tile.n * s.E_out + e_out0) * s.F_out * s.M
        + (tile.f0 // 2 if s.pool else tile.f0) * s.M
        + tile.m0,
    )
    return desc


def input_row_pitch(plan: TilePlan, bus_bytes: int) -> int:
    """Bytes between input rows in the plan's memory layout (row mode: whole bus words of the
    row's pixels, padding columns included when the filter window is split)."""
    s = plan.shape
    if not plan.row_mode:
        return s.W * s.C
    w_mem = s.W + 2 * s.P if plan.split_window else s.W  # input columns in memory
    return row_slot(w_mem * (plan.in_pix_pitch or s.C), bus_bytes)


def legal_tile_bands(desc: dict[str, int], config: AccelConfig) -> list[int]:
    """Every BAND the descriptor checks accept for ``desc``."""
    step = 2 if desc["POOL"] else 1
    e_run = desc["E"] & ~1 if desc["POOL"] else desc["E"]
    bands = []
    for band in range(step, max(e_run, step) + 1, step):
        if failed_check(dict(desc, BAND=band), config) is None:
            bands.append(band)
    return bands


def largest_band(desc: dict[str, int], config: AccelConfig) -> int:
    """Default band choice: the largest legal band (fewest weight re-reads)."""
    bands = legal_tile_bands(desc, config)
    if not bands:
        raise MappingError(f"no band fits the tile descriptor {desc}")
    return bands[-1]


def layout_plan(
    layer: QuantizedLayer,
    x: np.ndarray,
    config: AccelConfig,
    plan: TilePlan,
    choose_band: Callable[[dict, AccelConfig], int] = largest_band,
    base: int = 0x1000,
    input_addr: int | None = None,
    output_addr: int | None = None,
) -> LayerJob:
    """Lay out a tiled layer and build one descriptor per tile (bands by ``choose_band``).
    ``input_addr`` / ``output_addr`` place the input (which must then need no row padding)
    and the output instead of allocating them."""
    bb = config.bus_bytes
    addr = _align(base, 64)
    regions, weight_addr, param_addr = {}, {}, {}
    bias, mult, shift = folded_bias(layer), layer.multiplier, layer.shift
    for tile in plan.tiles:
        key = (tile.m0, tile.m1, tile.c0, tile.c1, tile.r0, tile.r1, tile.s0, tile.s1)
        if key not in weight_addr:
            blob = _sub_weights(layer, tile, config)
            weight_addr[key] = addr
            regions[f"weights_{len(weight_addr) - 1}"] = (addr, blob)
            addr = _align(addr + len(blob), 64)
        if (tile.m0, tile.m1) not in param_addr:
            m = slice(tile.m0, tile.m1)
            blob = pack_param_values(bias[m], mult[m], shift[m], config)
            param_addr[(tile.m0, tile.m1)] = addr
            regions[f"params_{len(param_addr) - 1}"] = (addr, blob)
            addr = _align(addr + len(blob), 64)
    s = plan.shape
    pix = plan.in_pix_pitch or s.C
    pitch = input_row_pitch(plan, bb)
    if input_addr is None:
        in_addr = addr
        regions["input"] = (in_addr, _input_rows(x, plan, pitch, layer.input_zero_point))
        addr = _align(addr + len(regions["input"][1]), 64)
    elif pix != s.C or pitch != s.W * s.C or (plan.row_mode and input_addr % bb):
        raise MappingError(
            f"input at {input_addr:#x}: this tiling reads rows of {s.W * s.C} bytes at a pitch "
            f"of {pitch} bytes (pixels {pix} bytes apart) from a {bb}-byte aligned address; "
            "lay the input out that way"
        )
    else:
        in_addr = input_addr
        regions["input"] = (in_addr, _input_rows(x, plan, pitch, layer.input_zero_point))
    out_bytes = math.prod(plan.layer_shape.output_shape)
    if output_addr is None:
        out_addr = addr
        addr = _align(addr + out_bytes, 64)
    else:
        out_addr = output_addr
    descriptors, bands, quant = [], {}, quant_fields(layer)
    for tile in plan.tiles:
        addresses = {
            "IN_ADDR": in_addr,
            "OUT_ADDR": out_addr,
            "W_ADDR": weight_addr[
                (tile.m0, tile.m1, tile.c0, tile.c1, tile.r0, tile.r1, tile.s0, tile.s1)
            ],
            "PARAM_ADDR": param_addr[(tile.m0, tile.m1)],
        }
        desc = tile_descriptor(quant, plan, tile, addresses, pitch, band=1, config=config)
        # Tiles that differ only in where their data lies (depthwise groups, chunks) share
        # the band chosen for the first of them.
        key = tuple(v for k, v in desc.items() if k not in _ADDRESSES) + (desc["IN_ADDR"] % bb,)
        if key not in bands:
            bands[key] = choose_band(desc, config)
        desc["BAND"] = bands[key]
        check_register_ranges(desc)
        check = failed_check(desc, config)
        if check is not None:
            raise MappingError(f"tile {tile} of {s}: {check.name}: {check.doc}")
        descriptors.append(desc)
    return LayerJob(plan.layer_shape, descriptors, regions, out_addr, out_bytes, {"end": addr})
