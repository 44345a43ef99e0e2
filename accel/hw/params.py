"""Parameter loader: the per-channel bias, multiplier and shift tiles into the parameter buffer."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.hw.geometry import layer_signature
from accel.hw.postproc import param_layout
from accel.hw.reader import read_client_members
from accel.spec.config import AccelConfig

__all__ = ["ParamLoader", "param_read_signature"]


def param_read_signature(cols: int, depth: int) -> wiring.Signature:
    """Read port of the parameter buffer, reader's view: ``addr`` (tile) out, ``data`` in.

    The port is synchronous: ``data`` is the tile at the ``addr`` of the previous cycle.
    """
    return wiring.Signature({"addr": Out(range(depth)), "data": In(param_layout(cols))})


class ParamLoader(wiring.Component):
    """Loads the ``m_tiles`` parameter tiles of a layer, once per layer, from ``PARAM_ADDR``.

    On ``layer.run`` it requests one read command of ``m_tiles * param_tile_beats`` beats at
    ``PARAM_ADDR`` (offered on ``cmd`` from the next cycle on until accepted), reassembles every
    ``param_tile_beats`` beats into one :func:`~accel.hw.postproc.param_layout` tile and writes
    it to the next entry of the buffer (tile ``j`` of the layer at entry ``j``) in the cycle its
    last beat arrives. ``loaded`` rises in the cycle after the command's last beat and stays
    high until the next ``layer.run``.

    Ports
    -----
    layer : ``In(layer_signature())``
        ``run``, the descriptor's ``PARAM_ADDR`` and the geometry's ``m_tiles``.
    cmd : ``Out(stream.Signature(read_command_layout()))``
        Read DMA command (the reader's parameter client).
    data : ``In(stream.Signature(read_data_layout(bus_width)))``
        The command's beats; always ready.
    loaded : ``Out(1)``
        Every tile of the layer is in the buffer.
    read : ``In(param_read_signature(cols, param_depth))``
        Synchronous read port for the post-processor (data one cycle after the address).
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "layer": In(layer_signature()),
                **read_client_members(config.bus_width),
                "loaded": Out(1),
                "read": In(param_read_signature(config.cols, config.param_depth)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        d, g = self.layer.descriptor, self.layer.geometry
        beats = cfg.param_tile_beats

        m.submodules.mem = mem = Memory(
            shape=param_layout(cfg.cols), depth=cfg.param_depth, init=[]
        )
        wp = mem.write_port()
        rp = mem.read_port()
        m.d.comb += [rp.addr.eq(self.read.addr), self.read.data.eq(rp.data)]

        shift = Signal(beats * cfg.bus_width)  # the tile's beats, newest at the top
        beat = Signal(range(beats + 1))
        tile = Signal(16)
        total = Signal(32)  # m_tiles * beats, registered on run (the command follows it)
        m.d.comb += [
            self.cmd.payload.addr.eq(d.PARAM_ADDR),
            self.cmd.payload.beats.eq(total),
            self.data.ready.eq(1),
        ]
        with m.If(self.layer.run):
            m.d.sync += [beat.eq(0), tile.eq(0), total.eq(g.m_tiles * beats)]
        assembled = Cat(shift[cfg.bus_width :], self.data.payload.data)
        with m.If(self.data.valid):
            m.d.sync += shift.eq(assembled)
            with m.If(beat + 1 == beats):
                m.d.sync += [beat.eq(0), tile.eq(tile + 1)]
                m.d.comb += [
                    wp.en.eq(1),
                    wp.addr.eq(tile),
                    wp.data.eq(assembled[: param_layout(cfg.cols).size]),
                ]
            with m.Else():
                m.d.sync += beat.eq(beat + 1)

        # ``run`` (re)starts the loader in any state; it only comes while no parameter beat is
        # in flight (the previous layer ended with the read DMA idle).
        with m.FSM(name="params"):
            with m.State("IDLE"):
                with m.If(self.layer.run):
                    m.next = "REQUEST"
            with m.State("REQUEST"):
                m.d.comb += self.cmd.valid.eq(1)
                with m.If(self.cmd.ready & ~self.layer.run):
                    m.next = "LOADING"
            with m.State("LOADING"):
                with m.If(self.layer.run):
                    m.next = "REQUEST"
                with m.Elif(self.data.valid & self.data.payload.last):
                    m.next = "LOADED"
            with m.State("LOADED"):
                m.d.comb += self.loaded.eq(1)
                with m.If(self.layer.run):
                    m.next = "REQUEST"
        return m
