"""Host-side driver: turns a quantized layer into a memory image and a command sequence.

Every backend (Amaranth simulation, cocotb/Verilator, firmware, performance model) speaks
this protocol, so they all see the same bytes and the same instructions.

Memory formats (also in docs/architecture.md):

* activations: int8 NHWC, any byte address;
* weights: the reduction index is ``k = (r*S + s)*C + c``. Tiles of ``rows`` k × ``cols``
  output channels, ordered m-tile major, k-tile minor; inside a tile byte ``i*cols + j`` is
  ``w[m0 + j, k0 + i]`` (zero beyond K or M); each tile is zero-padded to whole bus beats;
* parameters: per m-tile, ``cols`` int32 folded biases, ``cols`` int32 multipliers, ``cols``
  int32 shifts (little-endian), zero-padded to whole bus beats. The folded bias is
  ``bias - input_zero_point * sum_k w[m, k]`` (the array multiplies raw int8 inputs and pads
  with the input zero point).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accel import isa
from accel.config import AccelConfig
from accel.ref.layer import QuantizedLayer


class MappingError(ValueError):
    """The layer cannot be mapped onto this accelerator configuration."""


def _tiles(n: int, size: int) -> int:
    return -(-n // size)


def pack_weights(layer: QuantizedLayer, config: AccelConfig) -> bytes:
    """The packed weight tiles of ``layer`` in the order the sequencer consumes them."""
    w = np.asarray(layer.weights, dtype=np.int8)
    M = w.shape[0]
    K = int(np.prod(w.shape[1:]))
    wk = w.reshape(M, K)
    m_tiles, k_tiles = _tiles(M, config.cols), _tiles(K, config.rows)
    padded = np.zeros((m_tiles * config.cols, k_tiles * config.rows), dtype=np.int8)
    padded[:M, :K] = wk
    # tiles[mt, kt, i, j] = w[mt*cols + j, kt*rows + i]
    tiles = padded.reshape(m_tiles, config.cols, k_tiles, config.rows).transpose(0, 2, 3, 1)
    tile_bytes = config.weight_tile_beats * config.bus_bytes
    flat = np.zeros((m_tiles, k_tiles, tile_bytes), dtype=np.int8)
    flat[:, :, : config.rows * config.cols] = tiles.reshape(m_tiles, k_tiles, -1)
    return flat.tobytes()


def folded_bias(layer: QuantizedLayer) -> np.ndarray:
    """Bias with the input zero point folded in, wrapped to int32."""
    w = np.asarray(layer.weights, dtype=np.int64).reshape(layer.weights.shape[0], -1)
    folded = layer.bias.astype(np.int64) - layer.input_zero_point * w.sum(axis=1)
    return ((folded + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def pack_params(layer: QuantizedLayer, config: AccelConfig) -> bytes:
    """Packed per-channel (folded bias, multiplier, shift) tiles."""
    M = layer.weights.shape[0]
    m_tiles = _tiles(M, config.cols)
    values = np.zeros((3, m_tiles * config.cols), dtype=np.int32)
    values[0, :M] = folded_bias(layer)
    values[1, :M] = layer.multiplier
    values[2, :M] = layer.shift
    tiles = values.reshape(3, m_tiles, config.cols).transpose(1, 0, 2).reshape(m_tiles, -1)
    out = np.zeros((m_tiles, config.param_tile_beats * config.bus_bytes), dtype=np.uint8)
    out[:, : 12 * config.cols] = tiles.astype("<i4").view(np.uint8).reshape(m_tiles, -1)
    return out.tobytes()


@dataclass(frozen=True)
class LayerShape:
    """The loop-nest bounds of one layer run (letters of Sze et al.)."""

    N: int
    H: int
    W: int
    C: int
    M: int
    R: int
    S: int
    E: int
    F: int
    U: int
    P: int
    pool: bool

    @classmethod
    def of(cls, layer: QuantizedLayer, input_shape: tuple[int, ...]) -> LayerShape:
        if len(input_shape) != 4:
            raise MappingError(f"input must be NHWC (4 dimensions), got shape {input_shape}")
        N, H, W, C = (int(v) for v in input_shape)
        M, R, S, Cw = layer.weights.shape
        if C != Cw:
            raise MappingError(f"input has C={C} channels but the weights expect C={Cw}")
        U, P = layer.stride, layer.padding
        if H + 2 * P < R or W + 2 * P < S:
            raise MappingError(f"filter {R}x{S} larger than the padded input {H}x{W} (P={P})")
        E = (H + 2 * P - R) // U + 1
        F = (W + 2 * P - S) // U + 1
        return cls(N, H, W, C, M, R, S, E, F, U, P, bool(layer.pool))

    @property
    def K(self) -> int:
        return self.R * self.S * self.C

    @property
    def E_out(self) -> int:
        return self.E // 2 if self.pool else self.E

    @property
    def F_out(self) -> int:
        return self.F // 2 if self.pool else self.F

    @property
    def E_run(self) -> int:
        return self.E & ~1 if self.pool else self.E

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.E_out, self.F_out, self.M)

    @property
    def macs(self) -> int:
        return self.N * self.M * self.C * self.E * self.F * self.R * self.S

    @property
    def min_bytes(self) -> int:
        """Bytes the layer must move at least: input, weights, 12 B/channel of bias and
        requantization parameters, output — each once (the roofline's memory term)."""
        inputs = self.N * self.H * self.W * self.C
        outputs = self.N * self.E_out * self.F_out * self.M
        return inputs + self.M * self.K + 12 * self.M + outputs

    def ideal_cycles(self, config: AccelConfig) -> int:
        """MACs / PEs, rounded up."""
        return -(-self.macs // (config.rows * config.cols))

    def roofline(self, config: AccelConfig) -> float:
        """max(MACs / PEs, minimum bytes / bus bytes per cycle), in cycles."""
        return max(self.macs / (config.rows * config.cols), self.min_bytes / config.bus_bytes)


def legal_bands(shape: LayerShape, config: AccelConfig) -> list[int]:
    """Every BAND (output rows per pixel tile) the hardware's descriptor checks accept.

    A band must fit the accumulator half (``ceil(M/COLS) * BAND * F`` entries) and, unless the
    whole input image fits the input banks, its input rows (``(BAND-1)*U + R``) must fit one
    bank; with pooling it is even.
    """
    m_tiles = _tiles(shape.M, config.cols)
    if m_tiles > config.param_depth:
        return []
    whole = shape.H * shape.W * shape.C + config.bus_bytes - 1 <= config.in_bytes
    step = 2 if shape.pool else 1
    bands = []
    for band in range(step, shape.E_run + 1, step):
        if m_tiles * band * shape.F > config.acc_depth:
            break
        in_rows = min((band - 1) * shape.U + shape.R, shape.H)
        if not whole and in_rows * shape.W * shape.C + config.bus_bytes - 1 > config.in_bytes:
            break
        bands.append(band)
    return bands


def choose_band(shape: LayerShape, config: AccelConfig) -> int:
    """The legal band with the fewest cycles predicted by :mod:`accel.perf`.

    Small bands let the post-processing of one band overlap the computation of the next, but
    every band streams all weight tiles again; the exact model weighs the two.
    """
    if _tiles(shape.M, config.cols) > config.param_depth:
        raise MappingError(
            f"M={shape.M} needs {_tiles(shape.M, config.cols)} parameter tiles, the buffer "
            f"holds {config.param_depth}"
        )
    if not legal_bands(shape, config):
        step = 2 if shape.pool else 1
        m_tiles = _tiles(shape.M, config.cols)
        raise MappingError(
            f"layer {shape} does not fit this configuration: one band of {step} output row(s) "
            f"needs {m_tiles * step * shape.F} accumulator entries (have {config.acc_depth}) "
            f"and {min((step - 1) * shape.U + shape.R, shape.H) * shape.W * shape.C} input "
            f"bytes (have {config.in_bytes - config.bus_bytes + 1}); narrower rows (W*C) or "
            "bigger buffers are needed"
        )
    from accel import perf

    return perf.best_band(shape, config)


def failed_check(desc: dict[str, int], config: AccelConfig) -> isa.DescriptorCheck | None:
    """The first of the hardware's descriptor checks (:data:`accel.isa.DESCRIPTOR_CHECKS`,
    in order) that ``desc`` fails on ``config``, or None: a Python mirror of
    :class:`accel.hw.geometry.LayerSetup`."""
    d, bb = desc, config.bus_bytes
    sizes = ("N", "H", "W", "C", "M", "R", "S", "E", "F", "U", "BAND")
    m_tiles = _tiles(d["M"], config.cols) if d["M"] else 0
    whole = d["H"] * d["W"] * d["C"] + bb - 1 <= config.in_bytes
    in_rows = min((d["BAND"] - 1) * d["U"] + d["R"], d["H"])
    failures = {
        "ZERO_SIZE": lambda: any(d[name] == 0 for name in sizes),
        "SHAPE": lambda: (
            (d["H"] + 2 * d["P"] - d["R"]) // d["U"] + 1 != d["E"]
            or (d["W"] + 2 * d["P"] - d["S"]) // d["U"] + 1 != d["F"]
            or d["H"] + 2 * d["P"] < d["R"]
            or d["W"] + 2 * d["P"] < d["S"]
            or d["P"] >= d["R"]
            or d["P"] >= d["S"]
        ),
        "ALIGN": lambda: d["W_ADDR"] % bb != 0 or d["PARAM_ADDR"] % bb != 0,
        "CLAMP": lambda: d["ACT_MIN"] > d["ACT_MAX"],
        "POOL": lambda: bool(d["POOL"]) and (d["E"] < 2 or d["F"] < 2 or d["BAND"] % 2 == 1),
        "INPUT_BUFFER": lambda: not whole and in_rows * d["W"] * d["C"] + bb - 1 > config.in_bytes,
        "ACC_BUFFER": lambda: m_tiles * d["BAND"] * d["F"] > config.acc_depth,
        "PARAM_BUFFER": lambda: m_tiles > config.param_depth,
    }
    for check in isa.DESCRIPTOR_CHECKS:
        if failures[check.name]():
            return check
    return None


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


@dataclass
class LayerJob:
    """Everything needed to run one layer: memory regions, descriptor, expected output."""

    shape: LayerShape
    descriptor: dict[str, int]
    regions: dict[str, tuple[int, bytes]]  # name -> (address, bytes) to write before START
    output_addr: int
    output_bytes: int
    band: int
    extra: dict = field(default_factory=dict)

    def commands(self) -> list[tuple[int, int, int]]:
        """(function_id, inputs_0, inputs_1) of the instruction sequence: SETs, START, WAIT."""
        cmds = []
        for reg in isa.REGISTERS:
            value = self.descriptor[reg.name] & 0xFFFFFFFF
            cmds.append((isa.function_id("SET", reg.index), value, 0))
        cmds.append((isa.function_id("CTRL", isa.CONTROL_OP["START"].index), 0, 0))
        cmds.append((isa.function_id("CTRL", isa.CONTROL_OP["WAIT"].index), 0, 0))
        return cmds

    def decode_output(self, raw: bytes) -> np.ndarray:
        return np.frombuffer(raw, dtype=np.int8).reshape(self.shape.output_shape).copy()


def counter_commands() -> list[tuple[str, tuple[int, int, int]]]:
    """Commands that read every performance counter, with the counter names."""
    return [(c.name, (isa.function_id("COUNTER", c.index), 0, 0)) for c in isa.COUNTERS]


def prepare_layer(
    layer: QuantizedLayer,
    x: np.ndarray,
    config: AccelConfig,
    base: int = 0x1000,
    band: int | None = None,
    input_addr: int | None = None,
    output_addr: int | None = None,
) -> LayerJob:
    """Lay out ``layer`` and input ``x`` (int8 NHWC) in memory and build its descriptor."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise MappingError(f"input activations must be int8, not {x.dtype}")
    shape = LayerShape.of(layer, x.shape)
    if band is None:
        band = choose_band(shape, config)
    bb = config.bus_bytes
    weights = pack_weights(layer, config)
    params = pack_params(layer, config)
    addr = _align(base, 64)
    regions = {}
    w_addr, addr = addr, _align(addr + len(weights), 64)
    p_addr, addr = addr, _align(addr + len(params), 64)
    if input_addr is None:
        input_addr, addr = addr, _align(addr + x.nbytes, 64)
    out_bytes = int(np.prod(shape.output_shape))
    if output_addr is None:
        output_addr, addr = addr, _align(addr + out_bytes, 64)
    regions["weights"] = (w_addr, weights)
    regions["params"] = (p_addr, params)
    regions["input"] = (input_addr, x.tobytes())
    assert w_addr % bb == 0 and p_addr % bb == 0
    desc = {
        "N": shape.N,
        "H": shape.H,
        "W": shape.W,
        "C": shape.C,
        "M": shape.M,
        "R": shape.R,
        "S": shape.S,
        "E": shape.E,
        "F": shape.F,
        "U": shape.U,
        "P": shape.P,
        "IN_ADDR": input_addr,
        "W_ADDR": w_addr,
        "PARAM_ADDR": p_addr,
        "OUT_ADDR": output_addr,
        "IN_ZP": layer.input_zero_point,
        "OUT_ZP": layer.output_zero_point,
        "ACT_MIN": layer.act_min,
        "ACT_MAX": layer.act_max,
        "POOL": int(layer.pool),
        "BAND": band,
    }
    for reg in isa.REGISTERS:
        value = desc[reg.name]
        low, high = (
            (-(1 << (reg.width - 1)), (1 << (reg.width - 1)) - 1)
            if reg.signed
            else (
                0,
                (1 << reg.width) - 1,
            )
        )
        if not low <= value <= high:
            raise MappingError(f"descriptor field {reg.name}={value} does not fit {reg.width} bits")
    check = failed_check(desc, config)
    if check is not None:
        raise MappingError(f"BAND={band} is not valid for {shape}: {check.name}: {check.doc}")
    return LayerJob(shape, desc, regions, output_addr, out_bytes, band, {"end": addr})
