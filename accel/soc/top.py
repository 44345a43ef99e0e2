"""The SoC: VexRiscv with the accelerator on its CFU port, one shared on-chip RAM, MMIO.

::

        VexRiscv_FullCfu ── CFU cmd/rsp ──────────────── accel_top (the accelerator)
          iBus    dBus                                       │ AXI4 master
           │       │                                         │
         WishboneArbiter (round robin)                  AXI4RAMPort
                 │                                       rd │  │ wr
         WishboneDecoder ── 0xF000_0000 ── MMIO              │  │
                 │ 0x0000_0000                               │  │
         WishboneRAMPort ── rd, wr ──── RAM (Memory) ────────┘  │

The RAM (the Verilog memory ``ram`` of ``accel_soc``) is ``data_width`` = the accelerator's bus
width wide and ``ram_bytes`` long (a power of two), initialised from ``init`` (bytes, e.g. a
firmware image; the rest is 0); the simulation harness loads and reads it directly.
``ram_ports``: 4 independent ports (the default, the DMA timing ``accel.perf`` models) or 2
read-write ports (one for the CPU, one shared by the DMA's read and write channels: what an
FPGA block RAM has; :mod:`accel.soc.ram_ports`). ``reset``
(active high, synchronous) takes effect one clock edge late: it is registered before it
reaches the core, the accelerator and the SoC logic. The MMIO block's outputs
(``exit_valid``, ``exit_code``, ``char_valid``, ``char_data``, ``trap_valid``,
``instret_lo``/``hi``, ``trap_cause``/``pc``/``val``, ``cycles``) and the interconnect's
``bus_error``/``bus_error_addr`` are ports.

``gated_clocks`` (simulation only): the accelerator and the core get their own clock inputs
``accel_clk`` and ``cpu_clk`` instead of ``clk``, and two outputs tell a simulation harness when
it may hold those clocks still (:mod:`accel.soc.sim`): ``accel_active`` (a layer is running, or
a CFU command or response is pending) and ``cpu_waiting`` (the core has issued a CFU command
whose response has not come, and neither of its buses has a cycle open). The RAM, the
interconnect and the MMIO block stay on ``clk``; the FPGA build has one clock.

The accelerator is the Verilog module ``accel_top`` generated from
:class:`accel.hw.top.AcceleratorTop` and the core is the module ``VexRiscv`` of the wheel's
``VexRiscv_FullCfu.v``; both are instances here (:func:`accel.soc.build.soc_verilog` emits
``accel_top`` with the SoC, the simulator or synthesis reads the wheel's file).
"""

from amaranth.hdl import ClockDomain, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.soc import vexriscv
from accel.soc.interconnect import SoCInterconnect
from accel.soc.memory_map import RAM_BASE
from accel.soc.mmio import BUS_ERROR_OUTPUTS, OUTPUTS
from accel.soc.ram_ports import check_ram_ports, soc_ram
from accel.spec.config import AccelConfig

DEFAULT_RAM_BYTES = 256 * 1024
DEFAULT_RAM_PORTS = 4
ACCEL_MODULE = "accel_top"


def check_ram_bytes(ram_bytes) -> None:
    if not isinstance(ram_bytes, int) or ram_bytes < 4096 or ram_bytes & (ram_bytes - 1):
        raise ValueError(f"ram_bytes must be a power of two >= 4096, not {ram_bytes!r}")


def ram_words(image: bytes, word_bytes: int, depth: int) -> list[int]:
    """``image`` as little-endian RAM words (zero-padded to whole words); at most ``depth``."""
    if len(image) > depth * word_bytes:
        raise ValueError(f"an image of {len(image)} bytes does not fit {depth * word_bytes}")
    image = bytes(image) + bytes(-len(image) % word_bytes)
    return [
        int.from_bytes(image[i : i + word_bytes], "little")
        for i in range(0, len(image), word_bytes)
    ]


