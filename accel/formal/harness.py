"""Proof harnesses: the real components of :mod:`accel.hw` in a free environment.

Every input a component takes from outside becomes a top-level port of the harness, which
the solver drives freely in every cycle (a reset too); only what the protocols require of the
environment is assumed. Each harness builds its design with a factory (the component class by
default), so a test can hand it a mutated design and expect the same proof to fail.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import (
    ClockDomain,
    DomainRenamer,
    Elaboratable,
    Fragment,
    Module,
    Signal,
    Value,
)
from amaranth.hdl._dsl import FSM
from amaranth.lib import wiring

from accel.formal.axi import check_axi_read, check_axi_write
from accel.formal.cfu import CfuPort, check_cfu
from accel.formal.props import Properties
from accel.hw.axi import AXI4Master
from accel.hw.control import ControlPort
from accel.hw.memport import beats_to_page, next_burst
from accel.hw.reader import ReadDMA
from accel.hw.top import AcceleratorTop
from accel.hw.writer import OutputWriter
from accel.spec import isa, timing
from accel.spec.config import AccelConfig

__all__ = ["ControlHarness", "ReadHarness", "WriteHarness", "TopHarness", "RESPONSE_BOUND"]

#: Cycles from a command's acceptance until its response is offered (all but WAIT).
RESPONSE_BOUND = 3
#: Cycles from the end of a layer (busy low) until WAIT's response is offered.
WAIT_BOUND = 3


def free_inputs(m, component, ports: list, skip=()) -> None:
    """Drive every ``In`` member of ``component`` from a new top-level port (a free input),
    except the members under the top-level names in ``skip``."""
    for path, member, value in component.signature.flatten(component):
        name = "__".join(str(p) for p in path)
        if member.flow != wiring.In or str(path[0]) in skip:
            continue
        port = Signal(len(Value.cast(value)), name=name)
        m.d.comb += value.eq(port)
        ports.append(port)


def elaborate_with_invariants(m, props, name, component, platform):
    """Add ``component`` as submodule ``name``, asserting that each of its FSMs is in a
    declared state.

    The invariant is inductive on its own (every transition goes to a declared state) and lets
    k-induction exclude the unused encodings of the state registers, from which an arbitrary
    start state could otherwise never leave.
    """
    fragment = Fragment.get(component, platform)
    m.submodules[name] = fragment

    def walk(frag, path):
        for fsm_name, item in frag.generated.items():
            if isinstance(item, FSM):
                # Amaranth keeps the state register in the FSM's private data.
                state = item._data["signal"]
                props.check(
                    m,
                    f"inv.{path}.{fsm_name}_state",
                    state < len(item.encoding),
                    "FSM state register holds a declared state",
                )
        for sub, sub_name, _ in frag.subfragments:
            walk(sub, f"{path}.{sub_name}")

    walk(fragment, name)
    return fragment


def driven_signals(fragment) -> dict:
    """``{name: signal}`` of the signals a fragment (not its subfragments) drives."""
    found = {}
    for statements in fragment.statements.values():
        for stmt in statements:
            for signal in stmt._lhs_signals():
                found[signal.name] = signal
    return found


def _subfragment(fragment, name):
    for sub, sub_name, _ in fragment.subfragments:
        if sub_name == name:
            return sub
    raise LookupError(f"no subfragment {name!r}")


def fifo_invariants(m, props, name, fifo, depth):
    """A :class:`~amaranth.lib.fifo.SyncFIFO`'s (its driven signals ``fifo``) level is at most
    its depth and its write and read pointers lie ``level`` entries apart."""
    level, produce, consume = fifo["level"], fifo["produce"], fifo["consume"]
    props.check(m, f"{name}_level", level <= depth, "FIFO level within its depth")
    props.check(
        m,
        f"{name}_pointers",
        (consume + level) % depth == produce,
        "FIFO pointers lie level entries apart",
    )


def _stream_rules(m, props, name, stream):
    """Environment of a stream input: ``valid`` held with a stable payload until ``ready``."""
    stall = Signal(name=f"{name}_stall")
    payload = Value.cast(stream.payload)
    past = Signal(len(payload), name=f"{name}_past")
    m.d.sync += [stall.eq(stream.valid & ~stream.ready), past.eq(payload)]
    props.assume(m, f"env.{name}_held", ~stall | (stream.valid & (payload == past)))


class _Harness(Elaboratable):
    """Common part: the properties, the top-level ports, the method and depth of the proof."""

    def __init__(self, config: AccelConfig, only=None, exclude=()):
        self.config = config
        self.props = Properties(only=only, exclude=exclude)
        self.ports: list = []

    def _sync_domain(self, m):
        m.domains.sync = cd = ClockDomain()
        self.ports += [cd.clk, cd.rst]


class ControlHarness(_Harness):
    """:class:`~accel.hw.control.ControlPort` alone; the sequencer side (``busy``, error
    events, counters) is free, so the proof holds for any behaviour of the rest of the design.

    ``status=False``: the handshake and response-bound properties, proven by k-induction;
    ``status=True``: the STATUS-word properties instead (they relate hidden error registers to
    the events before them, which induction from an arbitrary state cannot see), by BMC.
    """

    def __init__(self, config: AccelConfig, factory=ControlPort, status: bool = False):
        super().__init__(config)
        self.factory = factory
        self.status = status

    def elaborate(self, platform):
        m = Module()
        self._sync_domain(m)
        dut = self.factory(self.config)
        elaborate_with_invariants(m, self.props, "dut", dut, platform)
        free_inputs(m, dut, self.ports)
        port = CfuPort(
            dut.cmd.valid,
            dut.cmd.ready,
            dut.cmd.payload.function_id,
            dut.rsp.valid,
            dut.rsp.ready,
            dut.rsp.payload.outputs_0,
        )
        check_cfu(
            m,
            self.props,
            port,
            bound=RESPONSE_BOUND,
            wait_bound=WAIT_BOUND,
            idle=~dut.busy,
            bus_event=dut.bus_error,
            desc_event=dut.desc_error != 0,
            handshake=not self.status,
            status=self.status,
        )
        return m


class _DmaHarness(_Harness):
    """A DMA engine on the internal port of an AXI4 master whose AXI inputs are free ports."""

    def _master(self, m, dma, factory):
        cfg = self.config
        m.submodules.axi = axi = factory(cfg.bus_width)
        for channel in ("rd_req", "rd_rsp", "wr_req", "wr_data", "wr_rsp"):
            if hasattr(dma, channel):
                wiring.connect(m, getattr(dma, channel), getattr(axi.bus, channel))
        # Tie off the channels this engine does not use (idle requester, no responses taken).
        bus = axi.bus
        for name in ("rd_req", "wr_req", "wr_data"):
            if not hasattr(dma, name):
                m.d.comb += getattr(bus, name).valid.eq(0)
        for name in ("rd_rsp", "wr_rsp"):
            if not hasattr(dma, name):
                m.d.comb += getattr(bus, name).ready.eq(0)
        for path, member, value in axi.signature.flatten(axi):
            if path[0] == "axi" and member.flow == wiring.In:
                port = Signal(len(value), name="m_axi_" + path[1])
                m.d.comb += value.eq(port)
                self.ports.append(port)
        return axi


class ReadHarness(_DmaHarness):
    """:class:`~accel.hw.reader.ReadDMA` (three clients, as in the core) behind
    :class:`~accel.hw.axi.AXI4Master`; the clients' commands are free (stream rules
    assumed), their ``ready`` too, and the AXI slave is free (protocol-legal)."""

    def __init__(self, config: AccelConfig, factory=AXI4Master):
        super().__init__(config)
        self.factory = factory

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        self._sync_domain(m)
        dma = ReadDMA(cfg.bus_width, clients=3, max_burst=cfg.max_burst)
        fragment = elaborate_with_invariants(m, self.props, "dma", dma, platform)
        axi = self._master(m, dma, self.factory)
        free_inputs(m, dma, self.ports, skip={"rd_req", "rd_rsp", "cmd"})
        for i in range(3):
            cmd = dma.cmd[i]
            for value, name in ((cmd.valid, "valid"), (cmd.payload.as_value(), "payload")):
                port = Signal(len(value), name=f"cmd{i}_{name}")
                m.d.comb += value.eq(port)
                self.ports.append(port)
            _stream_rules(m, self.props, f"cmd{i}", cmd)
        monitor = check_axi_read(
            m,
            self.props,
            axi.axi,
            bus_bytes=cfg.bus_bytes,
            max_burst=cfg.max_burst,
            reads_outstanding=timing.READ_OUTSTANDING,
        )
        self._invariants(m, fragment, monitor)
        return m

    def _invariants(self, m, fragment, monitor):
        """The engine's hidden state that induction needs: each client's next burst address
        stays bus-aligned, an active client has beats left, and the burst-info FIFO holds one
        entry per burst requested or outstanding."""
        sig = driven_signals(fragment)
        info = driven_signals(_subfragment(fragment, "info"))
        self.props.check(
            m,
            "inv.dma.info_level",
            info["level"] == monitor.outstanding + sig["rd_req__valid"],
            "one burst-info entry per burst requested or outstanding",
        )
        fifo_invariants(m, self.props, "inv.dma.info", info, timing.READ_OUTSTANDING)
        shift = self.config.bus_bytes.bit_length() - 1
        for i in range(3):
            addr, active, remain = sig[f"addr{i}"], sig[f"active{i}"], sig[f"remain{i}"]
            self.props.check(
                m, f"inv.dma.addr{i}_aligned", addr[:shift] == 0, "next burst address aligned"
            )
            self.props.check(
                m,
                f"inv.dma.remain{i}_while_active",
                ~active | (remain != 0),
                "an active client has beats to request",
            )
            _burst_invariant(
                m, self.props, f"inv.dma.burst{i}", sig, "{}" + str(i), shift, self.config.max_burst
            )


def _burst_invariant(m, props, name, sig, names, shift, max_burst):
    """A :class:`~accel.hw.memport.BurstCursor`'s precomputed next burst (signals named by
    ``names``) matches its address and beats left while it is active."""
    burst, final = next_burst(
        m,
        sig[names.format("addr")],
        sig[names.format("remain")],
        shift=shift,
        max_burst=max_burst,
        final_name=name.replace(".", "_") + "_final",
    )
    active = sig[names.format("active")]
    props.check(
        m,
        name,
        ~active | ((sig[names.format("burst")] == burst) & (sig[names.format("final")] == final)),
        "the next burst, precomputed, matches the address and the beats left",
    )
    to_page = beats_to_page(m, sig[names.format("addr")], shift=shift, name=name.replace(".", "_"))
    props.check(
        m,
        name + "_page",
        ~active | (sig[names.format("to_page")] == to_page),
        "the registered distance to the 4 KiB boundary matches the address",
    )


class WriteHarness(_DmaHarness):
    """:class:`~accel.hw.writer.OutputWriter` behind :class:`~accel.hw.axi.AXI4Master`;
    region commands and bytes are free (stream rules assumed), the AXI slave is free.

    ``bursts=False``: the AW and B channels and the burst accounting, by k-induction;
    ``bursts=True``: the W channel (VALID held with stable data, WLAST on the last beat, no
    beat before its AW), by BMC: their induction would need the contents of the writer's
    burst-length FIFO and the packer's invariants.
    """

    #: Proven by BMC only.
    BMC_ONLY = ("axi.w.valid_held", "axi.w.wlast_on_last_beat", "axi.w.after_its_aw")

    def __init__(self, config: AccelConfig, factory=AXI4Master, bursts: bool = False):
        if bursts:
            super().__init__(config, only=self.BMC_ONLY)
        else:
            super().__init__(config, exclude=self.BMC_ONLY)
        self.factory = factory

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        self._sync_domain(m)
        dma = OutputWriter(cfg.bus_width, cfg.cols, cfg.max_burst)
        fragment = elaborate_with_invariants(m, self.props, "dma", dma, platform)
        axi = self._master(m, dma, self.factory)
        free_inputs(m, dma, self.ports, skip={"wr_req", "wr_data", "wr_rsp"})
        _stream_rules(m, self.props, "cmd", dma.cmd)
        _stream_rules(m, self.props, "data", dma.data)
        monitor = check_axi_write(
            m,
            self.props,
            axi.axi,
            bus_bytes=cfg.bus_bytes,
            max_burst=cfg.max_burst,
            writes_ahead=timing.WRITE_BURST_QUEUE,
            ready_bound=1,
        )
        self._invariants(m, fragment, monitor)
        return m

    def _invariants(self, m, fragment, monitor):
        """The writer's hidden state that induction needs: the request generator's address
        stays aligned and has beats left while active; the burst-length FIFO holds the bursts
        requested ahead of their data; beat and pending-response counts agree with the bus."""
        sig = driven_signals(fragment)
        shift = self.config.bus_bytes.bit_length() - 1
        check = self.props.check
        check(m, "inv.writer.addr_aligned", sig["rg_addr"][:shift] == 0, "burst address aligned")
        check(
            m,
            "inv.writer.remain_while_active",
            ~sig["rg_active"] | (sig["rg_remain"] != 0),
            "an active region has beats to request",
        )
        _burst_invariant(
            m, self.props, "inv.writer.burst", sig, "rg_{}", shift, self.config.max_burst
        )
        blen = driven_signals(_subfragment(fragment, "blen"))
        region = driven_signals(_subfragment(fragment, "region"))
        fifo_invariants(m, self.props, "inv.writer.blen", blen, timing.WRITE_BURST_QUEUE)
        fifo_invariants(m, self.props, "inv.writer.region", region, timing.WRITE_REGION_FIFO)
        check(
            m,
            "inv.writer.blen_level",
            blen["level"] == monitor.ahead,
            "one burst-length entry per burst requested ahead of its data",
        )
        check(
            m,
            "inv.writer.blen_room",
            blen["level"] + sig["wr_req__valid"] <= timing.WRITE_BURST_QUEUE,
            "a request on AW always has room in the burst-length FIFO",
        )
        check(m, "inv.writer.beat", sig["beat_count"] == monitor.beat, "beat index agrees")
        check(
            m,
            "inv.writer.pending",
            sig["pending"] == (monitor.ahead + monitor.unanswered)[:16],
            "pending responses agree",
        )


class TopHarness(_Harness):
    """The whole :class:`~accel.hw.top.AcceleratorTop`: the CPU and the AXI slave are free
    (protocol-legal), so the solver may run any command sequence against any memory. Bounded
    model check: the control-port and AXI properties to the depth, an error response shows in
    STATUS, and the cover of a rejected (all-zero) descriptor; a whole layer is
    :class:`accel.formal.layer.LayerHarness`'s."""

    def __init__(self, config: AccelConfig, factory=AcceleratorTop):
        super().__init__(config)
        self.factory = factory

    def elaborate(self, platform):
        # AcceleratorTop defines its own `sync` domain from its clk/reset ports; the monitors
        # run in a `formal` domain of the harness that drives those ports.
        outer = Module()
        outer.domains.formal = cd = ClockDomain("formal")
        self.ports += [cd.clk, cd.rst]
        outer.submodules.dut = top = self.factory(self.config)
        outer.d.comb += [top.clk.eq(cd.clk), top.reset.eq(cd.rst)]
        free_inputs(outer, top, self.ports, skip={"clk", "reset"})
        m = Module()
        self._monitors(m, top)
        outer.submodules.monitors = DomainRenamer("formal")(m)
        return outer

    def _monitors(self, m, top):
        cfg = self.config
        bus = SimpleNamespace(
            **{
                name[len("m_axi_") :]: getattr(top, name)
                for name in top.signature.members
                if name.startswith("m_axi_")
            }
        )
        reads = check_axi_read(
            m,
            self.props,
            bus,
            bus_bytes=cfg.bus_bytes,
            max_burst=cfg.max_burst,
            reads_outstanding=timing.READ_OUTSTANDING,
        )
        writes = check_axi_write(
            m,
            self.props,
            bus,
            bus_bytes=cfg.bus_bytes,
            max_burst=cfg.max_burst,
            writes_ahead=timing.WRITE_BURST_QUEUE,
            ready_bound=1,
        )
        r_taken, b_taken = reads.taken, writes.taken
        bus_error = (r_taken & bus.rresp[1]) | (b_taken & bus.bresp[1])
        delayed = Signal()  # the DMA engines register the error before the control port
        m.d.sync += delayed.eq(bus_error)
        port = CfuPort.of_top(top)
        fid = check_cfu(
            m, self.props, port, bound=RESPONSE_BOUND, wait_bound=WAIT_BOUND, bus_event=delayed
        )
        self._covers(m, port, fid)

    def _covers(self, m, port, fid):
        """WAIT's ERR_CODE is documented; START of the reset descriptor is rejected and
        answered (the whole-layer covers are in :mod:`accel.formal.layer`)."""
        wait_fid = isa.function_id("CTRL", isa.CONTROL_OP["WAIT"].index)
        answer = port.rsp_valid & (fid == wait_fid)
        status = port.outputs
        done = status[isa.STATUS_BIT["DONE"].bit]
        code = status[isa.ERR_CODE_SHIFT : isa.ERR_CODE_SHIFT + 8]
        err_desc = status[isa.STATUS_BIT["ERR_DESCRIPTOR"].bit]
        documented = code == 0
        for check in isa.DESCRIPTOR_CHECKS:
            documented = documented | (code == check.code)
        self.props.check(
            m,
            "ctrl.err_code_documented",
            ~answer | (documented & (~err_desc | (code != 0))),
            "WAIT's STATUS carries a documented ERR_CODE, non-zero with ERR_DESCRIPTOR",
        )
        self.props.cover(
            m,
            "cover.invalid_descriptor_answered",
            answer & done & err_desc & (code == isa.DESCRIPTOR_CHECK["ZERO_SIZE"].code),
            "START of the reset (all-zero) descriptor: WAIT answers DONE, ERR_DESCRIPTOR, "
            "ERR_CODE = ZERO_SIZE",
        )
