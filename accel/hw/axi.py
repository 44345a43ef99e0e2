"""AXI4 master adapter: the internal memory port in front, an AXI4 master bus behind.

The internal port (:class:`~accel.hw.memport.MemPortSignature`) already carries AXI
bursts without IDs, with the stream handshake rules of AXI (``valid`` never waits for
``ready``; once offered, a payload stays stable with ``valid`` high until accepted), so the
adapter is pure wiring plus constants: it adds no cycle of latency and no buffering. All
transactions use ID 0, so AXI returns read data and write responses in request order, which
is exactly the ordering the internal port promises; the adapter therefore lets any number of
requests be outstanding (the slave limits them with ``AxREADY``), and the read and write
channels run independently.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.hw.memport import ADDR_WIDTH, MAX_BURST_BEATS, MemPortSignature

__all__ = ["AXI4Master", "axi_signature", "BURST_INCR", "CACHE_MODIFIABLE_BUFFERABLE"]

BURST_INCR = 0b01
#: ``AxCACHE`` = 0b0011: normal non-cacheable bufferable (modifiable, bufferable).
CACHE_MODIFIABLE_BUFFERABLE = 0b0011

_DATA_WIDTHS = (32, 64, 128, 256)


def _check_params(data_width, addr_width, id_width):
    if data_width not in _DATA_WIDTHS:
        raise ValueError(f"AXI data width must be 32, 64, 128 or 256 bits, not {data_width!r}")
    if not isinstance(addr_width, int) or not 12 <= addr_width <= 64:
        raise ValueError(f"AXI address width must be an integer in 12..64, not {addr_width!r}")
    if not isinstance(id_width, int) or not 1 <= id_width <= 32:
        raise ValueError(f"AXI ID width must be an integer in 1..32, not {id_width!r}")


def axi_signature(data_width=64, addr_width=32, id_width=1):
    """Flat AXI4 master signature (master's view), members named exactly as in the AXI spec.

    ``aw*``, ``w*``, ``ar*``, ``bready`` and ``rready`` are ``Out``; ``awready``, ``wready``,
    ``b*``, ``arready`` and ``r*`` (except ``rready``) are ``In``. AXI4 has no ``wid``; the
    optional ``AxREGION``/``AxUSER`` signals are omitted. A top level prefixes each name
    with ``m_axi_``.
    """
    _check_params(data_width, addr_width, id_width)
    members = {}
    for ch in ("aw", "ar"):
        members.update(
            {
                f"{ch}id": Out(id_width),
                f"{ch}addr": Out(addr_width),
                f"{ch}len": Out(8),
                f"{ch}size": Out(3),
                f"{ch}burst": Out(2),
                f"{ch}lock": Out(1),
                f"{ch}cache": Out(4),
                f"{ch}prot": Out(3),
                f"{ch}qos": Out(4),
                f"{ch}valid": Out(1),
                f"{ch}ready": In(1),
            }
        )
        if ch == "aw":
            members.update(
                {
                    "wdata": Out(data_width),
                    "wstrb": Out(data_width // 8),
                    "wlast": Out(1),
                    "wvalid": Out(1),
                    "wready": In(1),
                    "bid": In(id_width),
                    "bresp": In(2),
                    "bvalid": In(1),
                    "bready": Out(1),
                }
            )
    members.update(
        {
            "rid": In(id_width),
            "rdata": In(data_width),
            "rresp": In(2),
            "rlast": In(1),
            "rvalid": In(1),
            "rready": Out(1),
        }
    )
    return wiring.Signature(members)


class AXI4Master(wiring.Component):
    """AXI4 master driven by the internal memory port.

    Parameters
    ----------
    data_width : int
        Bits per beat: 32, 64, 128 or 256 (same on both sides).
    addr_width : int
        Width of ``AxADDR`` (12..64). The internal port's 32-bit address is zero-extended or
        truncated to it.
    id_width : int
        Width of the ID signals (1..32); every transaction uses ID 0.

    Ports
    -----
    ``bus`` : ``In(MemPortSignature(data_width))``
        The internal port; the adapter is its slave. ``rd_req``/``wr_req`` map to AR/AW
        (``AxLEN = beats - 1``), ``wr_data`` to W, R to ``rd_rsp`` (``error = RRESP[1]``, i.e.
        SLVERR or DECERR, on every beat), B to ``wr_rsp`` (``error = BRESP[1]``). Responses
        come back in request order. Requests must be aligned to the bus width, have 1..256
        beats and not cross a 4 KiB boundary (the DMA guarantees it; see ``fault``).
    ``axi`` : ``Out(axi_signature(data_width, addr_width, id_width))``
        The AXI4 master bus. Constant fields: ``AxBURST`` = INCR, ``AxSIZE`` =
        log2(data_width / 8), ``AxCACHE`` = 0b0011, ``AxPROT`` = 0, ``AxLOCK`` = 0,
        ``AxQOS`` = 0, ``AxID`` = 0. Every ``valid``, ``ready`` and payload is a wire from the
        internal port: zero cycles of latency in every direction, and the AXI handshake rules
        hold whenever the internal port's master obeys the stream rules.
    ``fault`` : ``Out(1)``
        Sticky (until reset): a request accepted on ``bus`` broke the port contract (0 or more
        than 256 beats, misaligned, crossing 4 KiB, or address bits beyond ``addr_width``).
        Diagnostic only: the request is passed on unchanged.
    """

    def __init__(self, data_width=64, addr_width=32, id_width=1):
        _check_params(data_width, addr_width, id_width)
        self.data_width = data_width
        self.addr_width = addr_width
        self.id_width = id_width
        super().__init__(
            {
                "bus": In(MemPortSignature(data_width)),
                "axi": Out(axi_signature(data_width, addr_width, id_width)),
                "fault": Out(1),
            }
        )

    def axi_ports(self):
        """Return ``{name: (flow, signal)}`` for every AXI member, in specification order.

        ``flow`` is :data:`wiring.Out` or :data:`wiring.In` seen from the master, so a top
        level can declare ``f"m_axi_{name}": flow(len(signal))`` and connect it to
        ``signal``.
        """
        members = self.axi.signature.members
        return {name: (members[name].flow, getattr(self.axi, name)) for name in members}

    def elaborate(self, platform):
        m = Module()
        bus, axi = self.bus, self.axi
        size = (self.data_width // 8).bit_length() - 1

        for ch, req in (("ar", bus.rd_req), ("aw", bus.wr_req)):
            m.d.comb += [
                getattr(axi, f"{ch}id").eq(0),
                getattr(axi, f"{ch}addr").eq(req.payload.addr),
                getattr(axi, f"{ch}len").eq(req.payload.beats - 1),
                getattr(axi, f"{ch}size").eq(size),
                getattr(axi, f"{ch}burst").eq(BURST_INCR),
                getattr(axi, f"{ch}lock").eq(0),
                getattr(axi, f"{ch}cache").eq(CACHE_MODIFIABLE_BUFFERABLE),
                getattr(axi, f"{ch}prot").eq(0),
                getattr(axi, f"{ch}qos").eq(0),
                getattr(axi, f"{ch}valid").eq(req.valid),
                req.ready.eq(getattr(axi, f"{ch}ready")),
            ]

        m.d.comb += [
            axi.wdata.eq(bus.wr_data.payload.data),
            axi.wstrb.eq(bus.wr_data.payload.strb),
            axi.wlast.eq(bus.wr_data.payload.last),
            axi.wvalid.eq(bus.wr_data.valid),
            bus.wr_data.ready.eq(axi.wready),
            bus.wr_rsp.payload.error.eq(axi.bresp[1]),
            bus.wr_rsp.valid.eq(axi.bvalid),
            axi.bready.eq(bus.wr_rsp.ready),
            bus.rd_rsp.payload.data.eq(axi.rdata),
            bus.rd_rsp.payload.last.eq(axi.rlast),
            bus.rd_rsp.payload.error.eq(axi.rresp[1]),
            bus.rd_rsp.valid.eq(axi.rvalid),
            axi.rready.eq(bus.rd_rsp.ready),
        ]

        # Contract check of accepted requests (diagnostic, does not alter the traffic).
        def bad(req):
            addr, beats = req.payload.addr, req.payload.beats
            page_offset = addr[:12] + (beats << size)  # bytes up to the burst's end
            violation = (
                (beats == 0) | (beats > MAX_BURST_BEATS) | (addr[:size] != 0) | (page_offset > 4096)
            )
            if self.addr_width < ADDR_WIDTH:
                violation |= addr[self.addr_width :] != 0
            return req.valid & req.ready & violation

        fault = Signal()
        with m.If(bad(bus.rd_req) | bad(bus.wr_req)):
            m.d.sync += fault.eq(1)
        m.d.comb += self.fault.eq(fault)
        return m
