"""Digit datasets: sklearn digits at 32×32 and the MNIST IDX loader (accel/ref/datasets.py)."""

import gzip
import struct

import numpy as np
import pytest

from accel.ref import datasets
from accel.ref.datasets import DatasetError

# --- IDX files written by hand ------------------------------------------------------------


def idx_images(images: np.ndarray, magic: int = 0x00000803) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">IIII", magic, n, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray, magic: int = 0x00000801) -> bytes:
    return struct.pack(">II", magic, len(labels)) + labels.astype(np.uint8).tobytes()


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_images(train))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_labels(np.array([5, 0, 9])))
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(idx_images(test))
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(idx_labels(np.array([7, 1])))
    return tmp_path, train, test


def test_load_mnist_idx(mnist_dir):
    directory, train, test = mnist_dir
    data = datasets.load_mnist_idx(directory)
    assert data.x_train.shape == (3, 32, 32, 1) and data.x_test.shape == (2, 32, 32, 1)
    assert data.x_train.dtype == np.float32
    np.testing.assert_array_equal(data.y_train, [5, 0, 9])
    np.testing.assert_array_equal(data.y_test, [7, 1])
    for x, raw in ((data.x_train, train), (data.x_test, test)):
        np.testing.assert_array_equal(x[:, 2:30, 2:30, 0] * 255, raw)
        border = np.ones((32, 32), bool)
        border[2:30, 2:30] = False
        assert not x[:, border, 0].any()


def test_read_idx_direct(mnist_dir):
    directory, train, _ = mnist_dir
    np.testing.assert_array_equal(
        datasets.read_idx_images(directory / "train-images-idx3-ubyte"), train
    )
    np.testing.assert_array_equal(
        datasets.read_idx_labels(directory / "t10k-labels-idx1-ubyte.gz"), [7, 1]
    )


def test_corrupted_magic(mnist_dir):
    directory, train, _ = mnist_dir
    path = directory / "train-images-idx3-ubyte"
    path.write_bytes(idx_images(train, magic=0x00000801))
    with pytest.raises(DatasetError, match="bad IDX magic number 0x00000801, expected 0x00000803"):
        datasets.load_mnist_idx(directory)
    with pytest.raises(DatasetError) as info:
        datasets.read_idx_images(path)
    assert str(path) in str(info.value)


def test_labels_magic(mnist_dir):
    directory, _, _ = mnist_dir
    (directory / "train-labels-idx1-ubyte").write_bytes(
        idx_labels(np.array([5, 0, 9]), magic=0x12345678)
    )
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte: bad IDX magic"):
        datasets.load_mnist_idx(directory)


def test_truncated_data(mnist_dir):
    directory, train, _ = mnist_dir
    path = directory / "train-images-idx3-ubyte"
    path.write_bytes(idx_images(train)[:-5])
    with pytest.raises(DatasetError, match=r"size mismatch.*need 2368 bytes, file has 2363"):
        datasets.load_mnist_idx(directory)
    path.write_bytes(b"\x00\x00\x08")
    with pytest.raises(DatasetError, match="truncated IDX header"):
        datasets.load_mnist_idx(directory)


def test_bad_gzip(mnist_dir):
    directory, _, _ = mnist_dir
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: cannot read"):
        datasets.load_mnist_idx(directory)


def test_count_mismatch(mnist_dir):
    directory, _, _ = mnist_dir
    (directory / "train-labels-idx1-ubyte").write_bytes(idx_labels(np.array([1, 2])))
    with pytest.raises(DatasetError, match="2 labels for 3 images"):
        datasets.load_mnist_idx(directory)


def test_label_out_of_range(mnist_dir):
    directory, _, _ = mnist_dir
    (directory / "train-labels-idx1-ubyte").write_bytes(idx_labels(np.array([1, 12, 3])))
    with pytest.raises(DatasetError, match="label 12 out of range"):
        datasets.load_mnist_idx(directory)


def test_wrong_image_size(mnist_dir):
    directory, _, _ = mnist_dir
    (directory / "train-images-idx3-ubyte").write_bytes(idx_images(np.zeros((3, 20, 28))))
    with pytest.raises(DatasetError, match="expected 28×28 images, found 20×28"):
        datasets.load_mnist_idx(directory)


