"""Write TFLite flatbuffers with the ``tflite`` package's generated builder functions.

A small, explicit builder in TFLite's own terms (tensor types, builtin operators, builtin
options tables with their schema field names), used by the LeNet-5 exporter
(:mod:`accel.model.export`) and by the tests, which build models op by op and let LiteRT
judge them. It writes one subgraph, operator-code versions that LiteRT's resolvers accept
for int8, and 16-byte aligned constant buffers.

Example::

    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8, 8, 3), "int8", scale=0.05, zero_point=-3)
    w = b.tensor("w", (4, 3, 3, 3), "int8", scale=[0.01] * 4, zero_point=[0] * 4,
                 data=weights, quantized_dimension=0)
    y = b.tensor("y", (1, 8, 8, 4), "int8", scale=0.1, zero_point=5)
    b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions",
         Padding=SAME, StrideH=1, StrideW=1, FusedActivationFunction=RELU)
    data = b.build(inputs=[x], outputs=[y])
"""

from __future__ import annotations

import importlib

import flatbuffers
import numpy as np
import tflite

__all__ = ["TFLiteBuilder", "TENSOR_TYPES", "SAME", "VALID", "ACTIVATIONS", "OP_VERSIONS"]

TENSOR_TYPES = {
    "float32": (tflite.TensorType.FLOAT32, np.float32),
    "int32": (tflite.TensorType.INT32, np.int32),
    "int8": (tflite.TensorType.INT8, np.int8),
    "int64": (tflite.TensorType.INT64, np.int64),
    "uint8": (tflite.TensorType.UINT8, np.uint8),
    "int16": (tflite.TensorType.INT16, np.int16),
}
SAME = tflite.Padding.SAME
VALID = tflite.Padding.VALID
ACTIVATIONS = {
    "NONE": tflite.ActivationFunctionType.NONE,
    "RELU": tflite.ActivationFunctionType.RELU,
    "RELU6": tflite.ActivationFunctionType.RELU6,
    "RELU_N1_TO_1": tflite.ActivationFunctionType.RELU_N1_TO_1,
    "TANH": tflite.ActivationFunctionType.TANH,
}

#: Operator-code versions written for int8 models (LiteRT accepts these for int8 kernels).
OP_VERSIONS = {
    "CONV_2D": 3,
    "DEPTHWISE_CONV_2D": 3,
    "FULLY_CONNECTED": 4,
    "MAX_POOL_2D": 2,
    "AVERAGE_POOL_2D": 2,
    "MEAN": 2,
    "ADD": 2,
    "RESHAPE": 1,
    "PAD": 2,
    "CONCATENATION": 2,
    "SOFTMAX": 2,
    "QUANTIZE": 2,
    "DEQUANTIZE": 2,
}


def _bytes_vector(builder: flatbuffers.Builder, data: bytes, alignment: int = 16) -> int:
    builder.StartVector(1, len(data), alignment)
    builder.head = builder.head - len(data)
    builder.Bytes[builder.head : builder.head + len(data)] = data
    return builder.EndVector()


def _int_vector(builder: flatbuffers.Builder, values, dtype=np.int32) -> int:
    return builder.CreateNumpyVector(np.asarray(list(values), dtype=dtype))


