"""LeNet-5: float model, training, int8 quantization and the shipped parameter file."""

import struct
import zipfile

import numpy as np
import pytest

from accel.ref import lenet, loopnest
from accel.ref.lenet import LAYER_NAMES, WeightFileError
from accel.ref.quant import requantize
from accel.train import main as train_main

# LeNet-5 written out independently: name, (M, R, S, C), input (H, W), pool, relu.
ARCH = [
    ("conv1", (6, 5, 5, 1), (32, 32), True, True),
    ("conv2", (16, 5, 5, 6), (14, 14), True, True),
    ("conv3", (120, 5, 5, 16), (5, 5), False, True),
    ("fc1", (84, 1, 1, 120), (1, 1), False, True),
    ("fc2", (10, 1, 1, 84), (1, 1), False, False),
]


@pytest.fixture(scope="module")
def model():
    return lenet.load_default()


# --- independent reference forward passes ------------------------------------------------


def float_reference(params, x):
    """Float LeNet through the golden loop-nest convolution (float64)."""
    a = x.astype(np.float64)
    for name, _, _, pool, relu in ARCH:
        a = loopnest.conv2d(a, params[f"{name}.weights"], params[f"{name}.bias"])
        if relu:
            a = np.maximum(a, 0.0)
        if pool:
            a = loopnest.maxpool2x2(a)
    return a.reshape(len(x), 10)


def int8_reference(layers, x):
    """Int8 LeNet from conv2d + requantize + maxpool, without run_layer."""
    a = x
    inputs = {}
    for layer in layers:
        inputs[layer.name] = a
        acc = loopnest.conv2d(a.astype(np.int64) - layer.input_zero_point, layer.weights)
        a = requantize(
            acc,
            layer.bias,
            layer.multiplier,
            layer.shift,
            layer.output_zero_point,
            layer.act_min,
            layer.act_max,
        )
        if layer.pool:
            a = loopnest.maxpool2x2(a)
    return a.reshape(len(x), 10), inputs


# --- architecture and shipped model -----------------------------------------------------


def test_layer_names_and_specs():
    assert LAYER_NAMES == ("conv1", "conv2", "conv3", "fc1", "fc2")
    for spec, (name, wshape, (H, W), pool, relu) in zip(lenet.LAYER_SPECS, ARCH, strict=True):
        assert spec.name == name
        assert spec.weight_shape == wshape
        assert (spec.H, spec.W, spec.pool, spec.relu) == (H, W, pool, relu)


def test_shipped_layer_shapes(model):
    assert [layer.name for layer in model.layers] == list(LAYER_NAMES)
    shape = (7, 32, 32, 1)
    expected_outputs = [(7, 14, 14, 6), (7, 5, 5, 16), (7, 1, 1, 120), (7, 1, 1, 84), (7, 1, 1, 10)]
    for layer, (name, wshape, _, pool, relu), out in zip(
        model.layers, ARCH, expected_outputs, strict=True
    ):
        M = wshape[0]
        assert layer.weights.shape == wshape and layer.weights.dtype == np.int8
        for key in ("bias", "multiplier", "shift"):
            assert getattr(layer, key).shape == (M,)
            assert getattr(layer, key).dtype == np.int32
        assert model.params[f"{name}.weights"].shape == wshape
        assert model.params[f"{name}.bias"].shape == (M,)
        assert layer.pool == pool
        assert (layer.stride, layer.padding) == (1, 0)
        assert layer.act_min == (layer.output_zero_point if relu else -128)
        assert layer.act_max == 127
        assert layer.output_shape(shape) == out
        shape = out
    # Layers chain: each input quantization is the previous output quantization.
    for prev, layer in zip(model.layers[:-1], model.layers[1:], strict=True):
        assert layer.input_zero_point == prev.output_zero_point
        assert layer.input_scale == prev.output_scale


