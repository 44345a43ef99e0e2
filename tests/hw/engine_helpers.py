"""Shared pieces of the engine unit tests: layer constants computed in plain Python and a
testbench helper that drives an engine's ``layer`` port.

The geometry here is written from the formulas documented in
:func:`accel.hw.geometry.geometry_layout`, independently of :class:`~accel.hw.geometry.LayerSetup`.
"""

from accel.spec.config import AccelConfig


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def descriptor(**fields) -> dict:
    """A layer descriptor: the given fields, E/F derived from H/W/R/S/U/P unless given."""
    d = dict(N=1, H=4, W=4, C=1, M=1, R=1, S=1, U=1, P=0, POOL=0, BAND=1)
    d.update(fields)
    d.setdefault("E", (d["H"] + 2 * d["P"] - d["R"]) // d["U"] + 1)
    d.setdefault("F", (d["W"] + 2 * d["P"] - d["S"]) // d["U"] + 1)
    f_out = d["F"] >> 1 if d["POOL"] else d["F"]
    # ISA v2 registers at their v1 meaning: contiguous input and output, symmetric padding
    d.setdefault("PL", d["P"])
    d.setdefault("IN_ROW_PITCH", d["W"] * d["C"])
    d.setdefault("OUT_ROW_PITCH", f_out * d["M"])
    d.setdefault("OUT_PIX_PITCH", d["M"])
    d.setdefault("ACC", 0)
    d.setdefault("IN_PIX_PITCH", d["C"])  # ISA v3: contiguous pixels
    return d


def geometry(d: dict, config: AccelConfig) -> dict:
    """The derived layer constants of descriptor ``d`` (see ``geometry_layout``)."""
    pool = d.get("POOL", 0)
    e_run = d["E"] & ~1 if pool else d["E"]
    bb = config.bus_bytes
    pixel_mode = d["IN_PIX_PITCH"] not in (0, d["C"])
    # pixel mode: a pixel's C bytes as the whole bus words they touch (from IN_ADDR's lane)
    pc = ceil_div(d.get("IN_ADDR", 0) % bb + d["C"], bb) * bb if pixel_mode else d["C"]
    wc = ceil_div(d["W"] * pc, bb) * bb if pixel_mode else d["W"] * d["C"]
    g = dict(
        SC=d["S"] * pc,
        PC=pc,
        pix_step=pc - d["C"] + 1,
        pixel_mode=int(pixel_mode),
        WC=wc,
        HWC=d["H"] * d["IN_ROW_PITCH"],
        row_mode=int(pixel_mode),
        out_mode=0,
        K=d["R"] * d["S"] * d["C"],
        UC=d["U"] * pc,
        UWC=d["U"] * wc,
        row_step=wc - d["S"] * pc + pc - d["C"] + 1,
        E_run=e_run,
        E_out=d["E"] >> 1 if pool else d["E"],
        F_out=d["F"] >> 1 if pool else d["F"],
        m_tiles=ceil_div(d["M"], config.cols),
        band_pixels=d["BAND"] * d["F"],
        band_out_rows=d["BAND"] >> 1 if pool else d["BAND"],
        band_u=(d["BAND"] - 1) * d["U"],
        e_run_u=(e_run - 1) * d["U"],
    )
    g["k_tiles"] = ceil_div(g["K"], config.rows)
    g["tiles"] = g["m_tiles"] * g["k_tiles"]
    g["out_row_bytes"] = g["F_out"] * d["M"]
    g["whole"] = int(g["HWC"] + config.bus_bytes - 1 <= config.in_bytes)
    return g


def bands(d: dict, g: dict):
    """The band walk: ``(index, n, e0, rows)`` for every band of the layer."""
    index = 0
    for n in range(d["N"]):
        for e0 in range(0, g["E_run"], d["BAND"]):
            yield index, n, e0, min(d["BAND"], g["E_run"] - e0)
            index += 1


async def start_layer(ctx, layer, d: dict, g: dict, *, busy: bool = True):
    """Set the ``layer`` port's constants and pulse ``run`` for one cycle (``busy`` stays)."""
    ctx.set(layer.descriptor, d)
    ctx.set(layer.geometry, g)
    ctx.set(layer.busy, int(busy))
    ctx.set(layer.run, 1)
    await ctx.tick()
    ctx.set(layer.run, 0)
