"""The ``python -m accel.sim`` command line (accel/sim/__main__.py, accel/sim/__init__.py)."""

import subprocess
import sys

import numpy as np
import pytest

from accel.ref import lenet
from accel.sim import LAYER_COLUMNS, format_table
from accel.sim.__main__ import main

# LeNet-5 per image, written out independently: M, C, H, W, R, S, E, F, pool.
LENET = {
    "conv1": (6, 1, 32, 32, 5, 5, 28, 28, True),
    "conv2": (16, 6, 14, 14, 5, 5, 10, 10, True),
    "conv3": (120, 16, 5, 5, 5, 5, 1, 1, False),
    "fc1": (84, 120, 1, 1, 1, 1, 1, 1, False),
    "fc2": (10, 84, 1, 1, 1, 1, 1, 1, False),
}


def parse_table(out: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["layer", "N"])
    header = lines[start].split()
    rows = {}
    for line in lines[start + 1 :]:
        cells = line.split()
        if cells and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells
    return header, rows


def accuracy_in(out: str, label: str) -> tuple[int, int]:
    line = next(line for line in out.splitlines() if line.startswith(label))
    correct, total = line.split("(")[1].rstrip(")").split("/")
    return int(correct), int(total)


def test_lenet_golden_table(capsys):
    assert main(["lenet", "--backend", "golden", "--images", "50"]) == 0
    out = capsys.readouterr().out
    header, rows = parse_table(out)
    assert header == list(LAYER_COLUMNS)
    assert list(rows) == [*LENET, "total"]
    n = 50
    total = 0
    for name, (M, C, H, W, R, S, E, F, pool) in LENET.items():
        cells = dict(zip(header, rows[name], strict=True))
        expected = dict(N=n, M=M, C=C, H=H, W=W, R=R, S=S, E=E, F=F, U=1, P=0)
        assert {k: int(cells[k]) for k in expected} == expected, name
        assert cells["pool"] == ("yes" if pool else "no")
        assert E == H - R + 1 and F == W - S + 1
        macs = n * M * C * E * F * R * S
        assert int(cells["MACs"]) == macs, name
        total += macs
    assert total == 50 * 416520  # 117600 + 240000 + 48000 + 10080 + 840 per image
    assert rows["total"] == ["total", str(total)]


def test_lenet_golden_accuracy(capsys):
    assert main(["lenet", "--images", "50"]) == 0  # golden is the default backend
    out = capsys.readouterr().out
    model = lenet.load_default()
    labels = model.test_labels[:50]
    int8_correct = np.sum(
        np.argmax(lenet.forward_int8(model.layers, model.test_images_int8[:50]), 1) == labels
    )
    float_correct = np.sum(
        np.argmax(lenet.forward_float(model.params, model.test_images[:50]), 1) == labels
    )
    assert accuracy_in(out, "int8 accuracy") == (int8_correct, 50)
    assert accuracy_in(out, "float accuracy") == (float_correct, 50)
    assert int8_correct >= 46


def test_unknown_backend(capsys):
    with pytest.raises(SystemExit) as info:
        main(["lenet", "--backend", "verilog"])
    assert info.value.code == 2
    assert "invalid choice: 'verilog'" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_bad_image_count(capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["lenet", "--images", value])
    assert info.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_too_many_images(capsys):
    available = len(lenet.load_default().test_labels)
    assert main(["lenet", "--images", str(available + 1)]) == 2
    assert f"only {available} test images" in capsys.readouterr().err


def test_missing_command(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_bad_weights_file(tmp_path, capsys):
    path = tmp_path / "weights.npz"
    path.write_text("nope")
    assert main(["lenet", "--weights", str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "not a valid .npz" in err


def test_format_table_alignment():
    text = format_table(
        ["name", "n", "ok"],
        [{"name": "a", "n": 5, "ok": True}, {"name": "long", "n": 123, "ok": False}],
        total={"name": "total", "n": 128},
    )
    assert text.splitlines() == [
        "name     n  ok",
        "-----  ---  ---",
        "a        5  yes",
        "long   123  no",
        "-----  ---  ---",
        "total  128",
    ]


def test_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "accel.sim", "lenet", "--images", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "int8 accuracy" in result.stdout and "conv2" in result.stdout
