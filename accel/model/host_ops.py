"""NumPy golden kernels of the ops the host runs, bit-exact to TFLite's reference kernels.

Every function takes int8 NumPy arrays (NHWC for 4-D activations) and plain quantization
numbers, and returns int8 (``dequantize``: float32), computing in int64 what TFLite computes
in int32 (the values never leave the int32 range, except where TFLite wraps too). Scales are
the float32 values stored in the model; derived multipliers are computed in double from
them exactly as TFLite's ``Prepare`` functions do, and turned into fixed point by
:func:`accel.ref.quant.quantize_multiplier` (TFLite ``QuantizeMultiplier``).

The conv / depthwise / fully connected kernels here are the host golden for layers the
accelerator does not take (the accelerator golden is :func:`accel.ref.layer.run_layer`).
Softmax follows ``reference_ops::Softmax`` (gemmlowp fixed-point exp and reciprocal,
``kScaledDiffIntegerBits = 5``, ``kAccumulationIntegerBits = 12``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from accel.ref.quant import (
    INT8_MAX,
    INT8_MIN,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    requantize,
    round_half_away_from_zero,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

__all__ = [
    "activation_range",
    "conv_multipliers",
    "same_padding",
    "conv_2d",
    "depthwise_conv_2d",
    "fully_connected",
    "fully_connected_reference",
    "max_pool_2d",
    "average_pool_2d",
    "mean",
    "add",
    "pad",
    "reshape",
    "concatenation",
    "softmax",
    "softmax_params",
    "add_params",
    "mean_params",
    "concat_rescale",
    "quantize",
    "requantize_int8",
    "dequantize",
    "transpose",
]

_F32 = np.float32


# --- parameters as TFLite derives them ---------------------------------------------------


def _round_away(x: float) -> int:
    """C ``round`` (half away from zero) of a finite float, as a Python int."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite ``CalculateActivationRangeQuantized`` for int8: the fused-activation clamp.

    ``quantize(f) = zero_point + round(f / scale)`` with the division in float32, as in
    TFLite. ``activation`` is NONE, RELU, RELU6 or RELU_N1_TO_1.
    """

    def q(f: float) -> int:
        return zero_point + _round_away(float(_F32(f) / _F32(scale)))

    if activation == "NONE":
        return INT8_MIN, INT8_MAX
    if activation == "RELU":
        return max(INT8_MIN, q(0.0)), INT8_MAX
    if activation == "RELU6":
        return max(INT8_MIN, q(0.0)), min(INT8_MAX, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(INT8_MIN, q(-1.0)), min(INT8_MAX, q(1.0))
    raise ValueError(f"unknown activation {activation!r}")


def conv_multipliers(input_scale: float, weight_scales, output_scale: float, channels: int):
    """Per-channel (multiplier, shift) int32 arrays, as TFLite's
    ``PopulateConvolutionQuantizationParams``: ``(double) in * (double) w[m] / (double) out``
    then ``QuantizeMultiplier``. A single weight scale applies to every channel."""
    scales = np.asarray(weight_scales, dtype=np.float64).reshape(-1)
    if scales.size == 1:
        scales = np.full(channels, scales[0])
    pairs = [
        quantize_multiplier(float(input_scale) * float(s) / float(output_scale)) for s in scales
    ]
    multiplier = np.array([p[0] for p in pairs], dtype=np.int32)
    shift = np.array([p[1] for p in pairs], dtype=np.int32)
    return multiplier, shift


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite SAME padding (``ComputePaddingHeightWidth``): (before, after), the odd extra
    element after (bottom/right). Output size ``ceil(size / stride)``."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _out_size(size: int, before: int, after: int, kernel: int, stride: int) -> int:
    out = (size + before + after - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"window {kernel} larger than the padded input {size}+{before}+{after}")
    return out


def _windows(x: np.ndarray, kh: int, kw: int, stride, pads, fill) -> np.ndarray:
    """(N, E, F, C, kh, kw) windows of NHWC ``x`` padded with ``fill``."""
    top, bottom, left, right = pads
    sh, sw = stride
    E = _out_size(x.shape[1], top, bottom, kh, sh)
    F = _out_size(x.shape[2], left, right, kw, sw)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    view = sliding_window_view(padded, (kh, kw), axis=(1, 2))
    return view[:, : (E - 1) * sh + 1 : sh, : (F - 1) * sw + 1 : sw]


# --- convolutions (host golden) ----------------------------------------------------------


def conv_2d(x, w, bias, multiplier, shift, input_zp, output_zp, act_min, act_max, stride, pads):
    """int8 CONV_2D (``reference_integer_ops::ConvPerChannel``); ``w`` (M, R, S, C),
    ``stride`` (sh, sw), ``pads`` (top, bottom, left, right), padded pixels are real 0."""
    shifted = x.astype(np.int64) - input_zp
    win = _windows(shifted, w.shape[1], w.shape[2], stride, pads, 0)  # N E F C R S
    acc = np.einsum("nefcrs,mrsc->nefm", win, w.astype(np.int64), optimize=True)
    return requantize(acc, bias, multiplier, shift, output_zp, act_min, act_max)


def depthwise_conv_2d(
    x, w, bias, multiplier, shift, input_zp, output_zp, act_min, act_max, stride, pads, depth_mult
):
    """int8 DEPTHWISE_CONV_2D (``reference_integer_ops::DepthwiseConvPerChannel``);
    ``w`` (1, R, S, C * depth_mult), output channel ``c * depth_mult + j`` reads input c."""
    shifted = x.astype(np.int64) - input_zp
    if depth_mult > 1:
        shifted = np.repeat(shifted, depth_mult, axis=-1)
    win = _windows(shifted, w.shape[1], w.shape[2], stride, pads, 0)  # N E F M R S
    acc = np.einsum("nefmrs,rsm->nefm", win, w[0].astype(np.int64), optimize=True)
    return requantize(acc, bias, multiplier, shift, output_zp, act_min, act_max)


def fully_connected(x, w, bias, multiplier, shift, input_zp, output_zp, act_min, act_max):
    """int8 FULLY_CONNECTED on ``x`` (rows, C) with ``w`` (M, C)."""
    acc = (x.astype(np.int64) - input_zp) @ w.astype(np.int64).T
    return requantize(acc, bias, multiplier, shift, output_zp, act_min, act_max)


def fully_connected_reference(
    x, w, bias, input_zp, output_zp, act_min, act_max, input_scale, weight_scales, output_scale
):
    """int8 FULLY_CONNECTED as LiteRT's *reference* kernel computes it
    (``reference_integer_ops::FullyConnected`` / ``FullyConnectedPerChannel`` with float
    scales): ``round(double(acc) * (double) in * (double) w[m] / (double) out)``, rounding
    half away from zero, instead of the fixed-point multiplier."""
    acc = (x.astype(np.int64) - input_zp) @ w.astype(np.int64).T
    acc = np.asarray(wrap_int32(acc + bias.astype(np.int64)))
    scales = np.asarray(weight_scales, dtype=np.float64).reshape(-1)
    effective = float(input_scale) * scales / float(output_scale)
    v = acc.astype(np.float64) * effective
    y = np.asarray(round_half_away_from_zero(v)).astype(np.int64) + output_zp
    return np.clip(y, act_min, act_max).astype(np.int8)


# --- pooling and reductions --------------------------------------------------------------


def max_pool_2d(x, filter_hw, stride, pads, act_min=INT8_MIN, act_max=INT8_MAX):
    """int8 MAX_POOL_2D (``reference_integer_ops::MaxPool``): max over the window positions
    inside the input (padding never wins), then the activation clamp."""
    win = _windows(x.astype(np.int16), *filter_hw, stride, pads, -1000)
    return np.clip(win.max(axis=(4, 5)), act_min, act_max).astype(np.int8)


def _c_div_round(acc: np.ndarray, count) -> np.ndarray:
    """``acc > 0 ? (acc + n/2) / n : (acc - n/2) / n`` with C (truncating) division."""
    count = np.asarray(count, dtype=np.int64)
    half = count // 2
    positive = (acc + half) // count
    negative = -((-acc + half) // count)
    return np.where(acc > 0, positive, negative)


def average_pool_2d(x, filter_hw, stride, pads, act_min=INT8_MIN, act_max=INT8_MAX):
    """int8 AVERAGE_POOL_2D (``reference_integer_ops::AveragePool``): sum of the raw values
    inside the input, divided by their count with rounding half away from zero, clamped."""
    win = _windows(x.astype(np.int64), *filter_hw, stride, pads, 0)
    ones = np.ones((1, *x.shape[1:3], 1), dtype=np.int64)
    count = _windows(ones, *filter_hw, stride, pads, 0).sum(axis=(4, 5))
    avg = _c_div_round(win.sum(axis=(4, 5)), count)
    return np.clip(avg, act_min, act_max).astype(np.int8)


def mean(x, axes, keep_dims, input_scale, input_zp, output_scale, output_zp):
    """int8 MEAN as LiteRT's reference kernel (``reference_ops::QuantizedMeanOrSum``, used
    for every int8 MEAN): the multiplier of ``input_scale / output_scale`` with the factor
    1/count folded in (``multiplier << b`` divided by the count, shift lowered by ``b =
    floor(log2(count))``, at most 32), applied to ``sum(x) - input_zp * count``, plus
    ``output_zp``, saturated. ``keep_dims`` only changes the output shape."""
    ndim = x.ndim
    axes = tuple(sorted({a + ndim if a < 0 else a for a in axes}))
    count = int(np.prod([x.shape[a] for a in axes]))
    raw_sum = x.astype(np.int64).sum(axis=axes, keepdims=keep_dims)
    multiplier, shift = mean_params(input_scale, output_scale, count)
    acc = np.asarray(wrap_int32(raw_sum - input_zp * count))
    y = np.asarray(multiply_by_quantized_multiplier(acc, multiplier, shift)) + output_zp
    return np.clip(y, INT8_MIN, INT8_MAX).astype(np.int8)


def mean_params(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """(multiplier, shift) of :func:`mean` over ``count`` elements, 1/count folded in."""
    multiplier, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    bits = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << bits) // count, shift - bits


# --- elementwise and data movement -------------------------------------------------------


def _smaller_than_one(real: float) -> tuple[int, int]:
    multiplier, shift = quantize_multiplier(real)
    if shift > 0:
        raise ValueError(f"multiplier {real} must be < 1 for the int8 ADD scheme")
    return multiplier, shift


def add(a, b, a_scale, a_zp, b_scale, b_zp, out_scale, out_zp, act_min=-128, act_max=127):
    """int8 ADD (``reference_integer_ops::Add``, NumPy broadcasting): both inputs shifted
    left by 20, scaled by ``scale_i / (2 max scale)``, summed, scaled by
    ``2 max scale / (2**20 out_scale)``; every multiplier as TFLite's ``Prepare`` computes it
    in double from the float32 scales."""
    m1, s1, m2, s2, mo, so = add_params(a_scale, b_scale, out_scale)
    va = (a.astype(np.int64) - a_zp) << ADD_LEFT_SHIFT
    vb = (b.astype(np.int64) - b_zp) << ADD_LEFT_SHIFT
    sa = np.asarray(multiply_by_quantized_multiplier(va, m1, s1))
    sb = np.asarray(multiply_by_quantized_multiplier(vb, m2, s2))
    raw = np.asarray(multiply_by_quantized_multiplier(sa + sb, mo, so)) + out_zp
    return np.clip(raw, act_min, act_max).astype(np.int8)


ADD_LEFT_SHIFT = 20


def add_params(a_scale: float, b_scale: float, out_scale: float) -> tuple[int, ...]:
    """(a multiplier, a shift, b multiplier, b shift, out multiplier, out shift) of
    :func:`add`, as TFLite's ``Prepare`` computes them in double from the float32 scales."""
    twice_max = 2.0 * max(float(a_scale), float(b_scale))
    m1, s1 = _smaller_than_one(float(a_scale) / twice_max)
    m2, s2 = _smaller_than_one(float(b_scale) / twice_max)
    mo, so = _smaller_than_one(twice_max / ((1 << ADD_LEFT_SHIFT) * float(out_scale)))
    return m1, s1, m2, s2, mo, so


