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
from accel.soc.ram_ports import check_ram_ports
from accel.soc.top import DEFAULT_RAM_BYTES, DEFAULT_RAM_PORTS, SoC, check_ram_bytes
from accel.spec.config import AccelConfig

TOP_NAME = "accel_soc"


def soc_verilog(
    config: AccelConfig,
    ram_bytes: int = DEFAULT_RAM_BYTES,
    init=b"",
    ram_ports: int = DEFAULT_RAM_PORTS,
    gated_clocks: bool = False,
) -> str:
    """The SoC's Verilog (``accel_soc`` and ``accel_top``), the RAM initialised from ``init``,
    with ``ram_ports`` RAM ports and, for simulation, the accelerator on its own clock input
    (``gated_clocks``; :class:`accel.soc.top.SoC`)."""
    from amaranth.back import verilog

    from accel.build.generate import generate_verilog

    # before the component exists (no unused-elaboratable warning)
    check_ram_bytes(ram_bytes)
    check_ram_ports(ram_ports)
    soc = SoC(config, ram_bytes, init, ram_ports, gated_clocks)
    soc = verilog.convert(soc, name=TOP_NAME, emit_src=False)
    return soc + "\n" + generate_verilog(config)


def soc_manifest(
    config: AccelConfig, ram_bytes: int = DEFAULT_RAM_BYTES, ram_ports: int = DEFAULT_RAM_PORTS
) -> dict:
    return {
        "top": TOP_NAME,
        "config": config.as_dict(),
        "ram_bytes": ram_bytes,
        "ram_ports": ram_ports,
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
    config: AccelConfig,
    out_dir: Path,
    ram_bytes: int = DEFAULT_RAM_BYTES,
    firmware=None,
    ram_ports: int = DEFAULT_RAM_PORTS,
) -> list[Path]:
    """Write ``accel_soc.v`` and ``accel_soc.json`` to ``out_dir``; ``firmware``: a raw image
    (``.bin``, loaded from address 0) to initialise the RAM with. Returns the paths."""
    init = b"" if firmware is None else Path(firmware).read_bytes()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    verilog_file = out_dir / f"{TOP_NAME}.v"
    verilog_file.write_text(soc_verilog(config, ram_bytes, init, ram_ports))
    manifest = soc_manifest(config, ram_bytes, ram_ports)
    manifest["cpu"]["path"] = str(vexriscv.verilog_path())
    manifest_file = out_dir / f"{TOP_NAME}.json"
    manifest_file.write_text(json.dumps(manifest, indent=2) + "\n")
    return [verilog_file, manifest_file]


#: The SoC's synthesis defaults: two read-write RAM ports (what a DP16KD has) and 128 KiB
#: (64 DP16KD at 64 bits, next to the accelerator's 115 and the core's caches on the 85F).
SYNTH_RAM_PORTS = 2
SYNTH_RAM_BYTES = 128 * 1024


def synth_soc(
    config: AccelConfig,
    family: str,
    device: str | None = None,
    *,
    ram_bytes: int = SYNTH_RAM_BYTES,
    ram_ports: int = SYNTH_RAM_PORTS,
    firmware=None,
    out_dir: Path | None = None,
    json_path: Path | None = None,
    pnr: bool = True,
    timeout: float | None = None,
):
    """Synthesize (and, if ``pnr``, place and route) the whole SoC — ``accel_soc`` with the
    wheel's VexRiscv — with :func:`accel.build.synth.synthesize`; print and return the report.
    Only the 2-port RAM maps to block RAM; the files go to ``out_dir`` (default: a temporary
    folder)."""
    import tempfile

    from accel.build import synth

    if ram_ports != 2:
        raise ValueError(
            f"a {ram_ports}-port RAM does not map to FPGA block RAM (2 ports): use ram_ports=2"
        )
    dev = synth.get_device(family, device)
    init = b"" if firmware is None else Path(firmware).read_bytes()
    with tempfile.TemporaryDirectory(prefix="accel-soc-synth-") as tmp:
        base = Path(tmp) if out_dir is None else Path(out_dir)
        base.mkdir(parents=True, exist_ok=True)
        source = base / f"{TOP_NAME}_with_core.v"
        text = soc_verilog(config, ram_bytes, init, ram_ports)
        source.write_text(text + "\n" + vexriscv.verilog_path().read_text())
        report = synth.synthesize(
            source,
            family,
            dev.name,
            workdir=base / f"synth-{family}-{dev.name}",
            name=f"soc-{config.name}-{ram_bytes // 1024}k",
            top=TOP_NAME,
            pnr=pnr,
            timeout=timeout,
        )
    print(synth.describe(report))
    if json_path is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        manifest = soc_manifest(config, ram_bytes, ram_ports)
        json_path.write_text(json.dumps(report.as_dict() | {"soc": manifest}, indent=2) + "\n")
        print(f"wrote {json_path}")
    return report
