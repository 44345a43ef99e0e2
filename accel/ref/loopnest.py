"""Convolution as a loop nest: the golden reference for every hardware level.

Notation (Sze et al., "Efficient Processing of Deep Neural Networks"), used everywhere
in the project — in hardware parameter names, reports and docs too:

    N  batch size (number of input feature maps processed together)
    M  number of filters = output channels
    C  input channels (= channels of each filter)
    H  input height,   W  input width
    R  filter height,  S  filter width
    E  output height,  F  output width
    U  stride (the same along both spatial axes)
    P  padding: P elements of value ``pad_value`` added on every side (symmetric)

    E = (H + 2P - R) // U + 1        F = (W + 2P - S) // U + 1

Memory layouts (contiguous channels make DMA bursts long):

    activations  x  (N, H, W, C)   NHWC
    weights      w  (M, R, S, C)
    output       y  (N, E, F, M)   NHWC again, so layers chain
    bias         b  (M,)

The literal loop nest, written once in :func:`conv2d_loopnest`::

    for n in range(N):
      for m in range(M):
        for e in range(E):
          for f in range(F):
            y[n, e, f, m] = b[m]
            for r in range(R):
              for s in range(S):
                for c in range(C):
                  y[n, e, f, m] += x_padded[n, U*e + r, U*f + s, c] * w[m, r, s, c]

:func:`conv2d` computes the same with NumPy (im2col through a strided view, never
materialized in memory beyond one ``tensordot``). For integer inputs both are exact
in int64 (as long as the true result fits in int64); floating-point inputs give float64.
"""

