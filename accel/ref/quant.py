"""Int8 quantization with TFLite / gemmlowp semantics, bit-exact and vectorized.

Numerics (design contract §2):

* activations int8, asymmetric (scale, zero point);
* weights int8, symmetric per output channel (zero point 0, range [-127, 127]);
* bias int32 with scale ``input_scale * weight_scale[m]`` and zero point 0;
* accumulators int32 (two's complement, wrapping);
* requantization per output channel m::

      acc'  = wrap_int32(acc + bias[m])
      y     = MultiplyByQuantizedMultiplier(acc', multiplier[m], shift[m])
      out   = clamp(y + output_zero_point, act_min, act_max)      # ReLU is a clamp

  where MultiplyByQuantizedMultiplier is TFLite's (double rounding, gemmlowp)::

      left  = max(shift, 0);  right = max(-shift, 0)
      RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2**left, multiplier), right)

All fixed-point functions take integer arrays (or scalars) whose values lie in the int32
range, work in NumPy int64 internally, broadcast like NumPy (per-channel parameters of
shape (M,) apply along the last axis of an (..., M) array), and return int64 values in
the int32 range: a NumPy array, or a NumPy scalar when all inputs are scalars.
Values outside the int32 range raise ValueError instead of being silently wrapped —
except where wrapping is part of the definition (:func:`wrap_int32`, the left shift in
:func:`multiply_by_quantized_multiplier`, the bias addition in :func:`requantize`).

Rounding of real values to integers (:func:`quantize`, :func:`quantize_weights_per_channel`,
:func:`quantize_bias`, :func:`quantize_multiplier`) is round half away from zero, like
TFLite's ``TfLiteRound`` / ``std::round`` (not NumPy's round-half-to-even).
"""

import math
import numbers

import numpy as np

__all__ = [
    "INT32_MIN",
    "INT32_MAX",
    "INT8_MIN",
    "INT8_MAX",
    "wrap_int32",
    "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot",
    "multiply_by_quantized_multiplier",
    "quantize_multiplier",
    "requantize",
    "round_half_away_from_zero",
    "choose_activation_qparams",
    "quantize",
    "dequantize",
    "quantize_weights_per_channel",
    "quantize_bias",
]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
INT8_MIN = -128
INT8_MAX = 127


# --- argument checking ------------------------------------------------------------------