def test_missing_file(mnist_dir):
    directory, _, _ = mnist_dir
    (directory / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="missing MNIST file t10k-images-idx3-ubyte"):
        datasets.load_mnist_idx(directory)
    with pytest.raises(DatasetError, match="not a directory"):
        datasets.load_mnist_idx(directory / "nowhere")


# --- bilinear upsampling and sklearn digits ----------------------------------------------


def bilinear_reference(image: np.ndarray, size: int) -> np.ndarray:
    """Half-pixel-centre bilinear resize, separable, with np.interp (clamps at the edges)."""
    h, w = image.shape
    rows_at = (np.arange(size) + 0.5) * h / size - 0.5
    cols_at = (np.arange(size) + 0.5) * w / size - 0.5
    tmp = np.stack([np.interp(cols_at, np.arange(w), row) for row in image])
    return np.stack([np.interp(rows_at, np.arange(h), col) for col in tmp.T]).T


def test_upsample_bilinear():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 17, size=(3, 8, 8)).astype(np.float64)
    out = datasets.upsample_bilinear(images, 28)
    assert out.shape == (3, 28, 28)
    for image, result in zip(images, out, strict=True):
        np.testing.assert_allclose(result, bilinear_reference(image, 28), atol=1e-12)
    np.testing.assert_allclose(datasets.upsample_bilinear(np.full((1, 8, 8), 7.0), 28), 7.0)


def reference_grey(images: np.ndarray) -> np.ndarray:
    """Bilinear 28×28 / 16 * 255, rounded with ties up.

    The exact values are multiples of 1/3136 grey levels, so a float result within 1e-6 of
    ``k + 0.5`` is an exact tie (float errors are ~1e-13): add 1e-6 before flooring.
    """
    up = np.stack([bilinear_reference(image, 28) for image in images])
    return np.floor(up / 16 * 255 + 0.5 + 1e-6).astype(np.uint8)


def test_digits_to_grey():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 17, size=(50, 8, 8)).astype(np.float64)
    images[0] = 16  # full scale
    images[1] = 0
    grey = datasets.digits_to_grey(images)
    assert grey.dtype == np.uint8 and grey.shape == (50, 28, 28)
    np.testing.assert_array_equal(grey, reference_grey(images))
    assert (grey[0] == 255).all() and (grey[1] == 0).all()
    with pytest.raises(ValueError, match="0..16"):
        datasets.digits_to_grey(np.full((1, 8, 8), 17.0))


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits_32()


def test_load_digits_32_split(digits):
    from sklearn.datasets import load_digits

    raw = load_digits()
    assert digits.x_train.shape == (1438, 32, 32, 1)
    assert digits.x_test.shape == (359, 32, 32, 1)
    assert digits.x_train.dtype == digits.x_test.dtype == np.float32
    assert digits.y_train.dtype == np.int64
    for x in (digits.x_train, digits.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        np.testing.assert_array_equal(np.round(x * 255) / np.float32(255), x)  # 8-bit grey
        assert not x[:, :2].any() and not x[:, 30:].any()
        assert not x[:, :, :2].any() and not x[:, :, 30:].any()
    # Stratified: every class has 20 % (rounded) of its images in the test set.
    for digit in range(10):
        count = int(np.sum(raw.target == digit))
        assert np.sum(digits.y_test == digit) == round(0.2 * count)

    # The two halves together are exactly the processed sklearn images, each used once.
    expected = reference_grey(raw.images)

    def keys(images, labels):
        return sorted(img.tobytes() + bytes([lab]) for img, lab in zip(images, labels, strict=True))

    got = np.concatenate([digits.x_train, digits.x_test])[:, 2:30, 2:30, 0]
    got = np.round(got * 255).astype(np.uint8)
    got_labels = np.concatenate([digits.y_train, digits.y_test])
    assert keys(got, got_labels) == keys(expected, raw.target)


def test_load_digits_32_deterministic(digits):
    again = datasets.load_digits_32()
    for a, b in zip(digits, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = datasets.load_digits_32(seed=1)
    assert not np.array_equal(other.y_test, digits.y_test)


def test_pad_to_32_rejects_wrong_size():
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        datasets.pad_to_32(np.zeros((2, 27, 28)))
