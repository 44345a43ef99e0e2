"""Weight-bank loader: weight tiles from the FIFO into the array's double-buffered banks."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.hw.geometry import layer_signature
from accel.hw.issuer import tile_events_signature
from accel.spec.config import AccelConfig

__all__ = ["BankLoader"]


class BankLoader(wiring.Component):
    """Loads each weight tile into the idle one of the array's two weight banks.

    Tiles go to banks 0, 1, 0, ... from ``layer.run`` on (tile 0 of every layer in bank 0,
    like the issuer's tile parity). A tile is popped from ``tile`` and loaded in the same cycle
    when a layer is ``busy``, fewer than two loaded tiles wait for their pixel stream, and its
    bank is free. A bank is in use from the cycle its tile starts (``events.started`` with
    ``events.started_bank``) and in every cycle a vector is issued with it (``events.issue``
    with ``events.bank``); it becomes free ``hold`` cycles after the last such cycle. With
    ``hold = InputFeeder.LATENCY + SystolicArray.bank_reuse_delay`` a reload never changes a
    vector already issued: a vector issued in cycle T enters the array in T + LATENCY and its
    bank may be reloaded from T + LATENCY + bank_reuse_delay on.

    Ports
    -----
    layer : ``In(layer_signature())``
        ``run`` and ``busy``.
    tile : ``In(stream.Signature(weight_tile_beats * bus_width))``
        The weight tile FIFO (:class:`~accel.hw.weights.WeightFetcher`); ``ready`` depends on
        ``layer.busy`` and the loader's registers only, not on ``valid``.
    events : ``In(tile_events_signature())``
        The issuer's tile starts and vectors.
    load_valid, load_bank, load_weights : ``Out``
        To the array's load port: load ``load_weights`` (the tile's first ``rows * cols``
        bytes) into bank ``load_bank`` at the end of this cycle. Registered: the tile popped
        in cycle L is written into the PEs at the end of L + 1 (the tile FIFO's read data
        reaches every PE of the array through a register of its own).
    weights_ready : ``Out(1)``
        A loaded tile waits for its pixel stream, or one is being loaded this cycle. A tile
        may start as it is popped: its first vector reaches the first PE ``FEEDER_LATENCY``
        (3) cycles after its issue at the earliest, after the write in L + 1.
    """

    def __init__(self, config: AccelConfig, hold: int):
        self.config = config
        self.hold = hold
        tile_bits = config.weight_tile_beats * config.bus_width
        super().__init__(
            {
                "layer": In(layer_signature()),
                "tile": In(stream.Signature(tile_bits)),
                "events": In(tile_events_signature()),
                "load_valid": Out(1),
                "load_bank": Out(1),
                "load_weights": Out(data.ArrayLayout(signed(8), config.rows * config.cols)),
                "weights_ready": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        ev = self.events
        timers = [Signal(range(self.hold + 1), name=f"bank{b}_timer") for b in range(2)]
        loaded_ahead = Signal(range(3))  # tiles loaded into the array, not yet started
        load_now = Signal()
        bank = Signal()  # the bank of the next tile
        free = Mux(bank, timers[1] == 0, timers[0] == 0)
        m.d.comb += [
            self.tile.ready.eq(self.layer.busy & (loaded_ahead < 2) & free),
            load_now.eq(self.tile.valid & self.tile.ready),
            self.weights_ready.eq((loaded_ahead != 0) | load_now),
        ]
        m.d.sync += [
            self.load_valid.eq(load_now),
            self.load_bank.eq(bank),
            self.load_weights.eq(self.tile.payload[: cfg.rows * cfg.cols * 8]),
        ]
        with m.If(self.layer.run):
            m.d.sync += bank.eq(0)
        with m.Elif(load_now):
            m.d.sync += bank.eq(~bank)
        m.d.sync += loaded_ahead.eq(loaded_ahead + load_now - ev.started)

        for b in range(2):
            using = (ev.issue & (ev.bank == b)) | (ev.started & (ev.started_bank == b))
            with m.If(using):
                m.d.sync += timers[b].eq(self.hold - 1)
            with m.Elif(timers[b] != 0):
                m.d.sync += timers[b].eq(timers[b] - 1)
        return m
