"""A whole small layer on the real :class:`~accel.hw.top.AcceleratorTop`, from reset to WAIT.

With a free CPU a layer needs more SET commands than a BMC of the whole design can unroll, so
:class:`LayerHarness` drives the CFU from a ROM: the instruction sequence the driver
(:func:`accel.driver.prepare_layer`, the same function that makes firmware descriptors) builds
for a tiny layer, SET, START, WAIT, one command after the other with ``rsp_ready`` high. The
AXI slave stays free within the protocol assumptions of :mod:`accel.formal.axi` (any data, any
latency, any response); memory contents are the solver's choice, so the proof holds for every
input, weight and parameter value. ``latency`` makes the slave fair: a VALID of the master
is taken within ``latency`` cycles, an outstanding read burst gets its next beat and a
completed write burst its response within ``latency`` cycles of waiting.

Properties: the layer ends (``busy`` falls) within a bound after START and after any
SLVERR/DECERR response, and WAIT then answers DONE with ERR_BUS exactly when an error
response came (BMC to a depth past START + the bound, so every trace is checked to its end);
covers that WAIT answers DONE without errors and DONE with ERR_BUS.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from amaranth.hdl import Array, ClockDomain, Const, DomainRenamer, Elaboratable, Module, Signal
from amaranth.lib import wiring

from accel.formal.axi import AXI_OKAY, check_axi_read, check_axi_write
from accel.formal.cfu import CfuPort, check_cfu
from accel.formal.props import Properties
from accel.hw.top import AcceleratorTop
from accel.spec import isa, timing
from accel.spec.config import AccelConfig

__all__ = ["LayerHarness", "tiny_layer_commands", "start_step", "LAYER_BOUND"]

#: Cycles from START's acceptance until WAIT's response is offered, with ``latency`` 1 slave.
LAYER_BOUND = 80
#: The bound after an error response is this much shorter (no response comes before the
#: first read burst, several cycles after START).
ERROR_MARGIN = 20
#: Cycles per command of the ROM-driven CPU (accept, execute, respond).
COMMAND_CYCLES = 3


def start_step(commands) -> int:
    """The step in which START is accepted: reset in step 0, the first command in step 1."""
    (index,) = [i for i, (fid, _) in enumerate(commands) if fid == _ctrl("START")]
    return 1 + COMMAND_CYCLES * index


def tiny_layer_commands(config: AccelConfig, M: int = 2) -> list[tuple[int, int]]:
    """(function_id, inputs_0) of the instruction sequence of a 1x1 convolution, C = 1, M
    output channels, on a 1x1 image, as :func:`accel.driver.prepare_layer` builds it
    (``LayerJob.commands``). SETs of the value 0 are left out: the descriptor registers reset
    to 0 (the reset-descriptor cover of the ``top`` proof starts from that state)."""
    from accel.driver import prepare_layer
    from accel.ref.layer import random_layer

    rng = np.random.default_rng(14)
    layer = random_layer(rng, M=M, C=1, R=1, S=1)
    x = rng.integers(-128, 128, size=(1, 1, 1, 1), dtype=np.int8)
    job = prepare_layer(layer, x, config)
    set_group = isa.GROUP["SET"].funct3
    return [
        (fid, value)
        for fid, value, _ in job.commands()
        if not (fid & ((1 << isa.FUNCT3_BITS) - 1) == set_group and value == 0)
    ]


def _ctrl(name: str) -> int:
    return isa.function_id("CTRL", isa.CONTROL_OP[name].index)


class LayerHarness(Elaboratable):
    """:class:`~accel.hw.top.AcceleratorTop` running the tiny layer of
    :func:`tiny_layer_commands` against a free (protocol-legal) AXI slave, reset in the first
    cycle only. ``latency``: bound of the slave's waits (None: unbounded); ``bound``: cycles
    from START until WAIT is answered (``error_bound``: after the first error response)."""

    def __init__(
        self,
        config: AccelConfig,
        factory=AcceleratorTop,
        latency: int | None = 1,
        bound: int = LAYER_BOUND,
        error_bound: int | None = None,
        only=None,
    ):
        self.config = config
        self.factory = factory
        self.latency = latency
        self.bound = bound
        self.error_bound = bound - ERROR_MARGIN if error_bound is None else error_bound
        self.commands = tiny_layer_commands(config)
        self.props = Properties(only=only)
        self.ports: list = []

    def elaborate(self, platform):
        outer = Module()
        outer.domains.formal = cd = ClockDomain("formal")
        self.ports.append(cd.clk)
        # Reset in the first cycle only: the ROM runs the sequence once from reset.
        first = Signal(init=1, reset_less=True)
        outer.d.formal += first.eq(0)
        outer.d.comb += cd.rst.eq(first)
        outer.submodules.dut = top = self.factory(self.config)
        outer.d.comb += [top.clk.eq(cd.clk), top.reset.eq(cd.rst)]
        m = Module()
        self._cpu(m, top)
        bus = SimpleNamespace(
            **{
                name[len("m_axi_") :]: getattr(top, name)
                for name in top.signature.members
                if name.startswith("m_axi_")
            }
        )
        for name, member in top.signature.members.items():
            if name.startswith("m_axi_") and member.flow == wiring.In:
                port = Signal(len(getattr(top, name)), name=name)
                outer.d.comb += getattr(top, name).eq(port)
                self.ports.append(port)
        self._slave(m, bus)
        self._layer(m, top, bus)
        outer.submodules.monitors = DomainRenamer("formal")(m)
        return outer

    def _cpu(self, m, top):
        """The CPU: the ROM's commands in order, each response taken at once."""
        rom_fid = Array(Const(fid, isa.FUNCTION_ID_BITS) for fid, _ in self.commands)
        rom_arg = Array(Const(value & 0xFFFFFFFF, 32) for _, value in self.commands)
        index = Signal(range(len(self.commands) + 1), name="cpu_index")
        pending = Signal(name="cpu_pending")  # a command accepted, its response not yet
        issue = (index < len(self.commands)) & ~pending
        m.d.comb += [
            top.cmd_valid.eq(issue),
            top.cmd_payload_function_id.eq(rom_fid[index]),
            top.cmd_payload_inputs_0.eq(rom_arg[index]),
            top.cmd_payload_inputs_1.eq(0),
            top.rsp_ready.eq(1),
        ]
        with m.If(top.cmd_valid & top.cmd_ready):
            m.d.sync += [index.eq(index + 1), pending.eq(1)]
        with m.If(top.rsp_valid):
            m.d.sync += pending.eq(0)
        self.cpu = SimpleNamespace(index=index)

    def _slave(self, m, bus):
        """Protocol assumptions (and the master's AXI properties), fairness, responses."""
        cfg = self.config
        self.reads = check_axi_read(
            m,
            self.props,
            bus,
            bus_bytes=cfg.bus_bytes,
            max_burst=cfg.max_burst,
            reads_outstanding=timing.READ_OUTSTANDING,
        )
        self.writes = check_axi_write(
            m,
            self.props,
            bus,
            bus_bytes=cfg.bus_bytes,
            max_burst=cfg.max_burst,
            writes_ahead=timing.WRITE_BURST_QUEUE,
            ready_bound=1,
        )
        if self.latency is None:
            return
        waits = {
            "ar": bus.arvalid & ~bus.arready,
            "aw": bus.awvalid & ~bus.awready,
            "w": bus.wvalid & ~bus.wready,
            "r": (self.reads.outstanding != 0) & ~bus.rvalid,
            "b": (self.writes.unanswered != 0) & ~bus.bvalid,
        }
        for ch, waiting in waits.items():
            count = Signal(range(self.latency + 2), name=f"slave_{ch}_wait")
            with m.If(~waiting):
                m.d.sync += count.eq(0)
            with m.Elif(count <= self.latency):
                m.d.sync += count.eq(count + 1)
            self.props.assume(m, f"slave.{ch}_within_{self.latency}", count < self.latency)

    def _layer(self, m, top, bus):
        """The layer's end: WAIT answered within the bound of START and of an error response,
        with the documented STATUS; covers of a clean and of a failed-bus layer."""
        props = self.props
        port = CfuPort.of_top(top)
        fid = check_cfu(m, props, port, bound=3, wait_bound=3, status=False)
        accept = port.cmd_valid & port.cmd_ready
        answer = port.rsp_valid & port.rsp_ready & (fid == _ctrl("WAIT"))
        erred = Signal(name="layer_erred")  # a read or write burst was answered SLVERR/DECERR
        wrote = Signal(name="layer_wrote")  # a write burst was answered OKAY
        error_now = (self.reads.taken & bus.rresp[1]) | (self.writes.taken & bus.bresp[1])
        with m.If(error_now):
            m.d.sync += erred.eq(1)
        with m.If(self.writes.taken & (bus.bresp == AXI_OKAY)):
            m.d.sync += wrote.eq(1)

        def since(name, event, stop):
            """Cycles since ``event`` first happened, until ``stop`` (saturating)."""
            count = Signal(range(self.bound + 2), name=f"layer_{name}")
            running = Signal(name=f"layer_{name}_running")
            with m.If(stop):
                m.d.sync += running.eq(0)
            with m.Elif(event & ~running):
                m.d.sync += [running.eq(1), count.eq(1)]
            with m.Elif(running & (count <= self.bound)):
                m.d.sync += count.eq(count + 1)
            return running, count

        done = Signal(name="layer_answered")
        with m.If(answer):
            m.d.sync += done.eq(1)
        start = accept & (port.function_id == _ctrl("START"))
        running, count = since("since_start", start, answer)
        props.check(
            m,
            f"layer.wait_answered_within_{self.bound}",
            ~running | (count < self.bound),
            f"WAIT is answered at most {self.bound} cycles after START (layer ends)",
        )
        e_running, e_count = since("since_error", error_now, answer)
        props.check(
            m,
            f"layer.ends_within_{self.error_bound}_of_bus_error",
            ~e_running | (e_count < self.error_bound),
            f"after a SLVERR/DECERR response WAIT is answered within {self.error_bound} cycles",
        )
        status = port.outputs
        bit = {name: status[b.bit] for name, b in isa.STATUS_BIT.items()}
        code = status[isa.ERR_CODE_SHIFT : isa.ERR_CODE_SHIFT + 8]
        clean = ~bit["BUSY"] & bit["DONE"] & (code == 0)
        for name in ("ERR_UNKNOWN", "ERR_DESCRIPTOR", "ERR_BUSY"):
            clean = clean & ~bit[name]
        props.check(
            m,
            "layer.wait_status",
            ~answer | (clean & (bit["ERR_BUS"] == erred)),
            "WAIT answers not busy, DONE, no descriptor/unknown/busy error, ERR_BUS exactly "
            "when a SLVERR/DECERR response came",
        )
        props.check(
            m,
            "layer.one_wait_answer",
            ~answer | ~done,
            "the sequence's WAIT is answered once",
        )
        props.cover(
            m,
            "cover.layer_done",
            answer & clean & ~bit["ERR_BUS"] & wrote,
            "the layer writes its output (OKAY) and WAIT answers DONE without error bits",
        )
        props.cover(
            m,
            "cover.layer_done_after_bus_error",
            answer & clean & bit["ERR_BUS"] & erred,
            "after an error response the layer still ends: WAIT answers DONE with ERR_BUS",
        )
