"""Sample inputs for an imported model: the shipped LeNet-5 test images in its layout."""

from __future__ import annotations

import numpy as np

from accel.model.graph import Graph, ModelError


def lenet_input(graph: Graph, index: int) -> tuple[np.ndarray, int]:
    """The shipped test image ``index`` in the layout and dtype of ``graph``'s input, and its
    label."""
    from accel.ref import lenet

    t = graph.tensor(graph.inputs[0])
    nhwc = (*lenet.INPUT_SHAPE,)
    nchw = (nhwc[2], nhwc[0], nhwc[1])
    if len(graph.inputs) != 1 or t.shape[1:] not in (nhwc, nchw):
        raise ModelError(
            f"--image needs a LeNet-shaped input (N, 32, 32, 1) or (N, 1, 32, 32); this model's "
            f"input is {t.describe()}: give --input x.npy"
        )
    model = lenet.load_default()
    if not 0 <= index < len(model.test_labels):
        raise ModelError(f"--image must be in 0..{len(model.test_labels) - 1}, got {index}")
    images = model.test_images if t.dtype == "float32" else model.test_images_int8
    x = images[index : index + 1]
    if t.shape[1:] == nchw:
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x.astype(np.dtype(t.dtype))), int(model.test_labels[index])
