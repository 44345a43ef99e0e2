"""Host-side driver: turns a quantized layer into a memory image and a command sequence.

Every backend (Amaranth simulation, cocotb/Verilator, firmware, performance model) speaks
this protocol, so they all see the same bytes and the same instructions. The layouts and the
descriptor checks are in :mod:`accel.mapping`; this module adds the one decision that needs
the performance model: the pixel-tile size (band).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from accel import perf
from accel.mapping import LayerJob, LayerShape, MappingError, layout_layer, require_mappable
from accel.mapping.shape import tiles
from accel.mapping.tiled_job import input_row_pitch, layout_plan, tile_descriptor
from accel.mapping.tiling import TilePlan, group_size, plan_tiles, run_shape
from accel.ref.layer import QuantizedLayer
from accel.spec.config import AccelConfig


def choose_band(shape: LayerShape, config: AccelConfig) -> int:
    """The legal band with the fewest cycles predicted by :mod:`accel.perf`.

    Small bands let the post-processing of one band overlap the computation of the next, but
    every band streams all weight tiles again; the exact model weighs the two.
    """
    require_mappable(shape, config)
    return perf.best_band(shape, config)


# Output-channel group counts the planner tries (each group re-reads the input once).
_GROUP_SPLITS = (1, 2, 3, 4, 6, 8, 12, 16)
# A plan this far above the ideal cycles also tries channel chunks.
_CHUNK_TRY = 1.1
# Placeholder quantization and 4 KiB-aligned buffers for comparing plans before layout.
_PLAN_QUANT = {"IN_ZP": 0, "OUT_ZP": 0, "ACT_MIN": -128, "ACT_MAX": 127}
_PLAN_ADDRESSES = dict(IN_ADDR=1 << 24, OUT_ADDR=2 << 24, W_ADDR=3 << 24, PARAM_ADDR=4 << 24)


def plan_cycles(plan: TilePlan, config: AccelConfig) -> int:
    """Predicted cycles of ``plan`` with every descriptor at its best band."""
    s = plan.shape
    if not plan.split and s == plan.layer_shape:
        return perf.predict(s, config, band=perf.best_band(s, config)).cycles
    pitch = input_row_pitch(plan, config.bus_bytes)
    total = 0
    for tile in plan.tiles:
        desc = tile_descriptor(_PLAN_QUANT, plan, tile, _PLAN_ADDRESSES, pitch, 1, config)
        desc["BAND"] = perf.best_descriptor_band(desc, config)
        total += perf.predict_descriptor(desc, config).cycles
    return total


def _fastest(shape: LayerShape, config: AccelConfig, max_chunk: int | None, best):
    """The fastest of ``best`` and the plans of shrinking output-channel groups."""
    m_tiles = tiles(group_size(run_shape(shape), config), config.cols)
    sizes = dict.fromkeys(tiles(m_tiles, d) * config.cols for d in _GROUP_SPLITS if d <= m_tiles)
    previous = None
    for size in sizes:  # largest group first; stop once a smaller group is slower
        try:
            plan = plan_tiles(shape, config, m_group=size, max_chunk=max_chunk)
        except MappingError:
            break
        if plan.split_window:  # needs the input laid out with its padding: not a choice
            break
        cycles = plan_cycles(plan, config)
        if previous is not None and cycles >= previous:
            break
        previous = cycles
        if best is None or cycles < best[0]:
            best = (cycles, plan)
    return best


@lru_cache(maxsize=1024)
def plan_layer(shape: LayerShape, config: AccelConfig) -> TilePlan:
    """The tile plan of ``shape`` with the fewest predicted cycles.

    Candidates differ in the output-channel group size: a smaller group leaves room in the
    accumulator half for bands of more pixels, so each weight tile serves more cycles, at the
    price of reading the input once per group. The search stops at the first smaller group
    that is not faster (the largest group wins ties). A convolution still more than 10 %
    above its ideal cycles also tries input-channel chunks of C/2 and C/4 (pixel mode, when
    C is a multiple of the bus width so the tensor's layout stays as it is): smaller windows
    in the input banks allow taller bands."""
    if shape.depthwise:  # groups of COLS channels, nothing to choose
        return plan_tiles(shape, config)
    best = _fastest(shape, config, None, None)
    bb = config.bus_bytes
    chunkable = not shape.H == shape.W == shape.R == shape.S == 1 and shape.C % bb == 0
    if chunkable and best[0] > _CHUNK_TRY * shape.ideal_cycles(config):
        for parts in (2, 4):
            cap = tiles(tiles(shape.C, parts), bb) * bb
            if cap < shape.C:
                best = _fastest(shape, config, cap, best)
    return best[1]


def prepare_layer(
    layer: QuantizedLayer,
    x: np.ndarray,
    config: AccelConfig,
    base: int = 0x1000,
    band: int | None = None,
    input_addr: int | None = None,
    output_addr: int | None = None,
) -> LayerJob:
    """Lay out ``layer`` and input ``x`` (int8 NHWC) in memory and build its descriptors.

    The tile plan is :func:`plan_layer`'s (the fastest predicted); a layer that runs as one
    descriptor gets the band of :func:`choose_band` unless ``band`` is given (then the plan
    is the largest-group one, which must be a single descriptor), a tiled layer one
    descriptor per tile, each with the band the performance model predicts fastest."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise MappingError(f"input activations must be int8, not {x.dtype}")
    shape = LayerShape.of(layer, x.shape)
    plan = plan_layer(shape, config) if band is None else plan_tiles(shape, config)
    if plan.split or plan.shape != shape:
        if band is not None:
            raise MappingError(
                f"band={band} given for a layer that is tiled ({len(plan.tiles)} tiles)"
            )
        return layout_plan(
            layer, x, config, plan, perf.best_descriptor_band, base, input_addr, output_addr
        )
    if band is None:
        band = choose_band(shape, config)
    return layout_layer(layer, x, config, band, base, input_addr, output_addr)
