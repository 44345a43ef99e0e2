"""Build the RV32IM firmware in ``firmware/`` with the ``ziglang`` PyPI package.

No system toolchain is needed: ``python -m ziglang cc`` is clang + lld for
``riscv32-freestanding-none``. A program is ``firmware/<name>.c`` linked with the startup
code (``start.S``), the runtime (``runtime.c``: memcpy & co., environment calls, printf),
the accelerator driver (``accel_drv.c``) and the linker script ``link.ld``; ``model.c`` also
with the host kernels ``host_ops.c`` (:data:`PROGRAM_SOURCES`).

Command line::

    python -m accel.firmware [selftest] [--out DIR] [--run]

``--run`` runs the program on the ISS with a stub accelerator (:mod:`accel.firmware.riscv.stub`).

The memory map constants below mirror ``firmware/link.ld`` (a test checks them against the
symbols of a built ELF).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from accel.spec.config import AccelConfig

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
INCLUDE_DIR = FIRMWARE_DIR / "include"
DEFAULT_OUT_DIR = FIRMWARE_DIR / "build"

# Memory map (firmware/link.ld).
RAM_BASE = 0x0000_0000
RAM_SIZE = 0x0004_0000
PROG_SIZE = 0x0001_0000
ARENA_BASE = 0x0001_0000
ARENA_END = 0x0003_C000
STACK_TOP = 0x0004_0000

TARGET = "riscv32-freestanding-none"
CPU = "generic_rv32+m"
# Library sources linked into every program.
RUNTIME_SOURCES = ("start.S", "runtime.c", "accel_drv.c")
# Further sources of some programs: the model runner's host kernels.
PROGRAM_SOURCES = {"model": ("host_ops.c",)}

CFLAGS = (
    "-O2",
    "-ffreestanding",
    "-fno-builtin",
    "-fomit-frame-pointer",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-ffunction-sections",
    "-fdata-sections",
    "-std=c11",
    "-Wall",
    "-Wextra",
)
LDFLAGS = ("-Wl,--gc-sections",)


class FirmwareBuildError(RuntimeError):
    """The compiler or objcopy failed; the message holds the command and its output."""


@dataclass(frozen=True)
class FirmwareImage:
    """A built program: the ``elf`` (for the ISS) and the raw ``bin`` image from address
    ``RAM_BASE`` (for memories initialized from a file)."""

    elf: Path
    bin: Path


def zig_command(*args: str) -> list[str]:
    """The command line to run ``zig <args>`` from the ``ziglang`` package of this Python."""
    return [sys.executable, "-m", "ziglang", *args]


def _run(cmd: list[str]) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError as exc:  # pragma: no cover - broken interpreter
        raise FirmwareBuildError(f"cannot run {cmd[0]}: {exc}") from exc
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        if "No module named ziglang" in output:
            output += "\n(install it with: pip install ziglang)"
        raise FirmwareBuildError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{output}")


def build(program: str = "selftest", out_dir: str | Path | None = None, **options) -> Path:
    """Compile and link ``firmware/<program>.c`` into ``<out_dir>/<program>.elf`` and
    ``<program>.bin``; return the ELF's path. ``options`` as for :func:`build_image`."""
    return build_image(program, out_dir, **options).elf


def build_image(
    program: str = "selftest",
    out_dir: str | Path | None = None,
    *,
    sources: tuple[str | Path, ...] = (),
    defines: dict[str, str | int] | None = None,
    include_dirs: tuple[str | Path, ...] = (),
    werror: bool = True,
    config=None,
) -> FirmwareImage:
    """Compile and link ``firmware/<program>.c`` (plus extra ``sources``) into
    ``<out_dir>/<program>.elf`` and ``<program>.bin``; return both.

    ``out_dir`` defaults to ``firmware/build``. ``defines`` become ``-D`` options,
    ``include_dirs`` extra ``-I`` directories (for generated headers such as model data).
    ``config``: an :class:`~accel.spec.config.AccelConfig` other than the default builds
    against its own generated ``accel.h`` (written to ``<out_dir>/include``) instead of the
    committed one.
    Raises :class:`FirmwareBuildError` with the compiler's output on failure.
    """
    main_source = FIRMWARE_DIR / f"{program}.c"
    if not main_source.is_file():
        raise FirmwareBuildError(f"no firmware program {program!r}: {main_source} does not exist")
    if not (INCLUDE_DIR / "accel.h").is_file():
        raise FirmwareBuildError(
            f"{INCLUDE_DIR / 'accel.h'} is missing; generate it with `python -m accel.build`"
        )
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    elf = out / f"{program}.elf"
    binary = out / f"{program}.bin"
    all_sources = [FIRMWARE_DIR / s for s in RUNTIME_SOURCES + PROGRAM_SOURCES.get(program, ())]
    all_sources.append(main_source)
    all_sources += [Path(s) for s in sources]
    cmd = zig_command("cc", "-target", TARGET, f"-mcpu={CPU}", *CFLAGS)
    if werror:
        cmd.append("-Werror")
    if config is not None and config != AccelConfig():
        from accel.build.generate import c_header

        header_dir = out / "include"
        header_dir.mkdir(parents=True, exist_ok=True)
        (header_dir / "accel.h").write_text(c_header(config))
        cmd.append(f"-I{header_dir}")
    cmd += [f"-I{FIRMWARE_DIR}", f"-I{INCLUDE_DIR}"]
    cmd += [f"-I{Path(d)}" for d in include_dirs]
    for name, value in (defines or {}).items():
        cmd.append(f"-D{name}={value}")
    cmd += ["-T", str(FIRMWARE_DIR / "link.ld"), *LDFLAGS]
    cmd += [str(s) for s in all_sources]
    cmd += ["-o", str(elf)]
    _run(cmd)
    _run(zig_command("objcopy", "-O", "binary", str(elf), str(binary)))
    return FirmwareImage(elf=elf, bin=binary)
