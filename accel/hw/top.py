"""Top level with the flat port names of the design contract.

``clk``, active-high ``reset``, the CFU control port (``cmd_valid``, ``cmd_ready``,
``cmd_payload_function_id[9:0]``, ``cmd_payload_inputs_0[31:0]``,
``cmd_payload_inputs_1[31:0]``, ``rsp_valid``, ``rsp_ready``, ``rsp_payload_outputs_0[31:0]``),
``busy`` (a layer is running: from the cycle after START until its last output byte is
acknowledged; for observation and clock gating, the firmware uses STATUS/WAIT) and an AXI4
master named ``m_axi_<signal>`` (``m_axi_awvalid``, ``m_axi_rdata``, ...), the convention of
``cocotbext.axi.AxiBus.from_prefix(dut, "m_axi")`` and FPGA tools.
"""

from amaranth.hdl import ClockDomain, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.hw.axi import AXI4Master, axi_signature
from accel.hw.core import Accelerator
from accel.spec import isa
from accel.spec.config import AccelConfig

AXI_ADDR_WIDTH = 32
AXI_ID_WIDTH = 1


def _axi_members(config: AccelConfig) -> dict:
    signature = axi_signature(config.bus_width, AXI_ADDR_WIDTH, AXI_ID_WIDTH)
    return dict(signature.members.items())


def top_signature(config: AccelConfig) -> wiring.Signature:
    """The flat port list of the delivered Verilog module."""
    members = {
        "clk": In(1),
        "reset": In(1),
        "cmd_valid": In(1),
        "cmd_ready": Out(1),
        "cmd_payload_function_id": In(isa.FUNCTION_ID_BITS),
        "cmd_payload_inputs_0": In(32),
        "cmd_payload_inputs_1": In(32),
        "rsp_valid": Out(1),
        "rsp_ready": In(1),
        "rsp_payload_outputs_0": Out(32),
        "busy": Out(1),
    }
    for name, member in _axi_members(config).items():
        members["m_axi_" + name] = member
    return wiring.Signature(members)


class AcceleratorTop(wiring.Component):
    """The accelerator as delivered in Verilog: flat CFU port, AXI4 master, clk/reset."""

    def __init__(self, config: AccelConfig):
        self.config = config
        self._axi_names = list(_axi_members(config))
        super().__init__(top_signature(config))

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.domains.sync = sync = ClockDomain("sync")
        m.d.comb += [sync.clk.eq(self.clk), sync.rst.eq(self.reset)]

        m.submodules.core = core = Accelerator(cfg)
        m.submodules.axi = axi = AXI4Master(cfg.bus_width, AXI_ADDR_WIDTH, AXI_ID_WIDTH)
        wiring.connect(m, core.mem, axi.bus)
        m.d.comb += [
            core.cmd.valid.eq(self.cmd_valid),
            self.cmd_ready.eq(core.cmd.ready),
            core.cmd.payload.function_id.eq(self.cmd_payload_function_id),
            core.cmd.payload.inputs_0.eq(self.cmd_payload_inputs_0),
            core.cmd.payload.inputs_1.eq(self.cmd_payload_inputs_1),
            self.rsp_valid.eq(core.rsp.valid),
            core.rsp.ready.eq(self.rsp_ready),
            self.rsp_payload_outputs_0.eq(core.rsp.payload.outputs_0),
            self.busy.eq(core.busy),
        ]
        for name in self._axi_names:
            port = getattr(self, "m_axi_" + name)
            inner = getattr(axi.axi, name)
            if self.signature.members["m_axi_" + name].flow == wiring.Out:
                m.d.comb += port.eq(inner)
            else:
                m.d.comb += inner.eq(port)
        return m
