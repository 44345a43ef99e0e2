"""The firmware's memory layout for a RAM size: the committed link.ld, other RAM sizes,
LeNet-5 in the 128 KiB RAM of the synthesized SoC (on the ISS, whose memory ends there)."""

from pathlib import Path

import numpy as np
import pytest

from accel.firmware import build as firmware
from accel.firmware import cli as firmware_cli
from accel.firmware.riscv import read_elf
from accel.firmware.run import model_elf, run_functional
from accel.ref import lenet
from accel.spec.config import AccelConfig

LINK_LD = Path(firmware.FIRMWARE_DIR) / "link.ld"
KIB = 1024


def test_committed_link_script_is_the_default_layout():
    assert LINK_LD.read_text() == firmware.DEFAULT_LAYOUT.link_script(), (
        "firmware/link.ld is out of date: python -m accel.firmware --link-script > firmware/link.ld"
    )


@pytest.mark.parametrize(
    ("kib", "arena_base", "arena_end"),
    [(256, 0x10000, 0x3C000), (128, 0x8000, 0x1E000), (64, 0x4000, 0xF000)],
)
def test_layout_regions(kib, arena_base, arena_end):
    layout = firmware.MemoryLayout(kib * KIB)
    assert (layout.arena_base, layout.arena_end, layout.stack_top) == (
        arena_base,
        arena_end,
        kib * KIB,
    )
    script = layout.link_script()
    assert (
        f"ARENA (rw)  : ORIGIN = 0x{arena_base:08x}, LENGTH = 0x{arena_end - arena_base:08x}"
        in (script)
    )
    assert f"STACK (rw)  : ORIGIN = 0x{arena_end:08x}" in script


@pytest.mark.parametrize("size", [0, 32 * KIB, 96 * KIB, 128 * KIB + 4, "128k"])
def test_invalid_ram_sizes_are_refused(size):
    with pytest.raises(ValueError, match="power of two of at least 65536 bytes"):
        firmware.MemoryLayout(size)


def test_cli_link_script_and_bad_size(capsys):
    assert firmware_cli.main(["--link-script"]) == 0
    assert capsys.readouterr().out == LINK_LD.read_text()
    assert firmware_cli.main(["--link-script", "--ram-kib", "128"]) == 0
    assert capsys.readouterr().out == firmware.MemoryLayout(128 * KIB).link_script()
    with pytest.raises(SystemExit):
        firmware_cli.main(["--ram-kib", "96"])
    assert "power of two" in capsys.readouterr().err


def test_model_firmware_too_large_for_64_kib_is_a_link_error(tmp_path):
    with pytest.raises(firmware.FirmwareBuildError, match="will not fit in region 'PROG'"):
        model_elf(tmp_path, layout=firmware.MemoryLayout(64 * KIB))


def test_lenet_runs_in_128_kib(tmp_path):
    """model.c linked for 128 KiB, the LeNet-5 image in its arena, on an ISS with exactly
    128 KiB of memory (an access beyond it faults): the golden logits."""
    layout = firmware.MemoryLayout(128 * KIB)
    elf_path = model_elf(tmp_path, layout=layout)
    elf = read_elf(elf_path)
    assert elf.symbol("__stack_top") == 128 * KIB
    assert elf.symbol("__arena_start") == 0x8000 and elf.symbol("__arena_end") == 0x1E000
    assert elf.symbol("__prog_end") <= 0x8000
    model = lenet.load_default()
    for index in (0, 7):
        result = run_functional(model, index, AccelConfig(), elf_path, layout)
        golden = lenet.forward_int8(model.layers, model.test_images_int8[index : index + 1])[0]
        np.testing.assert_array_equal(result.logits, golden)
