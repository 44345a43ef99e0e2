"""The accelerator core: control port, sequencing engines and datapath on the internal memory port.

Loop nest run for one layer (see docs/architecture.md)::

    for n in N:                       # image
      for band in E_run / BAND:       # pixel tile: BAND output rows, all F columns
        load the input window of the band (once per image when it all fits)
        for m_tile in M / cols:       # columns of the array = output channels
          for k_tile in K / rows:     # rows of the array = reduction k = (r, s, c)
            for pixel in band:        # streamed, one pixel per cycle
              acc[m_tile, pixel] (+)= W[k_tile, m_tile] . im2col[pixel, k_tile]
        post-process the band (other accumulator half) while the next band computes

Weight tiles stream from memory through a small FIFO in exactly this order (the driver packs
them so); each tile is loaded into the idle bank of the array's double-buffered weight
registers while the previous tile is still streaming, so tile switches cost no cycles.

Engines (each its own component; this module only wires them):

* :class:`~accel.hw.geometry.LayerSetup` validates the descriptor and derives the layer
  constants; every engine sees them, with ``run`` and ``busy``, through one
  :func:`~accel.hw.geometry.layer_signature` bundle;
* :class:`~accel.hw.prefetch.InputPrefetcher` (read client :data:`INPUT_CLIENT`) loads each
  band's input rows into the :class:`~accel.hw.feeder.InputFeeder` banks;
* :class:`~accel.hw.weights.WeightFetcher` (read client :data:`WEIGHT_CLIENT`) streams the
  weight tiles into the tile FIFO, :class:`~accel.hw.banks.BankLoader` loads them into the
  :class:`~accel.hw.array.SystolicArray` banks;
* :class:`~accel.hw.params.ParamLoader` (read client :data:`PARAM_CLIENT`) loads the
  per-channel requantization parameters;
* :class:`~accel.hw.ktiles.KTileRows` computes the per-row constants of the K tiles and
  :class:`~accel.hw.issuer.Issuer` walks bands, tiles and pixels, one vector per cycle, into
  the feeder and the array;
* :class:`~accel.hw.accum.Accumulators` adds the array's results into two ping-pong halves;
* :class:`~accel.hw.output.OutputSequencer` post-processes each completed band and hands its
  bytes to the :class:`~accel.hw.writer.OutputWriter`.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from accel.hw.accum import Accumulators, acc_tag_layout
from accel.hw.array import SystolicArray
from accel.hw.banks import BankLoader
from accel.hw.control import ControlPort, command_layout, response_layout
from accel.hw.feeder import InputFeeder
from accel.hw.geometry import LayerSetup, layer_signature
from accel.hw.issuer import Issuer
from accel.hw.ktiles import KTileRows
from accel.hw.memport import MemPortSignature
from accel.hw.output import OutputSequencer
from accel.hw.params import ParamLoader
from accel.hw.prefetch import InputPrefetcher
from accel.hw.reader import ReadDMA
from accel.hw.weights import WeightFetcher
from accel.hw.writer import OutputWriter
from accel.spec.config import AccelConfig

# Read clients in priority order: the input window gates compute, parameters are needed last.
INPUT_CLIENT, WEIGHT_CLIENT, PARAM_CLIENT = 0, 1, 2


class Accelerator(wiring.Component):
    """The whole accelerator with the CFU command port and the internal memory port.

    ``cmd``/``rsp``: the custom-instruction port (see :mod:`accel.spec.isa`).
    ``mem``: the internal memory port (:class:`accel.hw.memport.MemPortSignature`).
    ``busy``: a layer is running (for observation; the firmware uses STATUS/WAIT).
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "cmd": In(stream.Signature(command_layout())),
                "rsp": Out(stream.Signature(response_layout())),
                "mem": Out(MemPortSignature(config.bus_width)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        tag_width = acc_tag_layout(cfg).size

        m.submodules.control = control = ControlPort(cfg)
        m.submodules.setup = setup = LayerSetup(cfg)
        m.submodules.reader = reader = ReadDMA(cfg.bus_width, clients=3, max_burst=cfg.max_burst)
        m.submodules.writer = writer = OutputWriter(cfg.bus_width, cfg.cols, cfg.max_burst)
        m.submodules.prefetch = prefetch = InputPrefetcher(cfg)
        m.submodules.weights = weights = WeightFetcher(cfg)
        m.submodules.params = params = ParamLoader(cfg)
        m.submodules.ktiles = ktiles = KTileRows(cfg)
        m.submodules.issuer = issuer = Issuer(cfg)
        m.submodules.feeder = feeder = InputFeeder(cfg, tag_width)
        m.submodules.array = array = SystolicArray(
            cfg.rows, cfg.cols, tag_width=tag_width, logic_mul_cols=cfg.logic_mul_cols
        )
        # A vector issued in cycle T enters the array in T + LATENCY; its bank may be reloaded
        # from T + LATENCY + bank_reuse_delay on.
        bank_hold = InputFeeder.LATENCY + array.bank_reuse_delay
        m.submodules.banks = banks = BankLoader(cfg, hold=bank_hold)
        m.submodules.acc = acc = Accumulators(cfg)
        m.submodules.output = output = OutputSequencer(cfg)

        # ---- ports -------------------------------------------------------------------------
        connect(m, flipped(self.cmd), control.cmd)
        connect(m, control.rsp, flipped(self.rsp))
        connect(m, reader.rd_req, flipped(self.mem.rd_req))
        connect(m, flipped(self.mem.rd_rsp), reader.rd_rsp)
        connect(m, writer.wr_req, flipped(self.mem.wr_req))
        connect(m, writer.wr_data, flipped(self.mem.wr_data))
        connect(m, flipped(self.mem.wr_rsp), writer.wr_rsp)

        # ---- the layer: descriptor, derived constants, run and busy -----------------------
        busy = Signal()  # from START until the last output byte is acknowledged
        layer = layer_signature().create(path=("layer",))
        m.d.comb += [
            setup.descriptor.eq(control.descriptor),
            setup.start.eq(control.start),
            layer.descriptor.eq(control.descriptor),
            layer.geometry.eq(setup.geometry),
            layer.run.eq(setup.done & (setup.error == 0)),
            layer.busy.eq(busy),
            control.busy.eq(busy),
            self.busy.eq(busy),
        ]
        with m.If(control.start):
            m.d.sync += busy.eq(1)
        with m.Elif(setup.done & (setup.error != 0)):
            m.d.sync += busy.eq(0)
        with m.Elif(output.finished):
            m.d.sync += busy.eq(0)
        connect(m, layer, prefetch.layer, weights.layer, params.layer, ktiles.layer)
        connect(m, layer, issuer.layer, banks.layer, output.layer)

        # ---- DMA clients -------------------------------------------------------------------
        connect(m, prefetch.cmd, reader.cmd[INPUT_CLIENT])
        connect(m, reader.data[INPUT_CLIENT], prefetch.data)
        connect(m, weights.cmd, reader.cmd[WEIGHT_CLIENT])
        connect(m, reader.data[WEIGHT_CLIENT], weights.data)
        connect(m, params.cmd, reader.cmd[PARAM_CLIENT])
        connect(m, reader.data[PARAM_CLIENT], params.data)
        connect(m, output.region, writer.cmd)
        connect(m, output.bytes, writer.data)

        # ---- engine handshakes ---------------------------------------------------------------
        connect(m, prefetch.window, issuer.window)
        connect(m, weights.tile, banks.tile)
        connect(m, issuer.events, banks.events, ktiles.events)
        connect(m, issuer.halves, acc.halves)
        connect(m, output.acc, acc.read)
        connect(m, output.params, params.read)
        m.d.comb += [
            issuer.weights_ready.eq(banks.weights_ready),
            issuer.rows_ready.eq(ktiles.ready),
            output.params_loaded.eq(params.loaded),
            output.dma_idle.eq(reader.idle & writer.idle),
        ]

        # ---- datapath: input banks -> feeder -> array -> accumulators ------------------------
        d = control.descriptor
        connect(m, prefetch.write, feeder.write)
        m.d.comb += [
            feeder.issue.eq(issuer.events.issue),
            feeder.bank.eq(issuer.events.bank),
            feeder.hb.eq(issuer.hb),
            feeder.wb.eq(issuer.wb),
            feeder.pixbase.eq(issuer.pixbase),
            feeder.tag.eq(issuer.tag),
            feeder.rows.eq(ktiles.rows),
            feeder.H.eq(d.H),
            feeder.W.eq(d.W),
            feeder.zero_point.eq(d.IN_ZP),
            array.load_valid.eq(banks.load_valid),
            array.load_bank.eq(banks.load_bank),
            array.load_weights.eq(banks.load_weights),
            array.in_valid.eq(feeder.out_valid),
            array.in_bank.eq(feeder.out_bank),
            array.in_data.eq(feeder.out_data),
            array.in_tag.eq(feeder.out_tag),
            acc.in_valid.eq(array.out_valid),
            acc.in_tag.eq(array.out_tag),
            acc.in_data.eq(array.out_data),
        ]

        # ---- status and performance counters -------------------------------------------------
        lane_bits = (cfg.bus_bytes - 1).bit_length()
        m.d.comb += [
            control.desc_error.eq(Mux(setup.done, setup.error, 0)),
            control.bus_error.eq(reader.error | writer.error),
            control.count_mac.eq(issuer.events.issue),
            control.count_stall.eq(issuer.stall),
            reader.clear.eq(control.clear_counters),
            writer.clear.eq(control.clear_counters),
            control.dma_read_bytes.eq(reader.beats_read << lane_bits),
            control.dma_write_bytes.eq(writer.bytes_written),
        ]
        return m
