"""LeNet-5 in pure NumPy: float training, int8 post-training quantization, shipped weights.

Every layer is an NHWC convolution (letters as in :mod:`accel.ref.loopnest`); the fully
connected layers are 1×1 convolutions on a 1×1×C tensor, so no flatten is needed and the
hardware runs all five layers the same way:

=======  ============  =====  =====  ===============  ===========================
layer    input H×W×C   M      R×S    output E×F       after
=======  ============  =====  =====  ===============  ===========================
conv1    32×32×1       6      5×5    28×28            ReLU, 2×2 max-pool -> 14×14
conv2    14×14×6       16     5×5    10×10            ReLU, 2×2 max-pool -> 5×5
conv3    5×5×16        120    5×5    1×1              ReLU
fc1      1×1×120       84     1×1    1×1              ReLU
fc2      1×1×84        10     1×1    1×1              (logits)
=======  ============  =====  =====  ===============  ===========================

Float parameters are a dict ``{"conv1.weights": (M, R, S, C), "conv1.bias": (M,), ...}``
of float32. Training (:func:`train`) uses im2col convolutions, softmax cross-entropy and
Adam, deterministic for a given seed.

Quantization (:func:`quantize_lenet`) follows design §2: the input image and every layer
output get asymmetric int8 parameters from their min/max over calibration data (after ReLU;
a 2×2 max-pool keeps the same parameters), weights are symmetric per output channel, the
bias int32 with scale ``input_scale * weight_scale[m]``, the per-channel requantization
multiplier ``input_scale * weight_scale[m] / output_scale``; ReLU is the clamp
``act_min = output_zero_point``. :func:`forward_int8` then runs the network through
:func:`accel.ref.layer.run_layer` only, in pure integer arithmetic.

:func:`save_params` / :func:`load_params` store a :class:`LeNetModel` (float parameters,
int8 layers and the held-out test images) in an ``.npz`` file; :func:`load_default` loads
the trained model shipped as ``accel/data/lenet.npz``.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from accel.ref.layer import QuantizedLayer, run_layer
from accel.ref.loopnest import ConvShape
from accel.ref.quant import (
    INT8_MAX,
    INT8_MIN,
    choose_activation_qparams,
    quantize,
    quantize_bias,
    quantize_multiplier,
    quantize_weights_per_channel,
)

__all__ = [
    "LAYER_NAMES",
    "LAYER_SPECS",
    "INPUT_SHAPE",
    "NUM_CLASSES",
    "DEFAULT_PATH",
    "FORMAT_VERSION",
    "LayerSpec",
    "LeNetModel",
    "WeightFileError",
    "init_params",
    "forward_float",
    "loss_and_grads",
    "softmax_cross_entropy",
    "train",
    "accuracy",
    "calibrate",
    "quantize_lenet",
    "quantize_image",
    "forward_int8",
    "int8_activations",
    "int8_outputs",
    "save_params",
    "load_params",
    "load_default",
]

INPUT_SHAPE = (32, 32, 1)  # H, W, C of one image
NUM_CLASSES = 10
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "lenet.npz"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LayerSpec(ConvShape):
    """Shape of one LeNet-5 layer: input H×W×C, M filters of R×S, stride 1, no padding; a
    ReLU and a 2×2 max-pool or not."""

    _: KW_ONLY
    relu: bool
    pool: bool

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.M, self.R, self.S, self.C)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """Per-image (H, W, C) of the layer output, after the optional 2×2 max-pool."""
        if self.pool:
            return (self.E // 2, self.F // 2, self.M)
        return (self.E, self.F, self.M)


LAYER_SPECS = (
    LayerSpec("conv1", H=32, W=32, C=1, M=6, R=5, S=5, relu=True, pool=True),
    LayerSpec("conv2", H=14, W=14, C=6, M=16, R=5, S=5, relu=True, pool=True),
    LayerSpec("conv3", H=5, W=5, C=16, M=120, R=5, S=5, relu=True, pool=False),
    LayerSpec("fc1", H=1, W=1, C=120, M=84, R=1, S=1, relu=True, pool=False),
    LayerSpec("fc2", H=1, W=1, C=84, M=10, R=1, S=1, relu=False, pool=False),
)
LAYER_NAMES = tuple(spec.name for spec in LAYER_SPECS)


class WeightFileError(ValueError):
    """A LeNet parameter file is malformed or does not match the network.

    The message names the file, the offending key, and what was expected vs found.
    """


# --- float model ------------------------------------------------------------------------


def init_params(seed: int = 0) -> dict[str, np.ndarray]:
    """He-normal float32 weights (M, R, S, C) and zero biases, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    params = {}
    for spec in LAYER_SPECS:
        fan_in = spec.R * spec.S * spec.C
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=spec.weight_shape)
        params[f"{spec.name}.weights"] = w.astype(np.float32)
        params[f"{spec.name}.bias"] = np.zeros(spec.M, dtype=np.float32)
    return params


