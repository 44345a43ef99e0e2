"""Accumulator buffer: read-modify-write of the array's partial sums into two ping-pong halves.

Entry ``half * acc_depth + m_tile * band_pixels + pixel`` holds the ``cols`` int32 sums of one
output pixel and one output-channel tile of the band computed in that half. A band is computed
into one half (the first K tile writes, later ones add) while the other half's band is read by
the post-processor. One memory per half, each with a single read port: a half is owned either
by the accumulation or by the post-processor, never both, so the port is switched between them.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.spec.config import AccelConfig

__all__ = [
    "Accumulators",
    "acc_addr_bits",
    "acc_tag_layout",
    "acc_claim_signature",
    "acc_read_signature",
]


def acc_addr_bits(config: AccelConfig) -> int:
    """Width of an accumulator address over both halves (the top bit selects the half)."""
    return (2 * config.acc_depth - 1).bit_length()


def acc_tag_layout(config: AccelConfig) -> data.StructLayout:
    """The tag an input vector carries through the feeder and the array.

    ``addr``: accumulator entry of the result; ``first``: first K tile (write, do not add);
    ``last``: last vector of the band (the band is complete once it is written).
    """
    return data.StructLayout({"addr": acc_addr_bits(config), "first": 1, "last": 1})


def acc_claim_signature() -> wiring.Signature:
    """Half bookkeeping, the computing side's view (the issuer).

    ``free`` (in): one bit per half, the half holds no unread band (both free after reset).
    ``claim`` (out): one-hot, the half is taken for a new band in this cycle.
    """
    return wiring.Signature({"free": In(2, init=0b11), "claim": Out(2)})


def acc_read_signature(config: AccelConfig) -> wiring.Signature:
    """Read side of the buffer, the reader's view (post-processing).

    ``en``, ``addr`` (out): synchronous read of entry ``addr``; ``data`` (in) is its value in
    the second cycle after (the read data is registered per half before the half is
    selected). ``complete`` (in): one bit per half, the half holds a complete band not yet
    taken. ``take`` (out, one-hot): reading of that half's band starts (clears ``complete``).
    ``release`` (out, one-hot): the half's band has been read; the half is free again.
    """
    return wiring.Signature(
        {
            "en": Out(1),
            "addr": Out(acc_addr_bits(config)),
            "data": In(data.ArrayLayout(32, config.cols)),
            "complete": In(2),
            "take": Out(2),
            "release": Out(2),
        }
    )


class Accumulators(wiring.Component):
    """The two accumulator halves with their read-modify-write pipeline and band bookkeeping.

    Timing: an array result (``in_valid`` with ``in_tag`` and ``in_data``) reads its entry in
    the same cycle, registers the read data in the next, computes ``(0 if first else old) +
    in_data`` (int32, wrapping) in the one after and writes it in the fourth cycle
    (``ACC_RMW_STAGES`` = 3 cycles after the result; the read port is transparent and the
    writes of the two cycles between an entry's read and its sum are forwarded, so back-to-back
    updates of an entry see each other). The write of a result with ``in_tag.last`` sets the
    half's ``complete`` bit one cycle later, i.e. ``complete`` rises four cycles after that
    result was presented. A read on ``read``
    with ``en`` returns ``data`` two cycles later; reads take the port of their half, so the
    post-processor must only read a half no result is written to (the issuer's claim protocol
    guarantees it).

    Ports
    -----
    in_valid, in_tag, in_data : ``In``
        The array's result (``out_valid``, ``out_tag`` as :func:`acc_tag_layout`, ``out_data``).
    halves : ``In(acc_claim_signature())``
        The issuer's claims; ``free`` bits are cleared by ``claim`` and set by ``read.release``
        (both register updates, visible in the next cycle).
    read : ``In(acc_read_signature(config))``
        The post-processor's reads and its ``take``/``release`` of complete bands.
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "in_valid": In(1),
                "in_tag": In(acc_tag_layout(config)),
                "in_data": In(data.ArrayLayout(signed(32), config.cols)),
                "halves": In(acc_claim_signature()),
                "read": In(acc_read_signature(config)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        vector = data.ArrayLayout(signed(32), cfg.cols)
        addr_bits = acc_addr_bits(cfg)
        local_bits = addr_bits - 1  # address inside a half; the top bit selects the half
        tag, read = self.in_tag, self.read

        # Stage 1: the result whose entry is being read (the memory's read data comes in
        # this cycle and is registered with it).
        s1_valid = Signal()
        s1_addr = Signal(addr_bits)
        s1_first = Signal()
        s1_last = Signal()
        s1_psum = Signal(vector)
        m.d.sync += [
            s1_valid.eq(self.in_valid),
            s1_addr.eq(tag.addr),
            s1_first.eq(tag.first),
            s1_last.eq(tag.last),
            s1_psum.eq(self.in_data),
        ]
        # Stage 2: the sum is computed into a register; stage 3 writes it (the route to the
        # block RAMs is a cycle of its own). The entry was read three cycles before its
        # write: the writes of the two cycles in between (the two previous results') are
        # forwarded, the newer first; older writes were seen by the transparent read port.
        s2_valid = Signal()
        s2_addr = Signal(addr_bits)
        s2_first = Signal()
        s2_last = Signal()
        s2_psum = Signal(vector)
        s2_half = Signal()
        s2_old = [Signal(vector, name=f"s2_old{h}") for h in range(2)]
        m.d.sync += [
            s2_valid.eq(s1_valid),
            s2_addr.eq(s1_addr),
            s2_first.eq(s1_first),
            s2_last.eq(s1_last),
            s2_psum.eq(s1_psum),
            s2_half.eq(s1_addr[-1]),
        ]
        rmw_valid = Signal()  # stage 3: the write
        rmw_addr = Signal(addr_bits)
        rmw_last = Signal()
        acc_write = Signal(vector)
        prev_valid = Signal()  # the write of the previous cycle
        prev_addr = Signal(addr_bits)
        prev_data = Signal(vector)
        read_half = [Signal(name=f"read_half{k}") for k in range(2)]  # the read's half, delayed
        m.d.sync += [read_half[0].eq(read.addr[-1]), read_half[1].eq(read_half[0])]
        half_data = []
        for h in range(2):
            mem = Memory(shape=vector, depth=cfg.acc_depth, init=[])
            m.submodules[f"half{h}"] = mem
            wp = mem.write_port()
            rp = mem.read_port(transparent_for=(wp,))
            read_here = read.en & (read.addr[-1] == h)
            rmw_here = self.in_valid & (tag.addr[-1] == h)
            m.d.comb += [
                rp.addr.eq(Mux(read_here, read.addr[:local_bits], tag.addr[:local_bits])),
                rp.en.eq(read_here | rmw_here),
                wp.en.eq(rmw_valid & (rmw_addr[-1] == h)),
                wp.addr.eq(rmw_addr[:local_bits]),
                wp.data.eq(acc_write),
            ]
            half_data.append(rp.data)
        # Each half's read data is registered on its own: the block RAM's clock-to-output
        # delay leaves no time for the half multiplexer before the register.
        m.d.sync += [s2_old[h].eq(half_data[h]) for h in range(2)]
        m.d.sync += [prev_valid.eq(rmw_valid), prev_addr.eq(rmw_addr), prev_data.eq(acc_write)]
        # The forwarding selects, registered: compared one stage early (the result in stage 1
        # against the ones that will be in the write stage and just written).
        newer = Signal()
        older = Signal()
        m.d.sync += [
            newer.eq(s2_valid & (s2_addr == s1_addr)),
            older.eq(rmw_valid & (rmw_addr == s1_addr)),
        ]
        total = Signal(vector)
        for j in range(cfg.cols):
            old = Mux(s2_half, s2_old[1][j], s2_old[0][j])
            previous = Mux(newer, acc_write[j], Mux(older, prev_data[j], old))
            m.d.comb += total[j].eq((Mux(s2_first, 0, previous) + s2_psum[j])[:32])
        m.d.sync += [
            rmw_valid.eq(s2_valid),
            rmw_addr.eq(s2_addr),
            rmw_last.eq(s2_last),
            acc_write.eq(total),
        ]
        m.d.comb += read.data.eq(Mux(read_half[1], s2_old[1], s2_old[0]))

        # Band bookkeeping of the halves.
        done_now = Signal(2)
        m.d.comb += done_now.eq(Mux(rmw_valid & rmw_last, Mux(rmw_addr[-1], 0b10, 0b01), 0))
        m.d.sync += [
            read.complete.eq((read.complete | done_now) & ~read.take),
            self.halves.free.eq((self.halves.free | read.release) & ~self.halves.claim),
        ]
        return m
