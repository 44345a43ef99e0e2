"""One quantized layer: the golden model every hardware level is compared with.

A :class:`QuantizedLayer` is a convolution (or a fully connected layer stored as a 1×1
convolution) with int8 weights (M, R, S, C), int32 bias and per-channel requantization
parameters, optionally followed by a fused 2×2 max-pool. Letters as in
:mod:`accel.ref.loopnest` (N M C H W R S E F U P).

:func:`run_layer` computes, for an int8 NHWC input ``x``::

    acc = conv2d(x - input_zero_point, weights, stride=U, padding=P)   # int32 sums
    y   = requantize(acc, bias, multiplier, shift, output_zero_point, act_min, act_max)
    y   = maxpool2x2(y) if pool else y                                  # int8 (N, E, F, M)

Padding is 0 in the zero-point-shifted domain, i.e. padded pixels are real 0 (equivalently
the raw int8 value ``input_zero_point`` before the subtraction). Pooling after
requantization equals pooling before it, because requantization is monotonic.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from accel.ref import loopnest
from accel.ref.quant import INT8_MAX, INT8_MIN, quantize_multiplier, requantize

__all__ = ["QuantizedLayer", "run_layer", "run_layer_loopnest", "random_layer"]


def _check_array(name: str, value, dtype, shape=None, ndim=None) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of {np.dtype(dtype)}, not {type(value)}")
    if value.dtype != dtype:
        raise ValueError(
            f"{name} must have dtype {np.dtype(dtype)}, got {value.dtype} "
            f"(convert with .astype(np.{np.dtype(dtype)}) after checking the range)"
        )
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {value.shape}")
    if shape is not None and value.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
    frozen = value.copy()
    frozen.flags.writeable = False
    return frozen


def _check_int(name: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        bounds = f"within [{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value


@dataclass(frozen=True, eq=False)
class QuantizedLayer:
    """Parameters of one int8 layer (convolution or fully connected as a 1×1 convolution).

    ``weights``     int8 (M, R, S, C); fully connected layers are (M, 1, 1, C).
    ``bias``        int32 (M,), scale ``input_scale * weight_scale[m]``, zero point 0.
    ``multiplier``  int32 (M,), Q0.31 from :func:`accel.ref.quant.quantize_multiplier`, >= 0.
    ``shift``       int32 (M,), TFLite convention (> 0: left shift), in [-31, 30].
    ``input_zero_point``, ``output_zero_point``: int8 range.
    ``act_min``, ``act_max``: output clamp, int8 range; ReLU is ``act_min = output_zero_point``.
    ``stride`` U >= 1, ``padding`` P >= 0 (symmetric, real-zero padding).
    ``pool``        fused 2×2 / stride-2 max-pool after requantization.
    ``depthwise``   a depthwise convolution: ``weights`` (M, R, S, 1), output channel m
                    filters input channel m only (M = C, depth multiplier 1).
    ``input_scale``, ``output_scale``: informational only (not used by :func:`run_layer`).

    Arrays are validated and stored as read-only copies. Equality is identity
    (``eq=False``), since NumPy arrays have no single truth value.
    """

    name: str
    weights: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    input_zero_point: int
    output_zero_point: int
    act_min: int = -128
    act_max: int = 127
    stride: int = 1
    padding: int = 0
    pool: bool = False
    input_scale: float = 1.0
    output_scale: float = 1.0
    depthwise: bool = False

    def __post_init__(self):
        def store(field: str, value):
            object.__setattr__(self, field, value)

        if not isinstance(self.name, str):
            raise ValueError(f"layer name must be a string, not {self.name!r}")
        where = f"layer {self.name!r}: "
        try:
            weights = _check_array("weights", self.weights, np.int8, ndim=4)
            if 0 in weights.shape:
                raise ValueError(f"weights (M, R, S, C) have an empty dimension: {weights.shape}")
            M = weights.shape[0]
            bias = _check_array("bias", self.bias, np.int32, shape=(M,))
            multiplier = _check_array("multiplier", self.multiplier, np.int32, shape=(M,))
            shift = _check_array("shift", self.shift, np.int32, shape=(M,))
            if multiplier.min() < 0:
                raise ValueError(f"multiplier must be >= 0, got {multiplier.min()}")
            if shift.min() < -31 or shift.max() > 30:
                bad = shift.min() if shift.min() < -31 else shift.max()
                raise ValueError(f"shift must be within [-31, 30], got {bad}")
            izp = _check_int("input_zero_point", self.input_zero_point, INT8_MIN, INT8_MAX)
            ozp = _check_int("output_zero_point", self.output_zero_point, INT8_MIN, INT8_MAX)
            act_min = _check_int("act_min", self.act_min, INT8_MIN, INT8_MAX)
            act_max = _check_int("act_max", self.act_max, INT8_MIN, INT8_MAX)
            if act_min > act_max:
                raise ValueError(f"act_min ({act_min}) must be <= act_max ({act_max})")
            stride = _check_int("stride", self.stride, 1)
            padding = _check_int("padding", self.padding, 0)
            if not isinstance(self.pool, bool | np.bool_):
                raise ValueError(f"pool must be a bool, not {self.pool!r}")
            if not isinstance(self.depthwise, bool | np.bool_):
                raise ValueError(f"depthwise must be a bool, not {self.depthwise!r}")
            if self.depthwise and weights.shape[3] != 1:
                raise ValueError(f"depthwise weights must be (M, R, S, 1), got {weights.shape}")
            for field in ("input_scale", "output_scale"):
                value = getattr(self, field)
                if (
                    isinstance(value, bool)
                    or not isinstance(value, numbers.Real)
                    or not math.isfinite(value)
                    or value <= 0
                ):
                    raise ValueError(f"{field} must be a finite number > 0, not {value!r}")
                store(field, float(value))
        except ValueError as error:
            raise ValueError(where + str(error)) from None

        store("weights", weights)
        store("bias", bias)
        store("multiplier", multiplier)
        store("shift", shift)
        store("input_zero_point", izp)
        store("output_zero_point", ozp)
        store("act_min", act_min)
        store("act_max", act_max)
        store("stride", stride)
        store("padding", padding)
        store("pool", bool(self.pool))
        store("depthwise", bool(self.depthwise))

    @property
    def M(self) -> int:
        """Number of filters (output channels)."""
        return self.weights.shape[0]

    @property
    def R(self) -> int:
        """Filter height."""
        return self.weights.shape[1]

    @property
    def S(self) -> int:
        """Filter width."""
        return self.weights.shape[2]

    @property
    def C(self) -> int:
        """Input channels (M for a depthwise convolution)."""
        return self.weights.shape[0] if self.depthwise else self.weights.shape[3]

    def _conv_output(self, input_shape) -> tuple[int, int, int]:
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(
                f"layer {self.name!r}: input shape must be NHWC (N, H, W, C), got {shape}"
            )
        N, H, W, C = (_check_int(axis, v, 1) for axis, v in zip("NHWC", shape, strict=True))
        if C != self.C:
            raise ValueError(
                f"layer {self.name!r}: channel mismatch: input has C = {C}, "
                f"weights have C = {self.C}"
            )
        for axis, size, kernel, letter in (("height", H, self.R, "R"), ("width", W, self.S, "S")):
            if kernel > size + 2 * self.padding:
                raise ValueError(
                    f"layer {self.name!r}: filter {axis} {letter} = {kernel} exceeds the "
                    f"padded input {axis} {size} + 2*{self.padding}"
                )
        E = loopnest.output_size(H, self.R, self.stride, self.padding)
        F = loopnest.output_size(W, self.S, self.stride, self.padding)
        return N, E, F

    def output_shape(self, input_shape) -> tuple[int, int, int, int]:
        """(N, E, F, M) for an NHWC ``input_shape``; (N, E//2, F//2, M) when pooling."""
        N, E, F = self._conv_output(input_shape)
        if self.pool:
            if E < 2 or F < 2:
                raise ValueError(
                    f"layer {self.name!r}: 2x2 max-pool needs E, F >= 2, got E = {E}, F = {F}"
                )
            return N, E // 2, F // 2, self.M
        return N, E, F, self.M

    def macs(self, input_shape) -> int:
        """Multiply-accumulates of the convolution, N·M·C·E·F·R·S (depthwise: N·M·E·F·R·S;
        pooling not counted)."""
        N, E, F = self._conv_output(input_shape)
        return loopnest.macs(N, self.M, self.weights.shape[3], E, F, self.R, self.S)


def _check_input(layer: QuantizedLayer, x) -> np.ndarray:
    if not isinstance(layer, QuantizedLayer):
        raise ValueError(f"layer must be a QuantizedLayer, not {type(layer)}")
    if not isinstance(x, np.ndarray) or x.dtype != np.int8:
        got = x.dtype if isinstance(x, np.ndarray) else type(x)
        raise ValueError(f"layer {layer.name!r}: input must be an int8 numpy array, got {got}")
    layer.output_shape(x.shape)  # validates rank, channels, sizes
    return x.astype(np.int64) - layer.input_zero_point


def _finish(layer: QuantizedLayer, acc: np.ndarray) -> np.ndarray:
    y = requantize(
        acc,
        layer.bias,
        layer.multiplier,
        layer.shift,
        layer.output_zero_point,
        layer.act_min,
        layer.act_max,
    )
    return loopnest.maxpool2x2(y) if layer.pool else y


def run_layer(layer: QuantizedLayer, x: np.ndarray) -> np.ndarray:
    """Run ``layer`` on int8 NHWC ``x`` (vectorized); returns int8 ``layer.output_shape``."""
    shifted = _check_input(layer, x)
    conv = loopnest.depthwise_conv2d if layer.depthwise else loopnest.conv2d
    acc = conv(shifted, layer.weights, stride=layer.stride, padding=layer.padding)
    return _finish(layer, acc)


def run_layer_loopnest(layer: QuantizedLayer, x: np.ndarray) -> np.ndarray:
    """Same as :func:`run_layer` with the literal loop nest (slow: small shapes only); a
    depthwise layer runs as the dense convolution whose filter m is zero off channel m."""
    shifted = _check_input(layer, x)
    weights = layer.weights
    if layer.depthwise:
        weights = np.zeros((layer.M, layer.R, layer.S, layer.M), dtype=np.int8)
        weights[np.arange(layer.M), :, :, np.arange(layer.M)] = layer.weights[:, :, :, 0]
    acc = loopnest.conv2d_loopnest(shifted, weights, stride=layer.stride, padding=layer.padding)
    return _finish(layer, acc)


def random_layer(
    rng: np.random.Generator,
    M: int,
    C: int,
    R: int,
    S: int,
    stride: int = 1,
    padding: int = 0,
    pool: bool = False,
    relu: bool = True,
    name: str = "random",
    depthwise: bool = False,
) -> QuantizedLayer:
    """A valid random :class:`QuantizedLayer` for randomized tests.

    Weights uniform in [-127, 127]; bias uniform in [-512·K, 512·K] (K = C·R·S); per-channel
    real requantization scales in [1e-4, 0.9], drawn so that the output spread is
    log-uniform between about 1 and 1000 LSB (some channels mostly saturate, others barely
    move), turned into (multiplier, shift) by :func:`quantize_multiplier`; zero points
    uniform in the int8 range (the output zero point in [-128, 63] with ``relu``, so that
    ReLU leaves a useful range). ``relu`` sets ``act_min = output_zero_point``,
    ``act_max = 127``; otherwise the full int8 range. ``depthwise`` (then M = C): weights
    (M, R, S, 1), K = R·S.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, not {type(rng)}")
    M, C, R, S = (_check_int(letter, v, 1) for letter, v in zip("MCRS", (M, C, R, S), strict=True))
    if depthwise and M != C:
        raise ValueError(f"a depthwise layer has M = C, got M = {M}, C = {C}")
    w_channels = 1 if depthwise else C
    K = w_channels * R * S
    weights = rng.integers(-127, 128, size=(M, R, S, w_channels)).astype(np.int8)
    bias_range = K << 9
    bias = rng.integers(-bias_range, bias_range + 1, size=M).astype(np.int32)
    # Spread of the accumulator for uniform inputs and weights: ~74 * 73 * sqrt(K).
    # Aim the per-channel output spread at 1..1000 LSB (from barely-moving to mostly
    # saturated outputs), keeping the real scales within [1e-4, 0.9].
    spread = 74.0 * 73.0 * math.sqrt(K)
    targets = np.exp(rng.uniform(math.log(1.0), math.log(1000.0), size=M))
    reals = np.clip(targets / spread, 1e-4, 0.9)
    pairs = [quantize_multiplier(float(real)) for real in reals]
    multiplier = np.array([p[0] for p in pairs], dtype=np.int32)
    shift = np.array([p[1] for p in pairs], dtype=np.int32)
    input_zero_point = int(rng.integers(INT8_MIN, INT8_MAX + 1))
    output_zero_point = int(rng.integers(INT8_MIN, 64 if relu else INT8_MAX + 1))
    return QuantizedLayer(
        name=name,
        weights=weights,
        bias=bias,
        multiplier=multiplier,
        shift=shift,
        input_zero_point=input_zero_point,
        output_zero_point=output_zero_point,
        act_min=output_zero_point if relu else INT8_MIN,
        act_max=INT8_MAX,
        stride=stride,
        padding=padding,
        pool=pool,
        depthwise=depthwise,
    )
