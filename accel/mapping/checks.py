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


def pixel_mode(desc: dict[str, int]) -> bool:
    """Does ``desc`` read a subset of each input pixel's channels (``IN_PIX_PITCH`` not 0 or
    C): one read per pixel?"""
    return desc.get("IN_PIX_PITCH", 0) not in (0, desc["C"])


def pixel_slot(desc: dict[str, int], config: AccelConfig) -> int:
    """Bank bytes of one input pixel: C, in pixel mode the whole bus words its C bytes touch
    (from ``IN_ADDR``'s offset in a bus word on)."""
    if not pixel_mode(desc):
        return desc["C"]
    bb = config.bus_bytes
    return -(-(desc["IN_ADDR"] % bb + desc["C"]) // bb) * bb


def input_row_slot(desc: dict[str, int], config: AccelConfig) -> tuple[bool, int]:
    """(row mode, bank bytes per input row): rows contiguous in memory (``IN_ROW_PITCH`` =
    W*C) fill the banks as they lie; otherwise each row gets the whole bus words it touches
    (from ``IN_ADDR``'s offset in a bus word on; pixel mode: W pixel slots)."""
    width = desc["W"] * desc["C"]
    row_mode = pixel_mode(desc) or desc.get("IN_ROW_PITCH", width) != width
    width = desc["W"] * pixel_slot(desc, config)
    if row_mode and not pixel_mode(desc):
        width += desc["IN_ADDR"] % config.bus_bytes  # the row's bus words from IN_ADDR's lane
    slot = -(-width // config.bus_bytes) * config.bus_bytes if row_mode else width
    return row_mode, slot


def failed_check(desc: dict[str, int], config: AccelConfig) -> isa.DescriptorCheck | None:
    """The first of the hardware's descriptor checks (:data:`accel.spec.isa.DESCRIPTOR_CHECKS`,
    in order) that ``desc`` fails on ``config``, or None: a Python mirror of
    :class:`accel.hw.geometry.LayerSetup`. Registers added in ISA v2/v3 default to their v1
    meaning (``PL`` = ``P``, contiguous pitches, ``ACC`` = 0) when absent."""
    d, bb = desc, config.bus_bytes
    sizes = ("N", "H", "W", "C", "M", "R", "S", "E", "F", "U", "BAND")
    pl = d.get("PL", d["P"])
    m_tiles = _tiles(d["M"], config.cols) if d["M"] else 0
    row_mode, slot = input_row_slot(d, config)
    slack = 0 if row_mode else bb - 1
    whole = d["H"] * slot + slack <= config.in_bytes
    in_rows = min((d["BAND"] - 1) * d["U"] + d["R"], d["H"])
    e_run = d["E"] & ~1 if d["POOL"] else d["E"]
    f_out = d["F"] // 2 if d["POOL"] else d["F"]
    bottom = (d["E"] - 1) * d["U"] + d["R"] - d["H"] - d["P"]  # implied padding rows
    right = (d["F"] - 1) * d["U"] + d["S"] - d["W"] - pl
    pix = pixel_mode(d)
    in_pix = d["IN_PIX_PITCH"] if pix else d["C"]
    in_pitch = d.get("IN_ROW_PITCH", d["W"] * d["C"])
    out_pix = d.get("OUT_PIX_PITCH", d["M"])
    out_row = d.get("OUT_ROW_PITCH", f_out * d["M"])
    failures = {
        "ZERO_SIZE": lambda: any(d[name] == 0 for name in sizes),
        "SHAPE": lambda: (
            d["P"] >= d["R"]
            or pl >= d["S"]
            or -pl >= d["W"]
            or not -d["U"] < bottom < d["R"]
            or not -d["U"] < right < d["S"]
        ),
        "ALIGN": lambda: (
            d["W_ADDR"] % bb != 0
            or d["PARAM_ADDR"] % bb != 0
            or (row_mode and (in_pitch % bb != 0 or (pix and in_pix % bb != 0)))
        ),
        "CLAMP": lambda: d["ACT_MIN"] > d["ACT_MAX"],
        "POOL": lambda: bool(d["POOL"]) and (d["E"] < 2 or d["F"] < 2 or d["BAND"] % 2 == 1),
        "PITCH": lambda: (
            in_pitch < d["W"] * in_pix
            or in_pix < d["C"]
            or out_pix < d["M"]
            or out_row < f_out * out_pix
        ),
        "ACCUMULATE": lambda: d.get("ACC", 0) != 0 and (d["N"] != 1 or d["BAND"] < e_run),
        "INPUT_BUFFER": lambda: not whole and in_rows * slot + slack > config.in_bytes,
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
