"""Weight and parameter packing in the order the sequencer consumes them (see MEMORY_FORMATS)."""

from __future__ import annotations

import numpy as np

from accel.mapping.shape import tiles as _tiles
from accel.ref.layer import QuantizedLayer
from accel.spec.config import AccelConfig


def pack_weights(layer: QuantizedLayer, config: AccelConfig) -> bytes:
    """The packed weight tiles of ``layer`` in the order the sequencer consumes them."""
    return pack_weight_array(layer.weights, config)


def pack_weight_array(weights: np.ndarray, config: AccelConfig) -> bytes:
    """Packed weight tiles of int8 ``weights`` (M, R, S, C)."""
    w = np.asarray(weights, dtype=np.int8)
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
    return pack_param_values(folded_bias(layer), layer.multiplier, layer.shift, config)


def pack_param_values(bias, multiplier, shift, config: AccelConfig) -> bytes:
    """Parameter tiles of per-channel int32 ``bias`` (already folded), ``multiplier`` and
    ``shift``: per m-tile ``cols`` of each, zero-padded to whole bus beats."""
    M = len(bias)
    m_tiles = _tiles(M, config.cols)
    values = np.zeros((3, m_tiles * config.cols), dtype=np.int32)
    values[0, :M], values[1, :M], values[2, :M] = bias, multiplier, shift
    tiles = values.reshape(3, m_tiles, config.cols).transpose(1, 0, 2).reshape(m_tiles, -1)
    out = np.zeros((m_tiles, config.param_tile_beats * config.bus_bytes), dtype=np.uint8)
    out[:, : 12 * config.cols] = tiles.astype("<i4").view(np.uint8).reshape(m_tiles, -1)
    return out.tobytes()


def unpack_weights(raw: bytes, M: int, R: int, S: int, C: int, config: AccelConfig) -> np.ndarray:
    """Inverse of :func:`pack_weights`: int8 (M, R, S, C) weights from packed tiles."""
    K = R * S * C
    m_tiles, k_tiles = _tiles(M, config.cols), _tiles(K, config.rows)
    tile_bytes = config.weight_tile_beats * config.bus_bytes
    flat = np.frombuffer(raw, dtype=np.int8, count=m_tiles * k_tiles * tile_bytes)
    tiles = flat.reshape(m_tiles, k_tiles, tile_bytes)[:, :, : config.rows * config.cols]
    tiles = tiles.reshape(m_tiles, k_tiles, config.rows, config.cols)
    wk = tiles.transpose(0, 3, 1, 2).reshape(m_tiles * config.cols, k_tiles * config.rows)
    return wk[:M, :K].reshape(M, R, S, C).copy()


def unpack_params(raw: bytes, M: int, config: AccelConfig) -> tuple[np.ndarray, ...]:
    """Inverse of :func:`pack_params`: (folded bias, multiplier, shift), int32 (M,) each."""
    m_tiles = _tiles(M, config.cols)
    tile_bytes = config.param_tile_beats * config.bus_bytes
    flat = np.frombuffer(raw, dtype=np.uint8, count=m_tiles * tile_bytes)
    words = flat.reshape(m_tiles, tile_bytes)[:, : 12 * config.cols].copy().view("<i4")
    values = words.reshape(m_tiles, 3, config.cols).transpose(1, 0, 2)
    return tuple(v.reshape(-1)[:M].astype(np.int32) for v in values)
