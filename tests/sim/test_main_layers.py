"""``python -m accel.sim`` layer mode: hardware backends, user layers from .npy files."""

import json

import numpy as np
import pytest

from accel.ref.layer import random_layer, run_layer
from accel.sim.__main__ import main


def test_lenet_layer_on_amaranth_backend_reports_counters(capsys, tmp_path):
    report = tmp_path / "report.json"
    code = main(["lenet", "--layer", "fc2", "--backend", "amaranth", "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0
    assert "fc2" in out and "exact" in out
    data = json.loads(report.read_text())
    (row,) = data["layers"]
    assert row["layer"] == "fc2" and row["exact"] is True
    assert row["macs"] == 84 * 10
    assert row["cycles"] >= row["roofline_cycles"] >= row["ideal_cycles"] == -(-840 // 64)
    assert row["dma_write_bytes"] == 10
    assert isinstance(row["utilization"], float) and 0 < row["utilization"] <= 1
    assert row["utilization"] == pytest.approx(840 / (64 * row["cycles"]))
    assert isinstance(row["wall_seconds"], float) and isinstance(row["mac_cycles"], int)


def test_conv_from_npy_files(capsys, tmp_path):
    rng = np.random.default_rng(5)
    layer = random_layer(rng, M=5, C=3, R=3, S=3, stride=2, padding=1, relu=True)
    x = rng.integers(-128, 128, size=(1, 7, 7, 3), dtype=np.int8)
    paths = {name: tmp_path / f"{name}.npy" for name in ("x", "w", "b", "y")}
    np.save(paths["x"], x)
    np.save(paths["w"], layer.weights)
    np.save(paths["b"], layer.bias)
    scale = 0.01
    argv = ["conv", "--input", str(paths["x"]), "--weights", str(paths["w"])]
    argv += ["--bias", str(paths["b"]), "--scale", str(scale), "--stride", "2"]
    argv += ["--padding", "1", "--relu", "--input-zero-point", "3", "--output-zero-point", "-5"]
    argv += ["--backend", "amaranth", "--rows", "4", "--cols", "4", "--output", str(paths["y"])]
    assert main(argv) == 0
    assert "exact" in capsys.readouterr().out
    y = np.load(paths["y"])
    from accel.ref.layer import QuantizedLayer
    from accel.ref.quant import quantize_multiplier

    mult, shift = quantize_multiplier(scale)
    expected_layer = QuantizedLayer(
        name="check",
        weights=layer.weights,
        bias=layer.bias,
        multiplier=np.full(5, mult, np.int32),
        shift=np.full(5, shift, np.int32),
        input_zero_point=3,
        output_zero_point=-5,
        act_min=-5,
        stride=2,
        padding=1,
    )
    np.testing.assert_array_equal(y, run_layer(expected_layer, x))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["lenet", "--layer", "conv9", "--backend", "perf"], "unknown layer 'conv9'"),
        (["lenet", "--layer", "conv1", "--image", "100000"], "--image must be in"),
        (["lenet", "--backend", "amaranth"], "runs single layers"),
    ],
)
def test_bad_arguments_give_clear_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_npy_file(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not a numpy file")
    with pytest.raises(SystemExit, match="cannot read input file"):
        main(["conv", "--input", str(bad), "--weights", str(bad)])


def test_plots_are_written(tmp_path, capsys):
    assert main(["lenet", "--all", "--backend", "perf", "--plot", str(tmp_path)]) == 0
    for name in ("cycles_per_layer.png", "utilization_per_layer.png", "array_size_sweep.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
