"""What the engines know of a layer run: the model's :class:`accel.hw.geometry.LayerSetup`.

Every quantity derived from the descriptor, the configuration and the memory latencies once,
before the simulation starts (tile counts, band list, bus arithmetic, pipeline delays).
"""

from __future__ import annotations

from accel.spec import timing
from accel.spec.config import AccelConfig

INF = float("inf")


def cdiv(a: int, b: int) -> int:
    """ceil(a / b) for positive b."""
    return -(-a // b)


class Geometry:
    """Derived quantities of one layer run (read-only once built)."""

    __slots__ = (
        "N", "H", "W", "C", "M", "R", "S", "E", "F", "U", "P", "pool", "band_rows",
        "rows", "cols", "bus_bytes", "shift", "lane_mask", "page_beats", "page_mask",
        "max_burst", "weight_tile_beats", "param_tile_beats", "weight_depth",
        "WC", "HWC", "K", "E_run", "F_out", "m_tiles", "k_tiles", "tiles", "out_row_bytes",
        "whole", "hold", "done_delay", "read_latency", "write_latency",
        "in_addr", "w_addr", "p_addr", "out_addr", "bands", "n_bands", "t_run",
        "pattern", "tile_bytes", "row_mode", "in_pitch", "out_mode", "out_row_pitch",
        "out_pix_pitch", "acc_out", "pixel_mode", "pix_pitch", "PC",
    )  # fmt: skip

    def __init__(self, d: dict, cfg: AccelConfig, read_latency: int, write_latency: int):
        self.N, self.H, self.W, self.C, self.M = d["N"], d["H"], d["W"], d["C"], d["M"]
        self.R, self.S, self.E, self.F, self.U, self.P = (
            d["R"],
            d["S"],
            d["E"],
            d["F"],
            d["U"],
            d["P"],
        )
        self.pool, self.band_rows = bool(d["POOL"]), d["BAND"]
        self.rows, self.cols = cfg.rows, cfg.cols
        bb = self.bus_bytes = cfg.bus_bytes
        self.shift = bb.bit_length() - 1
        self.lane_mask = ~(bb - 1)
        self.page_beats = timing.PAGE_BYTES >> self.shift
        self.page_mask = self.page_beats - 1
        self.max_burst = cfg.max_burst
        self.weight_tile_beats = cfg.weight_tile_beats
        self.param_tile_beats = cfg.param_tile_beats
        self.weight_depth = cfg.weight_depth
        self.read_latency, self.write_latency = read_latency, write_latency
        self.in_addr, self.w_addr = d["IN_ADDR"], d["W_ADDR"]
        self.p_addr, self.out_addr = d["PARAM_ADDR"], d["OUT_ADDR"]
        # ISA v2 registers (absent: their v1 meaning)
        self.in_pitch = d.get("IN_ROW_PITCH", self.W * self.C)
        self.pix_pitch = d.get("IN_PIX_PITCH", 0)  # ISA v3
        f_out = self.F // 2 if self.pool else self.F
        self.out_pix_pitch = d.get("OUT_PIX_PITCH", self.M)
        self.out_row_pitch = d.get("OUT_ROW_PITCH", f_out * self.M)
        self.acc_out = bool(d.get("ACC", 0) & 2)
        self._derive(cfg)

    def _derive(self, cfg: AccelConfig) -> None:
        width = self.W * self.C
        bb = self.bus_bytes
        # pixel mode: one read per input pixel, PC bank bytes (the bus words its C bytes touch)
        self.pixel_mode = self.pix_pitch not in (0, self.C)
        lane = self.in_addr % bb
        self.PC = cdiv(lane + self.C, bb) * bb if self.pixel_mode else self.C
        # row mode: one read per input row into a bank slot of whole bus words
        self.row_mode = self.pixel_mode or self.in_pitch != width
        width = self.W * self.PC
        if self.row_mode and not self.pixel_mode:
            width += lane  # the row's bus words from IN_ADDR's lane on
        self.WC = cdiv(width, bb) * bb if self.row_mode else width  # bank bytes per row
        self.HWC = self.H * self.in_pitch  # memory bytes per image
        self.K = self.R * self.S * self.C
        self.E_run = self.E & ~1 if self.pool else self.E
        self.F_out = self.F // 2 if self.pool else self.F
        self.m_tiles = cdiv(self.M, self.cols)
        self.k_tiles = cdiv(self.K, self.rows)
        self.tiles = self.m_tiles * self.k_tiles
        self.out_row_bytes = self.F_out * self.M
        # output regions: 0 one per band, 1 one per output row, 2 one per output pixel
        if self.out_pix_pitch != self.M:
            self.out_mode = 2
        else:
            self.out_mode = 1 if self.out_row_pitch != self.out_row_bytes else 0
        slack = 0 if self.row_mode else bb - 1  # contiguous windows start mid-word
        self.whole = self.H * self.WC + slack <= cfg.in_bytes
        # bank timer: a bank is free `hold` cycles after its last use
        self.hold = timing.FEEDER_LATENCY + timing.bank_reuse_delay(self.rows, self.cols)
        # last vector of a band -> its accumulator half's band-complete pulse
        array = timing.array_latency(self.rows, self.cols)
        self.done_delay = timing.FEED_TO_ARRAY + array + timing.ACC_RMW_STAGES
        band, e_run = self.band_rows, self.E_run
        self.bands = [
            (n, e0, min(e_run - e0, band)) for n in range(self.N) for e0 in range(0, e_run, band)
        ]
        self.n_bands = len(self.bands)
        rows, cols = self.rows, self.cols
        pow2 = rows & (rows - 1) == 0 and cols & (cols - 1) == 0
        setup = timing.SETUP_CYCLES
        self.t_run = setup if pow2 else setup + max(self.m_tiles, self.k_tiles)
        # post-processing reads of one output pixel: (bytes, last read of the pool window)
        sub_n = 4 if self.pool else 1
        self.pattern = [
            (min(self.M - tile * cols, cols), sub == sub_n - 1)
            for tile in range(self.m_tiles)
            for sub in range(sub_n)
        ]
        self.tile_bytes = self.weight_tile_beats * self.bus_bytes

    def crossing_tiles(self) -> list[int]:
        """Weight tiles (indices in one band's order) whose bytes cross a 4 KiB page: their
        bursts are split differently from the others'."""
        page, size, base = timing.PAGE_BYTES, self.tile_bytes, self.w_addr
        if page % size == 0 and base % size == 0:
            return []  # tiles tile the pages
        end = base + self.tiles * size
        return [
            (boundary - base) // size
            for boundary in range((base // page + 1) * page, end, page)
            if (boundary - base) % size
        ]
