"""Input prefetcher (client INPUT): the input rows each band needs, ahead of the issuer.

3 + ``PREFETCH_PRODUCT_CYCLES`` cycles of address arithmetic, then one command per band — per
image when the whole image fits the input banks, rows being appended band by band; otherwise
each band's window replaces the previous one once the issuer has reached its band. In row
mode (``IN_ROW_PITCH`` ≠ W·C) one command per input row instead (pixel mode, ``IN_PIX_PITCH``
not 0 or C: one per input pixel): ``ISSUE`` gives the first, ``ROWS`` the others, each as soon
as the reader takes it, and the band is loaded in the cycle the last command's last beat
arrives.
"""

from __future__ import annotations

from enum import IntEnum

from accel.perf.geometry import INF, Geometry
from accel.perf.issuer import Issuer
from accel.perf.issuer import IssuerState as _Issuer
from accel.perf.reader import INPUT, ReadDMA
from accel.spec import timing

_ISSUER_BAND = _Issuer.BAND


class PrefetchState(IntEnum):
    """``m.FSM(name="prefetch")`` of :mod:`accel.hw.core`."""

    IDLE = 0
    BAND = 1
    RANGE = 2
    WAIT_BANKS = 3
    ISSUE = 4
    LOADING = 5
    ROWS = 6
    PRODUCTS = 7


IDLE, BAND, RANGE, WAIT_BANKS, ISSUE, LOADING, ROWS, PRODUCTS = PrefetchState
_PRODUCT_CYCLES = timing.PREFETCH_PRODUCT_CYCLES


