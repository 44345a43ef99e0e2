"""Scoreboard helpers: compare memory contents with the golden output, integer by integer."""

from __future__ import annotations

import numpy as np

__all__ = ["compare_bytes", "compare_outside"]


def compare_bytes(got: bytes, expected: bytes, max_reported: int = 8) -> tuple[int, list[str]]:
    """Compare two int8 tensors given as raw bytes.

    Returns the number of differing elements and a description of the first ``max_reported``
    (flat index, value read from memory, golden value, both as signed int8).
    """
    if len(got) != len(expected):
        return max(len(got), len(expected)), [f"size {len(got)} != golden size {len(expected)}"]
    a = np.frombuffer(got, dtype=np.int8)
    b = np.frombuffer(expected, dtype=np.int8)
    wrong = np.flatnonzero(a != b)
    report = [f"[{i}] got {int(a[i])} expected {int(b[i])}" for i in wrong[:max_reported]]
    return int(wrong.size), report


def compare_outside(
    before: bytes, after: bytes, start: int, length: int, max_reported: int = 8
) -> list[str]:
    """Bytes outside ``[start, start + length)`` that changed: stray writes of the DUT."""
    a = np.frombuffer(before, dtype=np.uint8)
    b = np.frombuffer(after, dtype=np.uint8)
    changed = np.flatnonzero(a != b)
    changed = changed[(changed < start) | (changed >= start + length)]
    if changed.size == 0:
        return []
    listed = ", ".join(f"0x{int(i):x}" for i in changed[:max_reported])
    where = "outside the output region " if length else ""
    return [f"{changed.size} bytes {where}were written ({listed})"]
