"""The firmware's host kernels (firmware/host_ops.c) against accel/model/host_ops.py.

Each test builds a graph of host ops with random parameters and random inputs, runs it
under ``firmware/model.c`` on the RV32IM ISS (the image generator places every op as a
host-op record) and compares every output with the NumPy golden kernels
(:func:`accel.model.run.run_model`, which runs exactly :mod:`accel.model.host_ops` for host
ops), bit for bit (float32 outputs by their bit patterns).
"""

import re
from pathlib import Path

import numpy as np
import pytest

from accel.firmware import host_records, image
from accel.firmware.run import graph_image, model_elf, run_image_functional
from accel.model import host_ops
from accel.model.graph import Graph, ModelError, Op, Tensor
from accel.model.run import run_model
from accel.spec.config import AccelConfig

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return model_elf(tmp_path_factory.mktemp("fw"))


class G:
    """A graph under construction: random quantized tensors, ops appended in order."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.tensors, self.ops, self.inputs, self.feeds = {}, [], [], []

    def tensor(self, shape, dtype="int8", scale=None, zp=None):
        name = f"t{len(self.tensors)}"
        if dtype == "int8":
            scale = float(np.float32(self.rng.uniform(0.01, 0.2))) if scale is None else scale
            zp = int(self.rng.integers(-40, 40)) if zp is None else zp
            self.tensors[name] = Tensor(name, shape, dtype, scale, zp)
        else:
            self.tensors[name] = Tensor(name, shape, dtype)
        return name

    def input(self, shape, dtype="int8", **q):
        name = self.tensor(shape, dtype, **q)
        self.inputs.append(name)
        if dtype == "int8":
            self.feeds.append(self.rng.integers(-128, 128, shape).astype(np.int8))
        else:
            self.feeds.append(self.rng.uniform(-6, 6, shape).astype(np.float32))
        return name

    def op(self, kind, inputs, out, **attrs):
        self.ops.append(Op(len(self.ops), kind, tuple(inputs), (out,), attrs))
        return out

    def act(self):
        lo = int(self.rng.integers(-128, 0))
        return {"act_min": lo, "act_max": int(self.rng.integers(lo + 1, 128))}

    def graph(self, outputs):
        return Graph(self.tensors, self.ops, self.inputs, outputs, "test").validate()


def _run(g: G, outputs, elf):
    graph = g.graph(outputs)
    expected = run_model(graph, g.feeds).outputs
    config = AccelConfig()
    result = run_image_functional(graph_image(graph, g.feeds, config), config, elf)
    assert result["status"] == 0
    for e, got in zip(expected, result["outputs"], strict=True):
        assert e.dtype == got.dtype
        if e.dtype == np.float32:  # bit patterns: -0.0 and NaN count too
            np.testing.assert_array_equal(got.view(np.uint32), e.view(np.uint32))
        else:
            np.testing.assert_array_equal(got, e)
    assert all(op["where"] == "host" and op["instructions"] > 0 for op in result["ops"])
    return result


def test_add_with_broadcasting(elf):
    g = G(1)
    shapes = [
        ((1, 5, 6, 7), (1, 5, 6, 7)),
        ((1, 5, 6, 7), (1, 1, 1, 7)),
        ((1, 4, 1, 3), (1, 1, 5, 1)),
    ]
    shapes += [((1, 9), (1, 9))]
    outs = []
    for sa, sb in shapes:
        a, b = g.input(sa), g.input(sb)
        big = max(g.tensors[a].scalar_scale, g.tensors[b].scalar_scale)
        out = g.tensor(np.broadcast_shapes(sa, sb), scale=float(np.float32(big * 1.3)))
        outs.append(g.op("ADD", [a, b], out, **g.act()))
    _run(g, outs, elf)


@pytest.mark.parametrize("kind", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
def test_pools(elf, kind):
    g = G(2)
    x = g.input((1, 9, 11, 5))
    t = g.tensors[x]
    outs = []
    for k, s, same in [((3, 3), (2, 2), True), ((2, 3), (1, 2), False), ((3, 2), (3, 3), True)]:
        pads = [0, 0, 0, 0]
        if same:
            pads = [*host_ops.same_padding(9, k[0], s[0]), *host_ops.same_padding(11, k[1], s[1])]
        E = (9 + pads[0] + pads[1] - k[0]) // s[0] + 1
        F = (11 + pads[2] + pads[3] - k[1]) // s[1] + 1
        out = g.tensor((1, E, F, 5), scale=t.scalar_scale, zp=t.scalar_zero_point)
        attrs = dict(filter=k, stride=s, pads=tuple(pads), **g.act())
        outs.append(g.op(kind, [x], out, **attrs))
    _run(g, outs, elf)


def test_mean(elf):
    g = G(3)
    outs = []
    for shape, axes, keep in [
        ((1, 6, 5, 8), (1, 2), True),
        ((1, 6, 5, 8), (2,), False),
        ((1, 6, 5, 8), (-1,), True),
        ((1, 7, 12), (1,), False),
        ((1, 4, 4, 130), (1, 2, 3), False),
    ]:
        x = g.input(shape)
        reduced = {ax % len(shape) for ax in axes}
        out_shape = [1 if a in reduced else d for a, d in enumerate(shape)]
        if not keep:
            out_shape = [d for a, d in enumerate(shape) if a not in reduced]
        scale = g.tensors[x].scalar_scale * float(g.rng.uniform(0.3, 1.5))
        out = g.tensor(tuple(out_shape), scale=float(np.float32(scale)))
        outs.append(g.op("MEAN", [x], out, axes=axes, keep_dims=keep))
    _run(g, outs, elf)


def test_pad(elf):
    g = G(4)
    outs = []
    for shape, pads in [
        ((1, 5, 6, 3), ((0, 0), (1, 2), (2, 0), (0, 0))),
        ((1, 5, 6, 3), ((0, 0), (0, 0), (0, 0), (2, 3))),
        ((1, 4, 7), ((0, 0), (3, 1), (1, 1))),
    ]:
        x = g.input(shape)
        t = g.tensors[x]
        out_shape = tuple(d + a + b for d, (a, b) in zip(shape, pads, strict=True))
        out = g.tensor(out_shape, scale=t.scalar_scale, zp=t.scalar_zero_point)
        value = int(g.rng.integers(-128, 128))
        outs.append(g.op("PAD", [x], out, pads=pads, value=value))
    _run(g, outs, elf)


def test_concatenation_copies_and_rescales(elf):
    g = G(5)
    outs = []
    for axis, shapes in [(3, [(1, 4, 5, 3), (1, 4, 5, 6), (1, 4, 5, 1)]), (1, [(1, 2, 5, 3)] * 3)]:
        out_shape = list(shapes[0])
        out_shape[axis] = sum(s[axis] for s in shapes)
        out = g.tensor(tuple(out_shape))
        t = g.tensors[out]
        xs = [g.input(shapes[0], scale=t.scalar_scale, zp=t.scalar_zero_point)]
        xs += [g.input(s) for s in shapes[1:]]  # other scales: the float32 rescaling
        outs.append(g.op("CONCATENATION", xs, out, axis=axis, act_min=-128, act_max=127))
    # half the output scale: q * 0.5 + bias hits exact ties, rounded half away from zero
    out = g.tensor((1, 2, 128), scale=0.125, zp=3)
    xs = [g.input((1, 2, 64), scale=0.0625, zp=-5), g.input((1, 2, 64), scale=0.125, zp=3)]
    outs.append(g.op("CONCATENATION", xs, out, axis=2, act_min=-128, act_max=127))
    _run(g, outs, elf)


def test_softmax(elf):
    g = G(6)
    outs = []
    for shape, scale, beta in [
        ((1, 10), 0.1, 1.0),
        ((1, 3, 33), 0.02, 0.7),
        ((1, 2, 2, 100), 0.5, 1.0),
    ]:
        scale = float(np.float32(scale))
        x = g.input(shape, scale=scale)
        out = g.tensor(shape, scale=float(np.float32(1 / 256)), zp=-128)
        outs.append(g.op("SOFTMAX", [x], out, beta=beta))
    _run(g, outs, elf)


def test_quantize_requantize_dequantize(elf):
    g = G(7)
    outs = []
    for ratio in (0.3, 1.0, 2.7):
        x = g.input((1, 5, 7, 3))
        scale = float(np.float32(g.tensors[x].scalar_scale * ratio))
        outs.append(g.op("QUANTIZE", [x], g.tensor((1, 5, 7, 3), scale=scale)))
    f = g.input((1, 6, 4, 3), "float32")
    q = g.op("QUANTIZE", [f], g.tensor((1, 6, 4, 3), scale=0.05, zp=7))
    outs += [q, g.op("DEQUANTIZE", [q], g.tensor((1, 6, 4, 3), "float32"))]
    # exact ties of x / scale (x = (k + 0.5) * scale) round half away from zero
    ties = g.input((1, 64), "float32")
    g.feeds[-1] = ((np.arange(64) - 32 + 0.5) * 0.25).astype(np.float32).reshape(1, 64)
    outs.append(g.op("QUANTIZE", [ties], g.tensor((1, 64), scale=0.25, zp=-3)))
    _run(g, outs, elf)


def test_transpose(elf):
    g = G(8)
    outs = []
    for shape, perm, dtype in [
        ((1, 3, 5, 4), (0, 3, 1, 2), "int8"),
        ((1, 3, 5, 4), (0, 2, 3, 1), "float32"),
        ((1, 6, 7), (0, 2, 1), "int8"),
    ]:
        x = g.input(shape, dtype)
        q = {} if dtype == "float32" else {"scale": 0.1, "zp": 0}
        out = g.tensor(tuple(shape[p] for p in perm), dtype, **q)
        outs.append(g.op("TRANSPOSE", [x], out, perm=perm))
    _run(g, outs, elf)


def _conv_weights(g, shape, channels):
    """Per-channel int8 weights (axis 0, depthwise: axis 3) and an int32 bias."""
    w, b = f"w{len(g.tensors)}", f"b{len(g.tensors)}"
    axis = 3 if shape[0] == 1 else 0
    data = g.rng.integers(-127, 128, shape).astype(np.int8)
    scales = g.rng.uniform(0.002, 0.02, channels)
    g.tensors[w] = Tensor(w, shape, "int8", scales, np.zeros(channels), axis, data)
    bias = g.rng.integers(-3000, 3000, channels).astype(np.int32)
    g.tensors[b] = Tensor(b, (channels,), "int32", data=bias)
    return w, b


def test_host_convolutions(elf):
    """CONV_2D with unequal strides and DEPTHWISE_CONV_2D with a depth multiplier > 1 run on
    the host (C kernel); multiplier 1 runs on the accelerator."""
    g = G(9)
    x = g.input((1, 9, 8, 4))
    w, b = _conv_weights(g, (5, 3, 3, 4), 5)
    pads = (*host_ops.same_padding(9, 3, 2), *host_ops.same_padding(8, 3, 1))
    conv = g.op(
        "CONV_2D", [x, w, b], g.tensor((1, 5, 8, 5), scale=0.3), stride=(2, 1), pads=pads, **g.act()
    )
    outs = [conv]
    for multiplier, stride in [(2, 1), (3, 2)]:
        M = 4 * multiplier
        w, b = _conv_weights(g, (1, 3, 3, M), M)
        pads = (*host_ops.same_padding(9, 3, stride), *host_ops.same_padding(8, 3, stride))
        shape = (1, -(-9 // stride), -(-8 // stride), M)
        outs.append(
            g.op(
                "DEPTHWISE_CONV_2D",
                [x, w, b],
                g.tensor(shape, scale=0.1),
                stride=(stride, stride),
                pads=pads,
                depth_multiplier=multiplier,
                **g.act(),
            )
        )
    _run(g, outs, elf)


def test_too_many_concatenation_inputs_is_a_clear_error():
    g = G(10)
    out = g.tensor((1, 9), scale=0.1, zp=0)
    xs = [g.input((1, 1), scale=0.1, zp=0) for _ in range(9)]
    g.op("CONCATENATION", xs, out, axis=1, act_min=-128, act_max=127)
    graph = g.graph([out])
    with pytest.raises(ModelError, match="at most 8"):
        graph_image(graph, g.feeds, AccelConfig())


# --- the C structs and the Python records agree ------------------------------------------


def _c_struct_fields(text, name):
    body = re.search(rf"typedef struct {name} \{{(.*?)\}} {name}_t;", text, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    fields = []
    for line in body.split(";"):
        line = line.strip()
        if line:
            decl = line.split(None, 1)[1]
            fields += [
                f.strip().replace("HOST_MAX_CONCAT", str(host_records.MAX_CONCAT))
                for f in decl.split(",")
            ]
    return fields


def test_records_match_host_ops_h():
    header = (FIRMWARE / "host_ops.h").read_text()
    for name, (_, fields) in host_records.RECORDS.items():
        assert _c_struct_fields(header, name) == list(fields), name
    codes = dict(re.findall(r"HOST_OP_(\w+) = (\d+),", header))
    assert {k: int(v) for k, v in codes.items()} == host_records.OP_CODES
    assert f"HOST_MAX_CONCAT {host_records.MAX_CONCAT}u" in header


def test_model_image_h_matches_image_py():
    header = (FIRMWARE / "model_image.h").read_text()
    fields = _c_struct_fields(header, "model_image")
    assert len(fields) == image.FIXED_WORDS + 1 and fields[-1] == "ops[MODEL_MAX_OPS]"
    assert 4 * fields.index("predicted") == image.PREDICTED_OFFSET
    assert fields[7:10] == ["predicted", "status", "failed_op"]
    assert _c_struct_fields(header, "model_op") == [
        "kind",
        "arg",
        "n_descs",
        "cycles",
        "instructions",
    ]
    assert image.OP_WORDS == 5
    assert f"{image.MAGIC:#010x}u" in header
    assert f"MODEL_MAX_OPS {image.MAX_OPS}u" in header
    model_c = (FIRMWARE / "model.c").read_text()
    assert f"MODEL_E_IMAGE {image.STATUS_BAD_IMAGE}" in model_c
