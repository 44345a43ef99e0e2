"""User models in and out: int8 TFLite / ONNX import into one graph, placement, export.

* :mod:`accel.model.graph` — the graph representation and :class:`ModelError`;
* :mod:`accel.model.tflite_import`, :mod:`accel.model.onnx_import` — the importers;
* :mod:`accel.model.host_ops` — NumPy golden kernels of the ops the host runs;
* :mod:`accel.model.run` — placement (accelerator or host) and execution on a backend;
* :mod:`accel.model.export` — the shipped LeNet-5 as a standard int8 .tflite / .onnx;
* ``python -m accel.model export lenet --format tflite|onnx -o FILE``.

The design is documented in ``docs/model.md``.
"""

from __future__ import annotations

from pathlib import Path

from accel.model.graph import Graph, ModelError, Op, Tensor

__all__ = ["Graph", "ModelError", "Op", "Tensor", "load_model"]


def load_model(path: str | Path) -> Graph:
    """Import a .tflite or .onnx file (recognized by its content, then by its suffix)."""
    path = Path(path)
    try:
        head = path.read_bytes()[:8]
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head[4:8] == b"TFL3" or path.suffix.lower() == ".tflite":
        from accel.model.tflite_import import load_tflite

        return load_tflite(path)
    if path.suffix.lower() == ".onnx":
        from accel.model.onnx_import import load_onnx

        return load_onnx(path)
    raise ModelError(
        f"{path}: not a TFLite flatbuffer (no 'TFL3' identifier) and not named .onnx; "
        "accel imports int8 .tflite and .onnx models"
    )
