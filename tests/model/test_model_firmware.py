"""accel.firmware.from_model and ``python -m accel.firmware --model FILE``: the firmware
runs an imported model's accelerator layers from a model file, equal to the golden model."""

import numpy as np
import pytest
from tflite_models import Net

from accel.firmware.cli import main
from accel.firmware.from_model import model_layers
from accel.model import load_model
from accel.model.export import lenet_tflite
from accel.model.graph import ModelError


@pytest.fixture(scope="module")
def lenet_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "lenet.tflite"
    path.write_bytes(lenet_tflite())
    return path


@pytest.mark.parametrize("image", [0, 7])
def test_exported_lenet_runs_under_firmware(lenet_file, tmp_path, capsys, image):
    assert main(["--model", str(lenet_file), "--image", str(image), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "5 accelerator layers" in out and "equals the golden model: yes" in out


def test_model_with_a_host_op_is_a_clear_error(tmp_path):
    net = Net(1)
    x = net.input((1, 6, 6, 4))
    a = net.conv(x, 4, 3, act="RELU")
    path = tmp_path / "residual.tflite"
    path.write_bytes(net.build([x], [net.add(x, a)]))
    with pytest.raises(ModelError, match="ADD runs on the host"):
        model_layers(load_model(path))


def test_bad_input_is_one_line_error(lenet_file, tmp_path, capsys):
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((1, 32, 32, 1), np.float32))
    assert main(["--model", str(lenet_file), "--input", str(bad), "--out", str(tmp_path)]) == 2
    assert "int8" in capsys.readouterr().err


def test_depthwise_model_runs_under_firmware(tmp_path, capsys):
    """conv → depthwise (16 channels: groups of 8 read in pixel mode) → 1×1 conv, chained in
    the firmware's activation buffers; the depthwise layer is a range of descriptors."""
    net = Net(3)
    x = net.input((1, 7, 7, 3))
    a = net.conv(x, 16, 3, act="RELU")
    d = net.depthwise(a, 3, multiplier=1, stride=1, act="RELU6")
    y = net.conv(d, 8, 1, act="RELU")
    path = tmp_path / "dw.tflite"
    path.write_bytes(net.build([x], [y]))
    xin = tmp_path / "x.npy"
    np.save(xin, net.random_input(x, batch=1))
    assert main(["--model", str(path), "--input", str(xin), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 accelerator layers" in out and "equals the golden model: yes" in out
