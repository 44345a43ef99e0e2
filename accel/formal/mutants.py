"""Deliberately broken variants of real components: the proofs must catch them.

Each mutant wraps the real component, forwards every port unchanged except the one it
breaks, and is handed to a harness through its ``factory`` (see
:func:`accel.formal.proofs.proofs`), so the very proof that passes on the real design is
expected to fail on the mutant.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import wiring

from accel.hw.axi import AXI4Master
from accel.hw.control import ControlPort
from accel.hw.geometry import LayerSetup
from accel.hw.top import AcceleratorTop
from accel.spec import isa

__all__ = [
    "DroppedStatusResponse",
    "ValidDroppedBeforeReady",
    "PoolCheckIgnored",
    "WaitHangsAfterBusError",
    "MUTANTS",
]


def _forward(m, outer, inner, override: dict) -> None:
    """Connect every port of ``outer`` to the same port of ``inner``, except those in
    ``override`` (path -> value driving the outer output, or for an input the inner one)."""
    inner_ports = {path: value for path, _, value in inner.signature.flatten(inner)}
    for path, member, value in outer.signature.flatten(outer):
        if path in override and member.flow == wiring.In:
            m.d.comb += Value.cast(inner_ports[path]).eq(override[path])
        elif path in override:
            m.d.comb += value.eq(override[path])
        elif member.flow == wiring.Out:
            m.d.comb += Value.cast(value).eq(inner_ports[path])
        else:
            m.d.comb += Value.cast(inner_ports[path]).eq(value)


class DroppedStatusResponse(wiring.Component):
    """A control port that never answers STATUS while a layer is running (the CPU hangs)."""

    def __init__(self, config):
        self.config = config
        self._inner = ControlPort(config)
        super().__init__(dict(self._inner.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self._inner
        fid = Signal(isa.FUNCTION_ID_BITS)
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += fid.eq(self.cmd.payload.function_id)
        status = isa.function_id("CTRL", isa.CONTROL_OP["STATUS"].index)
        dropped = inner.rsp.valid & ~((fid == status) & self.busy)
        _forward(m, self, inner, {("rsp", "valid"): dropped})
        return m


class ValidDroppedBeforeReady(wiring.Component):
    """An AXI4 master that lowers ARVALID/AWVALID after one cycle without READY."""

    def __init__(self, data_width=64, addr_width=32, id_width=1):
        self._inner = AXI4Master(data_width, addr_width, id_width)
        super().__init__(dict(self._inner.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self._inner
        override = {}
        for ch in ("ar", "aw"):
            valid = getattr(inner.axi, f"{ch}valid")
            ready = getattr(self.axi, f"{ch}ready")
            waited = Signal(name=f"{ch}_waited")
            m.d.sync += waited.eq(valid & ~ready)
            override[("axi", f"{ch}valid")] = valid & ~waited
        _forward(m, self, inner, override)
        return m


class PoolCheckIgnored(wiring.Component):
    """A :class:`~accel.hw.geometry.LayerSetup` that accepts descriptors failing the POOL check
    (POOL with E < 2, F < 2 or an odd BAND would start a layer)."""

    def __init__(self, config):
        self._inner = LayerSetup(config)
        super().__init__(dict(self._inner.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self._inner
        pool = isa.DESCRIPTOR_CHECK["POOL"].code
        error = inner.error
        _forward(m, self, inner, {("error",): Mux(error == pool, 0, error)})
        return m


class WaitHangsAfterBusError(wiring.Component):
    """An :class:`~accel.hw.top.AcceleratorTop` that never answers WAIT once the AXI slave has
    answered SLVERR/DECERR, as if the sequencer never finished after a bus error: the response
    is hidden from the CPU and the CPU's ``rsp_ready`` from the control port, which therefore
    keeps offering it (and takes no new command)."""

    def __init__(self, config):
        self.config = config
        self._inner = AcceleratorTop(config)
        super().__init__(dict(self._inner.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self._inner
        # AcceleratorTop's own `sync` domain (from clk/reset) drives the registers here too.
        erred = Signal()
        with m.If(
            (self.m_axi_rvalid & self.m_axi_rready & self.m_axi_rresp[1])
            | (self.m_axi_bvalid & self.m_axi_bready & self.m_axi_bresp[1])
        ):
            m.d.sync += erred.eq(1)
        fid = Signal(isa.FUNCTION_ID_BITS)
        with m.If(self.cmd_valid & self.cmd_ready):
            m.d.sync += fid.eq(self.cmd_payload_function_id)
        wait = isa.function_id("CTRL", isa.CONTROL_OP["WAIT"].index)
        hang = erred & (fid == wait)
        _forward(
            m,
            self,
            inner,
            {("rsp_valid",): inner.rsp_valid & ~hang, ("rsp_ready",): self.rsp_ready & ~hang},
        )
        return m


#: name -> (factory key of :func:`accel.formal.proofs.proofs`, mutant, proof, property caught)
MUTANTS = {
    "dropped_status": ("control", DroppedStatusResponse, "control", "ctrl.answer_within_3"),
    "valid_dropped_ar": ("axi", ValidDroppedBeforeReady, "axi_read", "axi.ar.valid_held"),
    "valid_dropped_aw": ("axi", ValidDroppedBeforeReady, "axi_write", "axi.aw.valid_held"),
    "pool_check_ignored": ("setup", PoolCheckIgnored, "descriptor", "desc.error_code_exact"),
    "wait_hangs_after_bus_error": (
        "top",
        WaitHangsAfterBusError,
        "layer",
        "layer.ends_within_{error_bound}_of_bus_error",
    ),
}
