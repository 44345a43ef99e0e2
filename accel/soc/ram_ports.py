"""Bus bridges onto the ports of the shared on-chip RAM (``amaranth.lib.memory.Memory``).

The RAM is one memory ``data_width`` bits wide (the accelerator's AXI width) with two read
and two write ports, in one of two organisations (:data:`RAM_PORTS`):

* 4 (the simulation default): the accelerator's AXI read and write channels each own a port
  (:class:`AXI4RAMPort`), the CPU's Wishbone bus the other pair (:class:`WishboneRAMPort`). So
  the DMA always sees the same fixed-latency memory, whatever the CPU does — the timing
  :class:`accel.perf.MemoryTiming` models by default (read and write latency 2), which makes
  the accelerator's counters in the SoC equal to those of the cocotb runs and the ISS.
* 2 (what an FPGA block RAM has, e.g. the ECP5 DP16KD): the CPU's read and write port share
  one address (one physical port), and so do the DMA's (``AXI4RAMPort(shared=True)``): each
  cycle that port serves either a write beat or a read beat, writes first. The DMA's timing
  is then that of :class:`accel.perf.MemoryTiming` only while the two channels do not meet.

A CPU and a DMA write to the same byte in the same cycle is a race the firmware must avoid
(which one lands is not specified); so is a read of a word the other master writes in the same
cycle: with 4 ports the read returns the old word, with 2 the new one (a block RAM's
cross-port read-during-write is undefined, so :func:`soc_ram` makes each read port transparent
for the other master's write port, which Yosys builds with a bypass in logic).
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In

from accel.hw.axi import axi_signature
from accel.soc.wishbone import DATA_WIDTH, wishbone_signature

__all__ = [
    "AXI4RAMPort",
    "WishboneRAMPort",
    "RAM_PORTS",
    "READ_LATENCY",
    "WRITE_LATENCY",
    "soc_ram",
]

#: The RAM organisations: 4 ports (AXI read, AXI write, CPU read, CPU write) or 2 read-write
#: ports (CPU; the DMA's read and write channels time-multiplexed, write beats first).
RAM_PORTS = (4, 2)

#: Edges from an accepted AR to its first R beat, and from a burst's last W beat to its B.
READ_LATENCY = 2
WRITE_LATENCY = 2

RESP_OKAY = 0b00
RESP_SLVERR = 0b10

_QUEUE_DEPTH = 8


def _check_width(data_width):
    if data_width not in (32, 64, 128):
        raise ValueError(f"data_width must be 32, 64 or 128 bits, not {data_width!r}")


def check_ram_ports(ram_ports):
    if ram_ports not in RAM_PORTS:
        raise ValueError(f"ram_ports must be 4 or 2, not {ram_ports!r}")


def soc_ram(data_width: int, depth: int, init=(), ram_ports: int = 4):
    """The SoC RAM: a :class:`Memory` and its ports ``{"dma_rd", "dma_wr", "cpu_rd",
    "cpu_wr": port}`` for :class:`accel.soc.interconnect.SoCInterconnect`'s members of the
    same names (byte-granular write ports). With ``ram_ports`` 2 each read port is transparent
    for the other master's write port (see the module docstring)."""
    check_ram_ports(ram_ports)
    ram = Memory(shape=data_width, depth=depth, init=init)
    dma_wr, cpu_wr = ram.write_port(granularity=8), ram.write_port(granularity=8)
    if ram_ports == 2:
        dma_rd = ram.read_port(transparent_for=(cpu_wr,))
        cpu_rd = ram.read_port(transparent_for=(dma_wr,))
    else:
        dma_rd, cpu_rd = ram.read_port(), ram.read_port()
    return ram, {"dma_rd": dma_rd, "dma_wr": dma_wr, "cpu_rd": cpu_rd, "cpu_wr": cpu_wr}


def _check_depth(depth):
    if not isinstance(depth, int) or depth < 2 or depth & (depth - 1):
        raise ValueError(f"depth must be a power of two >= 2, not {depth!r}")


