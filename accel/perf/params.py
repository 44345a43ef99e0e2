"""Parameter loader: one read command for every m-tile's bias and requantization parameters."""

from __future__ import annotations

from accel.perf.geometry import INF, Geometry
from accel.perf.reader import PARAMS, ReadDMA


class ParamLoader:
    """Gives its command at START and raises ``loaded`` after the command's last beat.

    ``loaded_at`` is the first cycle in which ``loaded`` is high (the post-processing FSM,
    which runs on its own time line, reads it there).
    """

    __slots__ = ("issuing", "loaded", "loaded_at", "addr", "beats")

    def __init__(self, geo: Geometry):
        self.issuing = False
        self.loaded = False
        self.loaded_at = INF
        self.addr = geo.p_addr & geo.lane_mask
        self.beats = geo.m_tiles * geo.param_tile_beats

    def start(self) -> None:
        self.issuing = True
        self.loaded = False
        self.loaded_at = INF

    def step(self, t: int, rd: ReadDMA, end_client: int) -> None:
        """Cycle ``t``, after the reader's :meth:`~accel.perf.reader.ReadDMA.step`."""
        if self.issuing and not rd.active[PARAMS]:
            rd.command(PARAMS, self.addr, self.beats)
            self.issuing = False
        if end_client == PARAMS:
            self.loaded = True
            self.loaded_at = t + 1
