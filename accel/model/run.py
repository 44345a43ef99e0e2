"""Placement and execution of an imported graph: the accelerator runs what it can.

:func:`plan` splits a :class:`~accel.model.graph.Graph` into steps:

* **accel** — a CONV_2D or FULLY_CONNECTED op (FULLY_CONNECTED as a 1×1 convolution on an
  (rows, 1, 1, C) tensor), plus a directly following 2×2 / stride-2 MAX_POOL_2D without
  padding when the convolution's output feeds nothing else: one
  :class:`accel.ref.layer.QuantizedLayer`, run by :func:`accel.backends.run_layer_job` on
  the chosen backend (golden | perf | amaranth | rtl), which checks it bit-exactly against
  :func:`accel.ref.layer.run_layer`. ``QuantizedLayer`` pads symmetrically; an asymmetric
  padding (TFLite SAME with an even input and stride 2, or different paddings along H and
  W) is applied on the host first — a PAD with the input zero point, exactly what the
  convolution's implicit padding means — and the layer runs with P = 0. A layer the
  accelerator mapping rejects (:class:`accel.mapping.MappingError`) and a convolution with
  different strides along H and W run on the host golden instead, with a note.
* **host** — every other op, in :mod:`accel.model.host_ops`; DEPTHWISE_CONV_2D runs there
  too for now ("host (depthwise: accelerator mapping pending)").

:func:`run_model` executes the plan on a batch (any batch size: dimension 0 of every
activation is the batch) and returns the outputs and one :class:`StepReport` per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accel.mapping import MappingError
from accel.model import host_ops
from accel.model.graph import Graph, ModelError, Op, Tensor
from accel.ref.layer import QuantizedLayer, run_layer

__all__ = ["Step", "StepReport", "ModelRun", "plan", "run_model", "DEPTHWISE_NOTE"]

DEPTHWISE_NOTE = "depthwise: accelerator mapping pending"


@dataclass
class Step:
    """One unit of execution: ``ops`` (graph op indices) on ``where`` = accel or host."""

    where: str
    ops: list[Op]
    input: str
    output: str
    layer: QuantizedLayer | None = None
    prepad: tuple[int, int, int, int] | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return "+".join(op.type for op in self.ops)


@dataclass
class StepReport:
    """What a step did: placement, output shape, MACs, cycles (hardware backends)."""

    index: int
    ops: str
    where: str
    shape: tuple[int, ...]
    macs: int
    cycles: int | None = None
    exact: bool | None = None
    note: str = ""
    counters: dict = field(default_factory=dict)

    def record(self) -> dict:
        return {
            "op": self.index,
            "type": self.ops,
            "where": self.where,
            "note": self.note,
            "output_shape": list(self.shape),
            "macs": self.macs,
            "cycles": self.cycles,
            "exact": self.exact,
            "counters": dict(self.counters),
        }


@dataclass
class ModelRun:
    outputs: list[np.ndarray]
    reports: list[StepReport]
    backend: str

    @property
    def output(self) -> np.ndarray:
        return self.outputs[0]


# --- planning ----------------------------------------------------------------------------


def _weights(graph: Graph, op: Op) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(weights (M,R,S,C) int8, bias int32, multiplier, shift) of a conv or FC op."""
    x, w, out = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    weights = w.data.astype(np.int8)
    if op.type == "FULLY_CONNECTED":
        weights = weights.reshape(weights.shape[0], 1, 1, weights.shape[1])
    if op.type == "DEPTHWISE_CONV_2D":
        M = weights.shape[3]
    else:
        M = weights.shape[0]
    bias_name = op.inputs[2] if len(op.inputs) > 2 else None
    bias = graph.tensor(bias_name).data.astype(np.int32) if bias_name else np.zeros(M, np.int32)
    try:
        mult, shift = host_ops.conv_multipliers(x.scalar_scale, w.scale, out.scalar_scale, M)
    except ValueError as exc:
        raise ModelError(f"{op.where()}: {exc}") from None
    return weights, bias, mult, shift


