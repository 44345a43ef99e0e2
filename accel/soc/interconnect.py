"""The SoC's interconnect: everything between the bus masters and the RAM's ports.

:class:`SoCInterconnect` takes the core's two Wishbone masters (``ibus``, ``dbus``) and the
accelerator's AXI4 master (``dma``) and drives the four ports of one RAM (``dma_rd``,
``dma_wr``, ``cpu_rd``, ``cpu_wr``: connect a :class:`amaranth.lib.memory.Memory`'s ports)::

    ibus ─┐
          ├─ WishboneArbiter ─ WishboneDecoder ─┬─ RAM window ── WishboneRAMPort ── cpu_rd, cpu_wr
    dbus ─┘    (round robin)                    └─ MMIO window ─ MMIO (exit, console, cycles)
    dma ──────────────────────────────────────────────────────── AXI4RAMPort ──── dma_rd, dma_wr

The MMIO block's outputs are the component's outputs of the same names; ``bus_error`` and
``bus_error_addr`` (byte address) flag the first CPU access to an unmapped address.

``ram_ports`` (:data:`accel.soc.ram_ports.RAM_PORTS`): 4 — four independent RAM ports; 2 —
``cpu_rd``/``cpu_wr`` share their address and so do ``dma_rd``/``dma_wr`` (the DMA's read and
write channels time-multiplexed, write beats first): two read-write ports, as a block RAM has.
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.memory import ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from accel.hw.axi import axi_signature
from accel.soc.memory_map import MMIO_BASE, MMIO_BYTES, RAM_BASE
from accel.soc.mmio import BUS_ERROR_OUTPUTS, MMIO, OUTPUTS
from accel.soc.ram_ports import AXI4RAMPort, WishboneRAMPort, check_ram_ports
from accel.soc.wishbone import WishboneArbiter, WishboneDecoder, wishbone_signature


class SoCInterconnect(wiring.Component):
    """Bus masters onto one RAM of ``ram_bytes`` (a power of two) and ``data_width`` bits."""

    def __init__(self, data_width: int = 64, ram_bytes: int = 256 * 1024, ram_ports: int = 4):
        check_ram_ports(ram_ports)
        self.data_width, self.ram_bytes, self.ram_ports = data_width, ram_bytes, ram_ports
        self.depth = ram_bytes // (data_width // 8)
        addr_width = self.depth.bit_length() - 1
        rd = In(ReadPort.Signature(addr_width=addr_width, shape=data_width))
        wr = In(WritePort.Signature(addr_width=addr_width, shape=data_width, granularity=8))
        members = {
            "ibus": In(wishbone_signature()),
            "dbus": In(wishbone_signature()),
            "dma": In(axi_signature(data_width, 32, 1)),
            "dma_rd": rd,
            "dma_wr": wr,
            "cpu_rd": rd,
            "cpu_wr": wr,
        }
        members.update({name: Out(width) for name, width in OUTPUTS.items()})
        members.update({name: Out(width) for name, width in BUS_ERROR_OUTPUTS.items()})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        width, depth = self.data_width, self.depth
        m.submodules.dma_port = dma = AXI4RAMPort(width, depth, shared=self.ram_ports == 2)
        wiring.connect(m, wiring.flipped(self.dma), dma.axi)
        wiring.connect(m, dma.rd, wiring.flipped(self.dma_rd))
        wiring.connect(m, dma.wr, wiring.flipped(self.dma_wr))

        m.submodules.arbiter = arbiter = WishboneArbiter(2)
        wiring.connect(m, wiring.flipped(self.ibus), arbiter.masters[0])
        wiring.connect(m, wiring.flipped(self.dbus), arbiter.masters[1])
        m.submodules.decoder = decoder = WishboneDecoder(
            [(RAM_BASE, self.ram_bytes), (MMIO_BASE, MMIO_BYTES)]
        )
        m.submodules.cpu_port = cpu = WishboneRAMPort(width, depth)
        m.submodules.mmio = mmio = MMIO()
        wiring.connect(m, arbiter.bus, decoder.bus)
        wiring.connect(m, decoder.slaves[0], cpu.bus)
        wiring.connect(m, decoder.slaves[1], mmio.bus)
        wiring.connect(m, cpu.rd, wiring.flipped(self.cpu_rd))
        wiring.connect(m, cpu.wr, wiring.flipped(self.cpu_wr))
        for name in OUTPUTS:
            m.d.comb += getattr(self, name).eq(getattr(mmio, name))
        m.d.comb += [
            self.bus_error.eq(decoder.unmapped),
            self.bus_error_addr.eq(decoder.unmapped_adr << 2),
        ]
        return m
