"""Shared configurations and checks of the RTL (cocotb + Verilator) tests.

Each test module runs all its jobs in one simulator invocation (a module-scoped fixture) and
checks them one test at a time; the Verilator build of each configuration is cached under
``build/rtlsim`` (see ``accel/verif/rtlsim.py``).
"""

import os

import numpy as np
import pytest

from accel.spec import isa
from accel.spec.config import AccelConfig

#: The default generator configuration (the committed rtl/accel_top.v).
CONFIG_8X8 = AccelConfig()
#: Small array and buffers: layers are tiled in K, M and pixels, inputs reloaded band by band.
CONFIG_4X4 = AccelConfig(rows=4, cols=4, in_depth=64, acc_depth=128, weight_depth=2)
#: Non-power-of-two array on a 32-bit bus with short bursts.
CONFIG_3X5 = AccelConfig(
    rows=3, cols=5, bus_width=32, in_depth=256, acc_depth=256, weight_depth=2, max_burst=8
)

BUSY = 1 << isa.STATUS_BIT["BUSY"].bit
DONE = 1 << isa.STATUS_BIT["DONE"].bit


def status_bit(name: str) -> int:
    return 1 << isa.STATUS_BIT[name].bit


def extra_random_cases() -> int:
    """``ACCEL_RTL_RANDOM=N``: N more randomized layer shapes (default 0)."""
    text = os.environ.get("ACCEL_RTL_RANDOM", "").strip()
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise pytest.UsageError(f"ACCEL_RTL_RANDOM must be an integer, not {text!r}") from None
    if value < 0:
        raise pytest.UsageError(f"ACCEL_RTL_RANDOM must be >= 0, not {value}")
    return value


def assert_layer_ok(spec, result, config: AccelConfig):
    """A layer job finished cleanly and its output equals the golden model's, integer for
    integer (the testbench scoreboard compared it in the simulator; this re-checks here)."""
    assert not result.problems, f"{spec.name}: " + " | ".join(result.problems)
    assert result.status is not None, f"{spec.name}: no status"
    assert result.status & isa.ERROR_MASK == 0, f"{spec.name}: status {result.status:#x}"
    assert result.status & DONE and not result.status & BUSY, f"status {result.status:#x}"
    assert result.output is not None
    np.testing.assert_array_equal(result.output, spec.expected, err_msg=spec.name)
    job = spec.job
    counters = result.counters
    assert counters["DMA_WRITE_BYTES"] == job.output_bytes
    weights_and_params = sum(
        len(blob)
        for name, (_, blob) in job.regions.items()
        if name.startswith(("weights", "params"))
    )
    assert counters["DMA_READ_BYTES"] >= weights_and_params
    assert counters["CYCLES"] >= counters["MAC_CYCLES"] > 0
    # The array does at most ROWS x COLS multiply-accumulates per cycle; with pooling, the
    # pre-pool pixels that the 2x2 windows use are the least that must be computed.
    s = job.shape
    pixels = s.E_out * s.F_out * 4 if s.pool else s.E * s.F
    assert counters["MAC_CYCLES"] * config.rows * config.cols >= s.N * s.M * s.K * pixels