def _check_images(x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1:] != INPUT_SHAPE:
        raise ValueError(f"images must be NHWC (N, 32, 32, 1), got shape {x.shape}")
    return x


def _im2col(x: np.ndarray, R: int, S: int) -> np.ndarray:
    """(N, H, W, C) -> (N, E, F, R*S*C) patches, stride 1, no padding; K order (r, s, c)."""
    windows = sliding_window_view(x, (R, S), axis=(1, 2))  # (N, E, F, C, R, S)
    N, E, F, C = windows.shape[:4]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(N, E, F, R * S * C)


def _col2im(dcols: np.ndarray, input_shape: tuple, R: int, S: int) -> np.ndarray:
    """Adjoint of :func:`_im2col`: scatter-add patch gradients back to (N, H, W, C)."""
    N, H, W, C = input_shape
    E, F = H - R + 1, W - S + 1
    dcols = dcols.reshape(N, E, F, R, S, C)
    dx = np.zeros(input_shape, dtype=dcols.dtype)
    for r in range(R):
        for s in range(S):
            dx[:, r : r + E, s : s + F, :] += dcols[:, :, :, r, s, :]
    return dx


def _pool_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2×2 / stride-2 max-pool on even-sized NHWC ``x``; also returns the argmax (0..3)."""
    N, E, F, M = x.shape
    windows = x.reshape(N, E // 2, 2, F // 2, 2, M).transpose(0, 1, 3, 5, 2, 4)
    windows = windows.reshape(N, E // 2, F // 2, M, 4)
    idx = windows.argmax(axis=-1)
    return np.take_along_axis(windows, idx[..., None], axis=-1)[..., 0], idx


def _pool_backward(dy: np.ndarray, idx: np.ndarray) -> np.ndarray:
    N, Ep, Fp, M = dy.shape
    d = np.zeros((N, Ep, Fp, M, 4), dtype=dy.dtype)
    np.put_along_axis(d, idx[..., None], dy[..., None], axis=-1)
    d = d.reshape(N, Ep, Fp, M, 2, 2).transpose(0, 1, 4, 2, 5, 3)
    return d.reshape(N, 2 * Ep, 2 * Fp, M)


def _forward(params, x, keep_cache: bool):
    """Float forward pass; returns (logits (N, 10), outputs per layer, caches)."""
    a = x
    outputs, caches = {}, []
    for spec in LAYER_SPECS:
        w = params[f"{spec.name}.weights"]
        b = params[f"{spec.name}.bias"]
        cols = _im2col(a, spec.R, spec.S)
        z = cols @ w.reshape(spec.M, -1).T + b  # (N, E, F, M)
        y = np.maximum(z, 0) if spec.relu else z
        idx = None
        if spec.pool:
            y, idx = _pool_forward(y)
        if keep_cache:
            caches.append((cols, a.shape, z, idx))
        outputs[spec.name] = y
        a = y
    return a.reshape(len(x), NUM_CLASSES), outputs, caches


def forward_float(params: dict, x, return_activations: bool = False):
    """Float LeNet-5 on NHWC images (N, 32, 32, 1); returns logits (N, 10).

    With ``return_activations``, returns ``(logits, outputs)`` where ``outputs[name]`` is the
    NHWC output of each layer (after ReLU and pooling: the next layer's input).
    """
    x = _check_images(x)
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    logits, outputs, _ = _forward(params, x.astype(dtype, copy=False), keep_cache=False)
    return (logits, outputs) if return_activations else logits


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of (N, 10) logits and its gradient w.r.t. the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(labels)
    loss = -float(log_p[np.arange(n), labels].mean())
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1.0
    return loss, grad / n


def loss_and_grads(params: dict, x, labels) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy loss on a batch and the gradients of every parameter (backprop)."""
    x = _check_images(x)
    labels = np.asarray(labels)
    logits, _, caches = _forward(params, x, keep_cache=True)
    loss, dlogits = softmax_cross_entropy(logits, labels)
    grads = {}
    d = dlogits.reshape(len(x), 1, 1, NUM_CLASSES)
    for i in reversed(range(len(LAYER_SPECS))):
        spec = LAYER_SPECS[i]
        cols, in_shape, z, idx = caches[i]
        if spec.pool:
            d = _pool_backward(d, idx)
        if spec.relu:
            d = d * (z > 0)
        K = spec.R * spec.S * spec.C
        d2 = d.reshape(-1, spec.M)
        grads[f"{spec.name}.weights"] = (d2.T @ cols.reshape(-1, K)).reshape(spec.weight_shape)
        grads[f"{spec.name}.bias"] = d2.sum(axis=0)
        if i > 0:
            w = params[f"{spec.name}.weights"].reshape(spec.M, K)
            d = _col2im(d @ w, in_shape, spec.R, spec.S)
    return loss, grads


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose argmax equals the label."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


def _random_shift(x: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Translate each 32×32 image by up to ``max_shift`` pixels (zeros shifted in)."""
    out = np.zeros_like(x)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(x), 2))
    H, W = x.shape[1:3]
    for n, (dy, dx) in enumerate(shifts):
        src = x[n, max(0, -dy) : H - max(0, dy), max(0, -dx) : W - max(0, dx)]
        out[n, max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def train(
    x,
    y,
    *,
    epochs: int = 20,
    seed: int = 0,
    batch_size: int = 32,
    lr: float = 2e-3,
    max_shift: int = 0,
    params: dict | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train LeNet-5 with Adam on NHWC float images; returns ``(params, epoch_losses)``.

    Deterministic for a given ``seed`` (initialization, shuffling, augmentation). The learning
    rate decays with a cosine schedule to 5 % of ``lr``. ``max_shift`` > 0 augments the batches
    with random translations. ``on_epoch(epoch, mean_loss)`` is called after each epoch.
    """
    x = _check_images(x).astype(np.float32, copy=False)
    y = np.asarray(y, dtype=np.int64)
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ValueError("epochs and batch_size must be >= 1 and lr > 0")
    rng = np.random.default_rng(seed)
    params = {k: v.copy() for k, v in (params or init_params(seed)).items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    steps_per_epoch = -(-len(x) // batch_size)
    total_steps = epochs * steps_per_epoch
    step = 0
    history = []
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            xb = x[batch]
            if max_shift:
                xb = _random_shift(xb, rng, max_shift)
            loss, grads = loss_and_grads(params, xb, y[batch])
            losses.append(loss * len(batch))
            step += 1
            rate = lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * (step - 1) / total_steps)))
            correction = np.sqrt(1 - beta2**step) / (1 - beta1**step)
            for k, g in grads.items():
                m[k] = beta1 * m[k] + (1 - beta1) * g
                v[k] = beta2 * v[k] + (1 - beta2) * g * g
                params[k] -= (rate * correction * m[k] / (np.sqrt(v[k]) + eps)).astype(np.float32)
        history.append(float(np.sum(losses) / len(x)))
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return params, history


# --- int8 model -------------------------------------------------------------------------


def calibrate(params: dict, x, batch_size: int = 256) -> dict[str, tuple[float, float]]:
    """Min/max of the input images (key ``"input"``) and of every layer output over ``x``."""
    x = _check_images(x)
    ranges = {"input": (float(x.min()), float(x.max()))}
    for start in range(0, len(x), batch_size):
        _, outputs = forward_float(params, x[start : start + batch_size], True)
        for name, out in outputs.items():
            lo, hi = float(out.min()), float(out.max())
            if name in ranges:
                lo, hi = min(lo, ranges[name][0]), max(hi, ranges[name][1])
            ranges[name] = (lo, hi)
    return ranges


def quantize_lenet(params: dict, x_calib) -> list[QuantizedLayer]:
    """Post-training int8 quantization, calibrated on float images ``x_calib``.

    Returns one :class:`QuantizedLayer` per name of :data:`LAYER_NAMES`; the input
    quantization of images is ``layers[0].input_scale`` / ``layers[0].input_zero_point``.
    """
    ranges = calibrate(params, x_calib)
    in_scale, in_zp = choose_activation_qparams(*ranges["input"])
    layers = []
    for spec in LAYER_SPECS:
        out_scale, out_zp = choose_activation_qparams(*ranges[spec.name])
        w = params[f"{spec.name}.weights"].astype(np.float64)
        w_q, w_scales = quantize_weights_per_channel(w)
        bias = quantize_bias(params[f"{spec.name}.bias"], in_scale, w_scales)
        pairs = [quantize_multiplier(float(in_scale * s / out_scale)) for s in w_scales]
        layers.append(
            QuantizedLayer(
                name=spec.name,
                weights=w_q,
                bias=bias,
                multiplier=np.array([p[0] for p in pairs], dtype=np.int32),
                shift=np.array([p[1] for p in pairs], dtype=np.int32),
                input_zero_point=in_zp,
                output_zero_point=out_zp,
                act_min=out_zp if spec.relu else INT8_MIN,
                act_max=INT8_MAX,
                pool=spec.pool,
                input_scale=in_scale,
                output_scale=out_scale,
            )
        )
        in_scale, in_zp = out_scale, out_zp
    return layers


def quantize_image(x, layers: Sequence[QuantizedLayer]) -> np.ndarray:
    """Float NHWC images -> int8 with the input parameters of ``layers[0]``."""
    x = _check_images(x)
    return quantize(x, layers[0].input_scale, layers[0].input_zero_point)


def _run_int8(layers: Sequence[QuantizedLayer], x) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if not isinstance(x, np.ndarray) or x.dtype != np.int8:
        raise ValueError("int8 LeNet input must be an int8 NHWC numpy array")
    _check_images(x)
    trace = []
    for layer in layers:
        y = run_layer(layer, x)
        trace.append((layer.name, x, y))
        x = y
    return trace


def forward_int8(layers: Sequence[QuantizedLayer], x_int8: np.ndarray) -> np.ndarray:
    """Integer-only LeNet-5: int8 NHWC images (N, 32, 32, 1) -> int8 logits (N, 10)."""
    out = _run_int8(layers, x_int8)[-1][2]
    return out.reshape(len(x_int8), -1)


def int8_activations(layers: Sequence[QuantizedLayer], x_int8: np.ndarray) -> dict:
    """Golden int8 NHWC *input* of every layer, by name (the stimulus of hardware tests)."""
    return {name: x for name, x, _ in _run_int8(layers, x_int8)}


def int8_outputs(layers: Sequence[QuantizedLayer], x_int8: np.ndarray) -> dict:
    """Golden int8 NHWC *output* of every layer, by name (after requantization and pooling)."""
    return {name: y for name, _, y in _run_int8(layers, x_int8)}


# --- parameter files --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LeNetModel:
    """A trained LeNet-5: float parameters, int8 layers and the held-out test set.

    ``params``: float32 weights/biases by ``"<layer>.weights"`` / ``"<layer>.bias"``;
    ``layers``: the int8 :class:`QuantizedLayer` of each name in :data:`LAYER_NAMES`;
    ``test_images``: float32 NHWC (N, 32, 32, 1), multiples of 1/255;
    ``test_images_int8``: the same quantized with the input parameters of ``layers[0]``;
    ``test_labels``: int64 (N,).
    """

    params: dict
    layers: tuple
    test_images: np.ndarray
    test_images_int8: np.ndarray
    test_labels: np.ndarray

    @property
    def input_scale(self) -> float:
        return self.layers[0].input_scale

    @property
    def input_zero_point(self) -> int:
        return self.layers[0].input_zero_point


_INT_SCALARS = ("input_zero_point", "output_zero_point", "act_min", "act_max")
_FLOAT_SCALARS = ("input_scale", "output_scale")


def _schema(n_test: int) -> dict[str, tuple[np.dtype, tuple]]:
    """Expected dtype and shape of every key of a parameter file."""
    schema = {"format_version": (np.dtype(np.int32), ())}
    for spec in LAYER_SPECS:
        schema[f"float.{spec.name}.weights"] = (np.dtype(np.float32), spec.weight_shape)
        schema[f"float.{spec.name}.bias"] = (np.dtype(np.float32), (spec.M,))
    for spec in LAYER_SPECS:
        q = f"int8.{spec.name}."
        schema[q + "weights"] = (np.dtype(np.int8), spec.weight_shape)
        for key in ("bias", "multiplier", "shift"):
            schema[q + key] = (np.dtype(np.int32), (spec.M,))
        for key in _INT_SCALARS:
            schema[q + key] = (np.dtype(np.int32), ())
        for key in _FLOAT_SCALARS:
            schema[q + key] = (np.dtype(np.float64), ())
    schema["test.labels"] = (np.dtype(np.uint8), (n_test,))
    schema["test.images"] = (np.dtype(np.uint8), (n_test, *INPUT_SHAPE))
    schema["test.images_int8"] = (np.dtype(np.int8), (n_test, *INPUT_SHAPE))
    return schema


def save_params(path: str | Path, model: LeNetModel) -> None:
    """Write ``model`` to a compressed ``.npz`` (test images stored as uint8 / int8)."""
    path = Path(path)
    images = np.asarray(model.test_images, dtype=np.float64)
    images_u8 = np.round(images * 255.0)
    if np.abs(images_u8 - images * 255.0).max(initial=0.0) > 1e-3 or images_u8.min() < 0:
        raise ValueError("test images must be multiples of 1/255 in [0, 1] to be stored as uint8")
    labels = np.asarray(model.test_labels)
    arrays = {"format_version": np.array(FORMAT_VERSION, dtype=np.int32)}
    for spec in LAYER_SPECS:
        for key in ("weights", "bias"):
            name = f"{spec.name}.{key}"
            arrays[f"float.{name}"] = np.asarray(model.params[name], dtype=np.float32)
    for layer in model.layers:
        q = f"int8.{layer.name}."
        arrays[q + "weights"] = layer.weights
        for key in ("bias", "multiplier", "shift"):
            arrays[q + key] = getattr(layer, key)
        for key in _INT_SCALARS:
            arrays[q + key] = np.array(getattr(layer, key), dtype=np.int32)
        for key in _FLOAT_SCALARS:
            arrays[q + key] = np.array(getattr(layer, key), dtype=np.float64)
    arrays["test.labels"] = labels.astype(np.uint8)
    arrays["test.images"] = images_u8.astype(np.uint8)
    arrays["test.images_int8"] = np.asarray(model.test_images_int8, dtype=np.int8)
    schema = _schema(len(labels))
    for key, (dtype, shape) in schema.items():
        if key not in arrays or arrays[key].dtype != dtype or arrays[key].shape != shape:
            found = arrays.get(key)
            found = "nothing" if found is None else f"{found.dtype} {found.shape}"
            raise ValueError(f"cannot save {key}: expected {dtype} {shape}, got {found}")
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def _describe(a: np.ndarray) -> str:
    return f"{a.dtype} array of shape {a.shape}"


def _read_all(path: Path) -> dict[str, np.ndarray]:
    """Every array of the npz at ``path``; any I/O or format problem -> WeightFileError."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except FileNotFoundError as exc:
        raise WeightFileError(f"{path}: file not found") from exc
    except OSError as exc:
        raise WeightFileError(f"{path}: cannot read ({exc})") from exc
    if head != b"PK\x03\x04":
        raise WeightFileError(
            f"{path}: not a valid .npz file (expected a zip archive starting with "
            f"b'PK\\x03\\x04', found {head!r})"
        )
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise WeightFileError(
            f"{path}: not a valid .npz file (truncated or damaged zip archive: {exc})"
        ) from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise WeightFileError(f"{path}: not a valid .npz file (found a single .npy array)")
    arrays = {}
    with npz:
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise WeightFileError(f"{path}: key '{key}': cannot read ({exc})") from exc
    return arrays


def load_params(path: str | Path) -> LeNetModel:
    """Load and validate a parameter file written by :func:`save_params`.

    Raises :class:`WeightFileError` (a ValueError) naming the file, the key, and the expected
    vs found value when the file is not an npz, is truncated, or a key is missing or has the
    wrong dtype, shape or value range.
    """
    path = Path(path)
    arrays = _read_all(path)

    def fail(key: str, message: str):
        raise WeightFileError(f"{path}: key '{key}': {message}")

    labels = arrays.get("test.labels")
    n_test = labels.shape[0] if labels is not None and labels.ndim == 1 else 0
    for key, (dtype, shape) in _schema(n_test).items():
        if key not in arrays:
            raise WeightFileError(
                f"{path}: missing key '{key}' (expected {dtype} array of shape {shape})"
            )
        a = arrays[key]
        if a.dtype != dtype or a.shape != shape:
            fail(key, f"expected {dtype} array of shape {shape}, found {_describe(a)}")
    if n_test == 0:
        fail("test.labels", "expected at least one test image, found 0")
    if int(arrays["format_version"]) != FORMAT_VERSION:
        fail("format_version", f"expected {FORMAT_VERSION}, found {int(arrays['format_version'])}")

    params = {}
    for spec in LAYER_SPECS:
        for key in ("weights", "bias"):
            a = arrays[f"float.{spec.name}.{key}"]
            if not np.all(np.isfinite(a)):
                fail(f"float.{spec.name}.{key}", "expected finite values, found NaN or inf")
            params[f"{spec.name}.{key}"] = a

    layers = []
    for spec in LAYER_SPECS:
        q = f"int8.{spec.name}."
        for key in _INT_SCALARS:
            value = int(arrays[q + key])
            if not INT8_MIN <= value <= INT8_MAX:
                fail(q + key, f"expected a value in [{INT8_MIN}, {INT8_MAX}], found {value}")
        for key in _FLOAT_SCALARS:
            value = float(arrays[q + key])
            if not (np.isfinite(value) and value > 0):
                fail(q + key, f"expected a finite scale > 0, found {value}")
        shift = arrays[q + "shift"]
        if shift.min() < -31 or shift.max() > 30:
            fail(q + "shift", f"expected values in [-31, 30], found {shift.min()}..{shift.max()}")
        if arrays[q + "multiplier"].min() < 0:
            fail(q + "multiplier", f"expected values >= 0, found {arrays[q + 'multiplier'].min()}")
        if layers:
            prev = layers[-1]
            izp = int(arrays[q + "input_zero_point"])
            if izp != prev.output_zero_point:
                fail(
                    q + "input_zero_point",
                    f"expected {prev.output_zero_point} (output zero point of '{prev.name}'), "
                    f"found {izp}",
                )
        try:
            layer = QuantizedLayer(
                name=spec.name,
                weights=arrays[q + "weights"],
                bias=arrays[q + "bias"],
                multiplier=arrays[q + "multiplier"],
                shift=arrays[q + "shift"],
                input_zero_point=int(arrays[q + "input_zero_point"]),
                output_zero_point=int(arrays[q + "output_zero_point"]),
                act_min=int(arrays[q + "act_min"]),
                act_max=int(arrays[q + "act_max"]),
                pool=spec.pool,
                input_scale=float(arrays[q + "input_scale"]),
                output_scale=float(arrays[q + "output_scale"]),
            )
        except ValueError as exc:
            raise WeightFileError(f"{path}: keys '{q}*': {exc}") from exc
        layers.append(layer)

    if labels.max() >= NUM_CLASSES:
        fail("test.labels", f"expected labels in 0..{NUM_CLASSES - 1}, found {labels.max()}")
    return LeNetModel(
        params=params,
        layers=tuple(layers),
        test_images=arrays["test.images"].astype(np.float32) / np.float32(255.0),
        test_images_int8=arrays["test.images_int8"],
        test_labels=labels.astype(np.int64),
    )


def load_default() -> LeNetModel:
    """The trained model shipped with the package (``accel/data/lenet.npz``)."""
    return load_params(DEFAULT_PATH)
