"""The accelerator's internal memory port: AXI-like request/response streams.

Blocks that move data (DMA) talk to main memory through :class:`MemPortSignature`,
a set of ``amaranth.lib.stream`` channels that carry the same information as AXI4
read/write bursts without IDs (responses come back in request order). The top level
puts an :class:`accel.hw.axi.AXI4Master` behind it; unit tests put a Python memory
model (:mod:`accel.verif.models`) behind it instead.

Channels, from the master's point of view:

``rd_req`` (out)
    ``addr``: byte address of the first beat, aligned to the bus width;
    ``beats``: number of beats, 1..256. A burst never crosses a 4 KiB boundary.
``rd_rsp`` (in)
    ``data``: one beat; ``last``: final beat of the burst; ``error``: the slave
    answered SLVERR/DECERR for this beat.
``wr_req`` (out)
    ``addr``, ``beats``: as for reads.
``wr_data`` (out)
    ``data``; ``strb``: byte enables; ``last``: final beat of the burst.
``wr_rsp`` (in)
    one per write burst; ``error``: SLVERR/DECERR.
"""

from amaranth.hdl import Cat, Const, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.spec import timing

ADDR_WIDTH = 32
MAX_BURST_BEATS = 256
DATA_WIDTHS = (32, 64, 128, 256)


def check_data_width(data_width) -> None:
    """A DMA engine's ``data_width`` must be one of the port's :data:`DATA_WIDTHS`."""
    if data_width not in DATA_WIDTHS:
        raise ValueError(f"data_width must be 32, 64, 128 or 256 bits, not {data_width!r}")


def beats_to_page(m, addr, *, shift: int, name: str):
    """Beats from byte address ``addr`` to the next 4 KiB boundary on a bus of ``1 << shift``
    bytes (1..page beats; a signal named ``name``)."""
    page_beats = timing.PAGE_BYTES >> shift
    to_page = Signal(range(page_beats + 1), name=name)
    m.d.comb += to_page.eq(page_beats - addr[shift:12])
    return to_page


def burst_of(m, to_page, remain, *, max_burst: int, final_name: str):
    """The next burst's length with ``to_page`` beats to the 4 KiB boundary and ``remain``
    beats to go: min(remain, max_burst, to_page). Returns ``(burst, final)``; ``final`` (a
    signal named ``final_name``): the burst ends the command."""
    page_beats = 1 << (len(to_page) - 1)  # to_page is at most the page's beats
    limit = Signal(range(max(page_beats, max_burst) + 1))
    m.d.comb += limit.eq(Mux(to_page < max_burst, to_page, max_burst))
    burst = Signal(range(max(page_beats, max_burst) + 1))
    m.d.comb += burst.eq(Mux(remain < limit, remain, limit))
    final = Signal(name=final_name)
    m.d.comb += final.eq(remain <= limit)
    return burst, final


def next_burst(m, addr, remain, *, shift: int, max_burst: int, final_name: str):
    """The length of a DMA engine's next burst from byte address ``addr`` with ``remain``
    beats to go on a bus of ``1 << shift`` bytes: min(remain, max_burst, beats to the next
    4 KiB boundary). Returns ``(burst, final)``; ``final`` (a signal named ``final_name``): the
    burst ends the command."""
    to_page = beats_to_page(m, addr, shift=shift, name=final_name + "_to_page")
    return burst_of(m, to_page, remain, max_burst=max_burst, final_name=final_name)


