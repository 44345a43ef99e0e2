"""A functional accelerator backend for the ISS: golden numerics on the shared memory.

START decodes the descriptor registers, reads the input, the packed weight tiles and the
packed parameters from the ISS memory exactly as the hardware's DMA would (formats of
:mod:`accel.driver`), computes the layer with NumPy in integer arithmetic and writes the
int8 output back. Performance counters come from the analytical model :mod:`accel.perf`
(with the memory timing of the RTL test bench), so the same firmware runs against
"perf + golden numerics" in milliseconds.
"""

from __future__ import annotations

import numpy as np

from accel.firmware.riscv.stub import StubBackend
from accel.mapping import LayerShape, failed_check
from accel.mapping.packing import unpack_params, unpack_weights
from accel.ref.loopnest import conv2d, maxpool2x2
from accel.ref.quant import requantize
from accel.spec import isa
from accel.spec.config import AccelConfig

_DONE = 1 << isa.STATUS_BIT["DONE"].bit
_ERR_DESCRIPTOR = 1 << isa.STATUS_BIT["ERR_DESCRIPTOR"].bit


def _tiles(n: int, size: int) -> int:
    return -(-n // size)


class FunctionalBackend(StubBackend):
    """:class:`~accel.firmware.riscv.stub.StubBackend` whose START really computes the layer."""

    def __init__(self, memory, config: AccelConfig | None = None):
        super().__init__(config)
        self.memory = memory
        self.counters = {c.name: 0 for c in isa.COUNTERS}
        self.layers_run = 0

    def _reg(self, name: str) -> int:
        return self.registers[isa.REGISTER[name].index]

    def _read(self, addr: int, n: int) -> np.ndarray:
        return np.frombuffer(bytes(self.memory.read(addr, n)), dtype=np.int8)

    def execute(self, function_id: int, rs1_value: int, rs2_value: int) -> int:
        funct3, funct7 = function_id & 7, function_id >> 3
        if funct3 == isa.GROUP["COUNTER"].funct3:
            counter = next((c for c in isa.COUNTERS if c.index == funct7), None)
            if counter is not None:
                self.log.append((function_id, rs1_value, rs2_value))
                return self.counters[counter.name] & 0xFFFF_FFFF
        if funct3 == isa.GROUP["CTRL"].funct3 and funct7 == isa.CONTROL_OP["START"].index:
            self.log.append((function_id, rs1_value, rs2_value))
            self.starts += 1
            self.status &= isa.ERROR_MASK | 0xFF00
            code = self._run()
            if code:
                self.status |= _ERR_DESCRIPTOR | (code << isa.ERR_CODE_SHIFT)
            self.status |= _DONE
            return self.status
        return super().execute(function_id, rs1_value, rs2_value)

    def _run(self) -> int:
        """Run the configured layer; returns a descriptor check code (0 = ran)."""
        cfg = self.config
        r = {reg.name: self._reg(reg.name) for reg in isa.REGISTERS}
        check = failed_check(r, cfg)
        if check is not None:
            return check.code
        shape = LayerShape(
            *(r[k] for k in ("N", "H", "W", "C", "M", "R", "S", "E", "F", "U", "P")),
            pool=bool(r["POOL"]),
        )
        N, H, W, C, M, K = shape.N, shape.H, shape.W, shape.C, shape.M, shape.K
        x = self._read(r["IN_ADDR"], N * H * W * C).reshape(N, H, W, C)
        m_tiles, k_tiles = _tiles(M, cfg.cols), _tiles(K, cfg.rows)
        weight_bytes = m_tiles * k_tiles * cfg.weight_tile_beats * cfg.bus_bytes
        w = unpack_weights(
            self._read(r["W_ADDR"], weight_bytes).tobytes(), M, shape.R, shape.S, C, cfg
        )
        param_bytes = m_tiles * cfg.param_tile_beats * cfg.bus_bytes
        params = unpack_params(self._read(r["PARAM_ADDR"], param_bytes).tobytes(), M, cfg)
        bias, multiplier, shift = (v.astype(np.int64) for v in params)
        acc = conv2d(x, w, stride=shape.U, padding=shape.P, pad_value=r["IN_ZP"])
        y = requantize(
            acc, bias, multiplier, shift, r["OUT_ZP"], r["ACT_MIN"], r["ACT_MAX"]
        ).astype(np.int8)
        if shape.pool:
            y = maxpool2x2(y)
        self.memory.write(r["OUT_ADDR"], y.tobytes())
        self.layers_run += 1
        self._count(shape, r["BAND"])
        return 0

    def _count(self, shape: LayerShape, band: int) -> None:
        from accel import perf

        report = perf.predict(shape, self.config, perf.MemoryTiming.axi_ram(), band=band)
        self.counters.update(
            CYCLES=report.cycles,
            MAC_CYCLES=report.mac_cycles,
            DMA_READ_BYTES=report.dma_read_bytes,
            DMA_WRITE_BYTES=report.dma_write_bytes,
            STALL_CYCLES=report.stall_cycles,
        )
