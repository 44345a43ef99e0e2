"""Firmware from a model file: an imported int8 model as a model image for ``model.c``.

The placement of :func:`accel.model.run.plan` decides what the accelerator runs. The
firmware runs chains of accelerator layers; a RESHAPE that keeps the bytes in place (NHWC
flattening) is free, and QUANTIZE/DEQUANTIZE at the edges stay with the host that feeds and
reads the image. Any other host op is a clear error naming it (the firmware has no host
kernels yet).
"""

from __future__ import annotations

import numpy as np

from accel.model.graph import Graph, ModelError
from accel.model.run import plan
from accel.ref.layer import QuantizedLayer

_FREE_HOST_OPS = ("RESHAPE", "QUANTIZE", "DEQUANTIZE")


def model_layers(graph: Graph) -> list[QuantizedLayer]:
    """The accelerator layers of ``graph`` in order, if the firmware can run the model."""
    layers = []
    for step in plan(graph):
        if step.where == "accel" and step.prepad is None:
            layers.append(step.layer)
        elif step.where == "accel":
            raise ModelError(
                f"{step.ops[0].where()}: asymmetric padding runs as a host PAD first; the "
                "firmware has no host kernels yet"
            )
        elif step.ops[0].type not in _FREE_HOST_OPS:
            raise ModelError(
                f"{step.ops[0].where()}: {step.label} runs on the host; the firmware runs "
                "chains of accelerator layers (conv, fully connected, fused max-pool) only"
            )
    if not layers:
        raise ModelError("the model has no layer for the accelerator")
    return layers


def model_input(graph: Graph, x: np.ndarray) -> np.ndarray:
    """``x`` as the int8 NHWC input of the first accelerator layer (batch 1)."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise ModelError(f"the firmware takes the model's int8 input, not {x.dtype}")
    if x.ndim == 2:  # (1, features): a fully connected input
        x = x.reshape(1, 1, 1, -1)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ModelError(f"the firmware runs one NHWC image at a time, got shape {x.shape}")
    return x
