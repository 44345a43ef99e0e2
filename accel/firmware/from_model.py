"""Firmware from a model file: an imported model as a model image for ``model.c``.

The placement of :func:`accel.model.run.plan` decides what the accelerator runs; every
other op becomes a host-op record that the firmware's C kernels (``firmware/host_ops.c``)
run, bit-exact with :mod:`accel.model.host_ops`. The parameters are derived here exactly as
the NumPy kernels derive them (the same helper functions), so the C side only does the
integer (or IEEE float) arithmetic. Tensors keep the accelerator's layout: int8 row-major
(NHWC for activations), batch 1, shapes padded to 4-D with leading 1s. RESHAPE is free: its
output is its input's buffer. An asymmetric padding before an accelerator layer is a host
PAD; a layer the accelerator mapping rejects runs as a host CONV of its graph op (and the
fused MAX_POOL_2D), as :func:`accel.model.run.run_model` falls back to the host golden.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from accel.firmware.host_records import MAX_CONCAT, double_words, float_bits, pack
from accel.firmware.image import ImageBuilder, ImageOutput, ModelImage
from accel.mapping import MappingError
from accel.model import host_ops
from accel.model.graph import Graph, ModelError, Op
from accel.model.run import Step, layer_parameters, plan
from accel.ref.quant import quantize_multiplier
from accel.spec.config import AccelConfig

__all__ = ["build_graph_image", "model_inputs"]


def model_inputs(graph: Graph, inputs) -> list[np.ndarray]:
    """``inputs`` (an array, or one per graph input) checked as one sample (batch 1) in the
    model's layout and dtype."""
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if len(arrays) != len(graph.inputs):
        raise ModelError(f"the model has {len(graph.inputs)} inputs, got {len(arrays)} arrays")
    checked = []
    for name, x in zip(graph.inputs, arrays, strict=True):
        t = graph.tensor(name)
        x = np.asarray(x)
        if x.dtype != np.dtype(t.dtype):
            raise ModelError(f"input {t.name!r} must be {t.dtype}, got {x.dtype}")
        expected = (1, *t.shape[1:])
        if x.shape != expected:
            raise ModelError(
                f"the firmware runs one sample at a time: input {t.name!r} must have shape "
                f"{expected} ({graph.input_layout}), got {x.shape}"
            )
        checked.append(np.ascontiguousarray(x))
    return checked


def build_graph_image(
    graph: Graph, inputs, config: AccelConfig, base: int, limit: int
) -> ModelImage:
    """Lay out ``graph`` with one sample ``inputs`` from ``base`` (up to ``limit``)."""
    return _GraphImage(graph, config, base, limit).build(model_inputs(graph, inputs))


def _dims4(shape, what: str) -> list[int]:
    if len(shape) > 4:
        raise ModelError(f"{what}: {len(shape)}-D tensors are not supported by the firmware")
    return [1] * (4 - len(shape)) + [int(d) for d in shape]


def _strides(dims) -> list[int]:
    strides = [1] * len(dims)
    for k in range(len(dims) - 2, -1, -1):
        strides[k] = strides[k + 1] * dims[k + 1]
    return strides


