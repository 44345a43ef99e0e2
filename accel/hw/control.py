"""The custom-instruction control port (CFU interface), generated from :mod:`accel.spec.isa`."""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.spec import isa
from accel.spec.config import AccelConfig

COUNTER_WIDTH = 32


def descriptor_layout() -> data.StructLayout:
    """The layer descriptor: one field per :data:`accel.spec.isa.REGISTERS` entry."""
    return data.StructLayout(
        {r.name: (signed(r.width) if r.signed else r.width) for r in isa.REGISTERS}
    )


def command_layout() -> data.StructLayout:
    return data.StructLayout({"function_id": isa.FUNCTION_ID_BITS, "inputs_0": 32, "inputs_1": 32})


def response_layout() -> data.StructLayout:
    return data.StructLayout({"outputs_0": 32})


class ControlPort(wiring.Component):
    """Decodes custom instructions into descriptor writes, control pulses and reads.

    ``cmd``/``rsp``
        The CFU handshake. A command is accepted when ``cmd.valid & cmd.ready``; its operands
        are latched then. Exactly one response follows each command; WAIT's response is held
        back until the accelerator is idle.
    ``descriptor``
        The layer descriptor registers (written by SET, read by the sequencer). SET is
        refused while ``busy`` so the descriptor is stable during a layer.
    ``start``
        One-cycle pulse on an accepted START or CONTINUE while idle.
    ``busy``
        From the sequencer: a layer is running (including descriptor validation).
    ``desc_error``
        From the sequencer: non-zero for one cycle with the code of the failed descriptor check.
    ``bus_error``
        From the DMA engines: an AXI error response was seen (sticky here).
    ``count_mac`` / ``count_stall``
        From the sequencer: count this cycle as MAC-active / stalled.
    ``dma_read_bytes`` / ``dma_write_bytes``
        Byte counters of the DMA engines (cleared through ``clear_counters``).
    ``clear_counters``
        Pulse to the DMA engines: reset their counters (on START and CLEAR, not CONTINUE).
    """

    def __init__(self, config: AccelConfig):
        self.config = config
        super().__init__(
            {
                "cmd": In(stream.Signature(command_layout())),
                "rsp": Out(stream.Signature(response_layout())),
                "descriptor": Out(descriptor_layout()),
                "start": Out(1),
                "busy": In(1),
                "desc_error": In(8),
                "bus_error": In(1),
                "count_mac": In(1),
                "count_stall": In(1),
                "dma_read_bytes": In(32),
                "dma_write_bytes": In(32),
                "clear_counters": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()

        function_id = Signal(isa.FUNCTION_ID_BITS)
        operand = Signal(32)
        funct3 = function_id[: isa.FUNCT3_BITS]
        funct7 = function_id[isa.FUNCT3_BITS :]

        done = Signal()
        err_unknown = Signal()
        err_descriptor = Signal()
        err_busy = Signal()
        err_bus = Signal()
        err_code = Signal(8)
        status = Signal(32)
        bits = isa.STATUS_BIT
        m.d.comb += [
            status[bits["BUSY"].bit].eq(self.busy),
            status[bits["DONE"].bit].eq(done),
            status[bits["ERR_UNKNOWN"].bit].eq(err_unknown),
            status[bits["ERR_DESCRIPTOR"].bit].eq(err_descriptor),
            status[bits["ERR_BUSY"].bit].eq(err_busy),
            status[bits["ERR_BUS"].bit].eq(err_bus),
            status[isa.ERR_CODE_SHIFT : isa.ERR_CODE_SHIFT + 8].eq(err_code),
        ]

        counters = {
            c.name: Signal(COUNTER_WIDTH, name=f"ctr_{c.name.lower()}") for c in isa.COUNTERS
        }
        clear = Signal()
        fresh = Signal()  # START (not CONTINUE): the counters restart
        m.d.comb += self.clear_counters.eq(clear | fresh)
        with m.If(self.clear_counters):
            m.d.sync += [counters[name].eq(0) for name in ("CYCLES", "MAC_CYCLES", "STALL_CYCLES")]
        with m.Else():
            with m.If(self.busy):
                m.d.sync += counters["CYCLES"].eq(counters["CYCLES"] + 1)
            with m.If(self.count_mac):
                m.d.sync += counters["MAC_CYCLES"].eq(counters["MAC_CYCLES"] + 1)
            with m.If(self.count_stall):
                m.d.sync += counters["STALL_CYCLES"].eq(counters["STALL_CYCLES"] + 1)
        m.d.comb += [
            counters["DMA_READ_BYTES"].eq(self.dma_read_bytes),
            counters["DMA_WRITE_BYTES"].eq(self.dma_write_bytes),
        ]

        busy_prev = Signal()
        m.d.sync += busy_prev.eq(self.busy)
        with m.If(busy_prev & ~self.busy):
            m.d.sync += done.eq(1)
        with m.If(self.bus_error):
            m.d.sync += err_bus.eq(1)
        with m.If(self.desc_error != 0):
            m.d.sync += [err_descriptor.eq(1), err_code.eq(self.desc_error)]

        result = Signal(32)
        m.d.comb += self.rsp.payload.outputs_0.eq(result)
        group = isa.GROUP
        n_regs = len(isa.REGISTERS)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    m.d.sync += [
                        function_id.eq(self.cmd.payload.function_id),
                        operand.eq(self.cmd.payload.inputs_0),
                    ]
                    m.next = "EXECUTE"
            with m.State("EXECUTE"):
                m.d.sync += result.eq(0)
                m.next = "RESPOND"
                with m.Switch(funct3):
                    with m.Case(group["SET"].funct3):
                        with m.If(funct7 >= n_regs):
                            m.d.sync += err_unknown.eq(1)
                        with m.Elif(self.busy):
                            m.d.sync += err_busy.eq(1)
                        with m.Else():
                            with m.Switch(funct7):
                                for reg in isa.REGISTERS:
                                    with m.Case(reg.index):
                                        field = self.descriptor[reg.name]
                                        m.d.sync += field.eq(operand[: reg.width])
                    with m.Case(group["GET"].funct3):
                        with m.Switch(funct7):
                            for reg in isa.REGISTERS:
                                with m.Case(reg.index):
                                    m.d.sync += result.eq(self.descriptor[reg.name])
                            with m.Default():
                                m.d.sync += err_unknown.eq(1)
                    with m.Case(group["CTRL"].funct3):
                        ops = isa.CONTROL_OP
                        with m.Switch(funct7):
                            with m.Case(ops["START"].index, ops["CONTINUE"].index):
                                with m.If(self.busy):
                                    m.d.sync += err_busy.eq(1)
                                with m.Else():
                                    m.d.comb += self.start.eq(1)
                                    m.d.comb += fresh.eq(funct7 == ops["START"].index)
                                    m.d.sync += done.eq(0)
                                m.next = "STATUS"
                            with m.Case(ops["WAIT"].index):
                                m.next = "WAIT"
                            with m.Case(ops["STATUS"].index):
                                m.next = "STATUS"
                            with m.Case(ops["CLEAR"].index):
                                m.d.comb += clear.eq(1)
                                m.d.sync += [
                                    err_unknown.eq(0),
                                    err_descriptor.eq(0),
                                    err_busy.eq(0),
                                    err_bus.eq(0),
                                    err_code.eq(0),
                                ]
                            with m.Default():
                                m.d.sync += err_unknown.eq(1)
                    with m.Case(group["COUNTER"].funct3):
                        with m.Switch(funct7):
                            for ctr in isa.COUNTERS:
                                with m.Case(ctr.index):
                                    m.d.sync += result.eq(counters[ctr.name])
                            with m.Default():
                                m.d.sync += err_unknown.eq(1)
                    with m.Case(group["INFO"].funct3):
                        values = isa.info_values(self.config)
                        with m.Switch(funct7):
                            for item in isa.INFO:
                                with m.Case(item.index):
                                    m.d.sync += result.eq(values[item.name])
                            with m.Default():
                                m.d.sync += err_unknown.eq(1)
                    with m.Default():
                        m.d.sync += err_unknown.eq(1)
            with m.State("WAIT"):
                # START's busy is visible one cycle after the pulse; WAIT comes later anyway.
                with m.If(~self.busy):
                    m.next = "STATUS"
            with m.State("STATUS"):
                m.d.sync += result.eq(status)
                m.next = "RESPOND"
            with m.State("RESPOND"):
                m.d.comb += self.rsp.valid.eq(1)
                with m.If(self.rsp.ready):
                    m.next = "IDLE"

        return m
