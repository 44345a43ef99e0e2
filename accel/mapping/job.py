"""A layer laid out in memory: regions, descriptor and the instruction sequence that runs it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accel.mapping.checks import check_register_ranges, failed_check
from accel.mapping.packing import pack_params, pack_weights
from accel.mapping.shape import LayerShape, MappingError, tiles
from accel.ref.layer import QuantizedLayer
from accel.spec import isa
from accel.spec.config import AccelConfig


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


@dataclass
class LayerJob:
    """Everything needed to run one layer: memory regions, descriptors (one per tile, in
    order), where the output lands."""

    shape: LayerShape
    descriptors: list[dict[str, int]]
    regions: dict[str, tuple[int, bytes]]  # name -> (address, bytes) to write before START
    output_addr: int
    output_bytes: int
    extra: dict = field(default_factory=dict)

    @property
    def descriptor(self) -> dict[str, int]:
        """The descriptor of an untiled layer (the first one of a tiled layer)."""
        return self.descriptors[0]

    @property
    def band(self) -> int:
        return self.descriptors[0]["BAND"]

    @property
    def tiled(self) -> bool:
        return len(self.descriptors) > 1

    def commands(self) -> list[tuple[int, int, int]]:
        """(function_id, inputs_0, inputs_1) of the instruction sequence: per descriptor the
        SETs of the registers that change, then START (the first) or CONTINUE, then WAIT."""
        cmds, previous = [], {}
        for i, desc in enumerate(self.descriptors):
            for reg in isa.REGISTERS:
                value = desc[reg.name] & 0xFFFFFFFF
                if previous.get(reg.name) != value:
                    cmds.append((isa.function_id("SET", reg.index), value, 0))
                    previous[reg.name] = value
            op = "CONTINUE" if i else "START"
            cmds.append((isa.function_id("CTRL", isa.CONTROL_OP[op].index), 0, 0))
            cmds.append((isa.function_id("CTRL", isa.CONTROL_OP["WAIT"].index), 0, 0))
        return cmds

    def decode_output(self, raw: bytes) -> np.ndarray:
        return np.frombuffer(raw, dtype=np.int8).reshape(self.shape.output_shape).copy()


def counter_commands() -> list[tuple[str, tuple[int, int, int]]]:
    """Commands that read every performance counter, with the counter names."""
    return [(c.name, (isa.function_id("COUNTER", c.index), 0, 0)) for c in isa.COUNTERS]


def layer_addresses(
    shape: LayerShape,
    config: AccelConfig,
    base: int = 0x1000,
    input_addr: int | None = None,
    output_addr: int | None = None,
) -> dict[str, int]:
    """Where :func:`layout_layer` puts each region of a layer of ``shape``: weights, then
    parameters, then input and output unless their addresses are given, each 64-byte aligned;
    ``"end"`` is the first free byte after them."""
    m_tiles, k_tiles = tiles(shape.M, config.cols), tiles(shape.K, config.rows)
    weight_bytes = m_tiles * k_tiles * config.weight_tile_beats * config.bus_bytes
    param_bytes = m_tiles * config.param_tile_beats * config.bus_bytes
    addr = _align(base, 64)
    w_addr, addr = addr, _align(addr + weight_bytes, 64)
    p_addr, addr = addr, _align(addr + param_bytes, 64)
    if input_addr is None:
        input_addr, addr = addr, _align(addr + shape.N * shape.H * shape.W * shape.C, 64)
    if output_addr is None:
        output_addr, addr = addr, _align(addr + math.prod(shape.output_shape), 64)
    return {
        "W_ADDR": w_addr,
        "PARAM_ADDR": p_addr,
        "IN_ADDR": input_addr,
        "OUT_ADDR": output_addr,
        "end": addr,
    }


def shape_descriptor(
    shape: LayerShape, config: AccelConfig, band: int, base: int = 0x1000
) -> dict[str, int]:
    """The descriptor :func:`layout_layer` builds for ``shape`` (same addresses), with zero
    points 0 and the full clamp range: values that do not affect timing."""
    return _descriptor(shape, layer_addresses(shape, config, base), band, 0, 0, -128, 127)


def _descriptor(shape, addresses, band, in_zp, out_zp, act_min, act_max) -> dict[str, int]:
    """The descriptor of an untiled run: contiguous input and output, symmetric padding."""
    desc = {name: getattr(shape, name) for name in ("N", "H", "W", "C", "M", "R", "S", "E", "F")}
    desc.update(U=shape.U, P=shape.P)
    desc.update({name: addresses[name] for name in ("IN_ADDR", "W_ADDR", "PARAM_ADDR", "OUT_ADDR")})
    desc.update(
        IN_ZP=in_zp,
        OUT_ZP=out_zp,
        ACT_MIN=act_min,
        ACT_MAX=act_max,
        POOL=int(shape.pool),
        BAND=band,
    )
    desc.update(
        PL=shape.P,
        IN_ROW_PITCH=shape.W * shape.C,
        OUT_ROW_PITCH=shape.F_out * shape.M,
        OUT_PIX_PITCH=shape.M,
        ACC=0,
        IN_PIX_PITCH=shape.C,
    )
    return desc


def layout_layer(
    layer: QuantizedLayer,
    x: np.ndarray,
    config: AccelConfig,
    band: int,
    base: int = 0x1000,
    input_addr: int | None = None,
    output_addr: int | None = None,
) -> LayerJob:
    """Lay out ``layer`` and input ``x`` (int8 NHWC) in memory with pixel tiles of ``band``
    output rows and build its descriptor (:func:`accel.driver.prepare_layer` picks the band)."""
    shape = LayerShape.of(layer, np.shape(x))
    addresses = layer_addresses(shape, config, base, input_addr, output_addr)
    regions = {
        "weights": (addresses["W_ADDR"], pack_weights(layer, config)),
        "params": (addresses["PARAM_ADDR"], pack_params(layer, config)),
        "input": (addresses["IN_ADDR"], np.ascontiguousarray(x).tobytes()),
    }
    desc = _descriptor(
        shape,
        addresses,
        band,
        layer.input_zero_point,
        layer.output_zero_point,
        layer.act_min,
        layer.act_max,
    )
    check_register_ranges(desc)
    check = failed_check(desc, config)
    if check is not None:
        raise MappingError(f"BAND={band} is not valid for {shape}: {check.name}: {check.doc}")
    out_bytes = math.prod(shape.output_shape)
    return LayerJob(
        shape, [desc], regions, addresses["OUT_ADDR"], out_bytes, {"end": addresses["end"]}
    )