class InputPrefetcher:
    """Prefetch FSM and its band counter; ``loaded_bands``: bands whose rows are loaded."""

    __slots__ = (
        "state", "band", "loaded_bands", "loaded_hi", "lo", "hi", "start_addr", "end_addr",
        "hb0", "hlast", "bands", "n_bands", "whole", "U", "P", "R", "H", "WC", "HWC",
        "in_addr", "lane_mask", "bus_bytes", "shift", "row_mode", "pitch", "rows_left",
        "lasts_left", "rd_active", "pixel_mode", "pix_pitch", "W", "pix_left", "row_addr",
        "cmd_beats", "products_left",
    )  # fmt: skip

    def __init__(self, geo: Geometry, rd: ReadDMA):
        self.state = IDLE
        self.band = 0
        self.loaded_bands = 0
        self.loaded_hi = 0  # whole image mode: rows [0, loaded_hi) of the image are loaded
        self.lo = self.hi = 0  # input rows [lo, hi) of the current command
        self.start_addr = self.end_addr = 0
        self.hb0 = self.hlast = 0
        self.bands, self.n_bands, self.whole = geo.bands, geo.n_bands, geo.whole
        self.U, self.P, self.R, self.H = geo.U, geo.P, geo.R, geo.H
        self.WC, self.HWC, self.in_addr = geo.WC, geo.HWC, geo.in_addr
        self.lane_mask, self.bus_bytes, self.shift = geo.lane_mask, geo.bus_bytes, geo.shift
        self.row_mode, self.pitch = geo.row_mode, geo.in_pitch
        self.pixel_mode, self.pix_pitch, self.W = geo.pixel_mode, geo.pix_pitch, geo.W
        self.cmd_beats = (geo.PC if geo.pixel_mode else geo.WC) >> geo.shift
        self.rows_left = 0  # row mode: commands (rows, or pixels) still to be given
        self.lasts_left = 0  # row mode: commands whose last beat has not arrived
        self.pix_left = 0  # pixel mode: pixels of the current row still to request
        self.row_addr = 0  # pixel mode: address of the current row's first pixel
        self.rd_active = rd.active  # the reader's per-client command state (read only)
        self.products_left = 0  # PRODUCTS: its cycles still to come

    def start(self) -> None:
        self.band = 0
        self.loaded_bands = 0
        self.state = BAND

    def _go(self, iss: Issuer) -> bool:
        """WAIT_BANKS may proceed: rows are appended, or the issuer reached this band."""
        if self.whole and self.bands[self.band][1] != 0:
            return True
        return iss.state is _ISSUER_BAND and iss.band == self.band

    def step(self, t: int, iss: Issuer, rd: ReadDMA, end_client: int) -> None:
        """Cycle ``t``, after the reader's step and before the issuer's update."""
        st = self.state
        if st is IDLE:
            return
        if st is BAND:
            _n, e0, rows = self.bands[self.band]
            self.hb0 = e0 * self.U - self.P
            self.hlast = (e0 + rows - 1) * self.U - self.P + self.R
            self.state = RANGE
        elif st is RANGE:
            if self.whole:
                self.lo = 0 if self.bands[self.band][1] == 0 else self.loaded_hi
            else:
                self.lo = self.hb0 if self.hb0 > 0 else 0
            self.hi = self.hlast if self.hlast < self.H else self.H
            self.products_left = _PRODUCT_CYCLES
            self.state = PRODUCTS if _PRODUCT_CYCLES else WAIT_BANKS
        elif st is PRODUCTS:
            self.products_left -= 1
            if not self.products_left:
                self.state = WAIT_BANKS
        elif st is WAIT_BANKS:
            if self._go(iss):
                img = self.in_addr + self.bands[self.band][0] * self.HWC
                self.row_addr = img + self.lo * self.pitch
                self.start_addr = self.row_addr & self.lane_mask
                self.end_addr = img + self.hi * self.pitch
                commands = self.hi - self.lo
                self.rows_left = self.lasts_left = (
                    commands * self.W if self.pixel_mode else commands
                )
                self.pix_left = self.W
                self.state = ISSUE
        elif st is ISSUE:
            if self.hi <= self.lo:
                self._finish_band()
            elif not rd.active[INPUT]:
                self.loaded_hi = self.hi
                if self.row_mode:
                    self._command(rd)
                    self.state = ROWS
                else:
                    beats = (self.end_addr - self.start_addr + self.bus_bytes - 1) >> self.shift
                    rd.command(INPUT, self.start_addr & self.lane_mask, beats)
                    self.state = LOADING
        elif st is LOADING:
            if end_client == INPUT:
                self._finish_band()
        else:  # ROWS
            if end_client == INPUT:
                self.lasts_left -= 1
            if self.rows_left:
                if not rd.active[INPUT]:
                    self._command(rd)
            elif self.lasts_left == 0:
                self._finish_band()

    def _command(self, rd: ReadDMA) -> None:
        """Row mode: give the next row's (pixel mode: pixel's) command."""
        rd.command(INPUT, self.start_addr, self.cmd_beats)
        self.rows_left -= 1
        if not self.pixel_mode:
            self.start_addr += self.pitch
        elif self.pix_left == 1:
            self.row_addr += self.pitch
            self.start_addr = self.row_addr & self.lane_mask
            self.pix_left = self.W
        else:
            self.start_addr += self.pix_pitch
            self.pix_left -= 1

    def _finish_band(self) -> None:
        self.loaded_bands += 1
        self.band += 1
        self.state = IDLE if self.band == self.n_bands else BAND

    def wake(self, t1: int, iss: Issuer) -> float:
        """``t1`` if the prefetcher acts in ``t1`` (it otherwise waits for a reader event)."""
        st = self.state
        if st is BAND or st is RANGE or st is PRODUCTS or st is ISSUE:
            return t1
        if st is WAIT_BANKS and self._go(iss):
            return t1
        if st is ROWS and self.rows_left and not self.rd_active[INPUT]:
            return t1
        return INF

    def waits_for_reader(self) -> bool:
        """Row mode: the next row's command waits for the reader to take it (in the cycle
        the reader issues the current row's last burst)."""
        return self.state is ROWS and self.rows_left != 0

    def settled(self) -> bool:
        """Idle, or waiting for the issuer to reach a later band (a steady tile stream
        leaves it unchanged)."""
        st = self.state
        if st is IDLE:
            return True
        return st is WAIT_BANKS and (not self.whole or self.bands[self.band][1] == 0)

    def key(self, band: int) -> tuple:
        """The state relative to the issuer's ``band`` (steady-state detection)."""
        return (self.loaded_bands - band, self.state, self.band - band)
