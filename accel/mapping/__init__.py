"""Mapping a layer onto the accelerator: shapes, memory layouts, descriptor checks.

A leaf of the package: it knows the instruction set and the configuration
(:mod:`accel.spec`) and the golden layer type (:mod:`accel.ref`), and nothing of the
performance model or the hardware. The band choice that needs the performance model lives one
level up, in :mod:`accel.driver`.

The memory formats (:data:`MEMORY_FORMATS`) are documented once, here; ``docs/isa.md`` and
``docs/architecture.md`` quote this text.
"""

from accel.mapping.checks import (
    check_register_ranges,
    failed_check,
    legal_bands,
    require_mappable,
)
from accel.mapping.job import (
    LayerJob,
    counter_commands,
    layer_addresses,
    layout_layer,
    shape_descriptor,
)
from accel.mapping.packing import (
    folded_bias,
    pack_params,
    pack_weights,
    unpack_params,
    unpack_weights,
)
from accel.mapping.shape import LayerShape, MappingError, tiles

MEMORY_FORMATS = """\
* activations: int8 NHWC, any byte address;
* weights: the reduction index is ``k = (r*S + s)*C + c``. Tiles of ``rows`` k × ``cols``
  output channels, ordered m-tile major, k-tile minor; inside a tile byte ``i*cols + j`` is
  ``w[m0 + j, k0 + i]`` (zero beyond K or M); each tile is zero-padded to whole bus beats; a
  depthwise layer stores, per group of ``cols`` channels, the group's dense block-diagonal
  filters (``w[j, r, s, c] = 0`` unless ``c = j``) in this format;
* parameters: per m-tile, ``cols`` int32 folded biases, ``cols`` int32 multipliers, ``cols``
  int32 shifts (little-endian), zero-padded to whole bus beats. The folded bias is
  ``bias - input_zero_point * sum_k w[m, k]`` (the array multiplies raw int8 inputs and pads
  with the input zero point)."""

__all__ = [
    "MEMORY_FORMATS",
    "LayerJob",
    "LayerShape",
    "MappingError",
    "check_register_ranges",
    "counter_commands",
    "failed_check",
    "folded_bias",
    "layer_addresses",
    "layout_layer",
    "legal_bands",
    "pack_params",
    "pack_weights",
    "require_mappable",
    "shape_descriptor",
    "tiles",
    "unpack_params",
    "unpack_weights",
]