def _fusable_pool(graph: Graph, op: Op) -> Op | None:
    out = op.outputs[0]
    consumers = graph.consumers(out)
    if out in graph.outputs or len(consumers) != 1:
        return None
    pool = consumers[0]
    if pool.type != "MAX_POOL_2D" or pool.index != op.index + 1:
        return None
    a = pool.attrs
    if a["filter"] != (2, 2) or a["stride"] != (2, 2) or any(a["pads"]):
        return None
    lo = max(op.attrs["act_min"], a["act_min"])
    hi = min(op.attrs["act_max"], a["act_max"])
    return pool if lo <= hi else None


def _layer_step(graph: Graph, op: Op) -> Step:
    x, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    weights, bias, mult, shift = _weights(graph, op)
    pool = _fusable_pool(graph, op) if op.type == "CONV_2D" else None
    act_min, act_max = op.attrs["act_min"], op.attrs["act_max"]
    if pool is not None:
        act_min = max(act_min, pool.attrs["act_min"])
        act_max = min(act_max, pool.attrs["act_max"])
    stride, padding, prepad = 1, 0, None
    if op.type == "CONV_2D":
        stride = op.attrs["stride"][0]
        pads = tuple(op.attrs["pads"])
        if len(set(pads)) == 1:
            padding = pads[0]
        else:
            prepad = pads
    layer = QuantizedLayer(
        name=f"op{op.index}",
        weights=weights,
        bias=bias,
        multiplier=mult,
        shift=shift,
        input_zero_point=x.scalar_zero_point,
        output_zero_point=out.scalar_zero_point,
        act_min=act_min,
        act_max=act_max,
        stride=stride,
        padding=padding,
        pool=pool is not None,
        input_scale=x.scalar_scale,
        output_scale=out.scalar_scale,
    )
    ops = [op] if pool is None else [op, pool]
    note = "pre-padded on the host (asymmetric SAME padding)" if prepad else ""
    return Step("accel", ops, op.inputs[0], ops[-1].outputs[0], layer, prepad, note)


def plan(graph: Graph, fc_on_host: bool = False) -> list[Step]:
    """Placement of every op (see the module docstring). ``fc_on_host`` keeps
    FULLY_CONNECTED on the host with LiteRT's reference rounding (see :func:`run_model`)."""
    steps, fused = [], set()
    for op in graph.ops:
        if op.index in fused:
            continue
        if op.type == "CONV_2D" and op.attrs["stride"][0] != op.attrs["stride"][1]:
            sh, sw = op.attrs["stride"]
            note = f"stride {sh}x{sw}: the accelerator needs equal strides"
            steps.append(Step("host", [op], op.inputs[0], op.outputs[0], note=note))
        elif op.type == "FULLY_CONNECTED" and fc_on_host:
            note = "FULLY_CONNECTED with LiteRT reference rounding"
            steps.append(Step("host", [op], op.inputs[0], op.outputs[0], note=note))
        elif op.type in ("CONV_2D", "FULLY_CONNECTED"):
            step = _layer_step(graph, op)
            fused.update(o.index for o in step.ops)
            steps.append(step)
        elif op.type == "DEPTHWISE_CONV_2D":
            steps.append(Step("host", [op], op.inputs[0], op.outputs[0], note=DEPTHWISE_NOTE))
        else:
            steps.append(Step("host", [op], op.inputs[0] or "", op.outputs[0]))
    return steps


# --- host kernels on graph ops -----------------------------------------------------------


def _q(t: Tensor) -> tuple[float, int]:
    return t.scalar_scale, t.scalar_zero_point


def _host_conv(graph: Graph, op: Op, values: dict) -> np.ndarray:
    x = values[op.inputs[0]]
    xin, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    w, bias, mult, shift = _weights(graph, op)
    a = op.attrs
    common = (bias, mult, shift, xin.scalar_zero_point, out.scalar_zero_point)
    common += (a["act_min"], a["act_max"], a["stride"], a["pads"])
    if op.type == "DEPTHWISE_CONV_2D":
        return host_ops.depthwise_conv_2d(x, w, *common, a["depth_multiplier"])
    return host_ops.conv_2d(x, w, *common)


def _host_fc(graph: Graph, op: Op, values: dict) -> np.ndarray:
    x = values[op.inputs[0]]
    w, bias, _, _ = _weights(graph, op)
    C = w.shape[3]
    xin, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    y = host_ops.fully_connected_reference(
        x.reshape(-1, C),
        w.reshape(w.shape[0], C),
        bias,
        xin.scalar_zero_point,
        out.scalar_zero_point,
        op.attrs["act_min"],
        op.attrs["act_max"],
        xin.scalar_scale,
        graph.tensor(op.inputs[1]).scale,
        out.scalar_scale,
    )
    return _fc_output_shape(op, x, y)