def pad(x, pads, value):
    """PAD: ``pads`` is ((before, after), ...) per axis; the pad value is the raw int8
    ``value`` (TFLite: the output zero point, i.e. real 0)."""
    return np.pad(x, [tuple(p) for p in pads], constant_values=value).astype(x.dtype)


def reshape(x, shape):
    """RESHAPE (data unchanged); ``shape`` may contain one -1."""
    return x.reshape(tuple(shape))


def concatenation(xs, scales, zero_points, axis, out_scale, out_zp):
    """CONCATENATION. Inputs with the output's scale and zero point are copied; others are
    requantized as TFLite's ``ConcatenationWithScaling`` does (float32:
    ``round(q * (s_i / s_out) - zp_i * (s_i / s_out)) + zp_out``, clamped). (TFLite's int8
    kernel itself requires equal parameters; the scaling is its uint8 formula.)"""
    parts = []
    for x, s, zp in zip(xs, scales, zero_points, strict=True):
        if float(s) == float(out_scale) and int(zp) == int(out_zp):
            parts.append(x)
            continue
        scale, bias = concat_rescale(s, zp, out_scale)
        v = x.astype(_F32) * scale + bias
        r = np.asarray(round_half_away_from_zero(v))  # std::round (exact on float32 values)
        parts.append(np.clip(r.astype(np.int64) + out_zp, INT8_MIN, INT8_MAX).astype(np.int8))
    return np.concatenate(parts, axis=axis)


