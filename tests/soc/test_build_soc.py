# amaranth: UnusedElaboratable=no
"""``python -m accel.build --soc`` and the SoC's structure: the Verilog holds the SoC top and
the accelerator generated for the configuration, the core's instance matches the wheel's
``VexRiscv_FullCfu.v`` port for port, the RAM can be initialised from a firmware image."""

import json
import re

import pytest

from accel.build import cli
from accel.soc import vexriscv
from accel.soc.top import SoC, ram_words
from accel.spec.config import AccelConfig

SMALL = AccelConfig(rows=4, cols=4)


def _module_ports(verilog: str, module: str) -> dict[str, tuple[str, int]]:
    """Port directions and widths of ``module`` from its ANSI header."""
    header = re.search(rf"^module {module} \((.*?)\);", verilog, re.S | re.M).group(1)
    ports = {}
    for line in header.splitlines():
        m = re.match(r"\s*(input|output)\s+(?:reg\s+|wire\s+)?(?:\[(\d+):0\]\s+)?(\w+)", line)
        if m:
            ports[m.group(3)] = (m.group(1)[0], int(m.group(2) or 0) + 1)
    return ports


def test_the_core_port_list_is_the_wheels():
    text = vexriscv.verilog_path().read_text()
    assert _module_ports(text, vexriscv.MODULE) == vexriscv.PORTS


def test_build_soc_writes_the_verilog_and_manifest(tmp_path, capsys):
    firmware = tmp_path / "fw.bin"
    firmware.write_bytes(bytes(range(1, 17)))
    out = tmp_path / "soc"
    args = ["--soc", "--rows", "4", "--cols", "4", "--ram-kib", "64", "--out", str(out)]
    assert cli.main([*args, "--firmware", str(firmware)]) == 0
    assert f"wrote {out / 'accel_soc.v'}" in capsys.readouterr().out
    verilog = (out / "accel_soc.v").read_text()
    assert re.search(r"^module accel_soc\(", verilog, re.M)
    assert re.search(r"^module accel_top\(", verilog, re.M)  # generated with the SoC
    assert "VexRiscv cpu (" in verilog and "accel_top accel (" in verilog
    assert not re.search(r"^module VexRiscv", verilog, re.M)  # the core stays in the wheel
    assert "ram[0] = 64'h0807060504030201;" in verilog
    assert "ram[1] = 64'h100f0e0d0c0b0a09;" in verilog
    assert "[8191:0]" in verilog  # 64 KiB of 8-byte words
    manifest = json.loads((out / "accel_soc.json").read_text())
    assert manifest["config"]["rows"] == 4 and manifest["ram_bytes"] == 65536
    assert manifest["ram_ports"] == 4
    assert manifest["memory_map"]["mmio"] == [0xF000_0000, 0x1000]
    assert manifest["cpu"]["path"] == str(vexriscv.verilog_path())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--soc"], "--soc needs --out"),
        (["--ram-kib", "64"], "--firmware, --ram-kib and --ram-ports need --soc"),
        (["--ram-ports", "2"], "--firmware, --ram-kib and --ram-ports need --soc"),
        (["--soc", "--synth", "ecp5", "--ram-ports", "4"], "--synth needs --ram-ports 2"),
        (["--soc", "--ram-ports", "3", "--out", "x"], "invalid choice"),
        (["--no-pnr"], "--no-pnr needs --synth"),
        (["--soc", "--no-pnr", "--out", "x"], "--no-pnr needs --synth"),
        (["--soc", "--json", "x.json", "--out", "x"], "--device and --json need --synth"),
        (["--soc", "--firmware", "/nonexistent.bin", "--out", "x"], "no such file"),
    ],
)
def test_build_soc_errors(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code != 0
    assert message in capsys.readouterr().err


def test_ram_size_and_image_checks():
    with pytest.raises(SystemExit, match="ram_bytes must be a power of two"):
        cli.main(["--soc", "--ram-kib", "3", "--out", "x"])
    with pytest.raises(ValueError, match="ram_bytes must be a power of two"):
        SoC(SMALL, 6000)
    with pytest.raises(ValueError, match="does not fit"):
        ram_words(bytes(33), 8, 4)
    assert ram_words(b"\x01\x02", 8, 4) == [0x0201]


def test_build_soc_with_two_ram_ports(tmp_path):
    """``--ram-ports 2`` (the FPGA organisation; tests/soc/test_interconnect.py checks its
    behaviour, test_ram_mapping.py its block-RAM mapping) is written and recorded."""
    out = tmp_path / "soc"
    args = ["--soc", "--rows", "4", "--cols", "4", "--ram-kib", "64", "--ram-ports", "2"]
    assert cli.main([*args, "--out", str(out)]) == 0
    manifest = json.loads((out / "accel_soc.json").read_text())
    assert manifest["ram_ports"] == 2 and manifest["ram_bytes"] == 65536