def _fc_output_shape(op: Op, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if op.attrs.get("keep_num_dims"):
        return y.reshape(*x.shape[:-1], y.shape[-1])
    return y


def _pool(graph: Graph, op: Op, values: dict) -> np.ndarray:
    a = op.attrs
    kernel = host_ops.max_pool_2d if op.type == "MAX_POOL_2D" else host_ops.average_pool_2d
    return kernel(
        values[op.inputs[0]], a["filter"], a["stride"], a["pads"], a["act_min"], a["act_max"]
    )


def _mean(graph: Graph, op: Op, values: dict) -> np.ndarray:
    x, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    return host_ops.mean(values[x.name], op.attrs["axes"], op.attrs["keep_dims"], *_q(x), *_q(out))


def _add(graph: Graph, op: Op, values: dict) -> np.ndarray:
    a, b, out = (graph.tensor(n) for n in (*op.inputs, op.outputs[0]))
    return host_ops.add(
        values[a.name],
        values[b.name],
        *_q(a),
        *_q(b),
        *_q(out),
        op.attrs["act_min"],
        op.attrs["act_max"],
    )


def _reshape(graph: Graph, op: Op, values: dict) -> np.ndarray:
    shape = list(op.attrs["shape"])
    if shape and -1 not in shape:
        shape[0] = -1  # dimension 0 is the batch: any batch size runs
    return host_ops.reshape(values[op.inputs[0]], shape)


def _pad(graph: Graph, op: Op, values: dict) -> np.ndarray:
    return host_ops.pad(values[op.inputs[0]], op.attrs["pads"], op.attrs["value"])


def _concat(graph: Graph, op: Op, values: dict) -> np.ndarray:
    ins = [graph.tensor(n) for n in op.inputs]
    out = graph.tensor(op.outputs[0])
    return host_ops.concatenation(
        [values[t.name] for t in ins],
        [t.scalar_scale for t in ins],
        [t.scalar_zero_point for t in ins],
        op.attrs["axis"],
        *_q(out),
    )


def _softmax(graph: Graph, op: Op, values: dict) -> np.ndarray:
    x = graph.tensor(op.inputs[0])
    return host_ops.softmax(values[x.name], x.scalar_scale, op.attrs["beta"])


def _quantize(graph: Graph, op: Op, values: dict) -> np.ndarray:
    x, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.dtype == "int8":
        return host_ops.requantize_int8(values[x.name], *_q(x), *_q(out))
    return host_ops.quantize(values[x.name], *_q(out))


def _dequantize(graph: Graph, op: Op, values: dict) -> np.ndarray:
    x = graph.tensor(op.inputs[0])
    return host_ops.dequantize(values[x.name], *_q(x))


def _transpose(graph: Graph, op: Op, values: dict) -> np.ndarray:
    return host_ops.transpose(values[op.inputs[0]], op.attrs["perm"])


HOST_KERNELS = {
    "CONV_2D": _host_conv,
    "DEPTHWISE_CONV_2D": _host_conv,
    "FULLY_CONNECTED": _host_fc,
    "MAX_POOL_2D": _pool,
    "AVERAGE_POOL_2D": _pool,
    "MEAN": _mean,
    "ADD": _add,
    "RESHAPE": _reshape,
    "PAD": _pad,
    "CONCATENATION": _concat,
    "SOFTMAX": _softmax,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
    "TRANSPOSE": _transpose,
}


def _op_macs(graph: Graph, op: Op, out: np.ndarray) -> int:
    if op.type not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        return 0
    w = graph.tensor(op.inputs[1])
    if op.type == "CONV_2D":
        return int(out.size * w.shape[1] * w.shape[2] * w.shape[3])
    if op.type == "DEPTHWISE_CONV_2D":
        return int(out.size * w.shape[1] * w.shape[2])
    return int(out.size * w.shape[1])


# --- execution ---------------------------------------------------------------------------


def _check_inputs(graph: Graph, inputs) -> dict[str, np.ndarray]:
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if len(arrays) != len(graph.inputs):
        raise ModelError(f"the model has {len(graph.inputs)} inputs, got {len(arrays)} arrays")
    values = {}
    for name, x in zip(graph.inputs, arrays, strict=True):
        t = graph.tensor(name)
        x = np.asarray(x)
        if x.dtype != np.dtype(t.dtype):
            raise ModelError(f"input {t.name!r} must be {t.dtype}, got {x.dtype}")
        if x.ndim != len(t.shape) or x.shape[1:] != t.shape[1:]:
            raise ModelError(
                f"input {t.name!r} must have shape (N, {', '.join(map(str, t.shape[1:]))}) "
                f"in the model's layout ({graph.input_layout}), got {x.shape}"
            )
        values[name] = x
    return values


def _run_accel(step: Step, x: np.ndarray, backend: str, config) -> tuple[np.ndarray, StepReport]:
    from accel.backends import run_layer_job

    op = step.ops[0]
    shape_in = x.shape
    if op.type == "FULLY_CONNECTED":
        x = x.reshape(-1, 1, 1, step.layer.C)
    if step.prepad is not None:
        top, bottom, left, right = step.prepad
        pads = ((0, 0), (top, bottom), (left, right), (0, 0))
        x = host_ops.pad(x, pads, step.layer.input_zero_point)
    macs = step.layer.macs(x.shape)
    try:
        run = run_layer_job(step.layer, x, config, backend)
    except MappingError as exc:
        y = run_layer(step.layer, x)
        note = f"not mapped: {exc}; ran on the host golden"
        report = StepReport(op.index, step.label, "host", y.shape, macs, note=note)
    else:
        y = run.output
        report = StepReport(op.index, step.label, "accel", y.shape, macs, run.cycles, run.exact)
        report.counters = dict(run.counters)
        report.note = step.note
    if op.type == "FULLY_CONNECTED":
        y = y.reshape(-1, step.layer.M)
        y = _fc_output_shape(op, np.empty(shape_in, np.int8), y)
        report.shape = y.shape
    return y, report


def _check_shape(graph: Graph, step: Step, y: np.ndarray) -> None:
    declared = graph.tensor(step.output).shape
    if y.ndim != len(declared) or y.shape[1:] != declared[1:]:
        raise ModelError(
            f"{step.ops[-1].where()}: computed output shape {list(y.shape)} does not match "
            f"the shape the model declares for {step.output!r}, {list(declared)} "
            "(batch dimension excepted)"
        )


def run_model(
    graph: Graph, inputs, backend: str = "golden", config=None, fc_on_host: bool = False
) -> ModelRun:
    """Run ``graph`` on ``inputs`` (one array per graph input, batch first, in the model's
    layout and dtype). Accelerator steps run on ``backend``; host steps in NumPy.

    A FULLY_CONNECTED layer on the accelerator requantizes in fixed point (TFLite's
    ``MultiplyByQuantizedMultiplier``, as TFLite's optimized kernels and TFLite Micro do);
    LiteRT's *reference* FULLY_CONNECTED kernel instead computes ``round(acc * (double)
    scale)``, which differs by 1 in rare ties. ``fc_on_host=True`` runs FULLY_CONNECTED on
    the host with the reference rounding instead (bit-exact with LiteRT's reference)."""
    if config is None:
        from accel.spec.config import AccelConfig

        config = AccelConfig()
    values = _check_inputs(graph, inputs)
    for name, t in graph.tensors.items():
        if t.is_constant:
            values.setdefault(name, t.data)
    reports = []
    for step in plan(graph, fc_on_host):
        op = step.ops[0]
        if step.where == "accel":
            y, report = _run_accel(step, values[step.input], backend, config)
        else:
            y = HOST_KERNELS[op.type](graph, op, values)
            macs = _op_macs(graph, op, y)
            report = StepReport(op.index, step.label, "host", y.shape, macs, note=step.note)
        _check_shape(graph, step, y)
        values[step.output] = y
        reports.append(report)
    return ModelRun([values[name] for name in graph.outputs], reports, backend)


def layer_parameters(graph: Graph, op: Op):
    """(weights int8, bias int32, multiplier, shift) of a CONV_2D, DEPTHWISE_CONV_2D or
    FULLY_CONNECTED op as every executor uses them: weights (M,R,S,C), depthwise (1,R,S,M),
    fully connected (M,1,1,C); per-channel fixed-point multipliers as TFLite derives them."""
    return _weights(graph, op)
