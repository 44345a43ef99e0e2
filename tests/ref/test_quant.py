"""TFLite / gemmlowp fixed-point semantics, bit-exact (accel/ref/quant.py)."""

import math

import numpy as np
import pytest

from accel.ref import quant
from accel.ref.quant import INT32_MAX, INT32_MIN

# --- independent scalar model: a line-by-line transcription of the C code ---------------


def c_div_trunc(a: int, b: int) -> int:
    """C integer division (truncates toward zero), for b > 0."""
    q = abs(a) // b
    return q if a >= 0 else -q


def c_int32(v: int) -> int:
    """static_cast<int32_t> on a two's complement machine."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def c_srdhm(a: int, b: int) -> int:
    # gemmlowp fixedpoint.h SaturatingRoundingDoublingHighMul(int32_t a, int32_t b)
    overflow = a == b and a == -(2**31)
    ab_64 = a * b
    nudge = (1 << 30) if ab_64 >= 0 else (1 - (1 << 30))
    ab_x2_high32 = c_int32(c_div_trunc(ab_64 + nudge, 1 << 31))
    return 2**31 - 1 if overflow else ab_x2_high32


def c_rdbpot(x: int, exponent: int) -> int:
    # gemmlowp fixedpoint.h RoundingDivideByPOT(int32_t x, int exponent)
    mask = (1 << exponent) - 1
    zero = 0
    one = 1
    remainder = x & mask
    threshold = (mask >> 1) + (one if x < zero else zero)
    return (x >> exponent) + (one if remainder > threshold else zero)


def c_mbqm(x: int, quantized_multiplier: int, shift: int) -> int:
    # TFLite MultiplyByQuantizedMultiplier (double rounding)
    left_shift = shift if shift > 0 else 0
    right_shift = 0 if shift > 0 else -shift
    return c_rdbpot(c_srdhm(c_int32(x * (1 << left_shift)), quantized_multiplier), right_shift)


EXTREMES = [INT32_MIN, INT32_MIN + 1, -(2**30), -3, -2, -1, 0, 1, 2, 3, 2**30, INT32_MAX - 1]
EXTREMES.append(INT32_MAX)


def random_int32(rng, n):
    """Random int32 values: uniform, small, and powers of two ± 1 (rounding boundaries)."""
    uniform = rng.integers(INT32_MIN, INT32_MAX, size=n, endpoint=True)
    small = rng.integers(-1000, 1001, size=n)
    powers = rng.choice([-1, 1], size=n) * (1 << rng.integers(0, 31, size=n))
    powers = powers + rng.integers(-1, 2, size=n)
    values = np.concatenate([uniform, small, powers, EXTREMES])
    return np.clip(values, INT32_MIN, INT32_MAX)


# --- SaturatingRoundingDoublingHighMul -------------------------------------------------


def test_srdhm_saturation():
    assert quant.saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX
    # INT32_MIN * INT32_MAX = -2**62 + 2**31; (that + 1 - 2**30) / 2**31
    # = -2**31 + 0.5 + 2**-31, truncated toward zero -> -2**31 + 1
    assert quant.saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MAX) == INT32_MIN + 1
    # INT32_MAX**2 = 2**62 - 2**32 + 1; (+2**30) / 2**31 = 2**31 - 2 + 0.5 + 2**-31 -> 2**31 - 2
    assert quant.saturating_rounding_doubling_high_mul(INT32_MAX, INT32_MAX) == INT32_MAX - 1


def test_srdhm_hand_computed_rounding():
    srdhm = quant.saturating_rounding_doubling_high_mul
    # b = 2**30 is 0.5 in Q0.31, so the exact result is a / 2.
    # a = 3: ab = 3 * 2**30; (3 * 2**30 + 2**30) / 2**31 = 2**32 / 2**31 = 2 (1.5 -> 2)
    assert srdhm(3, 1 << 30) == 2
    # a = -3: ab = -3 * 2**30 = -3221225472; nudge = 1 - 2**30 = -1073741823;
    # sum = -4294967295; / 2**31 = -1.99999999953 -> truncated toward zero = -1 (-1.5 -> -1).
    # A floor division would give -2: this is the C-truncation case.
    assert srdhm(-3, 1 << 30) == -1
    # a = -5: (-5 * 2**30 + 1 - 2**30) / 2**31 = (-6442450943) / 2**31 = -2.9999999995 -> -2
    assert srdhm(-5, 1 << 30) == -2
    # a = 1: (2**30 + 2**30) / 2**31 = 1 (0.5 -> 1)
    assert srdhm(1, 1 << 30) == 1
    # a = -1: (-2**30 + 1 - 2**30) / 2**31 = (-2**31 + 1) / 2**31 = -0.99999999953 -> 0
    assert srdhm(-1, 1 << 30) == 0
    # Not a tie: a = -7, b = 2**29 (0.25): exact -1.75;
    # (-7 * 2**29 + 1 - 2**30) / 2**31 = (-3758096384 - 1073741823) / 2**31 = -2.2499 -> -2
    assert srdhm(-7, 1 << 29) == -2
    # a = 7, b = 2**29: (3758096384 + 1073741824) / 2**31 = 2.25 -> 2 (1.75 -> 2)
    assert srdhm(7, 1 << 29) == 2
    # a = -5, b = 2**29: exact -1.25; (-2684354560 - 1073741823) / 2**31 = -1.74999 -> -1
    assert srdhm(-5, 1 << 29) == -1
    # sign symmetry of the arguments
    assert srdhm(1 << 30, -3) == -1
    assert srdhm(0, INT32_MIN) == 0


def test_srdhm_vectorized_matches_scalar_c_model():
    rng = np.random.default_rng(11)
    a = random_int32(rng, 2000)
    b = rng.permutation(random_int32(rng, 2000))
    got = quant.saturating_rounding_doubling_high_mul(a, b)
    expected = [c_srdhm(int(p), int(q)) for p, q in zip(a, b, strict=True)]
    np.testing.assert_array_equal(got, expected)
    grid = np.array(EXTREMES)
    got = quant.saturating_rounding_doubling_high_mul(grid[:, None], grid[None, :])
    expected = [[c_srdhm(int(p), int(q)) for q in grid] for p in grid]
    np.testing.assert_array_equal(got, expected)


# --- RoundingDivideByPOT ---------------------------------------------------------------


def test_rdbpot_hand_computed_ties():
    rdbpot = quant.rounding_divide_by_pot
    # 5 / 2 = 2.5: mask 1, rem 1, threshold 0 -> (5 >> 1) + 1 = 2 + 1 = 3
    assert rdbpot(5, 1) == 3
    # -5 / 2 = -2.5: rem = -5 & 1 = 1, threshold = 0 + 1 = 1 -> (-5 >> 1) + 0 = -3
    assert rdbpot(-5, 1) == -3
    # -6 / 4 = -1.5: rem = -6 & 3 = 2, threshold = 1 + 1 = 2 -> (-6 >> 2) + 0 = -2
    assert rdbpot(-6, 2) == -2
    # 6 / 4 = 1.5: rem 2 > threshold 1 -> (6 >> 2) + 1 = 2
    assert rdbpot(6, 2) == 2
    # -7 / 4 = -1.75: rem = -7 & 3 = 1, threshold 2 -> (-7 >> 2) = -2
    assert rdbpot(-7, 2) == -2
    # -5 / 4 = -1.25: rem = -5 & 3 = 3 > threshold 2 -> -2 + 1 = -1
    assert rdbpot(-5, 2) == -1
    # -1 / 2 = -0.5: rem 1, threshold 1 -> (-1 >> 1) = -1
    assert rdbpot(-1, 1) == -1
    # 1 / 2 = 0.5 -> 1
    assert rdbpot(1, 1) == 1


def test_rdbpot_exponent_0_and_31():
    for x in EXTREMES:
        assert quant.rounding_divide_by_pot(x, 0) == x
    # INT32_MIN / 2**31 = -1 exactly; INT32_MAX / 2**31 = 0.99999 -> 1; -2**30 / 2**31 = -0.5 -> -1
    assert quant.rounding_divide_by_pot(INT32_MIN, 31) == -1
    assert quant.rounding_divide_by_pot(INT32_MAX, 31) == 1
    assert quant.rounding_divide_by_pot(-(2**30), 31) == -1
    assert quant.rounding_divide_by_pot(2**30, 31) == 1
    assert quant.rounding_divide_by_pot(2**30 - 1, 31) == 0


def test_rdbpot_vectorized_matches_scalar_c_model():
    rng = np.random.default_rng(12)
    x = random_int32(rng, 2000)
    e = rng.integers(0, 32, size=x.size)
    got = quant.rounding_divide_by_pot(x, e)
    expected = [c_rdbpot(int(v), int(k)) for v, k in zip(x, e, strict=True)]
    np.testing.assert_array_equal(got, expected)


# --- quantize_multiplier ---------------------------------------------------------------


def test_quantize_multiplier_hand_computed():
    # frexp(0.5) = (0.5, 0): 0.5 * 2**31 = 2**30
    assert quant.quantize_multiplier(0.5) == (1 << 30, 0)
    assert quant.quantize_multiplier(0.25) == (1 << 30, -1)  # frexp = (0.5, -1)
    assert quant.quantize_multiplier(1.0) == (1 << 30, 1)  # frexp = (0.5, 1)
    assert quant.quantize_multiplier(2.0) == (1 << 30, 2)
    assert quant.quantize_multiplier(0.75) == (3 << 29, 0)  # 0.75 * 2**31 = 1610612736
    # frexp(1e-10) = (0.8589934592, -33): shift < -31 -> flushed to (0, 0)
    assert quant.quantize_multiplier(1e-10) == (0, 0)
    assert quant.quantize_multiplier(0.0) == (0, 0)
    # 1 - 2**-40: fraction * 2**31 = 2**31 - 2**-9 rounds to 2**31 -> halved, shift 0 + 1
    assert quant.quantize_multiplier(1 - 2**-40) == (1 << 30, 1)
    # 0.5 - 2**-42 = (1 - 2**-41) * 2**-1: rounds to 2**31 -> (2**30, 0)
    assert quant.quantize_multiplier(0.5 - 2**-42) == (1 << 30, 0)
    # largest fraction that does not round up: (2**31 - 1) / 2**31
    assert quant.quantize_multiplier((2**31 - 1) / 2**31) == (2**31 - 1, 0)
    # tie: 0.5 + 2**-32 -> 2**30 + 0.5 rounds half away from zero to 2**30 + 1
    # (Python's round() would give 2**30)
    assert quant.quantize_multiplier(0.5 + 2**-32) == ((1 << 30) + 1, 0)
    # smallest non-flushed: 2**-32 = 0.5 * 2**-31 -> (2**30, -31)
    assert quant.quantize_multiplier(2**-32) == (1 << 30, -31)
    assert quant.quantize_multiplier(2**-33) == (0, 0)  # frexp exponent -32


def test_quantize_multiplier_errors():
    for bad in (-0.5, float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="finite and >= 0"):
            quant.quantize_multiplier(bad)
    with pytest.raises(ValueError, match="too large: shift 31 > 30"):
        quant.quantize_multiplier(2.0**30)
    with pytest.raises(ValueError, match="must be a real number"):
        quant.quantize_multiplier("0.5")


def test_quantize_multiplier_reconstructs_real():
    rng = np.random.default_rng(13)
    for real in np.exp(rng.uniform(math.log(1e-9), math.log(1e8), size=500)):
        m, shift = quant.quantize_multiplier(float(real))
        assert (1 << 30) <= m <= INT32_MAX
        assert -31 <= shift <= 30
        assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2.0**-31


# --- MultiplyByQuantizedMultiplier -----------------------------------------------------


def test_mbqm_hand_computed():
    mbqm = quant.multiply_by_quantized_multiplier
    # (2**30, 1) is exactly 1.0: 2x * 2**30 / 2**31 = x
    assert mbqm(12345, 1 << 30, 1) == 12345
    assert mbqm(-12345, 1 << 30, 1) == -12345
    # (2**30, -1) = 0.25: SRDHM(-6, 2**30) = -3, RDBPOT(-3, 1) = -1.5 -> -2
    assert mbqm(-6, 1 << 30, -1) == -2
    # (2**30, 0) = 0.5: SRDHM(-3, 2**30) = -1 (tie toward +inf), no right shift
    assert mbqm(-3, 1 << 30, 0) == -1
    # The left shift wraps to int32: 2**30 << 1 = 2**31 -> INT32_MIN, * 0.5 = -2**30
    assert mbqm(1 << 30, 1 << 30, 1) == -(1 << 30)
    # (2**30, 2) = 2.0 with x = 2**29 + 1: 4x = 2**31 + 4 wraps to INT32_MIN + 4;
    # SRDHM(INT32_MIN + 4, 2**30) = (-2**61 + 2**32 + 1 - 2**30) / 2**31
    # = -2**30 + 1.5 + 2**-31, truncated toward zero -> -2**30 + 2
    assert mbqm((1 << 29) + 1, 1 << 30, 2) == -(1 << 30) + 2


def test_mbqm_vectorized_matches_scalar_c_model():
    rng = np.random.default_rng(14)
    n = 3000
    x = random_int32(rng, n)
    size = x.size
    mult = np.where(
        rng.random(size) < 0.1,
        rng.integers(INT32_MIN, INT32_MAX, size=size, endpoint=True),
        rng.integers(1 << 30, INT32_MAX, size=size, endpoint=True),
    )
    mult[:4] = [INT32_MIN, INT32_MAX, 0, 1 << 30]
    shift = rng.integers(-31, 31, size=size)
    got = quant.multiply_by_quantized_multiplier(x, mult, shift)
    expected = [c_mbqm(int(a), int(b), int(c)) for a, b, c in zip(x, mult, shift, strict=True)]
    np.testing.assert_array_equal(got, expected)


def test_mbqm_per_channel_broadcast():
    rng = np.random.default_rng(15)
    x = rng.integers(-(2**20), 2**20, size=(2, 3, 4, 5))
    mult = rng.integers(1 << 30, INT32_MAX, size=5)
    shift = rng.integers(-12, 3, size=5)
    got = quant.multiply_by_quantized_multiplier(x, mult, shift)
    assert got.shape == x.shape
    for idx in np.ndindex(x.shape):
        m = idx[-1]
        assert got[idx] == c_mbqm(int(x[idx]), int(mult[m]), int(shift[m]))


def test_mbqm_approximates_real_product():
    rng = np.random.default_rng(16)
    for _ in range(300):
        s = float(np.exp(rng.uniform(math.log(1e-6), math.log(100.0))))
        limit = min(INT32_MAX, int(2**30 / s))
        x = rng.integers(-limit, limit, size=50)
        got = quant.multiply_by_quantized_multiplier(x, *quant.quantize_multiplier(s))
        exact = np.array([round(int(v) * s) for v in x])  # Python float product
        assert np.max(np.abs(got - exact)) <= 1, s


def test_fixed_point_argument_errors():
    with pytest.raises(ValueError, match=r"x must be within \[-2147483648, 2147483647\]"):
        quant.multiply_by_quantized_multiplier(2**31, 1 << 30, 0)
    with pytest.raises(ValueError, match=r"shift must be within \[-31, 30\], got 31"):
        quant.multiply_by_quantized_multiplier(1, 1 << 30, 31)
    with pytest.raises(ValueError, match=r"exponent must be within \[0, 31\], got -1"):
        quant.rounding_divide_by_pot(1, -1)
    with pytest.raises(ValueError, match="a must hold integers"):
        quant.saturating_rounding_doubling_high_mul(1.5, 2)


def test_wrap_int32():
    values = np.array([0, INT32_MAX, INT32_MAX + 1, INT32_MIN, INT32_MIN - 1, 2**32 + 5, -(2**40)])
    expected = [c_int32(int(v)) for v in values]
    assert expected == [0, INT32_MAX, INT32_MIN, INT32_MIN, INT32_MAX, 5, 0]
    np.testing.assert_array_equal(quant.wrap_int32(values), expected)


# --- requantize ------------------------------------------------------------------------


def test_requantize_hand_computed():
    # channel 0: (100 + 10) * 0.5 = 55, + 3 = 58
    # channel 1: (-100 - 10) * 0.25: SRDHM(-110, 2**30) = -55, RDBPOT(-55, 1) = -27.5 -> -28;
    #            + 3 = -25, clamped to act_min -20
    acc = np.array([[100, -100]])
    got = quant.requantize(acc, np.array([10, -10]), [1 << 30, 1 << 30], [0, -1], 3, -20, 127)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, [[58, -20]])
    # multiplier 0.5 (2**30, 0), zero point 0:
    # channel 0: 1000 * 0.5 = 500 -> saturates at act_max 127
    # channel 1: INT32_MAX + 1 wraps (int32 accumulator) to INT32_MIN;
    #            SRDHM(INT32_MIN, 2**30) = (-2**61 + 1 - 2**30) / 2**31 -> -2**30 -> clamp -128
    got = quant.requantize(np.array([1000, INT32_MAX]), np.array([0, 1]), 1 << 30, 0, 0)
    np.testing.assert_array_equal(got, [127, -128])


def test_requantize_matches_scalar_model():
    rng = np.random.default_rng(17)
    M = 7
    acc = rng.integers(-(2**24), 2**24, size=(3, 4, M))
    bias = rng.integers(-(2**20), 2**20, size=M)
    pairs = [quant.quantize_multiplier(float(s)) for s in np.exp(rng.uniform(-12, 0, size=M))]
    mult = np.array([p[0] for p in pairs])
    shift = np.array([p[1] for p in pairs])
    zp, lo, hi = -5, -5, 100
    got = quant.requantize(acc, bias, mult, shift, zp, lo, hi)
    for idx in np.ndindex(acc.shape):
        m = idx[-1]
        y = c_mbqm(c_int32(int(acc[idx]) + int(bias[m])), int(mult[m]), int(shift[m])) + zp
        assert got[idx] == min(max(y, lo), hi)


def test_requantize_errors():
    acc = np.zeros((2, 3), dtype=np.int32)
    with pytest.raises(ValueError, match=r"bias must be a scalar or have shape \(M,\) = \(3,\)"):
        quant.requantize(acc, np.zeros(2, dtype=np.int32), 1 << 30, 0, 0)
    with pytest.raises(ValueError, match=r"act_min \(10\) must be <= act_max \(5\)"):
        quant.requantize(acc, None, 1 << 30, 0, 0, 10, 5)
    with pytest.raises(ValueError, match=r"output_zero_point must be within \[-128, 127\]"):
        quant.requantize(acc, None, 1 << 30, 0, 128)
    with pytest.raises(ValueError, match="accumulators must hold integers"):
        quant.requantize(acc.astype(float), None, 1 << 30, 0, 0)


# --- tensor quantization ---------------------------------------------------------------


def test_choose_activation_qparams():
    # [0, 2.55]: scale 0.01, real 0 at -128
    scale, zp = quant.choose_activation_qparams(0.0, 2.55)
    assert zp == -128 and scale == pytest.approx(0.01, rel=1e-15)
    # [-2.55, 0]: real 0 at the top
    scale, zp = quant.choose_activation_qparams(-2.55, 0.0)
    assert zp == 127 and scale == pytest.approx(0.01, rel=1e-15)
    # [1, 2] is extended to [0, 2]: scale 2/255, zero point -128
    scale, zp = quant.choose_activation_qparams(1.0, 2.0)
    assert zp == -128 and scale == pytest.approx(2 / 255, rel=1e-15)
    # [-1.28, 1.27]: scale 0.01, zero point -128 + 128 = 0
    scale, zp = quant.choose_activation_qparams(-1.28, 1.27)
    assert zp == 0 and scale == pytest.approx(0.01, rel=1e-12)
    assert quant.choose_activation_qparams(0.0, 0.0) == (1.0, 0)
    # real 0 is exactly representable for any range
    rng = np.random.default_rng(18)
    for _ in range(200):
        lo, hi = sorted(rng.normal(scale=10.0, size=2))
        scale, zp = quant.choose_activation_qparams(float(lo), float(hi))
        assert -128 <= zp <= 127
        assert quant.quantize(0.0, scale, zp) == zp and quant.dequantize(zp, scale, zp) == 0.0
        assert abs(int(quant.quantize(min(lo, 0.0), scale, zp)) - -128) <= 1
        assert abs(int(quant.quantize(max(hi, 0.0), scale, zp)) - 127) <= 1
    with pytest.raises(ValueError, match=r"fmin \(1.0\) must be <= fmax \(0.0\)"):
        quant.choose_activation_qparams(1.0, 0.0)
    with pytest.raises(ValueError, match="fmax must be finite"):
        quant.choose_activation_qparams(0.0, float("inf"))


def test_quantize_rounds_half_away_from_zero_and_clamps():
    x = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49, -0.49, 200.0, -200.0])
    # expected by hand: ties away from zero (np.round would give 0, -0, 2, -2, 2, -2)
    np.testing.assert_array_equal(quant.quantize(x, 1.0, 0), [1, -1, 2, -2, 3, -3, 0, 0, 127, -128])
    # scale 0.5, zero point 10: 1.25 / 0.5 = 2.5 -> 3, + 10 = 13; -1.25 -> -3 + 10 = 7
    np.testing.assert_array_equal(quant.quantize([1.25, -1.25, 0.0], 0.5, 10), [13, 7, 10])
    assert quant.quantize([1.0], 1.0, 0).dtype == np.int8
    np.testing.assert_array_equal(
        quant.dequantize(np.array([13, 7, -128]), 0.5, 10), [1.5, -1.5, -69.0]
    )
    with pytest.raises(ValueError, match="scale must be finite and > 0"):
        quant.quantize([1.0], 0.0, 0)


def test_quantize_weights_per_channel():
    # channel 0: max |w| = 127 -> scale 1: 127, -3.5 -> -4, 2.5 -> 3
    # channel 1: max |w| = 254 -> scale 2: 254 -> 127, -5 -> -2.5 -> -3, 1 -> 0.5 -> 1
    # channel 2: all zero -> scale 1.0 (documented), values 0
    w = np.array([[127.0, -3.5, 2.5], [254.0, -5.0, 1.0], [0.0, 0.0, 0.0]]).reshape(3, 1, 1, 3)
    w_q, scales = quant.quantize_weights_per_channel(w)
    assert w_q.dtype == np.int8 and w_q.shape == w.shape
    assert scales.dtype == np.float64
    np.testing.assert_array_equal(scales, [1.0, 2.0, 1.0])
    np.testing.assert_array_equal(w_q.reshape(3, 3), [[127, -4, 3], [127, -3, 1], [0, 0, 0]])
    # symmetric: -max maps to -127, never -128
    w_q, scales = quant.quantize_weights_per_channel(np.array([[-3.0, 1.0]]))
    np.testing.assert_array_equal(w_q, [[-127, 42]])  # 1 / (3/127) = 42.33 -> 42
    assert scales[0] == 3.0 / 127


def test_quantize_bias():
    # scales 0.5 * [2, 1] = [1, 0.5]: 10 / 1 = 10; -7.5 / 0.5 = -15
    b = quant.quantize_bias(np.array([10.0, -7.5]), 0.5, np.array([2.0, 1.0]))
    assert b.dtype == np.int32
    np.testing.assert_array_equal(b, [10, -15])
    # ties away from zero: 1.5 -> 2, -2.5 -> -3; huge values clamp to int32
    np.testing.assert_array_equal(
        quant.quantize_bias(np.array([1.5, -2.5, 1e12]), 1.0, 1.0), [2, -3, INT32_MAX]
    )
    with pytest.raises(ValueError, match="weight_scales must be a scalar or match"):
        quant.quantize_bias(np.zeros(3), 1.0, np.ones(2))
