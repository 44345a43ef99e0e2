"""Bad input at every command line: a one-line error and a non-zero exit, never a traceback.

Every option of every CLI is swept with bad values (negative, zero, huge, wrong type) and
every file argument with missing, empty, garbage, truncated and wrong-kind files. The mains
run in-process (fast); a few cases go through the real ``python -m`` entry points.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from accel.build.cli import main as build_main
from accel.firmware.cli import main as firmware_main
from accel.firmware.riscv.__main__ import main as riscv_main
from accel.formal.__main__ import main as formal_main
from accel.model.__main__ import main as model_main
from accel.sim.__main__ import main as sim_main
from accel.train import main as train_main

MAINS = {
    "accel.sim": sim_main,
    "accel.build": build_main,
    "accel.firmware": firmware_main,
    "accel.firmware.riscv": riscv_main,
    "accel.model": model_main,
    "accel.train": train_main,
    "accel.formal": formal_main,
}

#: Bad values of every integer option of the accelerator configuration.
CONFIG_BAD = {
    "--rows": ["0", "-1", "1", "100000", "x", "2.5"],
    "--cols": ["0", "-3", "999999", "abc"],
    "--bus-width": ["0", "7", "48", "1024", "x"],
    "--in-depth": ["0", "3", "-16", "x"],
    "--acc-depth": ["0", "17", "x"],
    "--param-depth": ["0", "-1", "99999", "x"],
    "--weight-depth": ["0", "1", "3", "x"],
    "--max-burst": ["0", "3", "512", "x"],
}
INT_BAD = ["-1", "x", "1.5", ""]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Bad files of every kind, and a few valid ones to combine them with."""
    d = tmp_path_factory.mktemp("fuzz")
    out = {"missing": d / "missing.npy", "dir": d}
    (d / "empty.npy").write_bytes(b"")
    (d / "garbage.npy").write_bytes(b"\x93NUMPY garbage" * 7)
    np.save(d / "good_x.npy", np.zeros((1, 8, 8, 3), np.int8))
    np.save(d / "good_w.npy", np.ones((4, 3, 3, 3), np.int8))
    np.save(d / "w_c2.npy", np.ones((4, 3, 3, 2), np.int8))
    np.save(d / "w_3d.npy", np.ones((4, 3, 3), np.int8))
    np.save(d / "float_x.npy", np.zeros((1, 8, 8, 3), np.float32))
    np.save(d / "x_3d.npy", np.zeros((8, 8, 3), np.int8))
    np.save(d / "bias_bad.npy", np.zeros(5, np.int32))
    np.save(d / "bias_i8.npy", np.zeros(4, np.int8))
    np.save(d / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "truncated.npy").write_bytes((d / "good_x.npy").read_bytes()[:100])
    (d / "garbage.npz").write_bytes(b"PK\x03\x04 not a zip")
    np.savez(d / "wrong.npz", a=np.zeros(3))
    (d / "truncated.npz").write_bytes(
        (Path(__file__).parents[2] / "accel/data/lenet.npz").read_bytes()[:5000]
    )
    (d / "garbage.tflite").write_bytes(b"\x10\x00\x00\x00TFL3" + b"\xff" * 50)
    (d / "garbage.onnx").write_bytes(b"\x08\x07garbage" * 9)
    (d / "empty.onnx").write_bytes(b"")
    (d / "model.txt").write_text("not a model\n")
    (d / "garbage.elf").write_bytes(b"\x7fELF" + b"\x00" * 12)
    (d / "text.elf").write_text("hello\n")
    (d / "x86.elf").write_bytes(Path(sys.executable).resolve().read_bytes()[:4096])
    (d / "a_file").write_text("a file, not a folder\n")
    out["never_written.npz"] = d / "never_written.npz"
    for name in (
        "empty.npy garbage.npy good_x.npy good_w.npy w_c2.npy w_3d.npy float_x.npy x_3d.npy "
        "bias_bad.npy bias_i8.npy object.npy truncated.npy garbage.npz wrong.npz truncated.npz "
        "garbage.tflite garbage.onnx empty.onnx model.txt garbage.elf text.elf x86.elf a_file"
    ).split():
        out[name] = d / name
    return out


def _file_cases(f, prefix, option, kinds):
    return [[*prefix, option, str(f[k])] for k in kinds]


def _config_cases(prefix):
    return [[*prefix, opt, value] for opt, values in CONFIG_BAD.items() for value in values]


