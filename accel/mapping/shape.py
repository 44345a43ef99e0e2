"""The loop-nest bounds of a layer run (letters of :mod:`accel.ref.loopnest`) and the mapping
error."""

from __future__ import annotations

from dataclasses import dataclass

from accel.ref.layer import QuantizedLayer
from accel.ref.networks import NetworkLayer
from accel.spec.config import AccelConfig


class MappingError(ValueError):
    """The layer cannot be mapped onto this accelerator configuration."""


def tiles(n: int, size: int) -> int:
    """ceil(n / size): how many tiles of ``size`` cover ``n``."""
    return -(-n // size)


@dataclass(frozen=True)
class LayerShape:
    """The loop-nest bounds of one layer run (letters of :mod:`accel.ref.loopnest`);
    ``depthwise``: output channel m filters input channel m only (M = C, K = R·S)."""

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
    depthwise: bool = False

    @classmethod
    def of(cls, layer: QuantizedLayer, input_shape: tuple[int, ...]) -> LayerShape:
        if len(input_shape) != 4:
            raise MappingError(f"input must be NHWC (4 dimensions), got shape {input_shape}")
        N, H, W, C = (int(v) for v in input_shape)
        M, R, S, Cw = layer.weights.shape
        if layer.depthwise:
            Cw = M
        if C != Cw:
            raise MappingError(f"input has C={C} channels but the weights expect C={Cw}")
        U, P = layer.stride, layer.padding
        if H + 2 * P < R or W + 2 * P < S:
            raise MappingError(f"filter {R}x{S} larger than the padded input {H}x{W} (P={P})")
        E = (H + 2 * P - R) // U + 1
        F = (W + 2 * P - S) // U + 1
        return cls(N, H, W, C, M, R, S, E, F, U, P, bool(layer.pool), layer.depthwise)

    @classmethod
    def of_descriptor(cls, desc: dict[str, int]) -> LayerShape:
        """The bounds a descriptor (registers of :data:`accel.spec.isa.REGISTERS`) runs."""
        names = ("N", "H", "W", "C", "M", "R", "S", "E", "F", "U", "P")
        return cls(*(desc[name] for name in names), pool=bool(desc["POOL"]))

    @classmethod
    def of_network_layer(cls, layer: NetworkLayer, N: int = 1) -> LayerShape:
        """The bounds of ``layer`` (of :mod:`accel.ref.networks`) run on a batch of ``N``."""
        H, W, C, M, R, S = layer.H, layer.W, layer.C, layer.M, layer.R, layer.S
        E, F, U, P = layer.E, layer.F, layer.U, layer.P
        return cls(N, H, W, C, M, R, S, E, F, U, P, layer.pool, layer.depthwise)

    @property
    def K(self) -> int:
        """Products summed into one output: R·S·C (depthwise: R·S)."""
        return self.R * self.S * (1 if self.depthwise else self.C)

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
        return self.N * self.M * self.E * self.F * self.K

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
