# amaranth: UnusedElaboratable=no
"""The SoC RAM's organisations in Yosys (``synth_ecp5``): with two read-write ports
(``ram_ports=2``, the synthesis default) the RAM maps onto DP16KD block RAM — one block per
2 KiB at 64 bits (four 18-bit-wide 1024-deep blocks a 8 KiB slice), nothing in logic."""

from pathlib import Path

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from accel.build import synth
from accel.hw.axi import axi_signature
from accel.soc.interconnect import SoCInterconnect
from accel.soc.ram_ports import soc_ram
from accel.soc.wishbone import wishbone_signature

RAM_BYTES = 16384


class RAMSystem(wiring.Component):
    """The interconnect and its RAM, the three bus masters as ports."""

    ibus: In(wishbone_signature())
    dbus: In(wishbone_signature())
    dma: In(axi_signature(64, 32, 1))

    def __init__(self, ram_ports):
        self.ram_ports = ram_ports
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.bus = bus = SoCInterconnect(64, RAM_BYTES, self.ram_ports)
        m.submodules.ram, ports = soc_ram(64, RAM_BYTES // 8, ram_ports=self.ram_ports)
        for name, port in ports.items():
            wiring.connect(m, getattr(bus, name), port)
        for name in ("ibus", "dbus", "dma"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(bus, name))
        return m


def test_the_two_port_ram_maps_to_block_ram(tmp_path: Path):
    try:
        synth.find_tool("yosys")
    except synth.SynthError as error:
        pytest.fail(str(error))
    source = tmp_path / "ram_system.v"
    source.write_text(verilog.convert(RAMSystem(2), name="ram_system", emit_src=False))
    result = synth.run_yosys(source, "ecp5", tmp_path, top="ram_system", timeout=600)
    assert result.memories.get("ram_system.ram") == "DP16KD", result.memories
    # 16 KiB at 64 bits: 2048 words x 64 bits = 8 DP16KD (1024 x 18 each, four side by side)
    assert result.cells.get("DP16KD", 0) == 8, result.cells
