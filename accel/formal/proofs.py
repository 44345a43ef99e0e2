"""The proofs of ``python -m accel.formal``: which harness, which method, and the report."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil

from accel.formal.harness import ControlHarness, ReadHarness, TopHarness, WriteHarness
from accel.formal.toolchain import SbyResult, run_sby
from accel.spec.config import AccelConfig

__all__ = ["PropertyResult", "Proof", "proofs", "run_proof", "formal_config"]


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

    def method(self) -> str:
        if self.mode == "prove":
            return f"k-induction (k={self.depth})"
        return f"BMC depth {self.depth}"


def proofs(config: AccelConfig, depth: int = 12, factories: dict | None = None) -> list[Proof]:
    """The proof list for ``config``; ``depth`` is the BMC depth of the whole-accelerator proof
    (``top``).

    ``factories`` may replace the component under proof (``{"control": cls}``, ``"axi"`` for
    the AXI4 master of the DMA proofs, ``"top"``), e.g. with a mutated design.
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
    ]


def _sby_options(mode: str, depth: int) -> str:
    return f"mode {mode}\ndepth {depth}\nmulticlock off"


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
            _sby_options(proof.mode, proof.depth),
            "smtbmc boolector",
            proof.timeout,
        )
        results = _assert_results(proof, props, result)
        if covers and props.covers:
            cover = run_sby(
                work,
                proof.name + "_cover",
                text,
                _sby_options("cover", proof.depth),
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
