"""Accelerator configuration: the generator parameters, validated once."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class AccelConfig:
    """Parameters of one accelerator instance.

    ``rows`` × ``cols`` MAC array (rows = reduction K per cycle, cols = output channels per
    cycle); ``bus_width`` bits of AXI data; ``in_depth`` bus words per input bank (one bank per
    array row); ``acc_depth`` accumulator entries (``cols`` int32 each) per half of the
    ping-pong accumulator buffer; ``param_depth`` output-channel tiles of bias/requantization
    parameters; ``weight_depth`` weight tiles in the weight FIFO; ``max_burst`` beats per AXI
    burst; ``logic_mul_cols``: the last that many array columns multiply in logic instead of DSP
    blocks (same results and timing; for devices with fewer DSPs than PEs).
    """

    rows: int = 8
    cols: int = 8
    bus_width: int = 64
    in_depth: int = 2048
    acc_depth: int = 1024
    param_depth: int = 64
    weight_depth: int = 4
    max_burst: int = 16
    logic_mul_cols: int = 0

    def __post_init__(self):
        def check(name, low, high):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer, not {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be in {low}..{high}, not {value}")

        check("rows", 2, 64)
        check("cols", 2, 64)
        check("in_depth", 16, 1 << 16)
        check("acc_depth", 16, 1 << 15)
        check("param_depth", 1, 4096)
        check("weight_depth", 2, 64)
        check("max_burst", 1, 256)
        check("logic_mul_cols", 0, self.cols)
        if self.bus_width not in (32, 64, 128):
            raise ValueError(f"bus_width must be 32, 64 or 128 bits, not {self.bus_width}")
        for name in ("in_depth", "acc_depth", "weight_depth", "max_burst"):
            value = getattr(self, name)
            if value & (value - 1):
                raise ValueError(f"{name} must be a power of two, not {value}")

    @property
    def bus_bytes(self) -> int:
        return self.bus_width // 8

    @property
    def in_bytes(self) -> int:
        """Capacity of one input bank in bytes."""
        return self.in_depth * self.bus_bytes

    @property
    def weight_tile_beats(self) -> int:
        """Bus beats of one packed rows×cols int8 weight tile (zero-padded to whole beats)."""
        return -(-self.rows * self.cols // self.bus_bytes)

    @property
    def param_tile_beats(self) -> int:
        """Bus beats of one packed parameter tile: cols × (bias, multiplier, shift) int32."""
        return -(-12 * self.cols // self.bus_bytes)

    @property
    def name(self) -> str:
        return f"accel_{self.rows}x{self.cols}"

    def as_dict(self) -> dict:
        return asdict(self)