def test_shipped_test_set(model):
    n = len(model.test_labels)
    assert n >= 300
    assert model.test_images.shape == (n, 32, 32, 1)
    assert model.test_images.dtype == np.float32
    assert model.test_images_int8.dtype == np.int8
    assert set(np.unique(model.test_labels)) == set(range(10))
    # Images are 8-bit grey levels in [0, 1]; the input range is [0, 1] so the input
    # quantization is scale 1/255, zero point -128: int8 = grey level - 128.
    grey = np.round(model.test_images.astype(np.float64) * 255)
    np.testing.assert_allclose(grey / 255, model.test_images, atol=1e-7)
    assert model.input_zero_point == -128
    assert model.input_scale == pytest.approx(1 / 255)
    np.testing.assert_array_equal(model.test_images_int8, (grey - 128).astype(np.int8))
    np.testing.assert_array_equal(
        lenet.quantize_image(model.test_images, model.layers), model.test_images_int8
    )


def test_shipped_accuracy(model):
    labels = model.test_labels
    float_acc = np.mean(
        np.argmax(lenet.forward_float(model.params, model.test_images), 1) == labels
    )
    logits = lenet.forward_int8(model.layers, model.test_images_int8)
    assert logits.dtype == np.int8 and logits.shape == (len(labels), 10)
    int8_acc = np.mean(np.argmax(logits, 1) == labels)
    assert float_acc >= 0.95
    assert int8_acc >= 0.95
    assert abs(int8_acc - float_acc) <= 0.01


def test_forward_float_matches_loopnest(model):
    x = model.test_images[:4].astype(np.float64)
    params = {k: v.astype(np.float64) for k, v in model.params.items()}
    logits, outputs = lenet.forward_float(params, x, return_activations=True)
    np.testing.assert_allclose(logits, float_reference(params, x), rtol=1e-9, atol=1e-9)
    assert [o.shape for o in outputs.values()] == [
        (4, 14, 14, 6),
        (4, 5, 5, 16),
        (4, 1, 1, 120),
        (4, 1, 1, 84),
        (4, 1, 1, 10),
    ]


def test_forward_int8_bit_exact(model):
    x = model.test_images_int8[:20]
    expected_logits, expected_inputs = int8_reference(model.layers, x)
    np.testing.assert_array_equal(lenet.forward_int8(model.layers, x), expected_logits)
    inputs = lenet.int8_activations(model.layers, x)
    outputs = lenet.int8_outputs(model.layers, x)
    assert list(inputs) == list(LAYER_NAMES) == list(outputs)
    for name in LAYER_NAMES:
        assert inputs[name].dtype == np.int8
        np.testing.assert_array_equal(inputs[name], expected_inputs[name])
    for prev, name in zip(LAYER_NAMES[:-1], LAYER_NAMES[1:], strict=True):
        np.testing.assert_array_equal(outputs[prev], inputs[name])
    np.testing.assert_array_equal(outputs["fc2"].reshape(20, 10), expected_logits)


def test_forward_int8_rejects_float_input(model):
    with pytest.raises(ValueError, match="int8"):
        lenet.forward_int8(model.layers, model.test_images[:2])


def test_shipped_int8_matches_float_params(model):
    """The shipped int8 layers are the quantization of the shipped float parameters."""
    for layer in model.layers:
        w = model.params[f"{layer.name}.weights"].astype(np.float64)
        b = model.params[f"{layer.name}.bias"].astype(np.float64)
        w_scale = np.abs(w).reshape(len(w), -1).max(axis=1) / 127
        expected_w = np.sign(w) * np.floor(np.abs(w) / w_scale[:, None, None, None] + 0.5)
        np.testing.assert_array_equal(layer.weights, expected_w)
        bias_scale = layer.input_scale * w_scale
        assert np.all(np.abs(layer.bias - b / bias_scale) <= 0.5 + 1e-6)
        real = layer.input_scale * w_scale / layer.output_scale
        approx = layer.multiplier.astype(np.float64) * 2.0 ** (layer.shift.astype(np.float64) - 31)
        np.testing.assert_allclose(approx, real, rtol=2**-30)


# --- quantization ------------------------------------------------------------------------


