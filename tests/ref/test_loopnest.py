"""Loop nest == vectorized convolution == independent checks (accel/ref/loopnest.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.ref import loopnest


def shift_and_add_conv(x, w, stride, padding, pad_value):
    """Independent formulation: one strided slice + matrix product per filter tap (r, s)."""
    N, H, W, C = x.shape
    M, R, S, _ = w.shape
    E = (H + 2 * padding - R) // stride + 1
    F = (W + 2 * padding - S) // stride + 1
    xp = np.full((N, H + 2 * padding, W + 2 * padding, C), pad_value, dtype=np.int64)
    xp[:, padding : padding + H, padding : padding + W, :] = x
    y = np.zeros((N, E, F, M), dtype=np.int64)
    for r in range(R):
        for s in range(S):
            tap = xp[:, r : r + stride * E : stride, s : s + stride * F : stride, :]
            y += tap @ w[:, r, s, :].astype(np.int64).T
    return y


@st.composite
def conv_cases(draw):
    N = draw(st.integers(1, 2))
    C = draw(st.integers(1, 5))
    M = draw(st.integers(1, 5))
    P = draw(st.integers(0, 2))
    U = draw(st.integers(1, 3))
    H = draw(st.integers(1, 9))
    W = draw(st.integers(1, 9))
    R = draw(st.integers(1, min(4, H + 2 * P)))
    S = draw(st.integers(1, min(4, W + 2 * P)))
    with_bias = draw(st.booleans())
    pad_value = draw(st.integers(-128, 127))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(N, H, W, C), dtype=np.int64).astype(np.int8)
    w = rng.integers(-128, 128, size=(M, R, S, C), dtype=np.int64).astype(np.int8)
    bias = rng.integers(-(2**20), 2**20, size=M).astype(np.int32) if with_bias else None
    return x, w, bias, U, P, pad_value


@settings(max_examples=200, deadline=None)
@given(conv_cases())
def test_loopnest_equals_vectorized(case):
    x, w, bias, U, P, pad_value = case
    slow = loopnest.conv2d_loopnest(x, w, bias, stride=U, padding=P, pad_value=pad_value)
    fast = loopnest.conv2d(x, w, bias, stride=U, padding=P, pad_value=pad_value)
    N, H, W, _ = x.shape
    M, R, S, _ = w.shape
    assert slow.dtype == np.int64 and fast.dtype == np.int64
    assert slow.shape == (N, (H + 2 * P - R) // U + 1, (W + 2 * P - S) // U + 1, M)
    np.testing.assert_array_equal(slow, fast)
    expected = shift_and_add_conv(x, w, U, P, pad_value)
    if bias is not None:
        expected = expected + bias.astype(np.int64)
    np.testing.assert_array_equal(fast, expected)


def test_hand_computed_valid():
    # x = 1..9 in a 3x3 image; w = [[1, 0], [0, -1]] -> y[e, f] = x[e, f] - x[e+1, f+1] = -4.
    x = np.arange(1, 10).reshape(1, 3, 3, 1)
    w = np.array([[1, 0], [0, -1]]).reshape(1, 2, 2, 1)
    expected = np.full((1, 2, 2, 1), -4)
    np.testing.assert_array_equal(loopnest.conv2d_loopnest(x, w), expected)
    np.testing.assert_array_equal(loopnest.conv2d(x, w), expected)


def test_hand_computed_padding_stride_bias_two_channels():
    # x (1, 2, 2, 2): channel 0 = [[1, 2], [3, 4]], channel 1 = [[10, 20], [30, 40]].
    # w (2, 1, 1, 2): filter 0 = c0 - c1, filter 1 = 2*c0; bias = (100, -1).
    # padding 1, pad value 7, stride 2 on the 4x4 padded image: E = F = (2+2-1)//2+1 = 2,
    # sampling padded (0,0), (0,2), (2,0), (2,2) = pad, pad, pad, x[1,1].
    #   filter 0 at a pad pixel: 7 - 7 + 100 = 100; at x[1,1]: 4 - 40 + 100 = 64
    #   filter 1 at a pad pixel: 2*7 - 1 = 13;      at x[1,1]: 2*4 - 1 = 7
    x = np.stack([np.array([[1, 2], [3, 4]]), np.array([[10, 20], [30, 40]])], axis=-1)[None]
    w = np.array([[1, -1], [2, 0]]).reshape(2, 1, 1, 2)
    bias = np.array([100, -1])
    expected = np.array([[[[100, 13], [100, 13]], [[100, 13], [64, 7]]]])
    for conv in (loopnest.conv2d, loopnest.conv2d_loopnest):
        got = conv(x, w, bias, stride=2, padding=1, pad_value=7)
        np.testing.assert_array_equal(got, expected)


def test_hand_computed_3x3_same_padding():
    # All-ones 3x3 image and 3x3 all-ones filter, padding 1: each output counts the
    # in-image neighbours: corners 4, edges 6, centre 9.
    x = np.ones((1, 3, 3, 1), dtype=np.int8)
    w = np.ones((1, 3, 3, 1), dtype=np.int8)
    expected = np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(loopnest.conv2d(x, w, padding=1), expected)
    np.testing.assert_array_equal(loopnest.conv2d_loopnest(x, w, padding=1), expected)


def test_int8_extremes_are_exact():
    # -128 * -128 * K must not wrap: K = 4*4*5 = 80 -> 80 * 16384 = 1310720.
    x = np.full((1, 4, 4, 5), -128, dtype=np.int8)
    w = np.full((3, 4, 4, 5), -128, dtype=np.int8)
    np.testing.assert_array_equal(loopnest.conv2d(x, w), np.full((1, 1, 1, 3), 1310720))
    np.testing.assert_array_equal(loopnest.conv2d_loopnest(x, w), np.full((1, 1, 1, 3), 1310720))


def test_float_inputs():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 5, 6, 3))
    w = rng.normal(size=(4, 3, 2, 3))
    b = rng.normal(size=4)
    fast = loopnest.conv2d(x, w, b, stride=2, padding=1, pad_value=0.5)
    slow = loopnest.conv2d_loopnest(x, w, b, stride=2, padding=1, pad_value=0.5)
    assert fast.dtype == np.float64 and slow.dtype == np.float64
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=0.5)
    expected = np.einsum("hwc,mhwc->m", xp[1, 2:5, 4:6, :], w) + b  # output (n=1, e=1, f=2)
    np.testing.assert_allclose(fast[1, 1, 2], expected, rtol=1e-12)


def test_fully_connected_matches_matmul():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(3, 17)).astype(np.int8)
    w = rng.integers(-128, 128, size=(5, 17)).astype(np.int8)
    b = rng.integers(-1000, 1000, size=5).astype(np.int32)
    y = loopnest.fully_connected(x, w, b)
    assert y.shape == (3, 5) and y.dtype == np.int64
    np.testing.assert_array_equal(y, x.astype(np.int64) @ w.astype(np.int64).T + b)
    np.testing.assert_array_equal(
        loopnest.fully_connected(x, w), x.astype(np.int64) @ w.T.astype(np.int64)
    )


def test_maxpool_hand_example():
    # 5x5 single-channel image (odd: last row and column dropped), values row*10 + col
    # with one negative: windows {0,1,10,11} -> 11, {2,3,12,13} -> 13,
    # {20,21,30,31} -> 31, {22,23,32,33} with 33 replaced by -5 -> 32.
    img = np.array([[10 * r + c for c in range(5)] for r in range(5)])
    img[3, 3] = -5
    x = np.stack([img, -img], axis=-1)[None].astype(np.int8)  # channel 1 = negated
    y = loopnest.maxpool2x2(x)
    assert y.shape == (1, 2, 2, 2) and y.dtype == np.int8
    np.testing.assert_array_equal(y[0, :, :, 0], [[11, 13], [31, 32]])
    # channel 1 windows: {0,-1,-10,-11} -> 0, {-2,-3,-12,-13} -> -2,
    # {-20,-21,-30,-31} -> -20, {-22,-23,-32,5} -> 5
    np.testing.assert_array_equal(y[0, :, :, 1], [[0, -2], [-20, 5]])


def test_output_size_and_macs():
    assert loopnest.output_size(32, 5, 1, 0) == 28
    assert loopnest.output_size(28, 5, 1, 2) == 28
    assert loopnest.output_size(7, 3, 2, 1) == 4  # (7 + 2 - 3) // 2 + 1
    assert loopnest.output_size(4, 6, 1, 1) == 1
    assert loopnest.macs(1, 16, 6, 10, 10, 5, 5) == 240000  # LeNet conv2
    with pytest.raises(ValueError, match="kernel size 7 is larger than the padded input"):
        loopnest.output_size(4, 7, 1, 1)
    with pytest.raises(ValueError, match="stride U must be >= 1, not 0"):
        loopnest.output_size(4, 3, 0, 0)
    with pytest.raises(ValueError, match="padding P must be >= 0, not -1"):
        loopnest.output_size(4, 3, 1, -1)
    with pytest.raises(ValueError, match="must be an integer"):
        loopnest.output_size(4.0, 3, 1, 0)
    with pytest.raises(ValueError, match="M must be >= 0"):
        loopnest.macs(1, -1, 1, 1, 1, 1, 1)


@pytest.mark.parametrize("conv", [loopnest.conv2d, loopnest.conv2d_loopnest])
def test_conv_errors(conv):
    x = np.zeros((1, 4, 4, 3), dtype=np.int8)
    w = np.zeros((2, 3, 3, 3), dtype=np.int8)
    with pytest.raises(ValueError, match="input x has C = 3 channels, weights w have C = 2"):
        conv(x, np.zeros((2, 3, 3, 2), dtype=np.int8))
    with pytest.raises(ValueError, match=r"input x must be 4-D NHWC .* shape \(4, 4, 3\)"):
        conv(x[0], w)
    with pytest.raises(ValueError, match=r"weights w must be 4-D \(M, R, S, C\)"):
        conv(x, w[0])
    with pytest.raises(ValueError, match=r"bias must have shape \(M,\) = \(2,\), got \(3,\)"):
        conv(x, w, np.zeros(3, dtype=np.int32))
    with pytest.raises(ValueError, match="filter height R = 5 exceeds the padded input height"):
        conv(x, np.zeros((2, 5, 3, 3), dtype=np.int8))
    with pytest.raises(ValueError, match="filter width S = 7 exceeds the padded input width"):
        conv(x, np.zeros((2, 3, 7, 3), dtype=np.int8), padding=1)
    with pytest.raises(ValueError, match="stride U must be >= 1"):
        conv(x, w, stride=0)
    with pytest.raises(ValueError, match="dtype bool"):
        conv(x.astype(bool), w)
    with pytest.raises(ValueError, match="pad_value must be an integer for integer inputs"):
        conv(x, w, padding=1, pad_value=0.5)
    with pytest.raises(ValueError, match="empty dimension"):
        conv(np.zeros((0, 4, 4, 3), dtype=np.int8), w)


def test_fc_and_pool_errors():
    with pytest.raises(ValueError, match="x has C = 4 features, weights w have C = 5"):
        loopnest.fully_connected(np.zeros((1, 4)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="must be 2-D"):
        loopnest.fully_connected(np.zeros((1, 1, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="needs H >= 2 and W >= 2, got H = 1, W = 4"):
        loopnest.maxpool2x2(np.zeros((1, 1, 4, 2), dtype=np.int8))
    with pytest.raises(ValueError, match="must be 4-D NHWC"):
        loopnest.maxpool2x2(np.zeros((4, 4, 2), dtype=np.int8))