def concat_rescale(scale: float, zero_point: int, out_scale: float):
    """float32 (scale, bias) with which :func:`concatenation` rescales an input:
    ``q * scale + bias``."""
    scale = _F32(scale) * (_F32(1.0) / _F32(out_scale))
    return scale, _F32(-int(zero_point)) * scale


def transpose(x, perm):
    return np.ascontiguousarray(np.transpose(x, perm))


def quantize(x, scale, zero_point):
    """QUANTIZE float32 -> int8 (``reference_ops::AffineQuantize``):
    ``clamp(round(x / scale) + zero_point)``, the division in double."""
    q = np.asarray(x, dtype=np.float64) / float(scale)
    r = np.asarray(round_half_away_from_zero(q))
    r = np.clip(r, -(2.0**31), 2.0**31 - 1).astype(np.int64)
    return np.clip(r + zero_point, INT8_MIN, INT8_MAX).astype(np.int8)


def requantize_int8(x, in_scale, in_zp, out_scale, out_zp):
    """QUANTIZE int8 -> int8 (``reference_ops::Requantize``)."""
    multiplier, shift = quantize_multiplier(float(in_scale) / float(out_scale))
    y = np.asarray(multiply_by_quantized_multiplier(x.astype(np.int64) - in_zp, multiplier, shift))
    return np.clip(y + out_zp, INT8_MIN, INT8_MAX).astype(np.int8)