class AXI4RAMPort(wiring.Component):
    """AXI4 slave (INCR bursts, full-width beats) on a RAM read port and a write port.

    Parameters: ``data_width`` (32, 64 or 128, the RAM's width), ``depth`` (RAM words, a power
    of two), ``id_width`` (of the AXI IDs, echoed on R and B), ``shared``: ``rd`` and ``wr``
    are one read-write port of the RAM (the same address; at most one of them used a cycle).

    Ports: ``axi`` (``In(axi_signature(...))``: the accelerator's master connects here),
    ``rd`` (``In(ReadPort.Signature)``) and ``wr`` (``In(WritePort.Signature)``, byte
    granularity): connect a memory's ports to them.

    Timing (the fixed-latency memory of :class:`accel.perf.MemoryTiming` with latencies
    :data:`READ_LATENCY` and :data:`WRITE_LATENCY`): ``arready`` and ``awready`` are high
    while fewer than 8 requests of their kind wait; an AR accepted at clock edge ``t`` has its
    first beat transferred at edge ``t + 2`` (with ``rready`` high), the next beats on the
    next edges, and the next burst's beats follow without a gap; ``wready`` is high once the
    burst's AW is accepted; the B of a burst whose last beat is accepted at edge ``t`` is
    transferred at ``t + 2``. Bursts complete in order (IDs are echoed, not reordered). A beat
    at or beyond the end of the RAM answers SLVERR (and is not written).

    With ``shared`` the port serves a W beat whenever one is transferred (``wready`` is as
    above) and otherwise the next R beat: a read beat that meets a write beat waits one cycle
    for each, so reads are delayed (never reordered) while writes stream, and progress as soon
    as the write channel pauses (the accelerator's writes are bounded bursts of its results).
    """

    def __init__(
        self, data_width: int = 64, depth: int = 32768, id_width: int = 1, shared: bool = False
    ):
        _check_width(data_width)
        _check_depth(depth)
        self.data_width, self.depth, self.id_width = data_width, depth, id_width
        self.shared = shared
        self.shift = (data_width // 8).bit_length() - 1
        addr_width = depth.bit_length() - 1
        super().__init__(
            {
                "axi": In(axi_signature(data_width, 32, id_width)),
                "rd": In(ReadPort.Signature(addr_width=addr_width, shape=data_width)),
                "wr": In(
                    WritePort.Signature(addr_width=addr_width, shape=data_width, granularity=8)
                ),
            }
        )

    def _request_layout(self):
        return data.StructLayout({"addr": 32, "len": 8, "id": self.id_width})

    def _in_range(self, word):
        return word < self.depth

    def elaborate(self, platform):
        m = Module()
        write_beat = Signal()  # a W beat uses the port this cycle
        read_word, write_word = self._reads(m, write_beat), self._writes(m, write_beat)
        if self.shared:
            address = Mux(write_beat, write_word, read_word)
            m.d.comb += [self.rd.addr.eq(address), self.wr.addr.eq(address)]
        else:
            m.d.comb += [self.rd.addr.eq(read_word), self.wr.addr.eq(write_word)]
        return m

    def _reads(self, m, write_beat):
        axi, layout = self.axi, self._request_layout()
        m.submodules.ar_queue = queue = SyncFIFO(width=layout.size, depth=_QUEUE_DEPTH)
        head = data.View(layout, queue.r_data)
        m.d.comb += [
            queue.w_data.eq(Cat(axi.araddr, axi.arlen, axi.arid)),
            queue.w_en.eq(axi.arvalid),
            axi.arready.eq(queue.w_rdy),
        ]
        beat = Signal(8)
        word = Signal(32 - self.shift)
        m.d.comb += word.eq((head.addr >> self.shift) + beat)
        advance = Signal()  # the R register is free or being emptied: read the next beat
        read = Signal()  # ... and the port is free for it
        blocked = write_beat if self.shared else 0
        m.d.comb += [
            advance.eq(~axi.rvalid | axi.rready),
            read.eq(queue.r_rdy & ~blocked),
            self.rd.en.eq(advance & ~blocked),
            axi.rdata.eq(self.rd.data),
        ]
        with m.If(advance):
            m.d.sync += axi.rvalid.eq(read)
            with m.If(read):
                last = beat == head.len
                m.d.sync += [
                    axi.rlast.eq(last),
                    axi.rid.eq(head.id),
                    axi.rresp.eq(Mux(self._in_range(word), RESP_OKAY, RESP_SLVERR)),
                    beat.eq(Mux(last, 0, beat + 1)),
                ]
                m.d.comb += queue.r_en.eq(last)
        return word

    def _writes(self, m, write_beat):
        axi, layout = self.axi, self._request_layout()
        m.submodules.aw_queue = queue = SyncFIFO(width=layout.size, depth=_QUEUE_DEPTH)
        m.submodules.b_queue = b_queue = SyncFIFO(width=2 + self.id_width, depth=_QUEUE_DEPTH)
        head = data.View(layout, queue.r_data)
        m.d.comb += [
            queue.w_data.eq(Cat(axi.awaddr, axi.awlen, axi.awid)),
            queue.w_en.eq(axi.awvalid),
            axi.awready.eq(queue.w_rdy),
        ]
        beat = Signal(8)
        error = Signal()  # a beat of the current burst was out of range
        word = Signal(32 - self.shift)
        m.d.comb += word.eq((head.addr >> self.shift) + beat)
        # Room for this burst's response even if the B queue's reader stalls: one stage
        # (b_stage) plus the queue.
        m.d.comb += axi.wready.eq(queue.r_rdy & (b_queue.level < _QUEUE_DEPTH - 1))
        take = axi.wvalid & axi.wready
        in_range = self._in_range(word)
        m.d.comb += [
            write_beat.eq(take),
            self.wr.data.eq(axi.wdata),
            self.wr.en.eq(Mux(take & in_range, axi.wstrb, 0)),
        ]
        b_stage = Signal()  # a response waits one cycle: B at t + WRITE_LATENCY
        b_payload = Signal(2 + self.id_width)
        m.d.sync += b_stage.eq(0)
        with m.If(take):
            with m.If(axi.wlast):
                resp = Mux(error | ~in_range, RESP_SLVERR, RESP_OKAY)
                m.d.sync += [
                    beat.eq(0),
                    error.eq(0),
                    b_stage.eq(1),
                    b_payload.eq(Cat(resp, head.id)),
                ]
                m.d.comb += queue.r_en.eq(1)
            with m.Else():
                m.d.sync += [beat.eq(beat + 1), error.eq(error | ~in_range)]
        m.d.comb += [
            b_queue.w_en.eq(b_stage),
            b_queue.w_data.eq(b_payload),
            axi.bvalid.eq(b_queue.r_rdy),
            axi.bresp.eq(b_queue.r_data[:2]),
            axi.bid.eq(b_queue.r_data[2:]),
            b_queue.r_en.eq(axi.bready),
        ]
        return word


class WishboneRAMPort(wiring.Component):
    """Wishbone classic slave (32-bit) on a wider RAM's read port and write port.

    Parameters: ``data_width`` of the RAM (32, 64 or 128: the CPU word is selected by the low
    word-address bits), ``depth`` (RAM words). The slave decodes only the low address bits;
    put it behind a :class:`~accel.soc.wishbone.WishboneDecoder` window of the RAM's size.

    Ports: ``bus`` (``In(wishbone_signature())``), ``rd`` and ``wr`` (as for
    :class:`AXI4RAMPort`).

    Timing: every access takes two cycles: ``ack`` comes one cycle after ``stb`` (a write is
    done at the edge that raises ``ack``; read data is valid with ``ack``).
    """

    def __init__(self, data_width: int = 64, depth: int = 32768):
        _check_width(data_width)
        _check_depth(depth)
        self.data_width, self.depth = data_width, depth
        self.lane_bits = (data_width // DATA_WIDTH).bit_length() - 1
        addr_width = depth.bit_length() - 1
        super().__init__(
            {
                "bus": In(wishbone_signature()),
                "rd": In(ReadPort.Signature(addr_width=addr_width, shape=data_width)),
                "wr": In(
                    WritePort.Signature(addr_width=addr_width, shape=data_width, granularity=8)
                ),
            }
        )

    def elaborate(self, platform):
        m = Module()
        bus, ratio = self.bus, self.data_width // DATA_WIDTH
        lane = Signal(max(self.lane_bits, 1))
        if self.lane_bits:
            m.d.comb += lane.eq(bus.adr[: self.lane_bits])
        request = bus.cyc & bus.stb & ~bus.ack
        m.d.sync += bus.ack.eq(request)
        m.d.comb += [
            self.rd.addr.eq(bus.adr >> self.lane_bits),
            self.rd.en.eq(request),
            bus.dat_r.eq(self.rd.data.word_select(lane, DATA_WIDTH)),
            self.wr.addr.eq(bus.adr >> self.lane_bits),
            self.wr.data.eq(Cat(*[bus.dat_w] * ratio)),
            self.wr.en.eq(Mux(request & bus.we, bus.sel << (lane * 4), 0)),
        ]
        return m
