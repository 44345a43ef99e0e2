# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.axi.AXI4Master against the AXIMemoryModel AXI4 slave."""

import random
import re

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Module
from amaranth.lib import wiring
from helpers import apply_write, beat_int, rejects, run_simulation, ticks

from accel.hw.axi import AXI4Master, axi_signature
from accel.verif.models import (
    RESP_DECERR,
    RESP_SLVERR,
    AXIMemoryModel,
    MemPortBurst,
    MemPortMaster,
    stream_put,
)

MEM_SIZE = 1 << 17  # 32 pages of 4 KiB


def random_burst(rng, nb, pages, write):
    beats = rng.choice([1, 2, rng.randint(1, 16), rng.randint(1, 4096 // nb), 4096 // nb])
    beats = min(beats, 256)
    addr = 4096 * rng.choice(pages) + nb * rng.randrange(4096 // nb - beats + 1)
    if not write:
        return MemPortBurst(addr, beats)
    data = [rng.getrandbits(8 * nb) for _ in range(beats)]
    strb = [rng.choice([(1 << nb) - 1, rng.getrandbits(nb)]) for _ in range(beats)]
    return MemPortBurst(addr, beats, data=data, strb=strb)


def touches(burst, nb, start, stop):
    return burst.addr < stop and start < burst.addr + burst.beats * nb


@pytest.mark.parametrize("data_width", [32, 64, 128])
def test_random_traffic(data_width):
    """Random read and write bursts with back-pressure everywhere, against a NumPy golden."""
    nb = data_width // 8
    rng = random.Random(1000 + data_width)
    init = np.random.default_rng(data_width).integers(0, 256, MEM_SIZE, dtype=np.uint8)
    # Error ranges: SLVERR in a read page and a write page, DECERR in others.
    errors = [
        (0x2100, 0x2180, RESP_SLVERR),
        (0x5000, 0x5001, RESP_DECERR),
        (0x12000, 0x12040, RESP_SLVERR),
        (0x15FF0, 0x16000, RESP_DECERR),
    ]
    model = AXIMemoryModel(
        MEM_SIZE, rng=rng, read_latency=2, max_outstanding=4, error_ranges=errors
    )
    model.write(0, init)
    read_pages, write_pages = list(range(16)), list(range(16, 32))
    reads = [random_burst(rng, nb, read_pages, False) for _ in range(24)]
    writes = [random_burst(rng, nb, write_pages, True) for _ in range(24)]
    # Make sure every error range is exercised at least once.
    reads += [MemPortBurst(0x2000, min(256, 4096 // nb)), MemPortBurst(0x5000, 1)]
    writes += [
        MemPortBurst(0x12000 + 0x40 - nb, 2, data=[1, 2], strb=[(1 << nb) - 1] * 2),
        MemPortBurst(0x15FF0, 16 // nb, data=[3] * (16 // nb), strb=[(1 << nb) - 1] * (16 // nb)),
    ]
    bursts = [b for pair in zip(reads, writes, strict=True) for b in pair]

    dut = AXI4Master(data_width=data_width)
    faults = []

    async def watch_fault(ctx):
        async for _clk, _rst, fault in ctx.tick().sample(dut.fault):
            faults.append(fault)

    run_simulation(
        dut,
        lambda sim: model.add_to(sim, dut.axi),
        lambda sim: MemPortMaster(bursts, rng=rng, stall_probability=0.3).add_to(sim, dut.bus),
        lambda sim: sim.add_process(watch_fault),
    )
    assert len(faults) > sum(b.beats for b in bursts) // 2 and not any(faults)

    def error_of(burst):
        return int(any(touches(burst, nb, start, stop) for start, stop, _ in errors))

    golden = init.copy()
    for b in writes:
        assert b.werror == error_of(b), hex(b.addr)
        if not b.werror:
            apply_write(golden, b.addr, b.data, b.strb, nb)
    n_error_reads = 0
    for b in reads:
        assert b.rerror == [error_of(b)] * b.beats, hex(b.addr)
        if error_of(b):
            n_error_reads += 1
        else:
            assert b.rdata == [beat_int(init, b.addr + i * nb, nb) for i in range(b.beats)]
    assert n_error_reads >= 2
    assert np.array_equal(np.frombuffer(model.read(0, MEM_SIZE), dtype=np.uint8), golden)

    # Address-channel fields, in request order.
    size = {32: 2, 64: 3, 128: 4}[data_width]
    for log, issued in ((model.read_log, reads), (model.write_log, writes)):
        expected = [
            {
                "addr": b.addr,
                "len": b.beats - 1,
                "beats": b.beats,
                "size": size,
                "burst": 1,
                "lock": 0,
                "cache": 0b0011,
                "prot": 0,
                "qos": 0,
                "id": 0,
            }
            for b in issued
        ]
        assert log == expected
    assert model.beats_read == sum(b.beats for b in reads)
    assert model.beats_written == sum(b.beats for b in writes)


def test_back_to_back_throughput():
    """Without stalls the adapter adds no latency: one beat per cycle on both directions."""
    dut = AXI4Master(data_width=64)
    model = AXIMemoryModel(MEM_SIZE, read_latency=3)
    model.write(0x3000, bytes(range(256)) * 8)
    result = {}

    async def reader(ctx):
        ctx.set(dut.bus.rd_rsp.ready, 1)
        ctx.set(dut.bus.rd_req.payload, {"addr": 0x3000, "beats": 256})
        ctx.set(dut.bus.rd_req.valid, 1)
        edge, beats = 0, []
        async for _clk, _rst, req_ok, valid, data, last, error in ctx.tick().sample(
            dut.bus.rd_req.valid & dut.bus.rd_req.ready,
            dut.bus.rd_rsp.valid,
            dut.bus.rd_rsp.payload.data,
            dut.bus.rd_rsp.payload.last,
            dut.bus.rd_rsp.payload.error,
        ):
            edge += 1
            if req_ok:
                result["req"] = edge
                ctx.set(dut.bus.rd_req.valid, 0)
            if valid:
                result.setdefault("first", edge)
                beats.append((data, error))
                if last:
                    result["last"] = edge
                    break
        result["beats"] = beats

    async def writer(ctx):
        ctx.set(dut.bus.wr_rsp.ready, 1)
        ctx.set(dut.bus.wr_req.payload, {"addr": 0x8000, "beats": 128})
        ctx.set(dut.bus.wr_req.valid, 1)
        ctx.set(dut.bus.wr_data.valid, 1)
        ctx.set(dut.bus.wr_data.payload, {"data": 0, "strb": 0xFF, "last": 0})
        edge, sent = 0, 0
        async for _clk, _rst, req_ok, data_ok, rsp in ctx.tick().sample(
            dut.bus.wr_req.valid & dut.bus.wr_req.ready,
            dut.bus.wr_data.valid & dut.bus.wr_data.ready,
            dut.bus.wr_rsp.valid,
        ):
            edge += 1
            if req_ok:
                ctx.set(dut.bus.wr_req.valid, 0)
            if data_ok:
                sent += 1
                if sent == 128:
                    ctx.set(dut.bus.wr_data.valid, 0)
                else:
                    last = int(sent == 127)
                    payload = {"data": sent * 0x0101010101010101, "strb": 0xFF, "last": last}
                    ctx.set(dut.bus.wr_data.payload, payload)
            if rsp:
                result["wr_rsp"] = edge
                break

    run_simulation(dut, lambda sim: model.add_to(sim, dut.axi), testbenches=[reader, writer])
    assert result["first"] - result["req"] == 3
    assert result["last"] - result["first"] == 255
    data = np.frombuffer(bytes(range(256)) * 8, dtype="<u8")
    assert result["beats"] == [(int(d), 0) for d in data]
    # 128 data beats on edges 1..128, response one edge after the last beat.
    assert result["wr_rsp"] == 129
    expected = np.repeat(np.arange(128, dtype=np.uint8), 8)
    assert np.array_equal(np.frombuffer(model.read(0x8000, 1024), dtype=np.uint8), expected)


def test_axi_constant_fields_and_passthrough():
    """AR/AW fields and the R/B response decoding, driven directly on the AXI pins."""
    dut = AXI4Master(data_width=128, addr_width=40, id_width=4)
    axi, bus = dut.axi, dut.bus

    async def tb(ctx):
        ctx.set(bus.rd_req.payload, {"addr": 0xFFFF_F000, "beats": 256})
        ctx.set(bus.wr_req.payload, {"addr": 0x0000_0010, "beats": 1})
        assert ctx.get(axi.araddr) == 0xFFFF_F000
        assert ctx.get(axi.arlen) == 255
        assert ctx.get(axi.awaddr) == 0x10
        assert ctx.get(axi.awlen) == 0
        for ch in ("ar", "aw"):
            assert ctx.get(getattr(axi, f"{ch}size")) == 4
            assert ctx.get(getattr(axi, f"{ch}burst")) == 1
            assert ctx.get(getattr(axi, f"{ch}cache")) == 0b0011
            assert ctx.get(getattr(axi, f"{ch}prot")) == 0
            assert ctx.get(getattr(axi, f"{ch}lock")) == 0
            assert ctx.get(getattr(axi, f"{ch}qos")) == 0
            assert ctx.get(getattr(axi, f"{ch}id")) == 0
        for resp, error in ((0, 0), (1, 0), (RESP_SLVERR, 1), (RESP_DECERR, 1)):
            ctx.set(axi.rresp, resp)
            ctx.set(axi.bresp, resp)
            assert ctx.get(bus.rd_rsp.payload.error) == error
            assert ctx.get(bus.wr_rsp.payload.error) == error
        ctx.set(axi.rdata, (1 << 128) - 3)
        ctx.set(axi.rlast, 1)
        assert ctx.get(bus.rd_rsp.payload.data) == (1 << 128) - 3
        assert ctx.get(bus.rd_rsp.payload.last) == 1
        ctx.set(bus.wr_data.payload, {"data": 0x1234 << 100, "strb": 0x8001, "last": 1})
        assert ctx.get(axi.wdata) == 0x1234 << 100
        assert ctx.get(axi.wstrb) == 0x8001
        assert ctx.get(axi.wlast) == 1

    run_simulation(dut, testbenches=[tb])


def test_valid_does_not_depend_on_ready():
    """Toggling every ready/valid input of one side never changes a valid of the other side."""
    dut = AXI4Master()
    axi, bus = dut.axi, dut.bus
    readies = [axi.arready, axi.awready, axi.wready, bus.rd_rsp.ready, bus.wr_rsp.ready]
    valids = [axi.arvalid, axi.awvalid, axi.wvalid, bus.rd_rsp.valid, bus.wr_rsp.valid]
    sources = [bus.rd_req.valid, bus.wr_req.valid, bus.wr_data.valid, axi.rvalid, axi.bvalid]

    async def tb(ctx):
        rng = random.Random(0)
        for _ in range(50):
            pattern = [rng.getrandbits(1) for _ in sources]
            for sig, v in zip(sources, pattern, strict=True):
                ctx.set(sig, v)
            for ready in readies:
                before = [ctx.get(v) for v in valids]
                ctx.set(ready, 1 - ctx.get(ready))
                assert [ctx.get(v) for v in valids] == before == pattern
            await ctx.tick()

    run_simulation(dut, testbenches=[tb])


@pytest.mark.parametrize(
    "addr, beats, addr_width, faults",
    [
        (0x1000, 256, 32, False),  # exactly one page
        (0x1F00, 32, 32, False),  # ends at the page boundary
        (0x1F00, 33, 32, True),  # crosses it
        (0x1004, 1, 32, True),  # misaligned
        (0x1000, 0, 32, True),
        (0x1000, 257, 32, True),
        (0x0001_0000, 1, 16, True),  # address beyond a 16-bit AXI address
        (0x0000_F000, 1, 16, False),
    ],
)
def test_fault_flag(addr, beats, addr_width, faults):
    for channel in ("rd_req", "wr_req"):
        dut = AXI4Master(data_width=64, addr_width=addr_width)
        seen = {}

        async def tb(ctx, channel=channel, dut=dut, seen=seen):
            ctx.set(dut.axi.arready, 1)
            ctx.set(dut.axi.awready, 1)
            await stream_put(ctx, dut.bus.rd_req, {"addr": 0, "beats": 1})  # a good request
            await ticks(ctx, 2)
            seen["before"] = ctx.get(dut.fault)
            await stream_put(ctx, getattr(dut.bus, channel), {"addr": addr, "beats": beats})
            await ticks(ctx, 2)
            seen["after"] = ctx.get(dut.fault)

        run_simulation(dut, testbenches=[tb])
        assert seen == {"before": 0, "after": int(faults)}, channel


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"arburst": 2}, "AR: burst type 2 at 0x100, only INCR"),
        ({"arsize": 2}, "AR: ARSIZE 2 at 0x100, expected 3"),
        ({"araddr": 0xFF8, "arlen": 1}, "AR: burst 0xff8 \\+ 16 bytes crosses a 4 KiB boundary"),
    ],
)
def test_axi_model_rejects_bad_bursts(fields, message):
    """The AXI slave model checks AxBURST, AxSIZE and the 4 KiB boundary of a read burst."""
    axi = axi_signature(64, 32, 1).create()  # master-side interface, driven by the testbench
    model = AXIMemoryModel(MEM_SIZE)

    async def tb(ctx):
        values = {"araddr": 0x100, "arlen": 0, "arsize": 3, "arburst": 1} | fields
        for name, value in values.items():
            ctx.set(getattr(axi, name), value)
        ctx.set(axi.arvalid, 1)
        ctx.set(axi.rready, 1)
        await ticks(ctx, 3)

    with pytest.raises(AssertionError, match=message):
        run_simulation(_clocked(), lambda sim: model.add_to(sim, axi), testbenches=[tb])


def test_axi_model_wlast_mismatch():
    axi = axi_signature(32, 32, 2).create()
    model = AXIMemoryModel(MEM_SIZE)

    async def tb(ctx):
        ctx.set(axi.bready, 1)
        for name, value in {"awaddr": 0x40, "awlen": 3, "awsize": 2, "awburst": 1}.items():
            ctx.set(getattr(axi, name), value)
        ctx.set(axi.awvalid, 1)
        ctx.set(axi.wvalid, 1)
        ctx.set(axi.wstrb, 0xF)
        ctx.set(axi.wlast, 0)
        await ticks(ctx, 8)

    with pytest.raises(AssertionError, match="W: burst 0x40 announced 4 beats, no last on beat 4"):
        run_simulation(_clocked(), lambda sim: model.add_to(sim, axi), testbenches=[tb])


def _clocked():
    m = Module()
    m.domains.sync = ClockDomain()
    return m


def test_signature_directions_and_ports():
    sig = axi_signature(64, 32, 1)
    outs = {n for n, mem in sig.members.items() if mem.flow == wiring.Out}
    ins = {n for n, mem in sig.members.items() if mem.flow == wiring.In}
    assert ins == {
        "awready", "wready", "bid", "bresp", "bvalid",
        "arready", "rid", "rdata", "rresp", "rlast", "rvalid",
    }  # fmt: skip
    assert outs == {
        "awid", "awaddr", "awlen", "awsize", "awburst", "awlock", "awcache", "awprot", "awqos",
        "awvalid", "wdata", "wstrb", "wlast", "wvalid", "bready",
        "arid", "araddr", "arlen", "arsize", "arburst", "arlock", "arcache", "arprot", "arqos",
        "arvalid", "rready",
    }  # fmt: skip
    widths = {n: mem.shape for n, mem in axi_signature(128, 40, 3).members.items()}
    assert (widths["wdata"], widths["wstrb"], widths["araddr"], widths["bid"]) == (128, 16, 40, 3)
    assert (widths["awlen"], widths["awsize"], widths["awcache"], widths["rresp"]) == (8, 3, 4, 2)

    dut = AXI4Master(data_width=32)
    ports = dut.axi_ports()
    assert list(ports) == list(sig.members)
    assert ports["awvalid"] == (wiring.Out, dut.axi.awvalid)
    assert ports["rdata"][0] == wiring.In and len(ports["rdata"][1]) == 32


@pytest.mark.parametrize("data_width", [32, 64, 128, 256])
def test_converts_to_verilog(data_width):
    dut = AXI4Master(data_width=data_width)
    text = verilog.convert(dut, name="axi4_master")
    ports = dict(
        (name, (direction, width or ""))
        for direction, width, name in re.findall(
            r"^\s*(input|output)\s+(\[\d+:0\]\s*)?(\w+);", text, re.M
        )
    )
    sig = axi_signature(data_width, 32, 1)
    for name, member in sig.members.items():
        direction = "output" if member.flow == wiring.Out else "input"
        assert ports[f"axi__{name}"][0] == direction, name
    assert ports["axi__wdata"][1].strip() == f"[{data_width - 1}:0]"
    assert ports["bus__rd_req__valid"][0] == "input"
    assert ports["fault"][0] == "output"


PARAMETER_ERRORS = [
    ({"data_width": 48}, "AXI data width must be 32, 64, 128 or 256 bits, not 48"),
    ({"addr_width": 8}, "AXI address width must be an integer in 12..64, not 8"),
    ({"id_width": 0}, "AXI ID width must be an integer in 1..32, not 0"),
]
test_constructor_validation = rejects(AXI4Master, PARAMETER_ERRORS)
test_signature_validation = rejects(axi_signature, PARAMETER_ERRORS)