class TFLiteBuilder:
    """Collects tensors, buffers and operators; :meth:`build` returns the flatbuffer bytes."""

    def __init__(self, description: str = "accel"):
        self.description = description
        self.buffers: list[bytes] = [b""]  # buffer 0: the empty buffer of every activation
        self.tensors: list[dict] = []
        self.opcodes: list[tuple[int, int]] = []
        self.operators: list[dict] = []

    def tensor(
        self,
        name: str,
        shape,
        dtype: str,
        scale=None,
        zero_point=None,
        data=None,
        quantized_dimension: int = 0,
    ) -> int:
        """Add a tensor; returns its index. ``data`` makes it a constant (stored in a buffer)."""
        tflite_type, np_type = TENSOR_TYPES[dtype]
        buffer = 0
        if data is not None:
            array = np.ascontiguousarray(np.asarray(data, dtype=np_type))
            if array.shape != tuple(shape):
                raise ValueError(f"tensor {name!r}: data shape {array.shape} != {tuple(shape)}")
            self.buffers.append(array.astype(array.dtype.newbyteorder("<")).tobytes())
            buffer = len(self.buffers) - 1
        quant = None
        if scale is not None:
            scales = np.atleast_1d(np.asarray(scale, dtype=np.float32))
            zps = np.atleast_1d(np.asarray(0 if zero_point is None else zero_point, np.int64))
            if zps.size == 1 and scales.size > 1:
                zps = np.zeros(scales.size, dtype=np.int64) + zps[0]
            quant = (scales, zps, quantized_dimension)
        self.tensors.append(
            {"name": name, "shape": tuple(shape), "type": tflite_type, "buffer": buffer, "q": quant}
        )
        return len(self.tensors) - 1

    def const(self, name: str, data, dtype: str) -> int:
        """A constant unquantized tensor (shapes, axes, paddings)."""
        array = np.asarray(data)
        return self.tensor(name, array.shape, dtype, data=array)

    def _opcode(self, opname: str, version: int | None) -> int:
        code = getattr(tflite.BuiltinOperator, opname)
        key = (code, version or OP_VERSIONS.get(opname, 1))
        if key not in self.opcodes:
            self.opcodes.append(key)
        return self.opcodes.index(key)

    def op(
        self,
        opname: str,
        inputs,
        outputs,
        options: str | None = None,
        version: int | None = None,
        **fields,
    ) -> None:
        """Add a builtin operator; ``options`` names the builtin options table (e.g.
        ``"Conv2DOptions"``) and ``fields`` its schema fields (``Padding=SAME``...)."""
        self.operators.append(
            {
                "opcode": self._opcode(opname, version),
                "inputs": list(inputs),
                "outputs": list(outputs),
                "options": options,
                "fields": fields,
            }
        )

    # --- serialization -------------------------------------------------------------------

    def _write_tensor(self, b: flatbuffers.Builder, t: dict) -> int:
        name = b.CreateString(t["name"])
        shape = _int_vector(b, t["shape"])
        quant = None
        if t["q"] is not None:
            scales, zps, dim = t["q"]
            scale_vec = b.CreateNumpyVector(scales.astype("<f4"))
            zp_vec = b.CreateNumpyVector(zps.astype("<i8"))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale_vec)
            tflite.QuantizationParametersAddZeroPoint(b, zp_vec)
            tflite.QuantizationParametersAddQuantizedDimension(b, dim)
            quant = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, t["type"])
        tflite.TensorAddBuffer(b, t["buffer"])
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        return tflite.TensorEnd(b)

    def _write_options(self, b: flatbuffers.Builder, options: str, fields: dict) -> int:
        module = importlib.import_module(f"tflite.{options}")
        getattr(module, f"{options}Start")(b)
        for field, value in fields.items():
            getattr(module, f"{options}Add{field}")(b, value)
        return getattr(module, f"{options}End")(b)

    def _write_operator(self, b: flatbuffers.Builder, op: dict) -> int:
        inputs = _int_vector(b, op["inputs"])
        outputs = _int_vector(b, op["outputs"])
        options = None
        if op["options"] is not None:
            options = self._write_options(b, op["options"], op["fields"])
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, op["opcode"])
        tflite.OperatorAddInputs(b, inputs)
        tflite.OperatorAddOutputs(b, outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, op["options"]))
            tflite.OperatorAddBuiltinOptions(b, options)
        return tflite.OperatorEnd(b)

    def _table_vector(self, b: flatbuffers.Builder, offsets: list[int]) -> int:
        b.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            b.PrependUOffsetTRelative(offset)
        return b.EndVector()

    def build(self, inputs, outputs) -> bytes:
        """Serialize the model with graph ``inputs`` and ``outputs`` (tensor indices)."""
        b = flatbuffers.Builder(1024)
        buffers = []
        for data in self.buffers:
            vec = _bytes_vector(b, data) if data else None
            tflite.BufferStart(b)
            if vec is not None:
                tflite.BufferAddData(b, vec)
            buffers.append(tflite.BufferEnd(b))
        tensors = [self._write_tensor(b, t) for t in self.tensors]
        operators = [self._write_operator(b, op) for op in self.operators]
        tensor_vec = self._table_vector(b, tensors)
        op_vec = self._table_vector(b, operators)
        in_vec = _int_vector(b, inputs)
        out_vec = _int_vector(b, outputs)
        sg_name = b.CreateString("main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensor_vec)
        tflite.SubGraphAddInputs(b, in_vec)
        tflite.SubGraphAddOutputs(b, out_vec)
        tflite.SubGraphAddOperators(b, op_vec)
        tflite.SubGraphAddName(b, sg_name)
        subgraph = tflite.SubGraphEnd(b)
        codes = []
        for code, version in self.opcodes:
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            tflite.OperatorCodeAddBuiltinCode(b, code)
            tflite.OperatorCodeAddVersion(b, version)
            codes.append(tflite.OperatorCodeEnd(b))
        code_vec = self._table_vector(b, codes)
        sg_vec = self._table_vector(b, [subgraph])
        buf_vec = self._table_vector(b, buffers)
        description = b.CreateString(self.description)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, code_vec)
        tflite.ModelAddSubgraphs(b, sg_vec)
        tflite.ModelAddDescription(b, description)
        tflite.ModelAddBuffers(b, buf_vec)
        model = tflite.ModelEnd(b)
        b.Finish(model, file_identifier=b"TFL3")
        return bytes(b.Output())
