"""``python -m accel.firmware.riscv PROGRAM.elf``: run an ELF on the ISS with the stub accelerator
(:class:`accel.firmware.riscv.stub.StubBackend`) and print its output, exit code and counters."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from accel.cli import entry_point
from accel.firmware.riscv.elf import ElfError
from accel.firmware.riscv.iss import ISS, ISSError
from accel.firmware.riscv.stub import StubBackend


def run_elf(path: str | Path, max_instructions: int | None = None) -> int:
    """Run ``path``; return a process exit status (the program's, or 1 on a simulator
    error or when ``max_instructions`` ran out)."""
    iss = ISS(backend=StubBackend())
    try:
        iss.load_elf(path)
        start = time.perf_counter()
        iss.run(max_instructions)
    except (ElfError, ISSError) as exc:
        sys.stdout.write(iss.text_output)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    sys.stdout.write(iss.text_output)
    rate = iss.instret / elapsed if elapsed > 0 else float("inf")
    state = f"exit code {iss.exit_code}" if iss.halted else "not halted (instruction limit)"
    print(
        f"[{state}; {iss.instret} instructions, {iss.custom_count} custom, "
        f"{elapsed:.3f} s, {rate / 1e6:.2f} M instructions/s]",
        file=sys.stderr,
    )
    if not iss.halted:
        return 1
    return iss.exit_code & 0xFF if iss.exit_code is not None else 0


@entry_point("accel.firmware.riscv")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m accel.firmware.riscv",
        description="Run a RV32IM ELF on the ISS (stub accel).",
    )
    parser.add_argument("elf", type=Path)
    parser.add_argument("--max-instructions", type=int, default=None)
    args = parser.parse_args(argv)
    return run_elf(args.elf, args.max_instructions)


if __name__ == "__main__":
    sys.exit(main())
