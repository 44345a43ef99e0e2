"""Multi-client read DMA engine on the internal memory port."""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from accel.hw.memport import (
    BurstCursor,
    check_data_width,
    check_max_burst,
    dma_status_members,
    read_response_layout,
    request_layout,
)
from accel.spec import timing

__all__ = ["ReadDMA", "read_command_layout", "read_data_layout", "read_client_members"]


def read_command_layout() -> data.StructLayout:
    """Payload of a client command: ``addr`` (bytes, bus-aligned), ``beats`` (≥ 1)."""
    return data.StructLayout({"addr": 32, "beats": 24})


def read_data_layout(data_width: int) -> data.StructLayout:
    """Payload of a client data stream: one beat, ``last`` on the final beat of a command."""
    return data.StructLayout({"data": data_width, "last": 1})


def read_client_members(data_width: int) -> dict:
    """Signature members of a block that reads through a :class:`ReadDMA` client: its
    commands ``cmd`` and the commands' beats ``data``."""
    return {
        "cmd": Out(stream.Signature(read_command_layout())),
        "data": In(stream.Signature(read_data_layout(data_width))),
    }


class ReadDMA(wiring.Component):
    """Read DMA engine shared by ``clients`` clients.

    Each client gives commands "read ``beats`` bus beats starting at byte address ``addr``"
    and receives the beats, in order, on its own data stream. Commands are split into bursts of
    at most ``max_burst`` beats that never cross a 4 KiB boundary; bursts of different clients
    are interleaved with fixed priority (client 0 highest), decided per burst, so a long command
    of a low-priority client delays a higher-priority one by at most the burst already waiting
    on ``rd_req``. Up to ``outstanding`` bursts are in flight (issued or waiting on ``rd_req``,
    data not fully returned); with a memory that keeps up the engine moves one beat per cycle.

    Parameters
    ----------
    data_width : int
        Bus width in bits (32, 64, 128 or 256).
    clients : int
        Number of clients (≥ 1).
    max_burst : int
        Maximum burst length in beats (1..256).
    outstanding : int
        Maximum number of bursts in flight (≥ 1).

    Members
    -------
    rd_req : ``Out(stream.Signature(request_layout()))``
        Memory read requests; the payload is registered.
    rd_rsp : ``In(stream.Signature(read_response_layout(data_width)))``
        Memory read data, in request order. Stalled while the destination client is not ready.
    cmd : ``In(stream.Signature({"addr": 32, "beats": 24})).array(clients)``
        ``cmd[i]``: commands of client ``i``. The low ``log2(data_width/8)`` address bits must
        be zero (they are ignored). A command with ``beats == 0`` is accepted and dropped (no
        data). A client has one command in progress; the next one is accepted in the cycle its
        last burst is issued.
    data : ``Out(stream.Signature({"data": data_width, "last": 1})).array(clients)``
        ``data[i]``: data of client ``i``; ``last`` marks the final beat of a command.
        Combinationally forwarded from ``rd_rsp`` (no added latency).
    error : ``Out(1)``
        Sticky: set after a beat with ``error == 1`` was received. Its data is still delivered.
    beats_read : ``Out(32)``
        Number of beats received from ``rd_rsp`` (wraps).
    clear : ``In(1)``
        Clears ``error`` and ``beats_read`` at the next clock edge; a beat received in the same
        cycle counts after the clearing.
    idle : ``Out(1)``
        No command in progress and no burst in flight (commands waiting on ``cmd[i]`` and not yet
        accepted do not count).
    """

    def __init__(
        self,
        data_width: int = 64,
        clients: int = 3,
        max_burst: int = 16,
        outstanding: int = timing.READ_OUTSTANDING,
    ):
        check_data_width(data_width)
        if not isinstance(clients, int) or clients < 1:
            raise ValueError(f"clients must be a positive integer, not {clients!r}")
        check_max_burst(max_burst)
        if not isinstance(outstanding, int) or outstanding < 1:
            raise ValueError(f"outstanding must be a positive integer, not {outstanding!r}")
        self.data_width = data_width
        self.clients = clients
        self.max_burst = max_burst
        self.outstanding = outstanding

        members = {
            "rd_req": Out(stream.Signature(request_layout())),
            "rd_rsp": In(stream.Signature(read_response_layout(data_width))),
            **dma_status_members("beats_read"),
        }
        members["cmd"] = In(stream.Signature(read_command_layout())).array(clients)
        members["data"] = Out(stream.Signature(read_data_layout(data_width))).array(clients)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()

        shift = (self.data_width // 8).bit_length() - 1  # log2(bytes per beat)
        n = self.clients
        cmds, datas = self.cmd, self.data

        # Per-client command state, its next burst precomputed (so that arbitration, the request
        # and the clients' `ready` only select registers).
        cursors = [
            BurstCursor(names="{}" + str(i), max_burst=self.max_burst, remain_width=24, shift=shift)
            for i in range(n)
        ]
        active = [c.active for c in cursors]

        # Burst info FIFO: one entry per burst issued, popped at its last data beat.
        id_bits = max(1, (n - 1).bit_length())
        info = m.submodules.info = SyncFIFO(width=id_bits + 1, depth=self.outstanding)

        # Fixed-priority arbitration: lowest index among active clients.
        sel = Signal(range(max(n, 2)))
        any_active = Signal()
        for i in reversed(range(n)):
            with m.If(active[i]):
                m.d.comb += [sel.eq(i), any_active.eq(1)]

        sel_addr = Signal(32)
        sel_burst = Signal.like(cursors[0].burst)
        sel_final = Signal()
        for i in range(n):
            with m.If(sel == i):
                c = cursors[i]
                m.d.comb += [sel_addr.eq(c.addr), sel_burst.eq(c.burst), sel_final.eq(c.final)]

        # Request register: load a new burst when empty or being taken.
        load = Signal()
        m.d.comb += load.eq((~self.rd_req.valid | self.rd_req.ready) & any_active & info.w_rdy)
        with m.If(load):
            m.d.sync += [
                self.rd_req.valid.eq(1),
                self.rd_req.p.addr.eq(sel_addr),
                self.rd_req.p.beats.eq(sel_burst),
            ]
        with m.Elif(self.rd_req.ready):
            m.d.sync += self.rd_req.valid.eq(0)
        m.d.comb += [
            info.w_en.eq(load),
            info.w_data.eq(Cat(sel[:id_bits], sel_final)),
        ]

        for i in range(n):
            issuing = load & (sel == i)
            accept = cmds[i].valid & cmds[i].ready
            m.d.comb += cmds[i].ready.eq(cursors[i].takes_command(issuing))
            cursors[i].update(
                m,
                cmd_addr=cmds[i].p.addr,
                cmd_beats=cmds[i].p.beats,
                cmd_nonempty=cmds[i].p.beats != 0,
                accept=accept,
                issue=issuing,
            )

        # Response routing to the client that issued the burst at the head of the info FIFO.
        head_id = info.r_data[:id_bits]
        head_final = info.r_data[id_bits]
        dest_ready = Signal()
        for i in range(n):
            to_i = head_id == i
            m.d.comb += [
                datas[i].valid.eq(self.rd_rsp.valid & info.r_rdy & to_i),
                datas[i].p.data.eq(self.rd_rsp.p.data),
                datas[i].p.last.eq(self.rd_rsp.p.last & head_final),
            ]
            with m.If(to_i):
                m.d.comb += dest_ready.eq(datas[i].ready)
        m.d.comb += self.rd_rsp.ready.eq(info.r_rdy & dest_ready)
        beat = self.rd_rsp.valid & self.rd_rsp.ready
        m.d.comb += info.r_en.eq(beat & self.rd_rsp.p.last)

        # Status.
        # `clear` acts before the events of its own cycle, so none is lost.
        m.d.sync += [
            self.beats_read.eq(Mux(self.clear, 0, self.beats_read) + beat),
            self.error.eq((self.error & ~self.clear) | (beat & self.rd_rsp.p.error)),
        ]
        m.d.comb += self.idle.eq(~any_active & ~self.rd_req.valid & ~info.r_rdy)

        return m
