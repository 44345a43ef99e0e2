"""Digit datasets for LeNet-5, as NHWC float32 images of 32×32×1 in [0, 1].

Two sources:

* :func:`load_digits_32` — scikit-learn's bundled ``load_digits`` (1797 images of 8×8 with
  values 0..16; no download). Each image is upsampled to 28×28 by **bilinear interpolation
  with half-pixel centres** (the convention of OpenCV ``INTER_LINEAR`` and PIL: output pixel
  ``i`` samples input coordinate ``(i + 0.5) * 8 / 28 - 0.5``, clamped at the border),
  divided by 16, rounded (ties up, exactly, in integers) to 8-bit grey levels ``k / 255``
  (as MNIST pixels are) and
  zero-padded by 2 pixels on every side to 32×32, the LeNet-5 input size. The split is
  fixed: stratified 80 % train / 20 % test per class, shuffled with a fixed seed.
* :func:`load_mnist_idx` — the real MNIST in its IDX files (``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
  optionally gzipped with a ``.gz`` suffix). Pixels are scaled by 1/255 and the 28×28 images
  padded to 32×32 the same way.

Both return a :class:`Dataset`; every pixel is a multiple of 1/255, so images can be stored
exactly as uint8 (``round(x * 255)``).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "IMAGE_SIZE",
    "PAD",
    "Dataset",
    "DatasetError",
    "upsample_bilinear",
    "digits_to_grey",
    "pad_to_32",
    "load_digits_32",
    "read_idx_images",
    "read_idx_labels",
    "load_mnist_idx",
]

IMAGE_SIZE = 32  # LeNet-5 input height = width
PAD = 2  # 28 + 2 * PAD = 32

IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte data, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned byte data, 1 dimension


class DatasetError(ValueError):
    """A dataset file is missing, malformed or inconsistent (the message names the file)."""


class Dataset(NamedTuple):
    """Train/test split: images NHWC float32 (N, 32, 32, 1) in [0, 1], labels int64 (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _bilinear_weights(out_size: int, in_size: int) -> tuple[np.ndarray, int]:
    """1-D bilinear interpolation with half-pixel centres as exact integers.

    Output pixel ``i`` samples input coordinate ``((2i + 1) * in_size - out_size) / D`` with
    ``D = 2 * out_size``, clamped to [0, in_size - 1]. Returns the (out_size, in_size) int64
    matrix of weights times ``D`` (each row sums to ``D``) and ``D``.
    """
    D = 2 * out_size
    num = (2 * np.arange(out_size, dtype=np.int64) + 1) * in_size - out_size
    num = np.clip(num, 0, (in_size - 1) * D)
    lo = num // D
    hi = np.minimum(lo + 1, in_size - 1)
    frac = num - lo * D
    matrix = np.zeros((out_size, in_size), dtype=np.int64)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, lo), D - frac)
    np.add.at(matrix, (rows, hi), frac)
    return matrix, D


def upsample_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling (half-pixel centres) of (N, h, w) images to (N, size, size) float64."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"images must be 3-D (N, h, w), got shape {images.shape}")
    rows, D = _bilinear_weights(size, images.shape[1])
    cols, _ = _bilinear_weights(size, images.shape[2])
    return np.einsum("ih,nhw,jw->nij", rows / D, images, cols / D)


def pad_to_32(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) images -> NHWC (N, 32, 32, 1), zero-padded by 2 on every side."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"images must have shape (N, 28, 28), got {images.shape}")
    padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD)))
    return padded[..., np.newaxis]