def test_quantize_lenet_calibration(model):
    x = model.test_images[:64]
    layers = lenet.quantize_lenet(model.params, x)
    a = x.astype(np.float64)
    lo, hi = 0.0, float(a.max())  # ranges are extended to include 0
    expected_in = (hi - lo) / 255, -128
    for layer, (name, _, _, pool, relu) in zip(layers, ARCH, strict=True):
        a = loopnest.conv2d(a, model.params[f"{name}.weights"], model.params[f"{name}.bias"])
        a = np.maximum(a, 0) if relu else a
        a = loopnest.maxpool2x2(a) if pool else a
        lo, hi = min(float(a.min()), 0.0), max(float(a.max()), 0.0)
        scale = (hi - lo) / 255
        zp = int(np.clip(np.floor(-128 - lo / scale + 0.5), -128, 127))
        assert layer.name == name
        assert layer.input_scale == pytest.approx(expected_in[0], rel=1e-5)
        assert layer.input_zero_point == expected_in[1]
        assert layer.output_scale == pytest.approx(scale, rel=1e-5)
        assert layer.output_zero_point == zp
        assert layer.act_min == (zp if relu else -128)
        expected_in = (scale, zp)


def test_quantize_image():
    layers = lenet.quantize_lenet(lenet.init_params(0), np.full((1, 32, 32, 1), 0.5))
    # Input range [0, 0.5]: scale 0.5/255, zero point -128.
    x = np.array([0.0, 0.25, 0.5, 0.6]).reshape(4, 1, 1, 1) * np.ones((4, 32, 32, 1))
    q = lenet.quantize_image(x, layers)
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q[:, 0, 0, 0], [-128, 0, 127, 127])


# --- training ----------------------------------------------------------------------------


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    params = {k: v.astype(np.float64) for k, v in lenet.init_params(1).items()}
    for k in params:
        if k.endswith(".bias"):
            params[k] = rng.normal(0, 0.1, params[k].shape)
    x = rng.random((2, 32, 32, 1))
    y = np.array([3, 8])
    _, grads = lenet.loss_and_grads(params, x, y)
    eps = 1e-6
    for key in params:
        # the element with the largest gradient (non-zero unless the layer is dead)
        idx = np.unravel_index(np.argmax(np.abs(grads[key])), params[key].shape)
        old = params[key][idx]
        params[key][idx] = old + eps
        plus, _ = lenet.loss_and_grads(params, x, y)
        params[key][idx] = old - eps
        minus, _ = lenet.loss_and_grads(params, x, y)
        params[key][idx] = old
        numeric = (plus - minus) / (2 * eps)
        assert grads[key][idx] != 0
        assert numeric == pytest.approx(grads[key][idx], rel=1e-4, abs=1e-8), key


def test_training_smoke(model):
    """One epoch on a small subset lowers the loss and is deterministic."""
    x, y = model.test_images[:192], model.test_labels[:192]
    start = lenet.init_params(3)
    before, _ = lenet.loss_and_grads(start, x, y)
    params, history = lenet.train(x, y, epochs=1, seed=3, batch_size=16, lr=3e-3)
    after, _ = lenet.loss_and_grads(params, x, y)
    assert len(history) == 1
    assert after < 0.85 * before
    again, _ = lenet.train(x, y, epochs=1, seed=3, batch_size=16, lr=3e-3)
    for key in params:
        np.testing.assert_array_equal(params[key], again[key])
        assert params[key].dtype == np.float32