class SoC(wiring.Component):
    """The SoC above for an accelerator ``config``, ``ram_bytes`` of RAM, optional ``init``."""

    def __init__(
        self,
        config: AccelConfig,
        ram_bytes: int = DEFAULT_RAM_BYTES,
        init=b"",
        ram_ports: int = DEFAULT_RAM_PORTS,
        gated_clocks: bool = False,
    ):
        check_ram_bytes(ram_bytes)
        check_ram_ports(ram_ports)
        self.config = config
        self.ram_ports = ram_ports
        self.ram_bytes = ram_bytes
        self.word_bytes = config.bus_bytes
        self.depth = ram_bytes // self.word_bytes
        self.init = ram_words(init, self.word_bytes, self.depth)
        self.gated_clocks = bool(gated_clocks)
        members = {"clk": In(1), "reset": In(1)}
        if self.gated_clocks:
            members.update(
                {
                    "accel_clk": In(1),
                    "cpu_clk": In(1),
                    "accel_active": Out(1),
                    "cpu_waiting": Out(1),
                }
            )
        members.update({name: Out(width) for name, width in OUTPUTS.items()})
        members.update({name: Out(width) for name, width in BUS_ERROR_OUTPUTS.items()})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        # The reset input is registered once for everything (core, accelerator, SoC logic):
        # then no logic depends combinationally on a top-level input, which keeps Verilator
        # from re-evaluating the whole design on every clock edge.
        m.domains.sync = sync = ClockDomain("sync")
        m.domains.reset_in = reset_in = ClockDomain("reset_in", reset_less=True)
        reset = Signal(init=1)
        m.d.reset_in += reset.eq(self.reset)
        m.d.comb += [sync.clk.eq(self.clk), reset_in.clk.eq(self.clk), sync.rst.eq(reset)]
        self._reset = reset
        width = self.config.bus_width

        m.submodules.ram, ports = soc_ram(width, self.depth, self.init, self.ram_ports)
        m.submodules.interconnect = bus = SoCInterconnect(width, self.ram_bytes, self.ram_ports)
        for name, port in ports.items():
            wiring.connect(m, getattr(bus, name), port)
        for name in [*OUTPUTS, *BUS_ERROR_OUTPUTS]:
            m.d.comb += getattr(self, name).eq(getattr(bus, name))

        cfu = {
            name: Signal(width, name=f"cfu_{name}")
            for name, width in (
                ("cmd_valid", 1),
                ("cmd_ready", 1),
                ("cmd_payload_function_id", 10),
                ("cmd_payload_inputs_0", 32),
                ("cmd_payload_inputs_1", 32),
                ("rsp_valid", 1),
                ("rsp_ready", 1),
                ("rsp_payload_outputs_0", 32),
            )
        }
        m.submodules.cpu = self._core(bus, cfu)
        busy = Signal(name="accel_busy")
        m.submodules.accel = self._accelerator(bus, cfu, busy)
        if self.gated_clocks:
            self._clock_gate_outputs(m, bus, cfu, busy)
        return m

    def _clock_gate_outputs(self, m, bus, cfu, busy):
        m.d.comb += self.accel_active.eq(busy | cfu["cmd_valid"] | cfu["rsp_valid"])
        response_due = Signal()  # a command was accepted, its response not yet
        with m.If(cfu["cmd_valid"] & cfu["cmd_ready"]):
            m.d.sync += response_due.eq(1)
        with m.Elif(cfu["rsp_valid"] & cfu["rsp_ready"]):
            m.d.sync += response_due.eq(0)
        m.d.comb += self.cpu_waiting.eq(
            response_due & ~cfu["rsp_valid"] & ~bus.ibus.cyc & ~bus.dbus.cyc
        )

    def _core(self, bus, cfu):
        ports = {
            "i_clk": self.cpu_clk if self.gated_clocks else self.clk,
            "i_reset": self._reset,
            "i_externalResetVector": RAM_BASE,
            "i_timerInterrupt": 0,
            "i_softwareInterrupt": 0,
            "i_externalInterruptArray": 0,
        }
        for name, master in (("iBus", bus.ibus), ("dBus", bus.dbus)):
            for port, field in (
                ("CYC", "cyc"),
                ("STB", "stb"),
                ("WE", "we"),
                ("ADR", "adr"),
                ("DAT_MOSI", "dat_w"),
                ("SEL", "sel"),
                ("CTI", "cti"),
                ("BTE", "bte"),
            ):
                ports[f"o_{name}Wishbone_{port}"] = getattr(master, field)
            for port, field in (("ACK", "ack"), ("DAT_MISO", "dat_r"), ("ERR", "err")):
                ports[f"i_{name}Wishbone_{port}"] = getattr(master, field)
        for name, signal in cfu.items():
            direction = (
                "o" if name in ("cmd_valid", "rsp_ready") or name.startswith("cmd_p") else "i"
            )
            ports[f"{direction}_CfuPlugin_bus_{name}"] = signal
        assert {key[2:] for key in ports} == set(vexriscv.PORTS), "VexRiscv port list"
        return Instance(vexriscv.MODULE, **ports)

    def _accelerator(self, bus, cfu, busy):
        from accel.hw.top import top_signature

        clock = self.accel_clk if self.gated_clocks else self.clk
        ports = {"i_clk": clock, "i_reset": self._reset, "o_busy": busy}
        for name, signal in cfu.items():
            direction = (
                "i" if name in ("cmd_valid", "rsp_ready") or name.startswith("cmd_p") else "o"
            )
            ports[f"{direction}_{name}"] = signal
        for name, member in top_signature(self.config).members.items():
            if name.startswith("m_axi_"):
                direction = "o" if member.flow == wiring.Out else "i"
                ports[f"{direction}_{name}"] = getattr(bus.dma, name[len("m_axi_") :])
        return Instance(ACCEL_MODULE, **ports)