import numbers
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "output_size",
    "conv2d_loopnest",
    "conv2d",
    "depthwise_conv2d",
    "fully_connected",
    "maxpool2x2",
    "macs",
    "ConvShape",
]


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value}")
    return value


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output extent along one spatial axis: ``(size + 2*padding - kernel) // stride + 1``.

    E = output_size(H, R, U, P), F = output_size(W, S, U, P).
    Raises ValueError for non-integers, non-positive size/kernel/stride, negative
    padding, or a kernel larger than the padded input.
    """
    size = _check_int("input size", size, 1)
    kernel = _check_int("kernel size", kernel, 1)
    stride = _check_int("stride U", stride, 1)
    padding = _check_int("padding P", padding, 0)
    if kernel > size + 2 * padding:
        raise ValueError(
            f"kernel size {kernel} is larger than the padded input "
            f"{size} + 2*{padding} = {size + 2 * padding}"
        )
    return (size + 2 * padding - kernel) // stride + 1


def _as_numeric(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "iuf" or a.dtype == np.uint64:
        raise ValueError(
            f"{name} must hold integers (at most uint32) or floats, not dtype {a.dtype}"
        )
    return a


def _as_operands(x, w, ndim: int, x_dims: str, w_dims: str, layer: str = ""):
    """Input ``x`` and weights ``w`` as numeric arrays of ``ndim`` dimensions (named
    ``x_dims`` and ``w_dims`` in errors, which start with ``layer``)."""
    x = _as_numeric("input x", x)
    w = _as_numeric("weights w", w)
    if x.ndim != ndim:
        raise ValueError(f"{layer}input x must be {ndim}-D {x_dims}, got shape {x.shape}")
    if w.ndim != ndim:
        raise ValueError(f"{layer}weights w must be {ndim}-D {w_dims}, got shape {w.shape}")
    return x, w


def _check_conv_args(x, w, bias, stride, padding, pad_value):
    """Validate and normalize conv2d arguments; returns arrays in the result dtype."""
    x, w = _as_operands(x, w, 4, "NHWC (N, H, W, C)", "(M, R, S, C)")
    if 0 in x.shape:
        raise ValueError(f"input x has an empty dimension: shape {x.shape}")
    if 0 in w.shape:
        raise ValueError(f"weights w have an empty dimension: shape {w.shape}")
    N, H, W, C = x.shape
    M, R, S, Cw = w.shape
    if Cw != C:
        raise ValueError(f"channel mismatch: input x has C = {C} channels, weights w have C = {Cw}")
    arrays = [x, w]
    if bias is not None:
        bias = _as_numeric("bias", bias)
        if bias.shape != (M,):
            raise ValueError(f"bias must have shape (M,) = ({M},), got {bias.shape}")
        arrays.append(bias)
    stride = _check_int("stride U", stride, 1)
    padding = _check_int("padding P", padding, 0)
    if R > H + 2 * padding:
        raise ValueError(
            f"filter height R = {R} exceeds the padded input height H + 2P = {H + 2 * padding}"
        )
    if S > W + 2 * padding:
        raise ValueError(
            f"filter width S = {S} exceeds the padded input width W + 2P = {W + 2 * padding}"
        )
    E = output_size(H, R, stride, padding)
    F = output_size(W, S, stride, padding)

    is_float = any(a.dtype.kind == "f" for a in arrays)
    if isinstance(pad_value, bool) or not isinstance(pad_value, numbers.Real):
        raise ValueError(f"pad_value must be a real number, not {pad_value!r}")
    if is_float:
        dtype = np.float64
        pad_value = float(pad_value)
    else:
        dtype = np.int64
        if not float(pad_value).is_integer():
            raise ValueError(f"pad_value must be an integer for integer inputs, not {pad_value}")
        pad_value = int(pad_value)
    x = x.astype(dtype)
    w = w.astype(dtype)
    if bias is not None:
        bias = bias.astype(dtype)
    return x, w, bias, stride, padding, pad_value, (N, H, W, C, M, R, S, E, F), dtype


def conv2d_loopnest(x, w, bias=None, stride: int = 1, padding: int = 0, pad_value=0):
    """The literal 7-deep convolution loop nest (slow: for small shapes and tests).

    ``x`` (N, H, W, C), ``w`` (M, R, S, C), optional ``bias`` (M,); stride U, padding P,
    padded input elements read as ``pad_value``. Returns (N, E, F, M): int64 for integer
    inputs (computed with Python integers, exact), float64 if any input is floating.
    """
    x, w, bias, U, P, pad_value, shape, dtype = _check_conv_args(
        x, w, bias, stride, padding, pad_value
    )
    N, H, W, C, M, R, S, E, F = shape
    xs = x.tolist()  # Python scalars: no overflow, no NumPy in the inner loop
    ws = w.tolist()
    bs = bias.tolist() if bias is not None else [0] * M
    y = np.zeros((N, E, F, M), dtype=dtype)

    for n in range(N):
        for m in range(M):
            for e in range(E):
                for f in range(F):
                    acc = bs[m]
                    for r in range(R):
                        for s in range(S):
                            for c in range(C):
                                h = U * e + r - P  # input row in unpadded coordinates
                                v = U * f + s - P  # input column
                                if 0 <= h < H and 0 <= v < W:
                                    pixel = xs[n][h][v][c]
                                else:
                                    pixel = pad_value
                                acc += pixel * ws[m][r][s][c]
                    y[n, e, f, m] = acc
    return y


def conv2d(x, w, bias=None, stride: int = 1, padding: int = 0, pad_value=0):
    """Vectorized convolution, bit-identical to :func:`conv2d_loopnest`.

    Same arguments and result. The padded input is viewed (without copying) as the
    (N, E, F, C, R, S) im2col windows and contracted with the weights over (R, S, C).
    """
    x, w, bias, U, P, pad_value, shape, _ = _check_conv_args(x, w, bias, stride, padding, pad_value)
    N, H, W, C, M, R, S, E, F = shape
    xp = np.pad(x, ((0, 0), (P, P), (P, P), (0, 0)), constant_values=pad_value)
    windows = sliding_window_view(xp, (R, S), axis=(1, 2))  # (N, H+2P-R+1, W+2P-S+1, C, R, S)
    windows = windows[:, : (E - 1) * U + 1 : U, : (F - 1) * U + 1 : U]  # (N, E, F, C, R, S)
    y = np.tensordot(windows, w, axes=([3, 4, 5], [3, 1, 2]))  # (N, E, F, M)
    if bias is not None:
        y = y + bias
    return y


def depthwise_conv2d(x, w, stride: int = 1, padding: int = 0, pad_value=0):
    """Depthwise convolution: output channel m filters input channel m only.

    ``x`` (N, H, W, M), ``w`` (M, R, S, 1); stride U, padding P (padded elements read as
    ``pad_value``). Returns (N, E, F, M), int64 for integer inputs:
    ``y[n, e, f, m] = sum_{r, s} x[n, e*U - P + r, f*U - P + s, m] * w[m, r, s, 0]``.
    """
    x = _as_numeric("input x", x)
    w = _as_numeric("weights w", w)
    if x.ndim != 4 or w.ndim != 4 or w.shape[3] != 1 or w.shape[0] != x.shape[3]:
        raise ValueError(
            f"depthwise convolution needs x (N, H, W, M) and w (M, R, S, 1), got {x.shape} "
            f"and {w.shape}"
        )
    dtype = np.int64 if x.dtype.kind in "iub" and w.dtype.kind in "iub" else np.float64
    N, H, W, M = x.shape
    _, R, S, _ = w.shape
    U, P = _check_int("stride", stride, 1), _check_int("padding", padding, 0)
    E, F = output_size(H, R, U, P), output_size(W, S, U, P)
    xp = np.pad(x.astype(dtype), ((0, 0), (P, P), (P, P), (0, 0)), constant_values=pad_value)
    y = np.zeros((N, E, F, M), dtype=dtype)
    for r in range(R):
        for s in range(S):
            window = xp[:, r : r + (E - 1) * U + 1 : U, s : s + (F - 1) * U + 1 : U, :]
            y += window * w[:, r, s, 0].astype(dtype)
    return y


def fully_connected(x, w, bias=None):
    """Fully connected layer ``x @ w.T + bias`` computed as a 1×1 convolution.

    ``x`` (N, C), ``w`` (M, C), optional ``bias`` (M,) -> (N, M). The input is reshaped to
    NHWC (N, 1, 1, C) and the weights to (M, 1, 1, C) — exactly how the hardware runs it.
    """
    x, w = _as_operands(x, w, 2, "(N, C)", "(M, C)", layer="fully connected ")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"channel mismatch: input x has C = {x.shape[1]} features, "
            f"weights w have C = {w.shape[1]}"
        )
    (N, C), M = x.shape, w.shape[0]
    y = conv2d(x.reshape(N, 1, 1, C), w.reshape(M, 1, 1, C), bias)
    return y.reshape(N, M)


def maxpool2x2(x):
    """2×2 max-pool with stride 2 on NHWC ``x`` (TFLite VALID padding).

    Odd trailing rows/columns are dropped: (N, H, W, C) -> (N, H // 2, W // 2, C).
    The dtype is preserved. H and W must be at least 2.
    """
    x = _as_numeric("input x", x)
    if x.ndim != 4:
        raise ValueError(f"maxpool input must be 4-D NHWC (N, H, W, C), got shape {x.shape}")
    N, H, W, C = x.shape
    if H < 2 or W < 2:
        raise ValueError(f"2x2 max-pool needs H >= 2 and W >= 2, got H = {H}, W = {W}")
    Ho, Wo = H // 2, W // 2
    x = x[:, : 2 * Ho, : 2 * Wo, :].reshape(N, Ho, 2, Wo, 2, C)
    return x.max(axis=(2, 4))


def macs(N: int, M: int, C: int, E: int, F: int, R: int, S: int) -> int:
    """Multiply-accumulate count of a convolution layer: N·M·C·E·F·R·S."""
    values = dict(N=N, M=M, C=C, E=E, F=F, R=R, S=S)
    result = 1
    for name, value in values.items():
        result *= _check_int(name, value, 0)
    return result


@dataclass(frozen=True)
class ConvShape:
    """A named convolution layer of batch 1 in the letters above: H×W×C input, M filters of
    R×S×C, stride U, padding P; E×F output and reduction length K derived."""

    name: str
    H: int
    W: int
    C: int
    M: int
    R: int
    S: int
    U: int = 1
    P: int = 0

    @property
    def E(self) -> int:
        return (self.H + 2 * self.P - self.R) // self.U + 1

    @property
    def F(self) -> int:
        return (self.W + 2 * self.P - self.S) // self.U + 1

    @property
    def K(self) -> int:
        """Products summed into one output: R·S·C."""
        return self.R * self.S * self.C

    @property
    def macs(self) -> int:
        return self.M * self.E * self.F * self.K