# --- parameter files ---------------------------------------------------------------------


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "copy.npz"
    lenet.save_params(path, model)
    loaded = lenet.load_params(path)
    for key, value in model.params.items():
        np.testing.assert_array_equal(loaded.params[key], value)
    for a, b in zip(model.layers, loaded.layers, strict=True):
        for field in ("weights", "bias", "multiplier", "shift"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        for field in (
            "name",
            "input_zero_point",
            "output_zero_point",
            "act_min",
            "act_max",
            "stride",
            "padding",
            "pool",
            "input_scale",
            "output_scale",
        ):
            assert getattr(a, field) == getattr(b, field)
    np.testing.assert_array_equal(loaded.test_images, model.test_images)
    np.testing.assert_array_equal(loaded.test_images_int8, model.test_images_int8)
    np.testing.assert_array_equal(loaded.test_labels, model.test_labels)


def _shipped_arrays():
    with np.load(lenet.DEFAULT_PATH) as npz:
        return {k: npz[k] for k in npz.files}


def _write(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


@pytest.mark.parametrize(
    "key, change, expected",
    [
        ("float.conv2.weights", "drop", "missing key"),
        ("int8.fc1.multiplier", "drop", "missing key"),
        ("test.images", "drop", "missing key"),
        ("int8.conv1.weights", lambda a: a[:, :4], "shape (6, 5, 5, 1)"),
        ("float.fc2.bias", lambda a: np.zeros(11, np.float32), "shape (10,)"),
        ("int8.conv3.weights", lambda a: a.astype(np.float32), "int8"),
        ("int8.conv2.bias", lambda a: a.astype(np.int64), "int32"),
        ("int8.fc2.output_scale", lambda a: a.astype(np.float32), "float64"),
        ("test.images_int8", lambda a: a[:-1], "shape"),
        ("int8.conv2.output_zero_point", lambda a: np.int32(300), "[-128, 127]"),
        ("int8.fc1.input_scale", lambda a: np.float64(-1.0), "scale"),
        ("int8.conv1.shift", lambda a: np.full_like(a, 40), "[-31, 30]"),
        ("int8.conv3.input_zero_point", lambda a: a + np.int32(1), "output zero point"),
        ("float.conv1.weights", lambda a: np.full_like(a, np.nan), "finite"),
        ("format_version", lambda a: np.int32(99), "expected 1"),
        ("test.labels", lambda a: np.full_like(a, 10), "labels"),
    ],
)
def test_malformed_file_names_key(tmp_path, key, change, expected):
    arrays = _shipped_arrays()
    if change == "drop":
        del arrays[key]
    else:
        arrays[key] = change(arrays[key])
    path = _write(tmp_path / "bad.npz", arrays)
    with pytest.raises(WeightFileError) as info:
        lenet.load_params(path)
    message = str(info.value)
    assert f"'{key}'" in message
    assert str(path) in message
    assert expected in message
    assert isinstance(info.value, ValueError)


def test_wrong_shape_message_says_expected_and_found(tmp_path):
    arrays = _shipped_arrays()
    arrays["int8.fc1.weights"] = arrays["int8.fc1.weights"].reshape(84, 120)
    path = _write(tmp_path / "bad.npz", arrays)
    with pytest.raises(WeightFileError, match=r"expected int8 array of shape \(84, 1, 1, 120\)"):
        lenet.load_params(path)
    with pytest.raises(WeightFileError, match=r"found int8 array of shape \(84, 120\)"):
        lenet.load_params(path)


def test_not_an_npz(tmp_path):
    text = tmp_path / "weights.npz"
    text.write_text("these are not the weights you are looking for\n")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    for path in (text, empty, npy):
        with pytest.raises(WeightFileError, match="not a valid .npz") as info:
            lenet.load_params(path)
        assert str(path) in str(info.value)
    with pytest.raises(WeightFileError, match="not found"):
        lenet.load_params(tmp_path / "missing.npz")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.99])
def test_truncated_file(tmp_path, fraction):
    data = lenet.DEFAULT_PATH.read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(WeightFileError) as info:
        lenet.load_params(path)
    assert str(path) in str(info.value)


def test_corrupted_member(tmp_path):
    """A member whose compressed data is damaged (directory intact) names its key."""
    path = tmp_path / "corrupt.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("format_version.npy", b"\x93NUMPY garbage")
    with pytest.raises(WeightFileError, match="'format_version'"):
        lenet.load_params(path)


def test_train_cli_on_tiny_mnist(tmp_path, capsys):
    """``python -m accel.train`` end to end on hand-written MNIST IDX files."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 24), ("t10k", 6)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        (tmp_path / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes()
        )
        (tmp_path / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 0x801, n) + labels.tobytes()
        )
    out = tmp_path / "tiny.npz"
    args = ["--mnist-dir", str(tmp_path), "--epochs", "1", "--max-test", "4", "--out", str(out)]
    assert train_main(args) == 0
    printed = capsys.readouterr().out
    assert "int8  test accuracy" in printed and "24 train, 4 test" in printed
    loaded = lenet.load_params(out)
    assert loaded.test_images.shape == (4, 32, 32, 1)
    np.testing.assert_array_equal(loaded.test_labels, [0, 1, 2, 3])
    np.testing.assert_array_equal(
        loaded.test_images_int8, lenet.quantize_image(loaded.test_images, loaded.layers)
    )


def test_train_cli_bad_mnist_dir(tmp_path, capsys):
    assert train_main(["--mnist-dir", str(tmp_path), "--out", str(tmp_path / "x.npz")]) == 1
    assert "missing MNIST file" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()