def bad_invocations(f) -> list[tuple[str, list[str]]]:
    """Every (CLI, argv) tried; each must fail cleanly."""
    npy_bad = ["missing", "empty.npy", "garbage.npy", "truncated.npy", "object.npy", "dir"]
    npz_bad = ["missing", "empty.npy", "garbage.npz", "wrong.npz", "truncated.npz", "dir"]
    model_bad = ["missing", "empty.onnx", "garbage.tflite", "garbage.onnx", "model.txt", "dir"]
    elf_bad = ["missing", "empty.npy", "garbage.elf", "text.elf", "x86.elf", "dir"]
    x, w = str(f["good_x.npy"]), str(f["good_w.npy"])
    conv = ["conv", "--input", x, "--weights", w, "--backend", "perf"]
    cases: list[tuple[str, list[str]]] = []

    def add(cli, argvs):
        cases.extend((cli, list(a)) for a in argvs)

    # accel.sim lenet
    lenet_layer = ["lenet", "--layer", "conv1", "--backend", "perf"]
    add("accel.sim", [["lenet", "--images", v] for v in ["0", "-1", "1000000", "x"]])
    add("accel.sim", [[*lenet_layer, "--image", v] for v in [*INT_BAD, "1000000"]])
    add("accel.sim", [["lenet", "--layer", "nosuch"], ["lenet", "--backend", "nosuch"]])
    add("accel.sim", _file_cases(f, ["lenet"], "--weights", npz_bad))
    add("accel.sim", _config_cases(lenet_layer))
    add("accel.sim", _config_cases(["lenet"]))
    # accel.sim conv
    add(
        "accel.sim",
        [
            ["conv", "--input", x, "--weights", str(f["w_c2.npy"]), "--backend", "perf"],
            ["conv", "--input", x, "--weights", str(f["w_3d.npy"]), "--backend", "perf"],
            ["conv", "--input", str(f["float_x.npy"]), "--weights", w, "--backend", "perf"],
            ["conv", "--input", str(f["x_3d.npy"]), "--weights", w, "--backend", "perf"],
            [*conv, "--bias", str(f["bias_bad.npy"])],
            [*conv, "--bias", str(f["bias_i8.npy"])],
            ["conv", "--weights", w],
            ["conv", "--input", x],
            [*conv, "--backend", "nosuch"],
        ],
    )
    add("accel.sim", _file_cases(f, ["conv", "--weights", w], "--input", npy_bad))
    add("accel.sim", _file_cases(f, ["conv", "--input", x], "--weights", npy_bad))
    add("accel.sim", _file_cases(f, conv, "--bias", npy_bad))
    add("accel.sim", [[*conv, "--scale", v] for v in ["-1", "0", "nan", "inf", "-inf", "x"]])
    for opt in ("--input-zero-point", "--output-zero-point"):
        add("accel.sim", [[*conv, opt, v] for v in ["999", "-129", "128", "x", "1.5"]])
    add("accel.sim", [[*conv, "--stride", v] for v in ["0", "-1", "x"]])
    add("accel.sim", [[*conv, "--padding", v] for v in ["-1", "3", "9", "x"]])
    add("accel.sim", _config_cases(conv))
    # accel.sim network
    add("accel.sim", [["network", "nosuch"], ["network", "resnet18", "--backend", "nosuch"]])
    add(
        "accel.sim",
        [["network", "resnet18", "--input", v] for v in ["0", "-1", "1", "x", "1000000"]],
    )
    add("accel.sim", _config_cases(["network", "lenet" if False else "resnet18"]))
    # accel.sim firmware
    fw = ["firmware", "lenet", "--backend", "functional"]
    add("accel.sim", [[*fw, "--image", v] for v in [*INT_BAD, "1000000"]])
    add("accel.sim", [[*fw, "--images", v] for v in INT_BAD])
    add("accel.sim", [["firmware", "nosuch"], [*fw, "--backend", "nosuch"]])
    add("accel.sim", _file_cases(f, fw, "--weights", npz_bad))
    add("accel.sim", _config_cases(fw))
    # accel.sim model
    add("accel.sim", [["model", str(f[k])] for k in model_bad])
    lenet_tflite = str(f["lenet.tflite"])
    add("accel.sim", [["model", lenet_tflite, "--image", v] for v in [*INT_BAD, "1000000"]])
    add(
        "accel.sim",
        _file_cases(f, ["model", lenet_tflite], "--input", [*npy_bad, "good_x.npy", "float_x.npy"]),
    )
    add("accel.sim", [["model", lenet_tflite, "--backend", "nosuch"]])
    add("accel.sim", _config_cases(["model", lenet_tflite]))
    add("accel.sim", [[], ["nosuch"], ["conv", "--nosuch"]])
    # accel.build
    add("accel.build", _config_cases([]))
    add(
        "accel.build",
        [
            ["--synth", "nosuch"],
            ["--device", "85k"],
            ["--json", "x.json"],
            ["--synth", "ecp5", "--device", "nosuch"],
            ["--synth", "ice40", "--device", "85k"],
            ["--nosuch"],
        ],
    )
    # accel.firmware
    add("accel.firmware", [["nosuch_program"], ["../../etc/passwd"], ["--backend", "nosuch"]])
    add("accel.firmware", _file_cases(f, [], "--model", model_bad))
    add("accel.firmware", _file_cases(f, ["--model", lenet_tflite], "--input", npy_bad))
    add("accel.firmware", [["--model", lenet_tflite, "--image", v] for v in [*INT_BAD, "100000"]])
    # accel.firmware.riscv
    add("accel.firmware.riscv", [[str(f[k])] for k in elf_bad])
    add("accel.firmware.riscv", [[str(f["garbage.elf"]), "--max-instructions", v] for v in INT_BAD])
    # accel.model
    add("accel.model", [["show", str(f[k])] for k in model_bad])
    add(
        "accel.model",
        [
            ["export", "nosuch", "--format", "tflite", "-o", "x"],
            ["export", "lenet", "--format", "nosuch", "-o", "x"],
            ["export", "lenet", "--format", "onnx", "-o", str(f["dir"])],
            ["export", "lenet", "--format", "tflite", "-o", str(f["a_file"]) + "/sub/x.tflite"],
            ["export", "lenet", "--format", "tflite"],
            [],
            ["nosuch"],
        ],
    )
    # accel.train (every case names a scratch --out: a bad case must never reach the default)
    train_out = ["--out", str(f["dir"] / "never_written.npz")]
    for opt in ("--epochs", "--batch-size", "--max-test", "--train-limit", "--max-shift"):
        add(
            "accel.train",
            [[opt, v] for v in ["0", "-1", "x", "1.5"] if not (opt == "--max-shift" and v == "0")],
        )
    add("accel.train", [["--lr", v] for v in ["0", "-1", "nan", "inf", "x"]])
    add("accel.train", [["--seed", v] for v in ["-1", "x"]])
    add("accel.train", [["--mnist-dir", str(f[k])] for k in ("missing", "a_file", "dir")])
    add("accel.train", [["--out", str(f["a_file"]) + "/sub/x.npz", "--epochs", "0"]])
    # accel.formal (all rejected before any proof runs)
    add(
        "accel.formal",
        [
            [opt, v]
            for opt in ("--rows", "--cols", "--depth", "--latency", "--bits")
            for v in ["0", "-1", "x"]
        ],
    )
    add(
        "accel.formal",
        [
            ["--rows", "1"],
            ["--cols", "65"],
            ["--rows", "65", "--full"],
            ["--only", "nosuch"],
            ["--mutant", "nosuch"],
            ["--bits", "17"],
            ["--nosuch"],
        ],
    )
    cases = [(cli, train_out + argv if cli == "accel.train" else argv) for cli, argv in cases]
    return cases