def dequantize(x, scale, zero_point):
    """DEQUANTIZE int8 -> float32: ``float(double(scale) * (q - zero_point))``."""
    return (float(scale) * (x.astype(np.float64) - zero_point)).astype(np.float32)


# --- softmax (gemmlowp fixed point) ------------------------------------------------------

_SCALED_DIFF_BITS = 5
_ACCUM_BITS = 12


def _srdhm(a, b):
    return np.asarray(saturating_rounding_doubling_high_mul(a, b))


def _rdpot(x, exponent):
    return np.asarray(rounding_divide_by_pot(x, exponent))


def _sat_shift_left(x, exponent: int):
    """gemmlowp ``SaturatingRoundingMultiplyByPOT`` with a positive exponent."""
    threshold = (1 << (31 - exponent)) - 1
    y = x << exponent
    y = np.where(x > threshold, (1 << 31) - 1, y)
    return np.where(x < -threshold, -(1 << 31), y)


def _exp_on_interval(a):
    """``exp_on_interval_between_negative_one_quarter_and_0_excl`` (Q0.31 in and out)."""
    constant_term = 1895147668
    one_third = 715827883
    x = a + (1 << 28)
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = _rdpot(x4, 2)
    poly = _rdpot(_srdhm(x4_over_4 + x3, one_third) + x2, 1)
    return constant_term + _srdhm(constant_term, x + poly)


