"""The model's inputs and outputs: memory timing, the report and its phase names."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Phase(IntEnum):
    """What the issuer does in a cycle: the index of its :attr:`PerfReport.phases` entry."""

    SETUP = 0
    MAC = 1
    WAIT_WEIGHTS = 2
    WAIT_BANK = 3
    WAIT_WALKER = 4
    WAIT_INPUT = 5
    WAIT_ACCUMULATOR = 6
    SWITCH = 7
    TAIL = 8


#: Names of :attr:`PerfReport.phases`, in order.
PHASES = tuple(phase.name.lower() for phase in Phase)


@dataclass(frozen=True)
class MemoryTiming:
    """Fixed-latency main memory that accepts one request per cycle and moves one beat per cycle.

    ``read_latency``: cycles from a read request's acceptance to its first beat (≥ 1).
    ``write_latency``: cycles from a write burst's last data beat to its response (≥ 1).
    The default is the timing of cocotbext-axi's ``AxiRam`` (the RTL runs), which is also
    the default of :func:`accel.verif.amaranth_sim.run_job`.
    """

    read_latency: int = 2
    write_latency: int = 2

    def __post_init__(self):
        for name in ("read_latency", "write_latency"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer ≥ 1, not {value!r}")

    @classmethod
    def axi_ram(cls) -> MemoryTiming:
        """cocotbext-axi ``AxiRam`` without back-pressure (RTL/cocotb runs): 2 and 2."""
        return cls(read_latency=2, write_latency=2)


@dataclass
class PerfReport:
    """Predicted counters and bounds of one layer run.

    ``cycles``, ``mac_cycles``, ``stall_cycles``, ``dma_read_bytes``, ``dma_write_bytes`` are
    the RTL counters CYCLES, MAC_CYCLES, STALL_CYCLES, DMA_READ_BYTES and DMA_WRITE_BYTES
    (exact). ``macs``: multiply-accumulates of the layer; ``pes``: rows × cols;
    ``ideal_cycles`` = ceil(macs / pes); ``mapping_cycles``: tiles × pixels streamed (= the
    array's busy cycles, ``mac_cycles``); ``min_bytes``: every input, weight, parameter
    (12 bytes per output channel) and output byte counted once; ``roofline_cycles`` =
    max(macs / pes, min_bytes / bus bytes); ``utilization`` = macs / (pes × cycles).

    ``phases`` splits ``cycles`` by what the issuer (the array's feeder) does in each cycle;
    the values add up to ``cycles``:

    * ``setup``: START to the first vector (descriptor checks, first input rows and weights);
    * ``mac``: streaming pixels (= ``mac_cycles``);
    * ``wait_weights``: a tile waits for its weights to arrive from memory;
    * ``wait_bank``: its weights are buffered but its array bank is still in use;
    * ``wait_walker``: only its K-tile row constants are not ready (the walker needs ``rows``
      cycles per tile, which limits tiles of fewer than ``rows`` pixels);
    * ``wait_input``: a band waits for its input rows;
    * ``wait_accumulator``: a band waits for post-processing to free its accumulator half;
    * ``switch``: tile starts after a wait, pipeline drain and set-up between bands;
    * ``tail``: last vector to done (array latency, post-processing, output writes).

    ``wait_weights + wait_bank + wait_walker + wait_input`` plus the stalls during ``setup``
    make up ``stall_cycles``. ``bands``: per band (image n, first output row e0, rows, first
    and last issue cycle, post-processing start cycle), cycles counted from START.
    """

    cycles: int
    macs: int
    pes: int
    ideal_cycles: int
    mapping_cycles: int
    roofline_cycles: float
    min_bytes: int
    utilization: float
    dma_read_bytes: int
    dma_write_bytes: int
    mac_cycles: int
    stall_cycles: int
    band: int
    phases: dict[str, int] = field(default_factory=dict)
    bands: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)

    @property
    def roofline_ratio(self) -> float:
        """cycles / roofline_cycles (1.0 = at the roofline)."""
        return self.cycles / self.roofline_cycles

    @property
    def bound(self) -> str:
        """``"compute"`` or ``"memory"``: the larger term of the roofline."""
        return "compute" if self.macs / self.pes >= self.roofline_cycles else "memory"

    def counters(self) -> dict[str, int]:
        """The predicted RTL counters, by their :data:`accel.spec.isa.COUNTERS` names."""
        return {
            "CYCLES": self.cycles,
            "MAC_CYCLES": self.mac_cycles,
            "DMA_READ_BYTES": self.dma_read_bytes,
            "DMA_WRITE_BYTES": self.dma_write_bytes,
            "STALL_CYCLES": self.stall_cycles,
        }
