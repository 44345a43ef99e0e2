"""Layer shapes of real CNNs (ResNet-18, VGG-16, AlexNet, MobileNet-v1) for mapping studies.

Only the layers an accelerator runs are listed: convolutions (with a following 2×2/2 max-pool
fused where the network has one), fully connected layers (as 1×1 convolutions on a 1×1 input)
and MobileNet's depthwise convolutions (``depthwise=True``, M = C). Host-side layers (3×3
max-pools, average pools, additions) are left out; their effect on the spatial size is
applied. Shapes are in the letters of :mod:`accel.ref.loopnest` (Sze et al.).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.ref.loopnest import ConvShape

NETWORKS = ("resnet18", "vgg16", "alexnet", "mobilenet_v1")


@dataclass(frozen=True)
class NetworkLayer(ConvShape):
    """One accelerator layer of a network, batch 1."""

    pool: bool = False
    depthwise: bool = False

    @property
    def K(self) -> int:
        """Products summed into one output: R·S·C, or R·S for a depthwise convolution."""
        return self.R * self.S * (1 if self.depthwise else self.C)

    @property
    def out_size(self) -> int:
        """Output height (= width: every listed network is square) after a fused pool."""
        return self.E // 2 if self.pool else self.E

    def random_layer(self, rng: np.random.Generator):
        """A random int8 :class:`~accel.ref.layer.QuantizedLayer` of this shape (weights and
        requantization do not change the mapping or the cycle count)."""
        from accel.ref.layer import random_layer

        return random_layer(
            rng,
            M=self.M,
            C=self.C,
            R=self.R,
            S=self.S,
            stride=self.U,
            padding=self.P,
            pool=self.pool,
            name=self.name,
            depthwise=self.depthwise,
        )


class _Builder:
    def __init__(self, size: int, channels: int = 3):
        self.size, self.channels, self.layers = size, channels, []

    def conv(self, name, M, R, U=1, P=None, pool=False, depthwise=False):
        P = R // 2 if P is None else P
        layer = NetworkLayer(
            name,
            self.size,
            self.size,
            self.channels,
            self.channels if depthwise else M,
            R,
            R,
            U,
            P,
            pool,
            depthwise,
        )
        self.layers.append(layer)
        self.size, self.channels = layer.out_size, layer.M
        return layer

    def host_pool(self, kernel, stride, padding=0):
        self.size = (self.size + 2 * padding - kernel) // stride + 1

    def fc(self, name, M):
        C = self.channels * self.size * self.size
        self.layers.append(NetworkLayer(name, 1, 1, C, M, 1, 1))
        self.size, self.channels = 1, M


def _resnet18(b: _Builder) -> None:
    b.conv("conv1", 64, 7, U=2, P=3)
    b.host_pool(3, 2, 1)
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            inputs, size = b.channels, b.size
            b.conv(f"layer{stage}.{block}.conv1", width, 3, U=stride)
            b.conv(f"layer{stage}.{block}.conv2", width, 3)
            if stride == 2:  # the projection shortcut reads the block's input
                after = (b.size, b.channels)
                b.size, b.channels = size, inputs
                b.conv(f"layer{stage}.{block}.downsample", width, 1, U=2, P=0)
                b.size, b.channels = after
    b.size = 1  # global average pool (host)
    b.fc("fc", 1000)


def _vgg16(b: _Builder) -> None:
    for stage, (width, convs) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), 1):
        for i in range(convs):
            b.conv(f"conv{stage}_{i + 1}", width, 3, pool=i == convs - 1)
    b.fc("fc6", 4096)
    b.fc("fc7", 4096)
    b.fc("fc8", 1000)


def _alexnet(b: _Builder) -> None:
    b.conv("conv1", 64, 11, U=4, P=2)
    b.host_pool(3, 2)
    b.conv("conv2", 192, 5, P=2)
    b.host_pool(3, 2)
    b.conv("conv3", 384, 3)
    b.conv("conv4", 256, 3)
    b.conv("conv5", 256, 3)
    b.host_pool(3, 2)
    b.fc("fc6", 4096)
    b.fc("fc7", 4096)
    b.fc("fc8", 1000)


def _mobilenet_v1(b: _Builder) -> None:
    b.conv("conv1", 32, 3, U=2)
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    blocks += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (width, stride) in enumerate(blocks, start=1):
        b.conv(f"dw{i}", 0, 3, U=stride, depthwise=True)
        b.conv(f"pw{i}", width, 1, P=0)
    b.size = 1  # global average pool (host)
    b.fc("fc", 1000)


_BUILDERS = {
    "resnet18": _resnet18,
    "vgg16": _vgg16,
    "alexnet": _alexnet,
    "mobilenet_v1": _mobilenet_v1,
}


#: Largest square input accepted (4096x4096x3 int8 is 48 MiB; larger sizes only exhaust memory).
MAX_INPUT_SIZE = 4096


def network_layers(name: str, input_size: int = 224) -> list[NetworkLayer]:
    """The accelerator layers of network ``name`` for a square RGB input of ``input_size``."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown network {name!r}; choose from {', '.join(NETWORKS)}")
    if not isinstance(input_size, int) or not 32 <= input_size <= MAX_INPUT_SIZE:
        raise ValueError(
            f"input size must be an integer in 32..{MAX_INPUT_SIZE}, not {input_size!r}"
        )
    builder = _Builder(input_size)
    _BUILDERS[name](builder)
    return builder.layers