def _exp_on_negative_values(a):
    """gemmlowp ``exp_on_negative_values`` for FixedPoint<int32, 5> input, Q0.31 result."""
    fractional = 31 - _SCALED_DIFF_BITS
    one_quarter = 1 << (fractional - 2)
    mask = one_quarter - 1
    a_mod = (a & mask) - one_quarter
    result = _exp_on_interval(_sat_shift_left(a_mod, _SCALED_DIFF_BITS))
    remainder = a_mod - a
    barrel = [
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ]
    for exponent, multiplier in barrel:
        if _SCALED_DIFF_BITS > exponent:
            bit = 1 << (fractional + exponent)
            result = np.where(remainder & bit, _srdhm(result, multiplier), result)
    return np.where(a == 0, (1 << 31) - 1, result)


def _one_over_one_plus_x(a):
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1`` (Q0.31 in and out)."""
    s = a + ((1 << 31) - 1)
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))
    x = 1515870810 + _srdhm(half_denominator, -1010580540)
    one_f2 = 1 << 29
    for _ in range(3):
        one_minus = one_f2 - _srdhm(half_denominator, x)
        x = x + _sat_shift_left(_srdhm(x, one_minus), 2)
    return _sat_shift_left(x, 1)


def _clz32(x: np.ndarray) -> np.ndarray:
    """Leading zeros of positive int32 values."""
    return 32 - np.frexp(x.astype(np.float64))[1].astype(np.int64)


def softmax_params(input_scale: float, beta: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) as TFLite's reference ``Prepare``
    (``PreprocessSoftmaxScaling`` and ``CalculateInputRadius``)."""
    real = min(float(beta) * float(input_scale) * (1 << (31 - _SCALED_DIFF_BITS)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    max_rescaled = (
        1.0 * ((1 << _SCALED_DIFF_BITS) - 1) * (1 << (31 - _SCALED_DIFF_BITS)) / (1 << left_shift)
    )
    return multiplier, left_shift, -math.floor(max_rescaled)


def softmax(x, input_scale, beta=1.0):
    """int8 SOFTMAX over the last axis (``reference_ops::Softmax``); the output has scale
    1/256 and zero point -128, as TFLite requires."""
    multiplier, left_shift, diff_min = softmax_params(input_scale, beta)
    v = x.astype(np.int64)
    diff = v - v.max(axis=-1, keepdims=True)
    valid = diff >= diff_min
    rescaled = _srdhm(np.where(valid, diff, 0) * (1 << left_shift), multiplier)
    exp = _exp_on_negative_values(rescaled)
    sum_of_exps = np.where(valid, _rdpot(exp, _ACCUM_BITS), 0).sum(axis=-1, keepdims=True)
    sum_of_exps = np.asarray(wrap_int32(sum_of_exps))
    headroom = _clz32(sum_of_exps)
    bits_over_unit = _ACCUM_BITS - headroom
    shifted_minus_one = np.asarray(wrap_int32((sum_of_exps << headroom) - (1 << 31)))
    scale = _one_over_one_plus_x(shifted_minus_one)
    exponent = bits_over_unit + 31 - 8
    out = _rdpot(_srdhm(scale, exp), exponent) + INT8_MIN
    out = np.where(valid, np.clip(out, INT8_MIN, INT8_MAX), INT8_MIN)
    return out.astype(np.int8)