def _int_array(name: str, a, lo: int = INT32_MIN, hi: int = INT32_MAX) -> np.ndarray:
    """``a`` as an int64 array, checking it holds integers within [lo, hi]."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, not dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} must be within [{lo}, {hi}], got {arr.max()}")
    arr = arr.astype(np.int64)
    if arr.size:
        low, high = int(arr.min()), int(arr.max())
        if low < lo or high > hi:
            bad = low if low < lo else high
            raise ValueError(f"{name} must be within [{lo}, {hi}], got {bad}")
    return arr


def _int_scalar(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be within [{lo}, {hi}], got {value}")
    return value


def _positive_scale(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return arr


def _float_array(name: str, a) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold real numbers, not dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    return arr


def _result(arr: np.ndarray):
    """Return 0-d results as NumPy scalars, others unchanged."""
    return arr[()] if arr.ndim == 0 else arr


# --- fixed-point primitives (gemmlowp / TFLite) -----------------------------------------


def wrap_int32(x):
    """Two's complement wrap of integers to the int32 range (like a C cast to int32_t).

    Takes any int64-representable integers, returns int64 values in [INT32_MIN, INT32_MAX].
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"wrap_int32 needs integers, not dtype {arr.dtype}")
    low32 = arr.astype(np.int64) & 0xFFFFFFFF  # 0 .. 2**32 - 1
    return _result(np.where(low32 > INT32_MAX, low32 - (1 << 32), low32))


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul``: high 32 bits of ``2*a*b``, rounded.

    ``a * b / 2**31`` rounded to nearest; the nudge (``2**30`` for a non-negative product,
    ``1 - 2**30`` for a negative one) followed by C division, which truncates toward zero,
    makes exact ties round toward +infinity (1.5 -> 2, -1.5 -> -1). The only overflow,
    ``a == b == INT32_MIN``, saturates to INT32_MAX.
    """
    a = _int_array("a", a)
    b = _int_array("b", b)
    ab = a * b  # |ab| <= 2**62: exact in int64
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    num = ab + nudge
    quotient = np.where(num >= 0, num >> 31, -((-num) >> 31))  # C: truncate toward zero
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return _result(np.where(overflow, INT32_MAX, quotient))


def rounding_divide_by_pot(x, exponent):
    """gemmlowp ``RoundingDivideByPOT``: ``x / 2**exponent`` rounded half away from zero.

    ``exponent`` in 0..31 (scalar or broadcastable array). Arithmetic shift plus a
    correction when the remainder exceeds a threshold that is half the divisor for
    non-negative ``x`` and one more for negative ``x``.
    """
    x = _int_array("x", x)
    exponent = _int_array("exponent", exponent, 0, 31)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return _result((x >> exponent) + (remainder > threshold))


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite ``MultiplyByQuantizedMultiplier(x, multiplier, shift)``: ``x * M0 * 2**shift``.

    ``multiplier`` is M0 in Q0.31 (int32), ``shift`` in [-31, 30]; a positive shift is a
    left shift applied to ``x`` before the multiplication, a negative shift a rounding
    right shift after it. ``x * 2**left`` is defined to wrap to int32 (two's complement;
    in C it is undefined behaviour, but ``x`` is small enough in practice). Broadcasts:
    per-channel ``multiplier``/``shift`` of shape (M,) act along the last axis of ``x``.
    """
    x = _int_array("x", x)
    multiplier = _int_array("multiplier", multiplier)
    shift = _int_array("shift", shift, -31, 30)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = np.asarray(wrap_int32(x << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier``: ``real ≈ multiplier * 2**(shift - 31)``.

    Returns ``(multiplier, shift)`` with multiplier in [2**30, 2**31 - 1] (Q0.31 of the
    frexp fraction, rounded half away from zero; a fraction that rounds up to 2**31 is
    halved and the shift incremented), or ``(0, 0)`` for ``real == 0`` and for values so
    small that ``shift < -31`` (flushed to zero, as TFLite does, roughly ``real < 2**-32``).
    Raises ValueError for negative, NaN or infinite values and for ``real >= 2**30``
    (the shift would exceed 30, which :func:`multiply_by_quantized_multiplier` rejects).
    """
    if isinstance(real, bool) or not isinstance(real, numbers.Real):
        raise ValueError(f"real multiplier must be a real number, not {real!r}")
    real = float(real)
    if math.isnan(real) or math.isinf(real) or real < 0:
        raise ValueError(f"real multiplier must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)  # real = fraction * 2**shift, fraction in [0.5, 1)
    q = math.floor(fraction * (1 << 31) + 0.5)  # exact: positive, ulp <= 2**-22
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise ValueError(f"real multiplier {real} is too large: shift {shift} > 30")
    return int(q), int(shift)


def requantize(acc, bias, multiplier, shift, output_zero_point, act_min=-128, act_max=127):
    """Per-channel requantization of int32 accumulators to int8 (TFLite int8 conv epilogue).

    ``acc`` (..., M) integers; ``bias``, ``multiplier``, ``shift`` of shape (M,) (or
    scalars; ``bias`` may be None). Steps::

        y = wrap_int32(acc + bias)              # int32 accumulator, two's complement
        y = multiply_by_quantized_multiplier(y, multiplier, shift)
        y = y + output_zero_point               # exact (no wrap), before the clamp
        y = clamp(y, act_min, act_max)          # ReLU: act_min = output_zero_point

    Returns an int8 array of the shape of ``acc``.
    """
    acc = np.asarray(acc)
    if acc.dtype.kind not in "iu":
        raise ValueError(f"accumulators must hold integers, not dtype {acc.dtype}")
    if acc.ndim == 0:
        raise ValueError("accumulators must have at least one axis (..., M)")
    M = acc.shape[-1]
    params = {"bias": bias, "multiplier": multiplier, "shift": shift}
    for name, value in params.items():
        if value is None and name == "bias":
            continue
        shape = np.shape(value)
        if shape not in ((), (M,)):
            raise ValueError(
                f"{name} must be a scalar or have shape (M,) = ({M},) to match the last "
                f"axis of the accumulators, got shape {shape}"
            )
    zp = _int_scalar("output_zero_point", output_zero_point, INT8_MIN, INT8_MAX)
    lo = _int_scalar("act_min", act_min, INT8_MIN, INT8_MAX)
    hi = _int_scalar("act_max", act_max, INT8_MIN, INT8_MAX)
    if lo > hi:
        raise ValueError(f"act_min ({lo}) must be <= act_max ({hi})")

    y = acc.astype(np.int64)
    if bias is not None:
        y = y + _int_array("bias", bias)
    y = np.asarray(wrap_int32(y))
    y = np.asarray(multiply_by_quantized_multiplier(y, multiplier, shift))
    y = np.clip(y + zp, lo, hi)
    return y.astype(np.int8)


# --- tensor quantization (real <-> int8) -----------------------------------------------


def round_half_away_from_zero(x):
    """Round to the nearest integer, ties away from zero (C ``round``); float64 result."""
    x = np.asarray(x, dtype=np.float64)
    t = np.trunc(x)
    frac = x - t  # exact
    return _result(t + np.where(np.abs(frac) >= 0.5, np.sign(x), 0.0))


def choose_activation_qparams(fmin: float, fmax: float) -> tuple[float, int]:
    """Asymmetric int8 parameters ``(scale, zero_point)`` covering [fmin, fmax].

    The range is first extended to include 0 so that real 0 is exactly representable
    (by ``zero_point``); then ``scale = (max - min) / 255`` and
    ``zero_point = round(-128 - min / scale)`` clamped to [-128, 127]. A range that is
    exactly [0, 0] gives ``(1.0, 0)``.
    """
    for name, value in (("fmin", fmin), ("fmax", fmax)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a real number, not {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if fmin > fmax:
        raise ValueError(f"fmin ({fmin}) must be <= fmax ({fmax})")
    rmin = min(float(fmin), 0.0)
    rmax = max(float(fmax), 0.0)
    if rmin == rmax:
        return 1.0, 0
    scale = (rmax - rmin) / (INT8_MAX - INT8_MIN)
    zero_point = float(round_half_away_from_zero(INT8_MIN - rmin / scale))
    zero_point = int(min(max(zero_point, INT8_MIN), INT8_MAX))
    return scale, zero_point


def quantize(x, scale, zero_point):
    """Real values to int8: ``clamp(round_half_away_from_zero(x / scale) + zero_point)``.

    Like TFLite's reference Quantize. ``scale`` > 0 (scalar or broadcastable array),
    ``zero_point`` in [-128, 127]. Returns an int8 array.
    """
    x = _float_array("x", x)
    scale = _positive_scale("scale", scale)
    zp = _int_scalar("zero_point", zero_point, INT8_MIN, INT8_MAX)
    q = np.asarray(round_half_away_from_zero(x / scale)) + zp
    return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)


def dequantize(q, scale, zero_point):
    """int8 (or any integer) values to real: ``(q - zero_point) * scale`` as float64."""
    q = _int_array("q", q, np.iinfo(np.int64).min, np.iinfo(np.int64).max)
    scale = _positive_scale("scale", scale)
    zp = _int_scalar("zero_point", zero_point, INT8_MIN, INT8_MAX)
    return _result((q - zp).astype(np.float64) * scale)


def quantize_weights_per_channel(w):
    """Symmetric per-output-channel int8 weights; the channel axis is axis 0 (M).

    ``scale[m] = max|w[m]| / 127``, ``w_q = clamp(round(w / scale[m]), -127, 127)``
    (round half away from zero, zero point 0). A channel whose weights are all zero gets
    scale 1.0 (any scale represents it exactly; 1.0 keeps later divisions finite).
    Returns ``(w_q int8 of w's shape, scales float64 (M,))``.
    """
    w = _float_array("weights", w)
    if w.ndim < 1 or w.shape[0] == 0:
        raise ValueError(f"weights need a non-empty channel axis 0, got shape {w.shape}")
    M = w.shape[0]
    max_abs = np.abs(w.reshape(M, -1)).max(axis=1) if w.size else np.zeros(M)
    scales = np.where(max_abs > 0, max_abs / 127.0, 1.0)
    per_channel = scales.reshape((M,) + (1,) * (w.ndim - 1))
    w_q = np.clip(round_half_away_from_zero(w / per_channel), -127, 127).astype(np.int8)
    return w_q, scales


def quantize_bias(b, input_scale, weight_scales):
    """int32 bias: ``round_half_away_from_zero(b / (input_scale * weight_scales))``.

    Zero point 0; results are clamped to the int32 range. ``weight_scales`` is a scalar
    or an (M,) array matching ``b`` (M,). Returns an int32 array.
    """
    b = _float_array("bias", b)
    input_scale = _positive_scale("input_scale", input_scale)
    weight_scales = _positive_scale("weight_scales", weight_scales)
    if input_scale.ndim != 0:
        raise ValueError(f"input_scale must be a scalar, got shape {input_scale.shape}")
    if weight_scales.shape not in ((), b.shape):
        raise ValueError(
            f"weight_scales must be a scalar or match the bias shape {b.shape}, "
            f"got {weight_scales.shape}"
        )
    q = np.asarray(round_half_away_from_zero(b / (input_scale * weight_scales)))
    return np.clip(q, INT32_MIN, INT32_MAX).astype(np.int32)
