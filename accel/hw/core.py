"""The accelerator core: control port, sequencer and datapath on the internal memory port.

Loop nest run by the sequencer for one layer (see docs/architecture.md)::

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
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out, connect

from accel.hw.array import SystolicArray
from accel.hw.control import ControlPort, command_layout, response_layout
from accel.hw.feeder import COORD_SHAPE, PIXBASE_SHAPE, InputFeeder, KWalker, row_params_layout
from accel.hw.geometry import LayerSetup
from accel.hw.memport import MemPortSignature
from accel.hw.postproc import PostProcessor, param_layout
from accel.hw.reader import ReadDMA
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
        bb = cfg.bus_bytes
        lane_bits = (bb - 1).bit_length()

        m.submodules.control = control = ControlPort(cfg)
        m.submodules.setup = setup = LayerSetup(cfg)
        m.submodules.reader = reader = ReadDMA(cfg.bus_width, clients=3, max_burst=cfg.max_burst)
        m.submodules.writer = writer = OutputWriter(cfg.bus_width, cfg.cols, cfg.max_burst)
        acc_addr_bits = (2 * cfg.acc_depth - 1).bit_length()
        tag_width = acc_addr_bits + 2  # accumulator address, first k tile, last of band
        m.submodules.feeder = feeder = InputFeeder(cfg, tag_width)
        m.submodules.walker = walker = KWalker()
        m.submodules.array = array = SystolicArray(cfg.rows, cfg.cols, tag_width=tag_width)
        m.submodules.post = post = PostProcessor(cfg)

        wiring.connect(m, wiring.flipped(self.cmd), control.cmd)
        wiring.connect(m, control.rsp, wiring.flipped(self.rsp))
        m.d.comb += [
            self.mem.rd_req.payload.eq(reader.rd_req.payload),
            self.mem.rd_req.valid.eq(reader.rd_req.valid),
            reader.rd_req.ready.eq(self.mem.rd_req.ready),
            reader.rd_rsp.payload.eq(self.mem.rd_rsp.payload),
            reader.rd_rsp.valid.eq(self.mem.rd_rsp.valid),
            self.mem.rd_rsp.ready.eq(reader.rd_rsp.ready),
            self.mem.wr_req.payload.eq(writer.wr_req.payload),
            self.mem.wr_req.valid.eq(writer.wr_req.valid),
            writer.wr_req.ready.eq(self.mem.wr_req.ready),
            self.mem.wr_data.payload.eq(writer.wr_data.payload),
            self.mem.wr_data.valid.eq(writer.wr_data.valid),
            writer.wr_data.ready.eq(self.mem.wr_data.ready),
            writer.wr_rsp.payload.eq(self.mem.wr_rsp.payload),
            writer.wr_rsp.valid.eq(self.mem.wr_rsp.valid),
            self.mem.wr_rsp.ready.eq(writer.wr_rsp.ready),
        ]

        d = control.descriptor
        g = setup.geometry
        busy = Signal()
        run = Signal()  # one-cycle pulse: descriptor valid, engines start
        m.d.comb += [
            setup.descriptor.eq(d),
            setup.start.eq(control.start),
            control.busy.eq(busy),
            self.busy.eq(busy),
            control.desc_error.eq(Mux(setup.done, setup.error, 0)),
            control.bus_error.eq(reader.error | writer.error),
            reader.clear.eq(control.clear_counters),
            writer.clear.eq(control.clear_counters),
            control.dma_read_bytes.eq(reader.beats_read << lane_bits),
            control.dma_write_bytes.eq(writer.bytes_written),
            run.eq(setup.done & (setup.error == 0)),
        ]

        # ---- band bookkeeping shared by the engines -------------------------------------
        def band_counter(name):
            """(n, e0, e0*U, rows, index) of a band walk over the layer; returns helpers.

            ``e0u`` follows ``e0 * U`` without a multiplier (e0 < E_run < 2**16, U < 16).
            """
            n = Signal(16, name=f"{name}_n")
            e0 = Signal(16, name=f"{name}_e0")
            e0u = Signal(20, name=f"{name}_e0u")
            index = Signal(32, name=f"{name}_band")
            remaining = g.E_run - e0
            rows = Mux(remaining < d.BAND, remaining, d.BAND)
            last_in_image = e0 + d.BAND >= g.E_run
            last = last_in_image & (n + 1 == d.N)

            def reset():
                return [n.eq(0), e0.eq(0), e0u.eq(0), index.eq(0)]

            def advance():
                return [
                    e0.eq(Mux(last_in_image, 0, e0 + d.BAND)),
                    e0u.eq(Mux(last_in_image, 0, e0u + g.band_u + d.U)),
                    n.eq(Mux(last_in_image, n + 1, n)),
                    index.eq(index + 1),
                ]

            return n, e0, e0u, rows, index, last, reset, advance

        # ---- parameter loader (client 0) -------------------------------------------------
        param_mem = Memory(shape=param_layout(cfg.cols), depth=cfg.param_depth, init=[])
        m.submodules.param_mem = param_mem
        param_wp = param_mem.write_port()
        param_rp = param_mem.read_port()
        param_shift = Signal(cfg.param_tile_beats * cfg.bus_width)
        param_beat = Signal(range(cfg.param_tile_beats + 1))
        param_tile = Signal(16)
        params_loaded = Signal()
        param_cmd = reader.cmd[PARAM_CLIENT]
        param_data = reader.data[PARAM_CLIENT]
        param_issue = Signal()
        m.d.comb += [
            param_cmd.payload.addr.eq(d.PARAM_ADDR),
            param_cmd.payload.beats.eq(g.m_tiles * cfg.param_tile_beats),
            param_cmd.valid.eq(param_issue),
            param_data.ready.eq(1),
        ]
        with m.If(param_cmd.valid & param_cmd.ready):
            m.d.sync += param_issue.eq(0)
        with m.If(run):
            m.d.sync += [param_issue.eq(1), params_loaded.eq(0), param_beat.eq(0), param_tile.eq(0)]
        assembled = Cat(param_shift[cfg.bus_width :], param_data.payload.data)
        with m.If(param_data.valid):
            m.d.sync += param_shift.eq(assembled)
            with m.If(param_beat + 1 == cfg.param_tile_beats):
                m.d.sync += [param_beat.eq(0), param_tile.eq(param_tile + 1)]
                m.d.comb += [
                    param_wp.en.eq(1),
                    param_wp.addr.eq(param_tile),
                    param_wp.data.eq(assembled[: param_layout(cfg.cols).size]),
                ]
            with m.Else():
                m.d.sync += param_beat.eq(param_beat + 1)
            with m.If(param_data.payload.last):
                m.d.sync += params_loaded.eq(1)

        # ---- weight fetcher (client 2) and weight tile FIFO ------------------------------
        tile_bits = cfg.weight_tile_beats * cfg.bus_width
        weight_mem = Memory(shape=tile_bits, depth=cfg.weight_depth, init=[])
        m.submodules.weight_mem = weight_mem
        weight_wp = weight_mem.write_port()
        weight_rp = weight_mem.read_port(domain="comb")
        w_wptr = Signal(range(cfg.weight_depth))
        w_rptr = Signal(range(cfg.weight_depth))
        w_count = Signal(range(cfg.weight_depth + 1))  # tiles in the FIFO
        w_reserved = Signal(range(cfg.weight_depth + 1))  # tiles requested, not yet consumed
        w_pop = Signal()
        w_push = Signal()
        weight_shift = Signal(tile_bits)
        weight_beat = Signal(range(cfg.weight_tile_beats + 1))
        fetch_running = Signal()
        fetch_tile = Signal(32)
        fetch_addr = Signal(32)
        f_n, f_e0, f_e0u, f_rows, f_band, f_last, f_reset, f_advance = band_counter("fetch")
        weight_cmd = reader.cmd[WEIGHT_CLIENT]
        weight_data = reader.data[WEIGHT_CLIENT]
        fetch_request = Signal()
        m.d.comb += [
            weight_cmd.payload.addr.eq(fetch_addr),
            weight_cmd.payload.beats.eq(cfg.weight_tile_beats),
            weight_cmd.valid.eq(fetch_running & (w_reserved < cfg.weight_depth)),
            fetch_request.eq(weight_cmd.valid & weight_cmd.ready),
            weight_data.ready.eq(1),
        ]
        with m.If(run):
            m.d.sync += [fetch_running.eq(1), fetch_tile.eq(0), fetch_addr.eq(d.W_ADDR)]
            m.d.sync += f_reset()
        with m.Elif(fetch_request):
            with m.If(fetch_tile + 1 == g.tiles):
                m.d.sync += [fetch_tile.eq(0), fetch_addr.eq(d.W_ADDR)]
                m.d.sync += f_advance()
                with m.If(f_last):
                    m.d.sync += fetch_running.eq(0)
            with m.Else():
                m.d.sync += [
                    fetch_tile.eq(fetch_tile + 1),
                    fetch_addr.eq(fetch_addr + cfg.weight_tile_beats * bb),
                ]
        m.d.sync += w_reserved.eq(w_reserved + fetch_request - w_pop)
        w_assembled = Cat(weight_shift[cfg.bus_width :], weight_data.payload.data)
        with m.If(weight_data.valid):
            m.d.sync += weight_shift.eq(w_assembled)
            with m.If(weight_beat + 1 == cfg.weight_tile_beats):
                m.d.sync += [weight_beat.eq(0), w_wptr.eq(w_wptr + 1)]
                m.d.comb += [
                    w_push.eq(1),
                    weight_wp.en.eq(1),
                    weight_wp.addr.eq(w_wptr),
                    weight_wp.data.eq(w_assembled),
                ]
            with m.Else():
                m.d.sync += weight_beat.eq(weight_beat + 1)
        m.d.sync += w_count.eq(w_count + w_push - w_pop)
        with m.If(w_pop):
            m.d.sync += w_rptr.eq(w_rptr + 1)
        m.d.comb += weight_rp.addr.eq(w_rptr)

        # ---- array weight-bank loading ---------------------------------------------------
        # A bank may be reloaded once the last vector that uses it has passed every PE.
        # A vector issued in cycle T enters the array in T + LATENCY; its bank may be reloaded
        # from T + LATENCY + bank_reuse_delay on, i.e. when the timer set to hold - 1 is 0.
        bank_hold = InputFeeder.LATENCY + array.bank_reuse_delay
        bank_timer = [Signal(range(bank_hold + 1), name=f"bank{b}_timer") for b in range(2)]
        load_bank = Signal()  # bank of the next tile to load
        loaded_ahead = Signal(range(3))  # tiles loaded into the array, not yet streamed
        tile_started = Signal()
        load_now = Signal()
        free = Mux(load_bank, bank_timer[1] == 0, bank_timer[0] == 0)
        m.d.comb += [
            load_now.eq(busy & (w_count != 0) & (loaded_ahead < 2) & free),
            w_pop.eq(load_now),
            array.load_valid.eq(load_now),
            array.load_bank.eq(load_bank),
            array.load_weights.eq(weight_rp.data[: cfg.rows * cfg.cols * 8]),
        ]
        with m.If(run):  # tile 0 of every layer uses bank 0, like the issuer's tile_parity
            m.d.sync += load_bank.eq(0)
        with m.Elif(load_now):
            m.d.sync += load_bank.eq(~load_bank)
        m.d.sync += loaded_ahead.eq(loaded_ahead + load_now - tile_started)

        # ---- K walker: row constants of the next K tile ----------------------------------
        next_rows = Signal(data.ArrayLayout(row_params_layout(), cfg.rows))
        cur_rows = Signal(data.ArrayLayout(row_params_layout(), cfg.rows))
        next_ready = Signal()
        walk_row = Signal(range(cfg.rows))
        m.d.comb += [
            walker.K.eq(g.K),
            walker.C.eq(d.C),
            walker.S.eq(d.S),
            walker.row_step.eq(g.row_step),
            walker.restart.eq(run),
        ]
        with m.If(run):
            m.d.sync += [next_ready.eq(0), walk_row.eq(0)]
        with m.Elif(busy & (~next_ready | tile_started)):
            with m.Switch(walk_row):
                for i in range(cfg.rows):
                    with m.Case(i):
                        m.d.sync += next_rows[i].eq(walker.params)
            with m.If(walk_row == cfg.rows - 1):
                m.d.sync += [walk_row.eq(0), next_ready.eq(1)]
                m.d.comb += walker.restart.eq(walker.last)
                m.d.comb += walker.step.eq(~walker.last)
            with m.Else():
                m.d.sync += walk_row.eq(walk_row + 1)
                m.d.comb += walker.step.eq(1)
        with m.If(tile_started):
            m.d.sync += cur_rows.eq(next_rows)
            with m.If(walk_row != cfg.rows - 1):  # the refill starts at row 0 this cycle
                m.d.sync += next_ready.eq(0)

        # ---- issuer: input window per band, then the tiles' pixel streams -----------------
        n, e0, e0u, rows, band, last_band, band_reset, band_advance = band_counter("issue")
        acc_free = Signal(2, init=0b11)  # accumulator halves not holding an unread band
        acc_release = Signal(2)
        acc_claim = Signal(2)
        half = band[0]
        img_off = Signal(32)  # n * H*W*C
        hb0 = Signal(COORD_SHAPE)
        band_pixbase = Signal(PIXBASE_SHAPE)
        win_base = Signal(32)  # memory address of input bank word 0
        loaded_bands = Signal(32)  # bands whose input rows are in the banks
        issuer_at_band = Signal()  # the issuer waits between bands: banks not being read
        drain = Signal(range(InputFeeder.LATENCY + 2))

        m_tile = Signal(16)
        k_tile = Signal(32)
        m_base = Signal(32)  # m_tile * band_pixels
        e = Signal(16)
        f = Signal(16)
        hb = Signal(COORD_SHAPE)
        wb = Signal(COORD_SHAPE)
        pixbase = Signal(PIXBASE_SHAPE)
        row_pixbase = Signal(PIXBASE_SHAPE)
        pixel = Signal(32)
        tile_parity = Signal()
        issue = Signal()
        stall = Signal()

        last_pixel = (e + 1 == e0 + rows) & (f + 1 == d.F)
        last_k = k_tile + 1 == g.k_tiles
        last_m = m_tile + 1 == g.m_tiles
        # The array uses a tile from its load cycle on, so a tile may start as it loads.
        can_start = ((loaded_ahead != 0) | load_now) & next_ready
        acc_address = Mux(half, cfg.acc_depth, 0) + m_base + pixel

        m.d.comb += [
            feeder.issue.eq(issue),
            feeder.hb.eq(hb),
            feeder.wb.eq(wb),
            feeder.pixbase.eq(pixbase),
            feeder.rows.eq(cur_rows),
            feeder.bank.eq(tile_parity),
            feeder.tag.eq(
                Cat(acc_address[:acc_addr_bits], k_tile == 0, last_pixel & last_k & last_m)
            ),
            feeder.H.eq(d.H),
            feeder.W.eq(d.W),
            feeder.zero_point.eq(d.IN_ZP),
            array.in_valid.eq(feeder.out_valid),
            array.in_bank.eq(feeder.out_bank),
            array.in_data.eq(feeder.out_data),
            array.in_tag.eq(feeder.out_tag),
            control.count_mac.eq(issue),
            control.count_stall.eq(stall),
        ]
        # A started tile owns its bank from the start cycle on, before its first vector.
        started_bank = Signal()
        for b in range(2):
            using = (issue & (tile_parity == b)) | (tile_started & (started_bank == b))
            with m.If(using):
                m.d.sync += bank_timer[b].eq(bank_hold - 1)
            with m.Elif(bank_timer[b] != 0):
                m.d.sync += bank_timer[b].eq(bank_timer[b] - 1)

        # ---- input prefetcher (client 1): the rows each band needs, ahead of the issuer ---
        # When the whole image fits the banks, rows are appended band by band while earlier
        # bands compute and the image is loaded once; otherwise each band's window replaces
        # the previous one once the issuer has finished reading it.
        l_n, l_e0, l_e0u, l_rows, l_band, l_last, l_reset, l_advance = band_counter("load")
        l_img_off = Signal(32)
        l_hb0 = Signal(COORD_SHAPE)
        l_hlast = Signal(signed(34))
        loaded_hi = Signal(16)  # whole mode: rows [0, loaded_hi) of image l_n are loaded
        load_lo = Signal(16)
        load_hi = Signal(16)
        load_start = Signal(32)
        load_end = Signal(32)
        in_beat = Signal(32)
        input_cmd = reader.cmd[INPUT_CLIENT]
        input_data = reader.data[INPUT_CLIENT]
        new_window = ~g.whole | (l_e0 == 0)
        m.d.comb += [
            feeder.wr_en.eq(input_data.valid),
            feeder.wr_addr.eq(in_beat),
            feeder.wr_data.eq(input_data.payload.data),
            input_data.ready.eq(1),
            input_cmd.payload.addr.eq(load_start),
            input_cmd.payload.beats.eq((load_end - load_start + bb - 1) >> lane_bits),
        ]
        with m.If(input_data.valid):
            m.d.sync += in_beat.eq(in_beat + 1)

        def finish_band():
            m.d.sync += loaded_bands.eq(loaded_bands + 1)
            m.d.sync += l_advance()
            m.d.sync += l_img_off.eq(Mux(l_e0 + d.BAND >= g.E_run, l_img_off + g.HWC, l_img_off))
            with m.If(l_last):
                m.next = "IDLE"
            with m.Else():
                m.next = "BAND"

        with m.FSM(name="prefetch"):
            with m.State("IDLE"):
                with m.If(run):
                    m.d.sync += l_reset()
                    m.d.sync += [l_img_off.eq(0), loaded_bands.eq(0)]
                    m.next = "BAND"
            with m.State("BAND"):
                # (e0 + rows - 1) * U = min(e0*U + (BAND-1)*U, (E_run-1)*U), as rows =
                # min(E_run - e0, BAND): no multiplier after the band counter.
                l_top_u = l_e0u + g.band_u
                l_last_u = Mux(l_top_u < g.e_run_u, l_top_u, g.e_run_u)
                m.d.sync += [
                    l_hb0.eq(l_e0u - d.P),
                    l_hlast.eq(l_last_u - d.P + d.R),
                ]
                m.next = "RANGE"
            with m.State("RANGE"):
                top = Mux(l_hlast > d.H, d.H, l_hlast)
                with m.If(g.whole):
                    m.d.sync += [load_lo.eq(Mux(l_e0 == 0, 0, loaded_hi)), load_hi.eq(top)]
                with m.Else():
                    m.d.sync += [load_lo.eq(Mux(l_hb0 < 0, 0, l_hb0)), load_hi.eq(top)]
                m.next = "WAIT_BANKS"
            with m.State("WAIT_BANKS"):
                # A new window may only be written once the issuer reached this band.
                with m.If(~new_window | (issuer_at_band & (band == l_band))):
                    start = d.IN_ADDR + l_img_off + load_lo * g.WC
                    m.d.sync += [
                        load_start.eq(start & ~Const(bb - 1, 32)),
                        load_end.eq(d.IN_ADDR + l_img_off + load_hi * g.WC),
                    ]
                    with m.If(new_window):
                        m.d.sync += win_base.eq(start & ~Const(bb - 1, 32))
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                with m.If(load_hi <= load_lo):
                    finish_band()
                with m.Else():
                    m.d.comb += input_cmd.valid.eq(1)
                    with m.If(input_cmd.ready):
                        m.d.sync += [
                            in_beat.eq((load_start - win_base) >> lane_bits),
                            loaded_hi.eq(load_hi),
                        ]
                        m.next = "LOADING"
            with m.State("LOADING"):
                with m.If(input_data.valid & input_data.payload.last):
                    finish_band()

        def start_tile():
            """Begin the pixel stream of the next tile (weights loaded, rows ready)."""
            m.d.comb += tile_started.eq(1)
            m.d.sync += [
                e.eq(e0),
                f.eq(0),
                hb.eq(hb0),
                wb.eq(-d.P),
                pixbase.eq(band_pixbase),
                row_pixbase.eq(band_pixbase),
                pixel.eq(0),
            ]

        with m.FSM(name="issuer"):
            with m.State("IDLE"):
                with m.If(run):
                    m.d.sync += band_reset()
                    m.d.sync += [img_off.eq(0), tile_parity.eq(0)]
                    m.next = "BAND"
            with m.State("BAND"):
                # Wait for a free accumulator half and for the band's input rows.
                m.d.comb += issuer_at_band.eq(1)
                with m.If(acc_free.bit_select(half, 1) & (loaded_bands > band)):
                    m.d.comb += acc_claim.eq(Mux(half, 0b10, 0b01))
                    m.d.sync += [
                        hb0.eq(e0u - d.P),
                        m_tile.eq(0),
                        k_tile.eq(0),
                        m_base.eq(0),
                    ]
                    m.next = "BAND_BASE"
                with m.Elif(acc_free.bit_select(half, 1)):
                    m.d.comb += stall.eq(1)
            with m.State("BAND_BASE"):
                m.d.sync += band_pixbase.eq(
                    d.IN_ADDR + img_off + hb0 * g.WC.as_signed() - d.P * d.C - win_base
                )
                m.next = "TILE"
            with m.State("TILE"):
                m.d.comb += started_bank.eq(tile_parity)
                with m.If(can_start):
                    start_tile()
                    m.next = "STREAM"
                with m.Else():
                    m.d.comb += stall.eq(1)
            with m.State("STREAM"):
                m.d.comb += issue.eq(1)
                with m.If(~last_pixel):
                    with m.If(f + 1 == d.F):
                        next_row = row_pixbase + g.UWC
                        m.d.sync += [
                            e.eq(e + 1),
                            f.eq(0),
                            hb.eq(hb + d.U),
                            wb.eq(-d.P),
                            pixbase.eq(next_row),
                            row_pixbase.eq(next_row),
                        ]
                    with m.Else():
                        m.d.sync += [f.eq(f + 1), wb.eq(wb + d.U), pixbase.eq(pixbase + g.UC)]
                    m.d.sync += pixel.eq(pixel + 1)
                with m.Else():
                    m.d.comb += started_bank.eq(~tile_parity)
                    m.d.sync += tile_parity.eq(~tile_parity)
                    with m.If(~last_k):
                        m.d.sync += k_tile.eq(k_tile + 1)
                    with m.Else():
                        m.d.sync += [k_tile.eq(0), m_tile.eq(m_tile + 1)]
                        m.d.sync += m_base.eq(m_base + g.band_pixels)
                    with m.If(~(last_k & last_m)):
                        with m.If(can_start):
                            start_tile()
                        with m.Else():
                            m.next = "TILE"
                    with m.Else():
                        m.d.sync += band_advance()
                        m.d.sync += img_off.eq(
                            Mux(e0 + d.BAND >= g.E_run, img_off + g.HWC, img_off)
                        )
                        m.d.sync += drain.eq(InputFeeder.LATENCY + 1)
                        with m.If(last_band):
                            m.next = "IDLE"
                        with m.Else():
                            m.next = "DRAIN"
            with m.State("DRAIN"):
                # Let the feeder read its last pixels before the banks are reloaded.
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 0):
                    m.next = "BAND"

        # ---- accumulators: first K tile writes, later ones add ----------------------------
        # One memory per ping-pong half, each with a single read port: a half is owned either
        # by the accumulation (the band being computed) or by the post-processor (the band
        # being read out), never both, so the port is switched between them.
        out_tag = array.out_tag
        rmw_valid = Signal()
        rmw_addr = Signal(acc_addr_bits)
        rmw_first = Signal()
        rmw_last = Signal()
        rmw_psum = Signal(data.ArrayLayout(signed(32), cfg.cols))
        m.d.sync += [
            rmw_valid.eq(array.out_valid),
            rmw_addr.eq(out_tag[:acc_addr_bits]),
            rmw_first.eq(out_tag[acc_addr_bits]),
            rmw_last.eq(out_tag[acc_addr_bits + 1]),
            rmw_psum.eq(array.out_data),
        ]
        local_bits = acc_addr_bits - 1  # address inside a half; the top bit selects the half
        post_half_read = Signal()  # half of the post-processor's read in flight
        m.d.sync += post_half_read.eq(post.acc_addr[-1])
        acc_write = Signal(data.ArrayLayout(signed(32), cfg.cols))
        rmw_data, post_data = [], []
        for h in range(2):
            half_mem = Memory(
                shape=data.ArrayLayout(signed(32), cfg.cols), depth=cfg.acc_depth, init=[]
            )
            m.submodules[f"acc_half{h}"] = half_mem
            wp = half_mem.write_port()
            rp = half_mem.read_port(transparent_for=(wp,))
            post_here = post.acc_en & (post.acc_addr[-1] == h)
            rmw_here = array.out_valid & (out_tag[local_bits] == h)
            m.d.comb += [
                rp.addr.eq(Mux(post_here, post.acc_addr[:local_bits], out_tag[:local_bits])),
                rp.en.eq(post_here | rmw_here),
                wp.en.eq(rmw_valid & (rmw_addr[-1] == h)),
                wp.addr.eq(rmw_addr[:local_bits]),
                wp.data.eq(acc_write),
            ]
            rmw_data.append(rp.data)
            post_data.append(rp.data)
        for j in range(cfg.cols):
            previous = Mux(rmw_addr[-1], rmw_data[1][j], rmw_data[0][j])
            total = Mux(rmw_first, 0, previous) + rmw_psum[j]
            m.d.comb += acc_write[j].eq(total[:32])
        band_computed = Signal(2)  # halves holding a complete, unread band
        band_done_now = Signal(2)
        m.d.comb += band_done_now.eq(Mux(rmw_valid & rmw_last, Mux(rmw_addr[-1], 0b10, 0b01), 0))

        # ---- post-processing and output ---------------------------------------------------
        p_n, p_e0, p_e0u, p_rows, p_band, p_last, p_reset, p_advance = band_counter("post")
        out_addr = Signal(32)
        # Bytes of the band's output region, registered: the band counter only changes in RUN
        # and REGION always follows at least one WAIT_BAND cycle, so in REGION this holds
        # post.rows * out_row_bytes of the current band.
        region_len = Signal(32)
        p_half = p_band[0]
        post_start = Signal()
        m.d.comb += [
            post.acc_base.eq(Mux(p_half, cfg.acc_depth, 0)),
            post.rows.eq(Mux(d.POOL, p_rows >> 1, p_rows)),
            post.F.eq(d.F),
            post.F_out.eq(g.F_out),
            post.band_pixels.eq(g.band_pixels),
            post.m_tiles.eq(g.m_tiles),
            post.M.eq(d.M),
            post.pool.eq(d.POOL),
            post.output_zero_point.eq(d.OUT_ZP),
            post.act_min.eq(d.ACT_MIN),
            post.act_max.eq(d.ACT_MAX),
            post.start.eq(post_start),
            post.acc_data.eq(Mux(post_half_read, post_data[1], post_data[0])),
            param_rp.addr.eq(post.param_addr),
            post.param_data.eq(param_rp.data),
            writer.cmd.payload.addr.eq(out_addr),
            writer.cmd.payload.length.eq(region_len),
            acc_release.eq(Mux(post.reads_done, Mux(p_half, 0b10, 0b01), 0)),
        ]
        connect(m, post.out, writer.data)
        m.d.sync += band_computed.eq(
            (band_computed | band_done_now) & ~Mux(post_start, Mux(p_half, 0b10, 0b01), 0)
        )
        m.d.sync += acc_free.eq((acc_free | acc_release) & ~acc_claim)

        with m.FSM(name="post"):
            with m.State("IDLE"):
                with m.If(run):
                    m.d.sync += p_reset()
                    m.d.sync += out_addr.eq(d.OUT_ADDR)
                    m.next = "WAIT_BAND"
            with m.State("WAIT_BAND"):
                m.d.sync += region_len.eq(post.rows * g.out_row_bytes)
                with m.If(band_computed.bit_select(p_half, 1) & params_loaded & post.idle):
                    m.next = "REGION"
            with m.State("REGION"):
                m.d.comb += writer.cmd.valid.eq(1)
                with m.If(writer.cmd.ready):
                    m.d.comb += post_start.eq(1)
                    m.d.sync += out_addr.eq(out_addr + region_len)
                    m.next = "RUN"
            with m.State("RUN"):
                with m.If(post.reads_done):
                    m.d.sync += p_advance()
                    with m.If(p_last):
                        m.next = "FINISH"
                    with m.Else():
                        m.next = "WAIT_BAND"
            with m.State("FINISH"):
                with m.If(post.idle & writer.idle & reader.idle):
                    m.d.sync += busy.eq(0)
                    m.next = "IDLE"

        # ---- busy: from START until the last output byte is acknowledged ------------------
        with m.If(control.start):
            m.d.sync += busy.eq(1)
        with m.Elif(setup.done & (setup.error != 0)):
            m.d.sync += busy.eq(0)
        return m
