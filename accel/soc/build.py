"""Verilog of the SoC: :func:`soc_verilog` and :func:`write_soc` (``python -m accel.build --soc``).

The text holds the SoC top ``accel_soc`` (Amaranth, :class:`accel.soc.top.SoC`) and the
accelerator ``accel_top`` generated from :class:`accel.hw.top.AcceleratorTop` of the same
configuration; the VexRiscv core stays in the wheel's ``VexRiscv_FullCfu.v``
(:func:`accel.soc.vexriscv.verilog_path`), which a simulator or synthesis reads next to it.
"""

from __future__ import annotations

import json
from pathlib import Path

from accel.soc import memory_map, vexriscv
from accel.soc.top import DEFAULT_RAM_BYTES, SoC, check_ram_bytes
from accel.spec.config import AccelConfig

TOP_NAME = "accel_soc"


def soc_verilog(config: AccelConfig, ram_bytes: int = DEFAULT_RAM_BYTES, init=b"") -> str:
    """The SoC's Verilog (``accel_soc`` and ``accel_top``), the RAM initialised from ``init``."""
    from amaranth.back import verilog

    from accel.build.generate import generate_verilog

    check_ram_bytes(ram_bytes)  # before the component exists (no unused-elaboratable warning)
    soc = verilog.convert(SoC(config, ram_bytes, init), name=TOP_NAME, emit_src=False)
    return soc + "\n" + generate_verilog(config)


def soc_manifest(config: AccelConfig, ram_bytes: int = DEFAULT_RAM_BYTES) -> dict:
    return {
        "top": TOP_NAME,
        "config": config.as_dict(),
        "ram_bytes": ram_bytes,
        "ram_word_bytes": config.bus_bytes,
        "memory_map": {
            "ram": [memory_map.RAM_BASE, ram_bytes],
            "mmio": [memory_map.MMIO_BASE, memory_map.MMIO_BYTES],
            "mmio_registers": memory_map.MMIO_REGISTERS,
        },
        "cpu": {
            "module": vexriscv.MODULE,
            "file": vexriscv.FILE_NAME,
            "package": "pythondata-cpu-vexriscv",
        },
    }


def write_soc(
    config: AccelConfig, out_dir: Path, ram_bytes: int = DEFAULT_RAM_BYTES, firmware=None
) -> list[Path]:
    """Write ``accel_soc.v`` and ``accel_soc.json`` to ``out_dir``; ``firmware``: a raw image
    (``.bin``, loaded from address 0) to initialise the RAM with. Returns the paths."""
    init = b"" if firmware is None else Path(firmware).read_bytes()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    verilog_file = out_dir / f"{TOP_NAME}.v"
    verilog_file.write_text(soc_verilog(config, ram_bytes, init))
    manifest = soc_manifest(config, ram_bytes)
    manifest["cpu"]["path"] = str(vexriscv.verilog_path())
    manifest_file = out_dir / f"{TOP_NAME}.json"
    manifest_file.write_text(json.dumps(manifest, indent=2) + "\n")
    return [verilog_file, manifest_file]
