"""K-tile row constants: per-row ``(valid, r, s, offset)`` of the current and next K tile."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from accel.hw.feeder import KWalker, row_params_layout
from accel.hw.geometry import layer_signature
from accel.hw.issuer import tile_events_signature
from accel.spec.config import AccelConfig

__all__ = ["KTileRows"]


class KTileRows(wiring.Component):
    """Double-buffered row constants of the K tiles, computed by a :class:`KWalker`.

    Array row ``i`` of K tile ``t`` handles reduction index ``k = t * rows + i``. The walker
    steps through k one row per cycle while a layer is ``busy`` and writes the next tile's
    constants (``rows`` cycles); ``ready`` is high from the cycle after the last row is written
    until a tile starts. On ``events.started`` the next tile's constants become ``rows`` (in the
    next cycle, when the tile's first vector is issued) and the walk of the following tile
    begins in the same cycle. After the last K tile the walker restarts at k = 0, so the
    constants of K tile 0 follow those of the last one (the next output-channel tile or band).
    ``layer.run`` restarts the walk at k = 0 for the first tile.

    Ports
    -----
    layer : ``In(layer_signature())``
        ``run``, ``busy``, the descriptor's ``C``, ``S`` and the geometry's ``K``,
        ``pix_step``, ``row_step``.
    events : ``In(tile_events_signature())``
        The issuer's tile starts (``started``).
    rows : ``Out(ArrayLayout(row_params_layout(), rows))``
        Constants of the current tile's rows (register), for the input feeder.
    ready : ``Out(1)``
        The next tile's constants are complete: a tile may start.
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "layer": In(layer_signature()),
                "events": In(tile_events_signature()),
                "rows": Out(data.ArrayLayout(row_params_layout(), config.rows)),
                "ready": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        n_rows = self.config.rows
        d, g = self.layer.descriptor, self.layer.geometry
        started = self.events.started
        m.submodules.walker = walker = KWalker()
        next_rows = Signal(data.ArrayLayout(row_params_layout(), n_rows))
        walk_row = Signal(range(n_rows))
        m.d.comb += [
            walker.K.eq(g.K),
            walker.C.eq(d.C),
            walker.S.eq(d.S),
            walker.pix_step.eq(g.pix_step),
            walker.row_step.eq(g.row_step),
            walker.restart.eq(self.layer.run),
        ]
        with m.If(self.layer.run):
            m.d.sync += [self.ready.eq(0), walk_row.eq(0)]
        with m.Elif(self.layer.busy & (~self.ready | started)):
            with m.Switch(walk_row):
                for i in range(n_rows):
                    with m.Case(i):
                        m.d.sync += next_rows[i].eq(walker.params)
            with m.If(walk_row == n_rows - 1):
                m.d.sync += [walk_row.eq(0), self.ready.eq(1)]
                m.d.comb += walker.restart.eq(walker.last)
                m.d.comb += walker.step.eq(~walker.last)
            with m.Else():
                m.d.sync += walk_row.eq(walk_row + 1)
                m.d.comb += walker.step.eq(1)
        with m.If(started):
            m.d.sync += self.rows.eq(next_rows)
            with m.If(walk_row != n_rows - 1):  # the refill starts at row 0 this cycle
                m.d.sync += self.ready.eq(0)
        return m