class _GraphImage:
    def __init__(self, graph: Graph, config: AccelConfig, base: int, limit: int):
        self.graph = graph
        self.b = ImageBuilder(config, base, limit)
        self.addr: dict[str, int] = {}
        self.uses: Counter[str] = Counter()  # steps that read each activation tensor
        self.refs: dict[int, int] = {}  # activation buffer -> reads still to come
        self.pinned: set[int] = set()  # buffers of graph outputs (read by the host)

    # -- tensors ---------------------------------------------------------------------------

    def shape(self, name: str) -> tuple[int, ...]:
        t = self.graph.tensor(name)
        return t.shape if t.is_constant else (1, *t.shape[1:])

    def nbytes(self, name: str) -> int:
        t = self.graph.tensor(name)
        return math.prod(self.shape(name)) * np.dtype(t.dtype).itemsize

    def src(self, name: str) -> int:
        """The address of an op's input (a constant is placed the first time it is used)."""
        if name not in self.addr:
            t = self.graph.tensor(name)
            if not t.is_constant:
                raise ModelError(f"tensor {name!r} is used before it is computed")
            data = np.ascontiguousarray(t.data.astype(t.dtype)).tobytes()
            self.addr[name] = self.b.data(data)
        return self.addr[name]

    def dst(self, name: str) -> int:
        """A new activation buffer for ``name``."""
        return self._hold(name, self.b.alloc(self.nbytes(name)))

    def _hold(self, name: str, addr: int) -> int:
        self.addr[name] = addr
        self.refs[addr] = self.refs.get(addr, 0) + self.uses[name]
        if name in self.graph.outputs:
            self.pinned.add(addr)
        return addr

    def _consumed(self, step: Step) -> set[str]:
        names = [step.input] if step.where == "accel" else step.ops[0].inputs
        return {n for n in names if n and not self.graph.tensor(n).is_constant}

    def _release(self, step: Step) -> None:
        """Free the buffers no later step reads (liveness: buffers are reused)."""
        touched = {self.addr[n] for n in self._consumed(step)} | {self.addr[step.output]}
        for name in self._consumed(step):
            self.refs[self.addr[name]] -= 1
        for addr in touched:
            if self.refs.get(addr, 1) == 0 and addr not in self.pinned:
                del self.refs[addr]
                self.b.release(addr)

    # -- the walk --------------------------------------------------------------------------

    def build(self, inputs: list[np.ndarray]) -> ModelImage:
        steps = plan(self.graph)
        for step in steps:
            self.uses.update(self._consumed(step))
        for name, x in zip(self.graph.inputs, inputs, strict=True):
            self._hold(name, self.b.input(x.tobytes()))
        for step in steps:
            if step.where == "accel":
                self._accel(step)
            else:
                self._host(step.ops[0])
            self._release(step)
        outputs = [
            ImageOutput(n, self.src(n), self.shape(n), self.graph.tensor(n).dtype)
            for n in self.graph.outputs
        ]
        return self.b.finish(outputs, self.addr[self.graph.inputs[0]])

    def _accel(self, step: Step) -> None:
        layer, op = step.layer, step.ops[0]
        label = f"op{op.index} {step.label}"
        in_addr, x_shape = self.src(step.input), self.shape(step.input)
        if op.type == "FULLY_CONNECTED":
            x_shape = (math.prod(x_shape) // layer.C, 1, 1, layer.C)
        if step.prepad is not None:
            top, bottom, left, right = step.prepad
            padded = (x_shape[0], x_shape[1] + top + bottom, x_shape[2] + left + right, x_shape[3])
            temp = self.b.alloc(math.prod(padded))
            self.b.host(
                pack(
                    "PAD",
                    in_addr=in_addr,
                    out_addr=temp,
                    in_dims=x_shape,
                    before=(0, top, left, 0),
                    out_dims=padded,
                    value=layer.input_zero_point,
                ),
                f"op{op.index} PAD (asymmetric padding of the layer)",
            )
            in_addr, x_shape = temp, padded
        out_addr = self.dst(step.output)
        try:
            self.b.accel(layer, x_shape, in_addr, out_addr, label)
        except MappingError as exc:
            self.b.notes.append(f"{label}: not mapped ({exc}); runs on the host")
            if step.prepad is not None:
                self.b.ops.pop()  # the PAD: the host convolution pads by itself
            self._step_on_host(step, out_addr, label)
        if step.prepad is not None:
            self.b.release(in_addr)  # the padded copy

    def _step_on_host(self, step: Step, out_addr: int, label: str) -> None:
        """An accelerator step the mapping rejects, from its graph ops: a host CONV (and the
        fused MAX_POOL_2D), like the golden model's fallback."""
        op, pool = step.ops[0], step.ops[1] if len(step.ops) > 1 else None
        conv_out = self.b.alloc(self.nbytes(op.outputs[0])) if pool else out_addr
        self._conv_from_graph(op, self.src(op.inputs[0]), conv_out, f"{label} (host)")
        if pool is not None:
            self._pool_record(pool, conv_out, out_addr, f"op{pool.index} MAX_POOL_2D (host)")
            self.b.release(conv_out)

    def _conv_record(
        self, w, bias, mult, shift, dims, geometry, zps, act, in_addr, out_addr, label
    ):
        N, H, W, C, E, F, M = dims
        sh, sw, top, left, depth_multiplier = geometry
        R, S = (w.shape[1], w.shape[2])
        self.b.host(
            pack(
                "CONV",
                in_addr=in_addr,
                out_addr=out_addr,
                weights_addr=self.b.data(np.ascontiguousarray(w, np.int8).tobytes(), 4),
                bias_addr=self.b.data(np.asarray(bias, "<i4").tobytes(), 4),
                multiplier_addr=self.b.data(np.asarray(mult, "<i4").tobytes(), 4),
                shift_addr=self.b.data(np.asarray(shift, "<i4").tobytes(), 4),
                n=N, h=H, w=W, c=C, e=E, f=F, m=M, r=R, s=S, sh=sh, sw=sw,
                pad_top=top, pad_left=left, depth_multiplier=depth_multiplier,
                in_zp=zps[0], out_zp=zps[1], act_min=act[0], act_max=act[1],
            ),
            label,
        )  # fmt: skip

    def _host(self, op: Op) -> None:
        handler = _HANDLERS.get(op.type)
        if handler is None:
            raise ModelError(
                f"{op.where()}: {op.type} runs on the host, and the firmware has no kernel "
                "for it (host kernels: " + ", ".join(sorted(_HANDLERS)) + ")"
            )
        count = len(self.b.ops)
        handler(self, op, f"op{op.index} {op.type}")
        for image_op in self.b.ops[count:]:
            image_op.elements = math.prod(self.shape(op.outputs[0]))

    # -- host ops --------------------------------------------------------------------------

    def _q(self, name: str) -> tuple[float, int]:
        t = self.graph.tensor(name)
        return t.scalar_scale, t.scalar_zero_point

    def _reshape(self, op: Op, label: str) -> None:
        if self.nbytes(op.inputs[0]) != self.nbytes(op.outputs[0]):
            raise ModelError(f"{op.where()}: RESHAPE changes the number of elements")
        self._hold(op.outputs[0], self.src(op.inputs[0]))  # same bytes: an alias

    def _add(self, op: Op, label: str) -> None:
        a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
        dims = _dims4(self.shape(out), op.where())
        strides = []
        for name in (a, b):
            shape = _dims4(self.shape(name), op.where())
            steps = zip(shape, dims, _strides(shape), strict=True)
            strides.append([0 if d == 1 and o != 1 else s for d, o, s in steps])
        (sa, za), (sb, zb), (so, zo) = self._q(a), self._q(b), self._q(out)
        m1, s1, m2, s2, mo, sho = host_ops.add_params(sa, sb, so)
        record = pack(
            "ADD", a_addr=self.src(a), b_addr=self.src(b), out_addr=self.dst(out), dims=dims,
            a_strides=strides[0], b_strides=strides[1], a_zp=za, b_zp=zb, out_zp=zo,
            a_mult=m1, a_shift=s1, b_mult=m2, b_shift=s2, out_mult=mo, out_shift=sho,
            act_min=op.attrs["act_min"], act_max=op.attrs["act_max"],
        )  # fmt: skip
        self.b.host(record, label)

    def _pool(self, op: Op, label: str) -> None:
        self._pool_record(op, self.src(op.inputs[0]), self.dst(op.outputs[0]), label)

    def _pool_record(self, op: Op, in_addr: int, out_addr: int, label: str) -> None:
        a = op.attrs
        N, H, W, C = self.shape(op.inputs[0])
        _, E, F, _ = self.shape(op.outputs[0])
        kind = "MAX_POOL" if op.type == "MAX_POOL_2D" else "AVERAGE_POOL"
        record = pack(
            kind, in_addr=in_addr, out_addr=out_addr,
            n=N, h=H, w=W, c=C, e=E, f=F, fh=a["filter"][0], fw=a["filter"][1],
            sh=a["stride"][0], sw=a["stride"][1], pad_top=a["pads"][0], pad_left=a["pads"][2],
            act_min=a["act_min"], act_max=a["act_max"],
        )  # fmt: skip
        self.b.host(record, label)

    def _mean(self, op: Op, label: str) -> None:
        x = op.inputs[0]
        shape = self.shape(x)
        axes = {a + len(shape) if a < 0 else a for a in op.attrs["axes"]}
        count = math.prod(shape[a] for a in axes)
        (si, zi), (so, zo) = self._q(x), self._q(op.outputs[0])
        multiplier, shift = host_ops.mean_params(si, so, count)
        offset = 4 - len(shape)
        record = pack(
            "MEAN", in_addr=self.src(x), out_addr=self.dst(op.outputs[0]),
            dims=_dims4(shape, op.where()), axes=sum(1 << (a + offset) for a in axes),
            count=count, in_zp=zi, multiplier=multiplier, shift=shift, out_zp=zo,
        )  # fmt: skip
        self.b.host(record, label)

    def _pad(self, op: Op, label: str) -> None:
        x = op.inputs[0]
        pads = [(0, 0)] * (4 - len(self.shape(x))) + [tuple(p) for p in op.attrs["pads"]]
        record = pack(
            "PAD", in_addr=self.src(x), out_addr=self.dst(op.outputs[0]),
            in_dims=_dims4(self.shape(x), op.where()), before=[p[0] for p in pads],
            out_dims=_dims4(self.shape(op.outputs[0]), op.where()), value=op.attrs["value"],
        )  # fmt: skip
        self.b.host(record, label)

    def _concat(self, op: Op, label: str) -> None:
        if len(op.inputs) > MAX_CONCAT:
            raise ModelError(f"{op.where()}: the firmware concatenates at most {MAX_CONCAT}")
        out = op.outputs[0]
        shape = self.shape(out)
        axis = op.attrs["axis"] % len(shape)
        so, zo = self._q(out)
        parts = {"addr": [], "inner": [], "requantize": [], "scale": [], "bias": []}
        for name in op.inputs:
            s, z = self._q(name)
            same = float(s) == float(so) and z == zo
            scale, bias = (0.0, 0.0) if same else host_ops.concat_rescale(s, z, so)
            parts["addr"].append(self.src(name))
            parts["inner"].append(math.prod(self.shape(name)[axis:]))
            parts["requantize"].append(int(not same))
            parts["scale"].append(float_bits(scale))
            parts["bias"].append(float_bits(bias))
        record = pack(
            "CONCAT", out_addr=self.dst(out), outer=math.prod(shape[:axis]),
            out_inner=math.prod(shape[axis:]), n_parts=len(op.inputs), out_zp=zo,
            **{f"part_{k}": v for k, v in parts.items()},
        )  # fmt: skip
        self.b.host(record, label)

    def _softmax(self, op: Op, label: str) -> None:
        x = op.inputs[0]
        shape = self.shape(x)
        multiplier, left_shift, diff_min = host_ops.softmax_params(self._q(x)[0], op.attrs["beta"])
        record = pack(
            "SOFTMAX", in_addr=self.src(x), out_addr=self.dst(op.outputs[0]),
            rows=math.prod(shape[:-1]), depth=shape[-1], multiplier=multiplier,
            left_shift=left_shift, diff_min=diff_min,
        )  # fmt: skip
        self.b.host(record, label)

    def _quantize(self, op: Op, label: str) -> None:
        x, out = op.inputs[0], op.outputs[0]
        count = math.prod(self.shape(x))
        so, zo = self._q(out)
        if self.graph.tensor(x).dtype == "int8":
            si, zi = self._q(x)
            multiplier, shift = quantize_multiplier(float(si) / float(so))
            record = pack(
                "REQUANTIZE", in_addr=self.src(x), out_addr=self.dst(out), count=count,
                in_zp=zi, multiplier=multiplier, shift=shift, out_zp=zo,
            )  # fmt: skip
        else:
            lo, hi = double_words(so)
            record = pack(
                "QUANTIZE", in_addr=self.src(x), out_addr=self.dst(out), count=count, zp=zo,
                scale_lo=lo, scale_hi=hi,
            )  # fmt: skip
        self.b.host(record, label)

    def _dequantize(self, op: Op, label: str) -> None:
        x = op.inputs[0]
        scale, zp = self._q(x)
        lo, hi = double_words(scale)
        record = pack(
            "DEQUANTIZE", in_addr=self.src(x), out_addr=self.dst(op.outputs[0]),
            count=math.prod(self.shape(x)), zp=zp, scale_lo=lo, scale_hi=hi,
        )  # fmt: skip
        self.b.host(record, label)

    def _transpose(self, op: Op, label: str) -> None:
        x = op.inputs[0]
        shape = self.shape(x)
        dims = _dims4(shape, op.where())
        offset = 4 - len(shape)
        perm = list(range(offset)) + [p % len(shape) + offset for p in op.attrs["perm"]]
        strides = _strides(dims)
        record = pack(
            "TRANSPOSE", in_addr=self.src(x), out_addr=self.dst(op.outputs[0]),
            elem_bytes=np.dtype(self.graph.tensor(x).dtype).itemsize,
            out_dims=[dims[p] for p in perm], in_strides=[strides[p] for p in perm],
        )  # fmt: skip
        self.b.host(record, label)

    def _conv(self, op: Op, label: str) -> None:
        self._conv_from_graph(op, self.src(op.inputs[0]), self.dst(op.outputs[0]), label)

    def _conv_from_graph(self, op: Op, in_addr: int, out_addr: int, label: str) -> None:
        """CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED (a 1x1 convolution of the rows)."""
        w, bias, mult, shift = layer_parameters(self.graph, op)
        a = op.attrs
        if op.type == "FULLY_CONNECTED":
            C, M = w.shape[3], w.shape[0]
            dims = (math.prod(self.shape(op.inputs[0])) // C, 1, 1, C, 1, 1, M)
            geometry = (1, 1, 0, 0, 0)
        else:
            N, H, W, C = self.shape(op.inputs[0])
            _, E, F, M = self.shape(op.outputs[0])
            dims = (N, H, W, C, E, F, M)
            k = a["depth_multiplier"] if op.type == "DEPTHWISE_CONV_2D" else 0
            geometry = (a["stride"][0], a["stride"][1], a["pads"][0], a["pads"][2], k)
        zps = (self._q(op.inputs[0])[1], self._q(op.outputs[0])[1])
        self._conv_record(
            w, bias, mult, shift, dims, geometry, zps, (a["act_min"], a["act_max"]),
            in_addr, out_addr, label,
        )  # fmt: skip


_HANDLERS = {
    "ADD": _GraphImage._add,
    "MAX_POOL_2D": _GraphImage._pool,
    "AVERAGE_POOL_2D": _GraphImage._pool,
    "MEAN": _GraphImage._mean,
    "RESHAPE": _GraphImage._reshape,
    "PAD": _GraphImage._pad,
    "CONCATENATION": _GraphImage._concat,
    "SOFTMAX": _GraphImage._softmax,
    "QUANTIZE": _GraphImage._quantize,
    "DEQUANTIZE": _GraphImage._dequantize,
    "TRANSPOSE": _GraphImage._transpose,
    "CONV_2D": _GraphImage._conv,
    "DEPTHWISE_CONV_2D": _GraphImage._conv,
}
