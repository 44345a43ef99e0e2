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
    """Lay out ``layer`` and input ``x`` (int8 NHWC) in memory and build its descriptor; the
    band is chosen by :func:`choose_band` unless given."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise MappingError(f"input activations must be int8, not {x.dtype}")
    if band is None:
        band = choose_band(LayerShape.of(layer, x.shape), config)
    return layout_layer(layer, x, config, band, base, input_addr, output_addr)
