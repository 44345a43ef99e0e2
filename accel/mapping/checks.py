"""Python mirror of the hardware's descriptor checks and the legal pixel-tile (band) sizes."""

from __future__ import annotations

from accel.mapping.shape import LayerShape, MappingError
from accel.mapping.shape import tiles as _tiles
from accel.spec import isa
from accel.spec.config import AccelConfig


def legal_bands(shape: LayerShape, config: AccelConfig) -> list[int]:
    """Every BAND (output rows per pixel tile) the hardware's descriptor checks accept.

    A band must fit the accumulator half (``ceil(M/COLS) * BAND * F`` entries) and, unless the
    whole input image fits the input banks, its input rows (``(BAND-1)*U + R``) must fit one
    bank; with pooling it is even.
    """
    m_tiles = _tiles(shape.M, config.cols)
    if m_tiles > config.param_depth:
        return []
    whole = shape.H * shape.W * shape.C + config.bus_bytes - 1 <= config.in_bytes
    step = 2 if shape.pool else 1
    bands = []
    for band in range(step, shape.E_run + 1, step):
        if m_tiles * band * shape.F > config.acc_depth:
            break
        in_rows = min((band - 1) * shape.U + shape.R, shape.H)
        if not whole and in_rows * shape.W * shape.C + config.bus_bytes - 1 > config.in_bytes:
            break
        bands.append(band)
    return bands


def failed_check(desc: dict[str, int], config: AccelConfig) -> isa.DescriptorCheck | None:
    """The first of the hardware's descriptor checks (:data:`accel.spec.isa.DESCRIPTOR_CHECKS`,
    in order) that ``desc`` fails on ``config``, or None: a Python mirror of
    :class:`accel.hw.geometry.LayerSetup`."""
    d, bb = desc, config.bus_bytes
    sizes = ("N", "H", "W", "C", "M", "R", "S", "E", "F", "U", "BAND")
    m_tiles = _tiles(d["M"], config.cols) if d["M"] else 0
    whole = d["H"] * d["W"] * d["C"] + bb - 1 <= config.in_bytes
    in_rows = min((d["BAND"] - 1) * d["U"] + d["R"], d["H"])
    failures = {
        "ZERO_SIZE": lambda: any(d[name] == 0 for name in sizes),
        "SHAPE": lambda: (
            (d["H"] + 2 * d["P"] - d["R"]) // d["U"] + 1 != d["E"]
            or (d["W"] + 2 * d["P"] - d["S"]) // d["U"] + 1 != d["F"]
            or d["H"] + 2 * d["P"] < d["R"]
            or d["W"] + 2 * d["P"] < d["S"]
            or d["P"] >= d["R"]
            or d["P"] >= d["S"]
        ),
        "ALIGN": lambda: d["W_ADDR"] % bb != 0 or d["PARAM_ADDR"] % bb != 0,
        "CLAMP": lambda: d["ACT_MIN"] > d["ACT_MAX"],
        "POOL": lambda: bool(d["POOL"]) and (d["E"] < 2 or d["F"] < 2 or d["BAND"] % 2 == 1),
        "INPUT_BUFFER": lambda: not whole and in_rows * d["W"] * d["C"] + bb - 1 > config.in_bytes,
        "ACC_BUFFER": lambda: m_tiles * d["BAND"] * d["F"] > config.acc_depth,
        "PARAM_BUFFER": lambda: m_tiles > config.param_depth,
    }
    for check in isa.DESCRIPTOR_CHECKS:
        if failures[check.name]():
            return check
    return None


def check_register_ranges(desc: dict[str, int]) -> None:
    """Raise :class:`MappingError` naming the first descriptor field that does not fit its
    register (:data:`accel.spec.isa.REGISTERS`)."""
    for reg in isa.REGISTERS:
        value = desc[reg.name]
        if reg.signed:
            low, high = -(1 << (reg.width - 1)), (1 << (reg.width - 1)) - 1
        else:
            low, high = 0, (1 << reg.width) - 1
        if not low <= value <= high:
            raise MappingError(f"descriptor field {reg.name}={value} does not fit {reg.width} bits")


def require_mappable(shape: LayerShape, config: AccelConfig) -> None:
    """Raise :class:`MappingError` explaining why no band of ``shape`` fits ``config``."""
    m_tiles = _tiles(shape.M, config.cols)
    if m_tiles > config.param_depth:
        raise MappingError(
            f"M={shape.M} needs {m_tiles} parameter tiles, the buffer holds {config.param_depth}"
        )
    if not legal_bands(shape, config):
        step = 2 if shape.pool else 1
        raise MappingError(
            f"layer {shape} does not fit this configuration: one band of {step} output row(s) "
            f"needs {m_tiles * step * shape.F} accumulator entries (have {config.acc_depth}) "
            f"and {min((step - 1) * shape.U + shape.R, shape.H) * shape.W * shape.C} input "
            f"bytes (have {config.in_bytes - config.bus_bytes + 1}); narrower rows (W*C) or "
            "bigger buffers are needed"
        )
