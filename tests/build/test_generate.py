"""accel.build.generate: the committed generated files are in sync and reproducible."""

import json

import pytest

from accel.build import generate
from accel.build.cli import main
from accel.spec import isa
from accel.spec.config import AccelConfig

ROOT = generate.REPO_ROOT


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    generate.write_outputs(AccelConfig(), out, out / "accel.h", out / "isa.md")
    return out


@pytest.mark.parametrize(
    "generated, committed",
    [
        ("accel_top.v", "rtl/accel_top.v"),
        ("accel_top.json", "rtl/accel_top.json"),
        ("accel.h", "firmware/include/accel.h"),
        ("isa.md", "docs/isa.md"),
    ],
)
def test_committed_files_are_in_sync(regenerated, generated, committed):
    assert (regenerated / generated).read_text() == (ROOT / committed).read_text(), (
        f"{committed} is stale: run python -m accel.build"
    )


def test_outputs_are_reproducible_and_hold_no_paths(regenerated, tmp_path):
    generate.write_outputs(AccelConfig(), tmp_path, tmp_path / "accel.h", tmp_path / "isa.md")
    for name in ("accel_top.v", "accel_top.json", "accel.h", "isa.md"):
        text = (tmp_path / name).read_text()
        assert text == (regenerated / name).read_text()
        assert str(ROOT) not in text and str(tmp_path) not in text


def test_manifest_lists_every_instruction_and_the_config(regenerated):
    manifest = json.loads((regenerated / "accel_top.json").read_text())
    assert manifest["config"] == AccelConfig().as_dict()
    text = json.dumps(manifest)
    for reg in isa.REGISTERS:
        assert reg.name in text


def test_header_defines_every_register_and_counter(regenerated):
    header = (regenerated / "accel.h").read_text()
    for name in [r.name for r in isa.REGISTERS] + [c.name for c in isa.COUNTERS]:
        assert name in header


def test_other_configuration_goes_to_its_folder(tmp_path, capsys):
    assert main(["--rows", "4", "--cols", "4", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "accel_top.v").exists()
    manifest = json.loads((tmp_path / "accel_top.json").read_text())
    assert manifest["config"]["rows"] == 4


def test_invalid_configuration_is_a_clear_error():
    with pytest.raises(SystemExit, match="invalid configuration"):
        main(["--rows", "0", "--out", "/nonexistent"])