def _check(cli, argv, code, err):
    assert "Traceback" not in err, (cli, argv, err)
    assert "internal error" not in err, (cli, argv, err)
    assert code not in (0, None), (cli, argv, code, err)
    message = [line for line in err.splitlines() if line.strip() and not _usage(line)]
    assert len(message) == 1, (cli, argv, err)


def _usage(line: str) -> bool:
    return line.startswith(("usage:", "       ", "   ")) or line.startswith(" " * 8)


@pytest.fixture(scope="module")
def lenet_tflite(files):
    from accel.model.export import FORMATS

    path = files["dir"] / "lenet.tflite"
    path.write_bytes(FORMATS["tflite"]())
    files["lenet.tflite"] = path
    return path


def test_every_bad_input_fails_cleanly(files, lenet_tflite, capsys):
    cases = bad_invocations(files)
    failures = []
    for cli, argv in cases:
        try:
            code = MAINS[cli](argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        out = capsys.readouterr()
        try:
            _check(cli, argv, code, out.err)
        except AssertionError as exc:
            failures.append(str(exc)[:400])
    print(f"CLI fuzz: {len(cases)} bad invocations tried", file=sys.__stderr__)
    assert len(cases) >= 300
    assert not files["never_written.npz"].exists(), "a bad accel.train case trained a model"
    assert not failures, f"{len(failures)} of {len(cases)} failed:\n" + "\n".join(failures)


@pytest.mark.parametrize(
    "argv",
    [
        ["accel.sim", "conv", "--input", "{good_x.npy}", "--weights", "{w_c2.npy}"],
        [
            "accel.sim",
            "conv",
            "--input",
            "{good_x.npy}",
            "--weights",
            "{good_w.npy}",
            "--scale",
            "-1",
        ],
        [
            "accel.sim",
            "conv",
            "--input",
            "{good_x.npy}",
            "--weights",
            "{good_w.npy}",
            "--padding",
            "9",
        ],
        ["accel.model", "show", "{garbage.tflite}"],
        ["accel.firmware.riscv", "{x86.elf}"],
        ["accel.build", "--rows", "0"],
        ["accel.train", "--lr", "-1", "--out", "{never_written.npz}"],
    ],
)
def test_real_entry_points(files, argv):
    args = [str(files[a[1:-1]]) if a.startswith("{") else a for a in argv]
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    _check(args[0], args[1:], proc.returncode, proc.stderr)


def test_closed_output_pipe_is_quiet():
    """``python -m accel.sim network ... | head -0``: the reader leaves before the table is
    written; the command stops with status 1 and prints nothing (no traceback, no
    "Exception ignored" at interpreter exit)."""
    cmd = [sys.executable, "-m", "accel.sim", "network", "resnet18", "--input", "32"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err == b""
