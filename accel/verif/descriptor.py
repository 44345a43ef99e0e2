"""Functional model of one descriptor run: what the accelerator computes, in NumPy.

:class:`DescriptorModel` executes a layer descriptor (the registers of
:data:`accel.spec.isa.REGISTERS`) on a byte-addressed memory with golden numerics and no
timing. It is the behavioural contract of the sequencer, written once: the functional ISS
backend answers START with it, and the tiling tests run whole tile plans through it before the
RTL does.

Geometry of a run (letters of Sze et al.)::

    input pixel (n, h, w, c)  at IN_ADDR  + (n*H + h) * IN_ROW_PITCH + w*IN_PIX_PITCH + c
                              (IN_PIX_PITCH 0: C)
    window of output (e, f)   rows e*U - P + r, columns f*U - PL + s  (outside the input:
                              the input zero point); bottom/right padding follow from E, F
    output pixel (n, eo, fo)  at OUT_ADDR + (n*E_out + eo) * OUT_ROW_PITCH + fo*OUT_PIX_PITCH

``ACC`` bit 0 (ACC_IN) adds the sums to those a previous run left in the accumulators,
bit 1 (ACC_OUT) leaves the sums there instead of writing an output.
"""

from __future__ import annotations

import numpy as np

from accel.mapping import LayerShape, failed_check, tiles, unpack_params, unpack_weights
from accel.ref.loopnest import conv2d, maxpool2x2
from accel.ref.quant import requantize
from accel.spec.config import AccelConfig

ACC_IN = 1
ACC_OUT = 2


def padded_window(
    x: np.ndarray, U: int, R: int, S: int, E: int, F: int, top: int, left: int, fill: int
) -> np.ndarray:
    """The input region E×F windows of R×S read, ``(N, (E-1)U+R, (F-1)U+S, C)``: ``x`` placed
    at row ``top`` and column ``left`` (negative: leading columns skipped), ``fill`` around."""
    N, H, W, C = x.shape
    rows, cols = (E - 1) * U + R, (F - 1) * U + S
    out = np.full((N, rows, cols, C), fill, dtype=x.dtype)
    r0, c0 = max(top, 0), max(left, 0)
    h0, w0 = max(-top, 0), max(-left, 0)
    h1, w1 = min(H, rows - top), min(W, cols - left)
    if h1 > h0 and w1 > w0:
        out[:, r0 : r0 + h1 - h0, c0 : c0 + w1 - w0] = x[:, h0:h1, w0:w1]
    return out


class DescriptorModel:
    """Golden execution of descriptors on ``memory`` (``read(addr, n) -> bytes``,
    ``write(addr, data)``); keeps the accumulator contents between runs for ACC_IN/ACC_OUT."""

    def __init__(self, memory, config: AccelConfig):
        self.memory = memory
        self.config = config
        self.accumulators: np.ndarray | None = None

    def _read(self, addr: int, n: int) -> np.ndarray:
        return np.frombuffer(bytes(self.memory.read(addr, n)), dtype=np.int8)

    def run(self, d: dict[str, int]) -> int:
        """Execute descriptor ``d``; returns the failed check's code, or 0."""
        cfg = self.config
        check = failed_check(d, cfg)
        if check is not None:
            return check.code
        shape = LayerShape.of_descriptor(d)
        N, H, W, C, M = shape.N, shape.H, shape.W, shape.C, shape.M
        row_pitch = d.get("IN_ROW_PITCH", W * C)
        pix_pitch = d.get("IN_PIX_PITCH", 0) or C
        x = np.stack(
            [
                self._read(d["IN_ADDR"] + row * row_pitch, (W - 1) * pix_pitch + C)[
                    np.arange(W)[:, None] * pix_pitch + np.arange(C)
                ]
                for row in range(N * H)
            ]
        ).reshape(N, H, W, C)
        m_tiles, k_tiles = tiles(M, cfg.cols), tiles(shape.K, cfg.rows)
        weight_bytes = m_tiles * k_tiles * cfg.weight_tile_beats * cfg.bus_bytes
        w = unpack_weights(
            self._read(d["W_ADDR"], weight_bytes).tobytes(), M, shape.R, shape.S, C, cfg
        )
        window = padded_window(
            x, shape.U, shape.R, shape.S, shape.E, shape.F, d["P"], d.get("PL", d["P"]), d["IN_ZP"]
        )
        acc = conv2d(window.astype(np.int64), w.astype(np.int64), stride=shape.U)
        acc = (acc + (1 << 31)) % (1 << 32) - (1 << 31)  # the accumulators wrap at 32 bits
        mode = d.get("ACC", 0)
        if mode & ACC_IN:
            if self.accumulators is None or self.accumulators.shape != acc.shape:
                raise AssertionError("ACC_IN without matching accumulators from an ACC_OUT run")
            acc = (acc + self.accumulators + (1 << 31)) % (1 << 32) - (1 << 31)
        if mode & ACC_OUT:
            self.accumulators = acc
            return 0
        self.accumulators = None
        param_bytes = m_tiles * cfg.param_tile_beats * cfg.bus_bytes
        params = unpack_params(self._read(d["PARAM_ADDR"], param_bytes).tobytes(), M, cfg)
        bias, multiplier, shift = (v.astype(np.int64) for v in params)
        y = requantize(acc, bias, multiplier, shift, d["OUT_ZP"], d["ACT_MIN"], d["ACT_MAX"])
        y = y.astype(np.int8)
        if shape.pool:
            y = maxpool2x2(y)
        out_row = d.get("OUT_ROW_PITCH", y.shape[2] * M)
        out_pix = d.get("OUT_PIX_PITCH", M)
        for n in range(N):
            for eo in range(y.shape[1]):
                base = d["OUT_ADDR"] + (n * y.shape[1] + eo) * out_row
                if out_pix == M:
                    self.memory.write(base, y[n, eo].tobytes())
                else:
                    for fo in range(y.shape[2]):
                        self.memory.write(base + fo * out_pix, y[n, eo, fo].tobytes())
        return 0
