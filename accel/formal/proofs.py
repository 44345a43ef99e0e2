"""The proofs of ``python -m accel.formal``: which harness, which method, and the report."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil

from accel.formal.descriptor import SetupHarness
from accel.formal.harness import ControlHarness, ReadHarness, TopHarness, WriteHarness
from accel.formal.layer import LayerHarness, start_step, tiny_layer_commands
from accel.formal.toolchain import SbyResult, run_sby
from accel.spec.config import AccelConfig

__all__ = ["PropertyResult", "Proof", "proofs", "run_proof", "formal_config"]


#: The covers of the ``layer_covers`` proof (sby cover mode, no assertions).
LAYER_COVERS = ("cover.layer_done", "cover.layer_done_after_bus_error")
#: The descriptor proof's factor registers are below 2**DESCRIPTOR_BITS.
DESCRIPTOR_BITS = 4
#: Slave latency bound (cycles) of the ``layer`` proof's fairness assumption.
LAYER_LATENCY = 1


#: The bound at latency 1 and its growth per cycle of slave latency (measured, with margin).
LAYER_BASE, LAYER_PER_LATENCY = 80, 40


def formal_config(rows: int = 2, cols: int = 2) -> AccelConfig:
    """A small configuration for the proofs: the array size given, the smallest buffers."""
    return AccelConfig(
        rows=rows,
        cols=cols,
        bus_width=32,
        in_depth=16,
        acc_depth=16,
        param_depth=1,
        weight_depth=2,
        max_burst=4,
    )


@dataclass(frozen=True)
class PropertyResult:
    """One named property: ``status`` PASS/FAIL/UNKNOWN (covers: PASS = reached within the
    depth, else UNREACHED)."""

    proof: str
    name: str
    kind: str  # "assert" or "cover"
    status: str
    method: str
    note: str


@dataclass
class Proof:
    """A harness (built by ``make``) and how to check it: ``prove`` (k-induction of depth k)
    or ``bmc`` (bounded model check to ``depth`` cycles from reset)."""

    name: str
    make: Callable[[], object]
    mode: str
    depth: int
    timeout: float = 1800.0
    #: sby ``skip``: assertions are not checked in the first that many steps.
    skip: int = 0
    #: write VCD traces (smtbmc asks the solver for every signal of every step: minutes for
    #: the whole accelerator at depth 150; without, the trace is the ``.yw`` witness and the
    #: Verilog testbench ``trace_tb.v``).
    vcd: bool = True

    def method(self) -> str:
        if self.mode == "prove":
            return f"k-induction (k={self.depth})"
        if self.mode == "cover":
            return f"cover depth {self.depth}"
        skip = f", from step {self.skip}" if self.skip else ""
        return f"BMC depth {self.depth}{skip}"


def proofs(
    config: AccelConfig,
    depth: int = 12,
    factories: dict | None = None,
    layer_latency: int = LAYER_LATENCY,
    descriptor_bits: int = DESCRIPTOR_BITS,
) -> list[Proof]:
    """The proof list for ``config``; ``depth`` is the BMC depth of the whole-accelerator proof
    (``top``).

    ``factories`` may replace the component under proof (``{"control": cls}``, ``"axi"`` for
    the AXI4 master of the DMA proofs, ``"top"`` for ``top`` and the ``layer`` proofs,
    ``"setup"`` for the descriptor proof), e.g. with a mutated design. ``descriptor_bits``: the
    bound of the descriptor proof's factor registers (below ``2**bits``). ``layer_latency``: the
    slave's latency bound of the ``layer`` proof.
    """
    f = factories or {}

    def kw(name):
        return {"factory": f[name]} if name in f else {}

    return [
        Proof("control", lambda: ControlHarness(config, **kw("control")), "prove", 8),
        Proof(
            "control_status",
            lambda: ControlHarness(config, status=True, **kw("control")),
            "bmc",
            24,
        ),
        Proof("axi_read", lambda: ReadHarness(config, **kw("axi")), "prove", 12),
        Proof("axi_write", lambda: WriteHarness(config, **kw("axi")), "prove", 12),
        Proof("axi_write_wlast", lambda: WriteHarness(config, bursts=True, **kw("axi")), "bmc", 10),
        Proof("top", lambda: TopHarness(config, **kw("top")), "bmc", depth),
        *(
            [
                Proof(
                    "descriptor",
                    lambda: SetupHarness(config, bits=descriptor_bits, **kw("setup")),
                    "prove",
                    8,
                )
            ]
            if _pow2(config.rows) and _pow2(config.cols)
            else []
        ),
        *layer_proofs(config, layer_latency, f.get("top")),
    ]


def _pow2(value: int) -> bool:
    return value & (value - 1) == 0


def layer_proofs(config: AccelConfig, latency: int, factory=None) -> list[Proof]:
    """The tiny layer on the whole accelerator (:class:`~accel.formal.layer.LayerHarness`):
    ``layer`` (BMC of the end-of-layer properties, slave latencies at most ``latency``,
    SLVERR/DECERR allowed) and ``layer_covers`` (a clean and a failed-bus layer complete)."""
    kw = {"factory": factory} if factory else {}
    bound = layer_bound(latency)
    start = start_step(tiny_layer_commands(config))
    depth = start + bound + 2  # the bound's assertion fails in step start + bound at the latest
    return [
        Proof(
            "layer",
            lambda: LayerHarness(config, latency=latency, bound=bound, **kw),
            "bmc",
            depth,
            timeout=7200.0,
            skip=start,
            vcd=False,
        ),
        Proof(
            "layer_covers",
            lambda: LayerHarness(config, latency=latency, bound=bound, only=LAYER_COVERS, **kw),
            "cover",
            depth,
            timeout=7200.0,
            vcd=False,
        ),
    ]


def layer_bound(latency: int) -> int:
    """Cycles from START to WAIT's answer the ``layer`` proof allows (see docs/formal.md)."""
    return LAYER_BASE + LAYER_PER_LATENCY * (latency - 1)


