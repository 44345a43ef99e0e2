"""Randomized layer shapes on the generated Verilog against the golden model (seeded).

Three array configurations: 4x4 with small buffers (every layer tiled in K, M and pixels,
inputs larger than the input buffer), the default 8x8, and a non-power-of-two 3x5 array on
a 32-bit bus. The fixed cases cover stride 2,
padding, C and M not multiples of the array, K larger than the array, 1x1 convolutions,
fully connected shapes, pooling and batch 2; the rest are drawn at random. Every third job
runs with random back-pressure on every AXI channel and on the control port; every second
job has its input and output at odd byte addresses.
``ACCEL_RTL_RANDOM=N`` adds N more random shapes (split between the configurations).
"""

import numpy as np
import pytest
from rtl_helpers import CONFIG_3X5, CONFIG_4X4, CONFIG_8X8, assert_layer_ok, extra_random_cases

from accel.driver import prepare_layer
from accel.mapping import MappingError
from accel.ref.layer import random_layer, run_layer
from accel.verif import rtlsim

SEED = 20240

# (name, N, H, W, C, M, R, S, stride, padding, pool)
FIXED = {
    "4x4": [
        ("tiled-k-m-pixels-pool-batch2", 2, 12, 12, 7, 10, 3, 3, 1, 1, True),
        ("stride2-pad1", 1, 9, 9, 5, 6, 3, 3, 2, 1, False),
        ("conv1x1", 1, 6, 5, 13, 9, 1, 1, 1, 0, False),
        ("fc-like", 1, 1, 1, 50, 11, 1, 1, 1, 0, False),
        ("filter5x5-stride2-pool", 1, 15, 15, 3, 5, 5, 5, 2, 2, True),
        ("asymmetric-1x3-c1", 1, 7, 9, 1, 3, 1, 3, 1, 0, False),
    ],
    "8x8": [
        ("c-m-not-multiples-pool-batch2", 2, 10, 10, 11, 13, 3, 3, 1, 1, True),
        ("stride2-k-gt-array", 1, 11, 11, 9, 17, 3, 3, 2, 1, False),
        ("conv1x1-stride2", 1, 8, 8, 20, 7, 1, 1, 2, 0, False),
    ],
    "3x5": [
        ("stride2-pad2-pool", 1, 13, 11, 4, 7, 5, 3, 2, 2, True),
        ("c1-batch2", 2, 9, 9, 1, 6, 3, 3, 1, 1, False),
    ],
}
RANDOM_COUNT = {"4x4": 6, "8x8": 5, "3x5": 3}
CONFIGS = {"4x4": CONFIG_4X4, "8x8": CONFIG_8X8, "3x5": CONFIG_3X5}


def _random_shape(rng: np.random.Generator, large: bool):
    R, S = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    stride = int(rng.integers(1, 3))
    padding = int(rng.integers(0, min(R, S)))
    C = int(rng.integers(1, 25 if large else 14))
    M = int(rng.integers(1, 25 if large else 14))
    H = int(rng.integers(max(1, R - 2 * padding), 15))
    W = int(rng.integers(max(1, S - 2 * padding), 15))
    N = 2 if rng.random() < 0.2 else 1
    E, F = (H + 2 * padding - R) // stride + 1, (W + 2 * padding - S) // stride + 1
    pool = bool(rng.integers(0, 2)) and E >= 2 and F >= 2
    return N, H, W, C, M, R, S, stride, padding, pool


def _specs(key: str, extra: int):
    config = CONFIGS[key]
    rng = np.random.default_rng([SEED, config.rows, config.cols])
    shapes = list(FIXED[key])
    count = RANDOM_COUNT[key] + extra
    while len(shapes) < len(FIXED[key]) + count:
        shape = _random_shape(rng, large=key == "8x8")
        shapes.append((f"random{len(shapes) - len(FIXED[key])}", *shape))
    specs = []
    for index, (name, N, H, W, C, M, R, S, stride, padding, pool) in enumerate(shapes):
        while True:
            layer = random_layer(rng, M=M, C=C, R=R, S=S, stride=stride, padding=padding, pool=pool)
            x = rng.integers(-128, 128, size=(N, H, W, C), dtype=np.int8)
            try:
                job = prepare_layer(layer, x, config, base=0x1000 + 0x40 * (index % 5))
                if index % 2:  # activations at odd byte addresses
                    in_addr = job.extra["end"] + 1 + index % 7
                    out_addr = in_addr + x.nbytes + 3 + index % 5
                    job = prepare_layer(layer, x, config, input_addr=in_addr, output_addr=out_addr)
            except MappingError:
                if name.startswith("random"):  # does not fit this configuration: draw again
                    N, H, W, C, M, R, S, stride, padding, pool = _random_shape(rng, key == "8x8")
                    continue
                raise
            break
        label = f"{name}:N{N}H{H}W{W}C{C}M{M}R{R}S{S}U{stride}P{padding}{'pool' if pool else ''}"
        specs.append(
            rtlsim.RtlJob(
                job,
                run_layer(layer, x),
                name=label,
                seed=SEED + index,
                backpressure=index % 3 == 2,
            )
        )
    return specs


def _split_extra(total: int) -> dict:
    keys = list(CONFIGS)
    return {key: total // len(keys) + (i < total % len(keys)) for i, key in enumerate(keys)}


EXTRA = _split_extra(extra_random_cases())
CASES = [
    (key, i) for key in CONFIGS for i in range(len(FIXED[key]) + RANDOM_COUNT[key] + EXTRA[key])
]


@pytest.fixture(scope="module")
def random_results():
    runs = {}
    for key, config in CONFIGS.items():
        specs = _specs(key, EXTRA[key])
        runs[key] = list(zip(specs, rtlsim.run_jobs(specs, config, check=False), strict=True))
    return runs


def test_default_run_has_at_least_20_shapes_with_the_required_features(random_results):
    specs = [spec for pairs in random_results.values() for spec, _ in pairs]
    assert len(specs) >= 20
    shapes = [spec.job.shape for spec in specs]
    assert any(s.U == 2 for s in shapes) and any(s.U == 1 for s in shapes)
    assert any(s.P > 0 for s in shapes)
    assert any(s.pool for s in shapes)
    assert any(s.N == 2 for s in shapes)
    assert any(s.R == s.S == 1 for s in shapes)
    for key, config in CONFIGS.items():
        ks = [spec.job.shape for spec, _ in random_results[key]]
        assert any(s.C % config.rows and s.M % config.cols for s in ks)
        assert any(s.K > config.rows for s in ks)
    assert any(spec.backpressure for spec in specs)
    assert any(spec.job.descriptor["IN_ADDR"] % 2 for spec in specs)
    assert any(spec.job.descriptor["OUT_ADDR"] % 2 for spec in specs)
    # Input larger than the 4x4 configuration's input buffer: reloaded band by band.
    small = [spec.job for spec, _ in random_results["4x4"]]
    assert any(job.shape.H * job.shape.W * job.shape.C > CONFIG_4X4.in_bytes for job in small)
    assert any(job.band < job.shape.E_run for job in small)


@pytest.mark.parametrize(("key", "index"), CASES, ids=[f"{k}-{i}" for k, i in CASES])
def test_random_layer_bit_exact(random_results, key, index):
    spec, result = random_results[key][index]
    assert_layer_ok(spec, result, CONFIGS[key])
