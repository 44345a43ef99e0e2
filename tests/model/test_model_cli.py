"""``python -m accel.model export`` and ``python -m accel.sim model``."""

import json

import numpy as np
import pytest

from accel.model.__main__ import main as model_main
from accel.ref import lenet
from accel.sim.__main__ import main as sim_main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for fmt in ("tflite", "onnx"):
        paths[fmt] = folder / f"lenet.{fmt}"
        assert model_main(["export", "lenet", "--format", fmt, "-o", str(paths[fmt])]) == 0
    return paths


def test_export_and_show(files, capsys):
    assert files["tflite"].read_bytes()[4:8] == b"TFL3"
    assert model_main(["show", str(files["onnx"])]) == 0
    out = capsys.readouterr().out
    assert "QLinearConv" in out and "CONV_2D+MAX_POOL_2D      accel" in out


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_sim_model_image(files, fmt, capsys, tmp_path):
    report = tmp_path / "report.json"
    code = sim_main(
        ["model", str(files[fmt]), "--image", "5", "--backend", "perf", "--json", str(report)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "CONV_2D+MAX_POOL_2D  accel" in out and "RESHAPE" in out and "host" in out
    model = lenet.load_default()
    logits = lenet.forward_int8(model.layers, model.test_images_int8[5:6])[0]
    assert f"predicted class {int(np.argmax(logits))}" in out
    data = json.loads(report.read_text())
    accel = [op for op in data["ops"] if op["where"] == "accel"]
    assert len(accel) == 5 and all(op["cycles"] > 0 and op["exact"] for op in accel)
    assert data["total_cycles"] == sum(op["cycles"] for op in accel)


def test_sim_model_batch_input_output(files, tmp_path, capsys):
    model = lenet.load_default()
    x = model.test_images_int8[:7]
    np.save(tmp_path / "x.npy", x)
    code = sim_main(
        [
            "model",
            str(files["tflite"]),
            "--input",
            str(tmp_path / "x.npy"),
            "--output",
            str(tmp_path / "y.npy"),
        ]
    )
    assert code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), lenet.forward_int8(model.layers, x))
    assert "batch 7" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["model", "missing.tflite"], "cannot read"),
        (["model", "{tflite}", "--image", "100000"], "--image must be in"),
        (["model", "{tflite}", "--input", "{bad}"], "must have shape (N, 32, 32, 1)"),
        (["model", "{onnx}", "--input", "{nhwc}"], "must have shape (N, 1, 32, 32)"),
        (["model", "{junk}"], "not a TFLite flatbuffer"),
    ],
)
def test_sim_model_errors(files, tmp_path, capsys, args, message):
    np.save(tmp_path / "bad.npy", np.zeros((2, 28, 28, 1), np.int8))
    np.save(tmp_path / "nhwc.npy", np.zeros((2, 32, 32, 1), np.int8))
    (tmp_path / "junk.tflite").write_bytes(b"junk junk junk")
    names = dict(
        tflite=files["tflite"],
        onnx=files["onnx"],
        bad=tmp_path / "bad.npy",
        nhwc=tmp_path / "nhwc.npy",
        junk=tmp_path / "junk.tflite",
    )
    code = sim_main([a.format(**names) for a in args])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