def _sby_options(proof: Proof, mode: str) -> str:
    extra = f"\nskip {proof.skip}" if proof.skip and mode == "bmc" else ""
    if not proof.vcd:
        extra += "\nvcd off"
    return f"mode {mode}\ndepth {proof.depth}\nmulticlock off{extra}"


def run_proof(proof: Proof, workdir: Path | None = None, covers: bool = False):
    """Run one proof (and, with ``covers``, its covers in sby's cover mode to the same depth);
    returns the list of :class:`PropertyResult` and the assertion run's :class:`SbyResult`."""
    harness = proof.make()
    text = rtlil.convert(harness, ports=harness.ports)  # elaborates: fills harness.props
    props = harness.props
    with tempfile.TemporaryDirectory(prefix=f"accel-formal-{proof.name}-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = run_sby(
            work,
            proof.name,
            text,
            _sby_options(proof, proof.mode),
            "smtbmc boolector",
            proof.timeout,
        )
        if proof.mode == "cover":
            return _cover_results(proof, props, result), result
        results = _assert_results(proof, props, result)
        if covers and props.covers:
            cover = run_sby(
                work,
                proof.name + "_cover",
                text,
                _sby_options(proof, "cover"),
                "smtbmc boolector",
                proof.timeout,
            )
            results += _cover_results(proof, props, cover)
    return results, result


def _name(entry: str) -> str:
    return entry.rsplit(":", 1)[0]


def _assert_results(proof: Proof, props, result: SbyResult) -> list[PropertyResult]:
    failed = {_name(x) for x in result.failed}
    out = []
    for name in props.asserts:
        if result.status == "PASS":
            status = "PASS"
        elif name in failed:
            status = "FAIL"
        else:
            status = "UNKNOWN" if result.status != "FAIL" or failed else "FAIL"
        out.append(
            PropertyResult(proof.name, name, "assert", status, proof.method(), props.notes[name])
        )
    return out


def _cover_results(proof: Proof, props, result: SbyResult) -> list[PropertyResult]:
    unreached = {_name(x) for x in result.failed}
    method = f"cover depth {proof.depth}"
    out = []
    for name in props.covers:
        if result.status in ("ERROR", "TIMEOUT"):
            status = result.status
        else:
            status = "UNREACHED" if name in unreached else "PASS"
        out.append(PropertyResult(proof.name, name, "cover", status, method, props.notes[name]))
    return out
