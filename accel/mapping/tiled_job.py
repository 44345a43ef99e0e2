"""Memory layout and descriptors of a tiled layer (:func:`accel.mapping.tiling.plan_tiles`).

Regions: the packed weights of every (output-channel group, input-channel chunk), the
parameters of every group (biases folded over the whole reduction), the input (in row mode
with each row padded to whole bus words), the output (int8 NHWC, contiguous). Every tile is
one descriptor; its input and output are windows of the layer's tensors located by pitches.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from accel.mapping.checks import check_register_ranges, failed_check
from accel.mapping.job import LayerJob, _align
from accel.mapping.packing import folded_bias, pack_param_values, pack_weight_array
from accel.mapping.shape import MappingError
from accel.mapping.tiling import Tile, TilePlan, column_alignment, row_slot
from accel.ref.layer import QuantizedLayer
from accel.spec.config import AccelConfig


def _sub_weights(layer: QuantizedLayer, tile: Tile, config: AccelConfig) -> bytes:
    return pack_weight_array(layer.weights[tile.m0 : tile.m1, :, :, tile.c0 : tile.c1], config)


def _input_rows(x: np.ndarray, plan: TilePlan, pitch: int) -> bytes:
    """The input as the run's rows (N*H of W*C bytes), each padded to ``pitch`` bytes."""
    s = plan.shape
    rows = np.ascontiguousarray(x).reshape(s.N * s.H, s.W * s.C)
    if pitch == s.W * s.C:
        return rows.tobytes()
    out = np.zeros((s.N * s.H, pitch), dtype=np.int8)
    out[:, : s.W * s.C] = rows
    return out.tobytes()


def quant_fields(layer: QuantizedLayer) -> dict[str, int]:
    """The descriptor fields of a layer's quantization (no effect on timing)."""
    return {
        "IN_ZP": layer.input_zero_point,
        "OUT_ZP": layer.output_zero_point,
        "ACT_MIN": layer.act_min,
        "ACT_MAX": layer.act_max,
    }


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
    s = plan.shape
    w_first = tile.f0 * s.U - s.P
    if plan.row_mode:
        step = column_alignment(s.C, config.bus_bytes)
        w_lo = max(w_first, 0) // step * step
        w_hi = min(s.W, (tile.f1 - 1) * s.U - s.P + s.S)
    else:
        w_lo, w_hi = 0, s.W
    out_f0 = tile.f0 // 2 if s.pool else tile.f0
    desc = {
        "N": s.N,
        "H": s.H,
        "W": w_hi - w_lo,
        "C": tile.c1 - tile.c0,
        "M": tile.m1 - tile.m0,
        "R": s.R,
        "S": s.S,
        "E": s.E,
        "F": tile.f1 - tile.f0,
        "U": s.U,
        "P": s.P,
        "PL": w_lo - w_first,
        "IN_ADDR": addresses["IN_ADDR"] + w_lo * s.C + tile.c0,
        "IN_ROW_PITCH": in_pitch if plan.row_mode else (w_hi - w_lo) * s.C,
        "W_ADDR": addresses["W_ADDR"],
        "PARAM_ADDR": addresses["PARAM_ADDR"],
        "OUT_ADDR": addresses["OUT_ADDR"] + out_f0 * s.M + tile.m0,
        "OUT_ROW_PITCH": s.F_out * s.M,
        "OUT_PIX_PITCH": s.M,
        **quant,
        "POOL": int(s.pool),
        "BAND": band,
        "ACC": tile.acc,
    }
    return desc


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
        key = (tile.m0, tile.m1, tile.c0, tile.c1)
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
    pitch = row_slot(s.W * s.C, bb) if plan.row_mode else s.W * s.C
    if input_addr is None:
        in_addr = addr
        regions["input"] = (in_addr, _input_rows(x, plan, pitch))
        addr = _align(addr + len(regions["input"][1]), 64)
    elif pitch != s.W * s.C or (plan.row_mode and input_addr % bb):
        raise MappingError(
            f"input at {input_addr:#x}: this tiling reads rows of {s.W * s.C} bytes at a pitch "
            f"of {pitch} bytes from a {bb}-byte aligned address; lay the input out that way"
        )
    else:
        in_addr = input_addr
        regions["input"] = (in_addr, _input_rows(x, plan, pitch))
    out_bytes = math.prod(plan.layer_shape.output_shape)
    if output_addr is None:
        out_addr = addr
        addr = _align(addr + out_bytes, 64)
    else:
        out_addr = output_addr
    descriptors, quant = [], quant_fields(layer)
    for tile in plan.tiles:
        addresses = {
            "IN_ADDR": in_addr,
            "OUT_ADDR": out_addr,
            "W_ADDR": weight_addr[(tile.m0, tile.m1, tile.c0, tile.c1)],
            "PARAM_ADDR": param_addr[(tile.m0, tile.m1)],
        }
        desc = tile_descriptor(quant, plan, tile, addresses, pitch, band=1, config=config)
        desc["BAND"] = choose_band(desc, config)
        check_register_ranges(desc)
        check = failed_check(desc, config)
        if check is not None:
            raise MappingError(f"tile {tile} of {s}: {check.name}: {check.doc}")
        descriptors.append(desc)
    return LayerJob(plan.layer_shape, descriptors, regions, out_addr, out_bytes, {"end": addr})
