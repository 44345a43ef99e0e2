"""Weight fetcher: the layer's weight tiles, band by band, into the weight tile FIFO."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out, connect, flipped

from accel.hw.bands import BandCounter
from accel.hw.geometry import layer_signature
from accel.hw.reader import read_client_members
from accel.spec.config import AccelConfig

__all__ = ["WeightFetcher"]


class WeightFetcher(wiring.Component):
    """Streams the weight tiles of every band through a ``weight_depth``-tile FIFO.

    The driver packs the ``tiles = m_tiles * k_tiles`` weight tiles of a layer at ``W_ADDR`` in
    the order the issuer uses them (``m_tile`` outer, ``k_tile`` inner); every band uses all of
    them again, so the fetcher walks ``for band: for tile: read tile`` from ``layer.run`` on,
    one read command of ``weight_tile_beats`` beats per tile. A command is offered while fewer
    than ``weight_depth`` tiles are requested and not yet popped from the FIFO (so the FIFO
    never overflows). Its beats are reassembled into a tile that enters the FIFO in the cycle
    its last beat arrives; it is visible on ``tile`` from the next cycle on.

    Ports
    -----
    layer : ``In(layer_signature())``
        ``run``, the descriptor's ``W_ADDR`` and the band walk, the geometry's ``tiles``.
    cmd : ``Out(stream.Signature(read_command_layout()))``
        Read DMA commands (the reader's weight client), one per tile.
    data : ``In(stream.Signature(read_data_layout(bus_width)))``
        The commands' beats; always ready.
    tile : ``Out(stream.Signature(weight_tile_beats * bus_width))``
        Head of the tile FIFO (the packed tile, zero-padded to whole beats; element ``i * cols
        + j`` in byte ``i * cols + j``). ``valid`` while the FIFO holds a tile; a transfer pops
        it (the payload is a combinational read of the FIFO memory).
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        self.tile_bits = config.weight_tile_beats * config.bus_width
        super().__init__(
            {
                "layer": In(layer_signature()),
                **read_client_members(config.bus_width),
                "tile": Out(stream.Signature(self.tile_bits)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        d, g = self.layer.descriptor, self.layer.geometry
        depth = cfg.weight_depth
        beats = cfg.weight_tile_beats

        # ---- requests: one command per tile, at most `depth` tiles ahead of the pops -------
        m.submodules.band = band = BandCounter()
        connect(m, flipped(self.layer), band.layer)
        # Down counter of the band's tiles and its zero test as a register: the request
        # (the DMA's handshake) only selects, it does not reach a comparator.
        tiles_left = Signal(32)  # tiles - 1 - the tile being requested
        last_tile = Signal()  # tiles_left == 0
        fetch_addr = Signal(32)
        reserved = Signal(range(depth + 1))  # tiles requested, not yet popped
        request = Signal()
        pop = Signal()
        m.d.comb += [
            self.cmd.payload.addr.eq(fetch_addr),
            self.cmd.payload.beats.eq(beats),
            request.eq(self.cmd.valid & self.cmd.ready),
            pop.eq(self.tile.valid & self.tile.ready),
        ]
        m.d.sync += reserved.eq(reserved + request - pop)

        # ``run`` restarts the walk in either state (it never comes while a layer is running).
        with m.FSM(name="fetch"):
            with m.State("IDLE"):
                with m.If(self.layer.run):
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += self.cmd.valid.eq(reserved < depth)
                with m.If(~self.layer.run & request & last_tile & band.last):
                    m.next = "IDLE"
        first_tile = [tiles_left.eq(g.tiles - 1), last_tile.eq(g.tiles == 1)]
        with m.If(self.layer.run):
            m.d.sync += [*first_tile, fetch_addr.eq(d.W_ADDR)]
            m.d.comb += band.restart.eq(1)
        with m.Elif(request):
            with m.If(last_tile):
                m.d.sync += [*first_tile, fetch_addr.eq(d.W_ADDR)]
                m.d.comb += band.advance.eq(1)
            with m.Else():
                m.d.sync += [
                    tiles_left.eq(tiles_left - 1),
                    last_tile.eq(tiles_left == 1),
                    fetch_addr.eq(fetch_addr + beats * cfg.bus_bytes),
                ]

        # ---- tile FIFO: beats reassembled into tiles -----------------------------------------
        m.submodules.mem = mem = Memory(shape=self.tile_bits, depth=depth, init=[])
        wp = mem.write_port()
        rp = mem.read_port(domain="comb")
        wptr = Signal(range(depth))
        rptr = Signal(range(depth))
        count = Signal(range(depth + 1))  # tiles in the FIFO
        push = Signal()
        shift = Signal(self.tile_bits)
        beat = Signal(range(beats + 1))
        m.d.comb += self.data.ready.eq(1)
        assembled = Cat(shift[cfg.bus_width :], self.data.payload.data)
        with m.If(self.data.valid):
            m.d.sync += shift.eq(assembled)
            with m.If(beat + 1 == beats):
                m.d.sync += [beat.eq(0), wptr.eq(wptr + 1)]
                m.d.comb += [push.eq(1), wp.en.eq(1), wp.addr.eq(wptr), wp.data.eq(assembled)]
            with m.Else():
                m.d.sync += beat.eq(beat + 1)
        m.d.sync += count.eq(count + push - pop)
        with m.If(pop):
            m.d.sync += rptr.eq(rptr + 1)
        m.d.comb += [
            rp.addr.eq(rptr),
            self.tile.valid.eq(count != 0),
            self.tile.payload.eq(rp.data),
        ]
        return m
