"""LiteRT (reference kernels) as the judge of TFLite numerics, for the tests."""

import numpy as np
import pytest

litert = pytest.importorskip("ai_edge_litert.interpreter")


def run_litert(model: bytes, inputs) -> list[np.ndarray]:
    """Run ``model`` with LiteRT's BUILTIN_REF resolver on a batch (resized if needed)."""
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    interpreter = litert.Interpreter(
        model_content=model,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
    )
    details = interpreter.get_input_details()
    for d, x in zip(details, arrays, strict=True):
        if tuple(d["shape"]) != x.shape:
            interpreter.resize_tensor_input(d["index"], list(x.shape))
    interpreter.allocate_tensors()
    for d, x in zip(details, arrays, strict=True):
        interpreter.set_tensor(d["index"], x)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]