def digits_to_grey(images: np.ndarray) -> np.ndarray:
    """sklearn digits (N, 8, 8), integers 0..16 -> uint8 (N, 28, 28) grey levels 0..255.

    ``round(bilinear_28x28(image) / 16 * 255)`` with ties rounded up, computed exactly in
    integer arithmetic (the interpolation weights are multiples of 1/56), so the result does
    not depend on floating-point rounding.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (8, 8):
        raise ValueError(f"digits images must have shape (N, 8, 8), got {images.shape}")
    values = images.astype(np.int64)
    if not np.array_equal(values, images) or values.min() < 0 or values.max() > 16:
        raise ValueError("digits pixels must be integers in 0..16")
    weights, D = _bilinear_weights(28, 8)
    scaled = np.einsum("ih,nhw,jw->nij", weights, values, weights)  # image * D**2, exact
    denominator = 16 * D * D
    return ((2 * 255 * scaled + denominator) // (2 * denominator)).astype(np.uint8)


def load_digits_32(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn digits as 32×32 LeNet inputs with a fixed stratified train/test split.

    Per class, the images are shuffled with ``numpy.random.default_rng(seed)`` and
    ``round(test_fraction * count)`` of them go to the test set (360 of 1797 with the
    defaults). Needs scikit-learn (the ``train`` extra).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    from sklearn.datasets import load_digits  # optional dependency, bundled data

    digits = load_digits()
    images = np.asarray(digits.images, dtype=np.float64)  # (1797, 8, 8), 0..16
    labels = np.asarray(digits.target, dtype=np.int64)
    grey = digits_to_grey(images)
    x = pad_to_32(grey.astype(np.float32) / np.float32(255.0))

    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        n_test = int(round(test_fraction * len(idx)))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    return Dataset(x[train_idx], labels[train_idx], x[test_idx], labels[test_idx])


# --- MNIST IDX files ------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:  # includes gzip.BadGzipFile
        raise DatasetError(f"{path}: cannot read: {exc}") from exc


def _idx_header(path: Path, data: bytes, magic: int, ndim: int) -> tuple[int, ...]:
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DatasetError(
            f"{path}: truncated IDX header: {len(data)} bytes, expected at least {header_size}"
        )
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise DatasetError(f"{path}: bad IDX magic number 0x{found:08x}, expected 0x{magic:08x}")
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = header_size + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise DatasetError(
            f"{path}: size mismatch: header dimensions {dims} need {expected} bytes, "
            f"file has {len(data)}"
        )
    return dims


def read_idx_images(path: str | Path) -> np.ndarray:
    """IDX3 unsigned-byte images (magic 0x00000803) -> uint8 array (N, rows, cols)."""
    path = Path(path)
    data = _read_bytes(path)
    n, rows, cols = _idx_header(path, data, IDX_IMAGES_MAGIC, 3)
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols).copy()


def read_idx_labels(path: str | Path) -> np.ndarray:
    """IDX1 unsigned-byte labels (magic 0x00000801) -> uint8 array (N,)."""
    path = Path(path)
    data = _read_bytes(path)
    _idx_header(path, data, IDX_LABELS_MAGIC, 1)
    return np.frombuffer(data, dtype=np.uint8, offset=8).copy()


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{directory}: missing MNIST file {stem} (or {stem}.gz)")


def _load_split(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images_path = _find(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if images.shape[1:] != (28, 28):
        raise DatasetError(
            f"{images_path}: expected 28×28 images, found {images.shape[1]}×{images.shape[2]}"
        )
    if len(images) != len(labels):
        raise DatasetError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}"
        )
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{labels_path}: label {labels.max()} out of range 0..9")
    x = pad_to_32(images.astype(np.float32) / np.float32(255.0))
    return x, labels.astype(np.int64)


def load_mnist_idx(directory: str | Path) -> Dataset:
    """MNIST from the four IDX files in ``directory`` (optionally ``.gz``), padded to 32×32.

    Validates magic numbers, header dimensions against the file size, 28×28 images,
    matching image/label counts and labels in 0..9; raises :class:`DatasetError` naming the
    offending file otherwise.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory}: not a directory")
    x_train, y_train = _load_split(directory, "train")
    x_test, y_test = _load_split(directory, "t10k")
    return Dataset(x_train, y_train, x_test, y_test)