class BurstCursor:
    """A DMA engine's command in progress, cut into bursts: ``active``, the next burst's byte
    address ``addr``, the beats still to request ``remain``, the beats from ``addr`` to the
    next 4 KiB boundary ``to_page``, and the next burst's length ``burst`` with ``final`` (it
    ends the command), all registers.

    :meth:`update` computes the state after a burst is issued from the registers alone and
    the state after a new command from the command alone; ``accept`` and ``issue`` only select
    between them at the register inputs, so the bus handshakes that decide them never reach an
    adder. After an issue the page distance is ``to_page - burst`` (a full page when the burst
    ended at the boundary): no address adder in front of the next burst's length.
    ``names`` formats the signal names (``"{}0"`` gives ``addr0``, ``burst0``, ...).
    """

    def __init__(self, *, names: str, max_burst: int, remain_width: int, shift: int):
        self.max_burst = max_burst
        self.shift = shift
        self.page_beats = timing.PAGE_BYTES >> shift
        self.active = Signal(name=names.format("active"))
        self.addr = Signal(32, name=names.format("addr"))
        self.remain = Signal(remain_width, name=names.format("remain"))
        self.to_page = Signal(range(self.page_beats + 1), name=names.format("to_page"))
        self.burst = Signal(range(max_burst + 1), name=names.format("burst"))
        self.final = Signal(name=names.format("final"))
        self._names = names

    def takes_command(self, issue):
        """A new command can be accepted: none in progress, or its final burst issuing."""
        return ~self.active | (issue & self.final)

    def update(self, m, *, cmd_addr, cmd_beats, cmd_nonempty, accept, issue):
        """The register updates for ``accept`` (a command of ``cmd_beats`` beats from byte
        address ``cmd_addr``; ``cmd_nonempty``: it has data) and ``issue`` (the next burst
        is issued)."""
        names, width, shift = self._names, len(self.remain), self.shift

        def candidate(kind, addr, remain, to_page):
            """A candidate next state: its address, beats left, page distance, next burst."""
            cand_addr = Signal(32, name=names.format(f"{kind}_addr"))
            cand_remain = Signal(width, name=names.format(f"{kind}_remain"))
            cand_to_page = Signal.like(self.to_page, name=names.format(f"{kind}_to_page"))
            m.d.comb += [cand_addr.eq(addr), cand_remain.eq(remain), cand_to_page.eq(to_page)]
            burst, final = burst_of(
                m,
                cand_to_page,
                cand_remain,
                max_burst=self.max_burst,
                final_name=names.format(f"{kind}_final"),
            )
            return [
                self.addr.eq(cand_addr),
                self.remain.eq(cand_remain),
                self.to_page.eq(cand_to_page),
                self.burst.eq(burst),
                self.final.eq(final),
            ]

        new_addr = Cat(Const(0, shift), cmd_addr[shift:])
        new_state = candidate(
            "new",
            new_addr,
            cmd_beats,
            beats_to_page(m, new_addr, shift=shift, name=names.format("new_page")),
        )
        rest_state = candidate(
            "rest",
            self.addr + (self.burst << shift),
            self.remain - self.burst,
            Mux(self.burst == self.to_page, self.page_beats, self.to_page - self.burst),
        )
        with m.If(accept):
            m.d.sync += [self.active.eq(cmd_nonempty), *new_state]
        with m.Elif(issue):
            m.d.sync += rest_state
            with m.If(self.final):
                m.d.sync += self.active.eq(0)


def dma_status_members(counter: str) -> dict:
    """Status members of a DMA engine: the sticky ``error`` of its responses, the wrapping
    32-bit ``counter`` of what it moved, ``clear`` (of both) and ``idle``."""
    return {"error": Out(1), counter: Out(32), "clear": In(1), "idle": Out(1)}


def check_max_burst(max_burst) -> None:
    """A DMA engine's ``max_burst`` must be a burst length of the port, 1..256 beats."""
    if not isinstance(max_burst, int) or not 1 <= max_burst <= MAX_BURST_BEATS:
        raise ValueError(f"max_burst must be an integer in 1..{MAX_BURST_BEATS}, not {max_burst!r}")


def request_layout() -> data.StructLayout:
    return data.StructLayout({"addr": ADDR_WIDTH, "beats": 9})


def read_response_layout(data_width: int) -> data.StructLayout:
    return data.StructLayout({"data": data_width, "last": 1, "error": 1})


def write_data_layout(data_width: int) -> data.StructLayout:
    return data.StructLayout({"data": data_width, "strb": data_width // 8, "last": 1})


def write_response_layout() -> data.StructLayout:
    return data.StructLayout({"error": 1})


class MemPortSignature(wiring.Signature):
    """Master-side signature of the internal memory port (``data_width`` bits/beat)."""

    def __init__(self, data_width: int = 64):
        if data_width not in DATA_WIDTHS:
            raise ValueError(f"memory data width must be 32, 64, 128 or 256 bits, not {data_width}")
        self.data_width = data_width
        super().__init__(
            {
                "rd_req": Out(stream.Signature(request_layout())),
                "rd_rsp": In(stream.Signature(read_response_layout(data_width))),
                "wr_req": Out(stream.Signature(request_layout())),
                "wr_data": Out(stream.Signature(write_data_layout(data_width))),
                "wr_rsp": In(stream.Signature(write_response_layout())),
            }
        )

    def __eq__(self, other):
        return isinstance(other, MemPortSignature) and self.data_width == other.data_width

    def __repr__(self):
        return f"MemPortSignature({self.data_width})"
