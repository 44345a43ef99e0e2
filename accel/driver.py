"""Host-side driver: turns a quantized layer into a memory image and a command sequence.

Every backend (Amaranth simulation, cocotb/Verilator, firmware, performance model) speaks
this protocol, so they all see the same bytes and the same instructions. The layouts and the
descriptor checks are in :mod:`accel.mapping`; this module adds the one decision that needs
the performance model: the pixel-tile size (band).
"""

from __future__ import annotations

import numpy as np

from accel import perf
from accel.mapping import LayerJob, LayerShape, MappingError, layout_layer, require_mappable
from accel.mapping.tiled_job import layout_plan
from accel.mapping.tiling import plan_tiles
from accel.ref.layer import QuantizedLayer
from accel.spec.config import AccelConfig


def choose_band(shape: LayerShape, config: AccelConfig) -> int:
    """The legal band with the fewest cycles predicted by :mod:`accel.perf`.

    Small bands let the post-processing of one band overlap the computation of the next, but
    every band streams all weight tiles again; the exact model weighs the two.
    """
    require_mappable(shape, config)
    return perf.best_band(shape, config)


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

    A layer that fits the buffers is one descriptor whose band is chosen by
    :func:`choose_band` unless given; a larger one is tiled (:func:`accel.mapping.tiling.
    plan_tiles`) into several descriptors, each with the band the performance model
    predicts fastest."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise MappingError(f"input activations must be int8, not {x.dtype}")
    shape = LayerShape.of(layer, x.shape)
    plan = plan_tiles(shape, config)
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
