"""Wishbone B4 classic bus pieces: the signature, a round-robin arbiter and an address decoder.

The bus is the one VexRiscv's ``iBusWishbone``/``dBusWishbone`` masters speak: 32-bit data,
a 30-bit *word* address ``adr`` (byte address bits 31..2), byte selects ``sel``, ``cyc``,
``stb``, ``we``, ``ack``, ``err`` and the burst hints ``cti``/``bte`` (passed on, never needed:
every beat is handshaken with its own ``ack``). A master holds ``cyc`` for a whole burst (a
cache-line refill); the arbiter keeps its grant for that long.
"""

from amaranth.hdl import Array, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

ADDR_WIDTH = 30
DATA_WIDTH = 32


def wishbone_signature() -> wiring.Signature:
    """A Wishbone master's view: ``adr dat_w sel cyc stb we cti bte`` out, ``dat_r ack err`` in."""
    return wiring.Signature(
        {
            "adr": Out(ADDR_WIDTH),
            "dat_w": Out(DATA_WIDTH),
            "dat_r": In(DATA_WIDTH),
            "sel": Out(DATA_WIDTH // 8),
            "cyc": Out(1),
            "stb": Out(1),
            "we": Out(1),
            "ack": In(1),
            "err": In(1),
            "cti": Out(3),
            "bte": Out(2),
        }
    )


_FORWARD = ("adr", "dat_w", "sel", "cyc", "stb", "we", "cti", "bte")


class WishboneArbiter(wiring.Component):
    """Round-robin arbiter: ``n`` Wishbone masters share one slave.

    Ports: ``masters`` (``In(wishbone_signature()).array(n)``, the masters connect here) and
    ``bus`` (``Out(wishbone_signature())``, to the slave). The granted master's signals are
    wired through; ``ack``, ``err`` and ``dat_r`` reach only it. The grant is held for a bus
    cycle: until the granted master drops ``cyc``, or until the acknowledge of a classic
    transfer (``cti`` 0) or of a burst's last beat (``cti`` 7). Then the next requesting
    master in round-robin order is granted at that clock edge, so every master waits at most
    one bus cycle per other master and none starves, even one that never drops ``cyc``.
    """

    def __init__(self, n: int = 2):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, not {n!r}")
        self.n = n
        super().__init__(
            {"masters": In(wishbone_signature()).array(n), "bus": Out(wishbone_signature())}
        )

    def elaborate(self, platform):
        m = Module()
        n = self.n
        grant = Signal(range(n))
        for i, master in enumerate(self.masters):
            with m.If(grant == i):
                for name in _FORWARD:
                    m.d.comb += getattr(self.bus, name).eq(getattr(master, name))
                m.d.comb += [master.ack.eq(self.bus.ack), master.err.eq(self.bus.err)]
            m.d.comb += master.dat_r.eq(self.bus.dat_r)
        requests = Array(master.cyc for master in self.masters)
        # A bus cycle ends when the granted master drops cyc, or with the acknowledge of a
        # classic transfer (cti 0) or of a burst's last beat (cti 7): a master that keeps
        # cyc high from one transfer to the next cannot lock the others out.
        bus = self.bus
        done = (bus.ack | bus.err) & ((bus.cti == 0) | (bus.cti == 7))
        with m.If(~requests[grant] | done):
            for i in range(n):
                with m.If(grant == i):
                    # the nearest requesting master after i wins (later statements win)
                    for step in reversed(range(1, n + 1)):
                        with m.If(self.masters[(i + step) % n].cyc):
                            m.d.sync += grant.eq((i + step) % n)
        return m


class WishboneDecoder(wiring.Component):
    """Address decoder: one Wishbone master, slaves at byte-address windows.

    ``windows``: a list of ``(base, size)`` byte ranges (size a power of two, base a multiple
    of it, not overlapping). Ports: ``bus`` (``In(wishbone_signature())``, from the master)
    and ``slaves`` (``Out(wishbone_signature()).array(len(windows))``); slave ``i`` sees the
    full address (it decodes its own offset) and ``cyc``/``stb`` only when the address is in
    window ``i``. An address in no window is answered by the decoder itself one cycle after
    ``stb``: with ``ack`` (reads return 0) and the sticky outputs ``unmapped`` (high from the
    first such access until reset) and ``unmapped_adr`` (its word address) — not with
    ``err``, because VexRiscv_FullCfu leaves its Wishbone ``ERR`` inputs unconnected and
    would wait for an ``ack`` forever; the simulation harness stops on ``unmapped``.
    """

    def __init__(self, windows):
        windows = [(int(base), int(size)) for base, size in windows]
        for base, size in windows:
            if size < 4 or size & (size - 1) or base % size or base + size > 1 << 32:
                raise ValueError(
                    f"window (0x{base:x}, 0x{size:x}): size must be a power of two >= 4 and "
                    f"base a multiple of it below 2**32"
                )
        ordered = sorted(windows)
        for (b0, s0), (b1, _s1) in zip(ordered, ordered[1:], strict=False):
            if b0 + s0 > b1:
                raise ValueError(f"windows at 0x{b0:x} and 0x{b1:x} overlap")
        self.windows = windows
        super().__init__(
            {
                "bus": In(wishbone_signature()),
                "slaves": Out(wishbone_signature()).array(len(windows)),
                "unmapped": Out(1),
                "unmapped_adr": Out(ADDR_WIDTH),
            }
        )

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        hits = []
        for i, ((base, size), slave) in enumerate(zip(self.windows, self.slaves, strict=True)):
            hit = Signal(name=f"hit{i}")
            word_bits = (size >> 2).bit_length() - 1
            m.d.comb += hit.eq((bus.adr >> word_bits) == (base >> 2 >> word_bits))
            hits.append(hit)
            for name in _FORWARD:
                m.d.comb += getattr(slave, name).eq(getattr(bus, name))
            m.d.comb += [slave.cyc.eq(bus.cyc & hit), slave.stb.eq(bus.stb & hit)]
            with m.If(hit):
                m.d.comb += [
                    bus.dat_r.eq(slave.dat_r),
                    bus.ack.eq(slave.ack),
                    bus.err.eq(slave.err),
                ]
        miss = Signal()
        m.d.comb += miss.eq(bus.cyc & bus.stb & ~any_of(hits))
        miss_ack = Signal()
        m.d.sync += miss_ack.eq(miss & ~miss_ack)
        with m.If(miss_ack):
            m.d.comb += bus.ack.eq(1)
        with m.If(miss & ~self.unmapped):
            m.d.sync += [self.unmapped.eq(1), self.unmapped_adr.eq(bus.adr)]
        return m


def any_of(signals):
    """The OR of ``signals`` (0 for none)."""
    value = 0
    for sig in signals:
        value = value | sig
    return value
