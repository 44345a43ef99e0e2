"""Tests of the simulation helpers in accel.verif.models (stream helpers, MemoryModel)."""

import random

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from helpers import apply_write, beat_int, rejects, run_simulation, ticks

from accel.hw.memport import MemPortSignature
from accel.verif.models import (
    RESP_DECERR,
    MemoryModel,
    MemPortBurst,
    MemPortMaster,
    stream_assert,
    stream_get,
    stream_put,
)

MEM_SIZE = 1 << 16


def loopback(data_width):
    """A module wiring a master-side port (driven by testbenches) to a slave-side port."""
    master = MemPortSignature(data_width).create()
    slave = MemPortSignature(data_width).flip().create()
    m = Module()
    m.domains.sync = ClockDomain()
    wiring.connect(m, master, slave)
    return m, master, slave


def random_bursts(rng, nb, n, pages, max_beats=256, write_ratio=0.5):
    """Random aligned bursts inside ``pages`` (list of page numbers), never crossing 4 KiB."""
    bursts = []
    for _ in range(n):
        beats = rng.randint(1, min(max_beats, 4096 // nb))
        addr = 4096 * rng.choice(pages) + nb * rng.randrange(4096 // nb - beats + 1)
        if rng.random() < write_ratio:
            data = [rng.getrandbits(8 * nb) for _ in range(beats)]
            strb = [rng.choice([(1 << nb) - 1, rng.getrandbits(nb)]) for _ in range(beats)]
            bursts.append(MemPortBurst(addr, beats, data=data, strb=strb))
        else:
            bursts.append(MemPortBurst(addr, beats))
    return bursts


@pytest.mark.parametrize("data_width", [32, 64, 128])
def test_random_bursts(data_width):
    nb = data_width // 8
    rng = random.Random(data_width)
    nprng = np.random.default_rng(data_width)
    init = nprng.integers(0, 256, MEM_SIZE, dtype=np.uint8)
    model = MemoryModel(MEM_SIZE, rng=rng, read_latency=3, max_outstanding=3)
    model.write(0, init)
    # Reads from pages 0..7, writes to pages 8..15: concurrent reads and writes never overlap.
    reads = random_bursts(rng, nb, 25, list(range(8)), write_ratio=0.0)
    writes = random_bursts(rng, nb, 25, list(range(8, 16)), write_ratio=1.0)
    bursts = [b for pair in zip(reads, writes, strict=True) for b in pair]
    m, master, slave = loopback(data_width)
    run_simulation(
        m,
        lambda sim: model.add_to(sim, slave),
        lambda sim: MemPortMaster(bursts, rng=rng).add_to(sim, master),
    )

    golden = init.copy()
    for b in writes:
        apply_write(golden, b.addr, b.data, b.strb, nb)
        assert b.werror == 0
    for b in reads:
        assert b.rdata == [beat_int(init, b.addr + i * nb, nb) for i in range(b.beats)]
        assert b.rerror == [0] * b.beats
    assert np.array_equal(np.frombuffer(model.read(0, MEM_SIZE), dtype=np.uint8), golden)

    read_beats = sum(b.beats for b in reads)
    write_beats = sum(b.beats for b in writes)
    assert (model.read_bursts, model.write_bursts) == (len(reads), len(writes))
    assert (model.beats_read, model.beats_written) == (read_beats, write_beats)
    assert (model.bytes_read, model.bytes_written) == (read_beats * nb, write_beats * nb)
    assert model.read_log == [{"addr": b.addr, "beats": b.beats} for b in reads]
    assert model.write_log == [{"addr": b.addr, "beats": b.beats} for b in writes]


@pytest.mark.parametrize("latency", [1, 2, 5])
def test_read_latency_and_throughput(latency):
    """First beat ``latency`` edges after the request, then one beat per cycle."""
    model = MemoryModel(MEM_SIZE, read_latency=latency)
    model.write(0x100, bytes(range(64)))
    m, master, slave = loopback(64)
    edges = {}

    async def tb(ctx):
        ctx.set(master.rd_rsp.ready, 1)
        ctx.set(master.rd_req.payload, {"addr": 0x100, "beats": 8})
        ctx.set(master.rd_req.valid, 1)
        edge = 0
        beats = []
        async for _clk, _rst, req_v, req_r, rsp_v, data, last in ctx.tick().sample(
            master.rd_req.valid,
            master.rd_req.ready,
            master.rd_rsp.valid,
            master.rd_rsp.payload.data,
            master.rd_rsp.payload.last,
        ):
            edge += 1
            if req_v and req_r:
                edges["req"] = edge
                ctx.set(master.rd_req.valid, 0)
            if rsp_v:
                edges.setdefault("first", edge)
                beats.append(data)
                if last:
                    edges["last"] = edge
                    break
        assert beats == [int.from_bytes(bytes(range(8 * i, 8 * i + 8)), "little") for i in range(8)]

    run_simulation(m, lambda sim: model.add_to(sim, slave), testbenches=[tb])
    assert edges["req"] == 1  # ready is high from the first cycle
    assert edges["first"] - edges["req"] == latency
    assert edges["last"] - edges["first"] == 7


@pytest.mark.parametrize("latency", [1, 4])
def test_write_latency(latency):
    model = MemoryModel(MEM_SIZE, write_latency=latency)
    m, master, slave = loopback(32)
    edges = {}

    async def tb(ctx):
        ctx.set(master.wr_rsp.ready, 1)
        await stream_put(ctx, master.wr_req, {"addr": 0x40, "beats": 2})
        await stream_put(ctx, master.wr_data, {"data": 0x11223344, "strb": 0xF, "last": 0})
        await stream_put(ctx, master.wr_data, {"data": 0x55667788, "strb": 0xF, "last": 1})
        edge = 0
        async for _clk, _rst, valid, error in ctx.tick().sample(
            master.wr_rsp.valid, master.wr_rsp.payload.error
        ):
            edge += 1
            if valid:
                edges["rsp"] = edge
                assert error == 0
                break

    run_simulation(m, lambda sim: model.add_to(sim, slave), testbenches=[tb])
    assert edges["rsp"] == latency
    assert model.read(0x40, 8) == bytes.fromhex("4433221188776655")


def test_strobes():
    model = MemoryModel(4096)
    model.write(0, bytes([0xAA] * 64))
    m, master, slave = loopback(64)
    data = [0x0102030405060708, 0x1112131415161718, 0x2122232425262728]
    strb = [0b00000001, 0b10100101, 0b00000000]
    bursts = [MemPortBurst(0x10, 3, data=data, strb=strb)]
    run_simulation(
        m,
        lambda sim: model.add_to(sim, slave),
        lambda sim: MemPortMaster(bursts).add_to(sim, master),
    )
    expected = bytearray([0xAA] * 64)
    expected[0x10] = 0x08
    for lane in (0, 2, 5, 7):
        expected[0x18 + lane] = (0x1112131415161718 >> (8 * lane)) & 0xFF
    assert model.read(0, 64) == bytes(expected)
    assert model.beats_written == 3


def test_error_injection():
    nb = 8
    model = MemoryModel(
        MEM_SIZE,
        error_ranges=[(0x1200, 0x1208), (0x3000, 0x3001, RESP_DECERR)],
        rng=random.Random(5),
    )
    init = np.random.default_rng(5).integers(0, 256, MEM_SIZE, dtype=np.uint8)
    model.write(0, init)
    bursts = [
        MemPortBurst(0x1100, 32),  # ends at 0x11FF: just before the first range
        MemPortBurst(0x11F8, 4),  # touches 0x1200
        MemPortBurst(0x1208, 4),  # just after the range
        MemPortBurst(0x1000, 256),  # spans the whole page
        MemPortBurst(0x3000, 1, data=[0x1234], strb=[0xFF]),  # DECERR range
        MemPortBurst(0x2FF0, 2, data=[1, 2], strb=[0xFF, 0xFF]),  # ends just before 0x3000
        MemPortBurst(0x3008, 1, data=[7], strb=[0xFF]),  # after the range
    ]
    m, master, slave = loopback(64)
    run_simulation(
        m,
        lambda sim: model.add_to(sim, slave),
        lambda sim: MemPortMaster(bursts, rng=random.Random(6)).add_to(sim, master),
    )
    assert bursts[0].rerror == [0] * 32
    assert bursts[0].rdata == [beat_int(init, 0x1100 + i * nb, nb) for i in range(32)]
    assert bursts[1].rerror == [1] * 4
    assert bursts[2].rerror == [0] * 4
    assert bursts[2].rdata == [beat_int(init, 0x1208 + i * nb, nb) for i in range(4)]
    assert bursts[3].rerror == [1] * 256
    assert [b.werror for b in bursts[4:]] == [1, 0, 0]
    golden = init.copy()
    apply_write(golden, 0x2FF0, [1, 2], [0xFF, 0xFF], nb)
    apply_write(golden, 0x3008, [7], [0xFF], nb)
    assert np.array_equal(np.frombuffer(model.read(0, MEM_SIZE), dtype=np.uint8), golden)
    assert model.beats_read == 32 + 4 + 4 + 256


@pytest.mark.parametrize(
    "channel, addr, beats, message",
    [
        ("rd_req", 0x104, 2, "not aligned"),
        ("wr_req", 0x102, 1, "not aligned"),
        ("rd_req", 0x100, 0, "0 beats"),
        ("wr_req", 0x100, 257, "257 beats"),
        ("rd_req", 0xFF8, 2, "crosses a 4 KiB boundary"),
        ("wr_req", 0x1F00, 64, "crosses a 4 KiB boundary"),
        ("rd_req", MEM_SIZE, 1, "outside the memory"),
    ],
)
def test_bad_request_raises(channel, addr, beats, message):
    model = MemoryModel(MEM_SIZE)
    m, master, slave = loopback(64)

    async def tb(ctx):
        ctx.set(master.wr_rsp.ready, 1)
        ctx.set(master.rd_rsp.ready, 1)
        await stream_put(ctx, getattr(master, channel), {"addr": addr, "beats": beats})
        await ticks(ctx, 4)

    with pytest.raises(AssertionError, match=f"{channel}: .*{message}"):
        run_simulation(m, lambda sim: model.add_to(sim, slave), testbenches=[tb])


class _AlwaysStall:
    def random(self):
        return 0.0


def test_handshake_violation_raises():
    """Dropping valid before the request is accepted breaks the stream rule."""
    model = MemoryModel(MEM_SIZE, rng=_AlwaysStall())
    m, master, slave = loopback(64)

    async def tb(ctx):
        ctx.set(master.rd_req.payload, {"addr": 0, "beats": 1})
        ctx.set(master.rd_req.valid, 1)
        await ctx.tick()
        ctx.set(master.rd_req.valid, 0)
        await ticks(ctx, 3)

    with pytest.raises(AssertionError, match="rd_req: valid dropped or payload changed"):
        run_simulation(m, lambda sim: model.add_to(sim, slave), testbenches=[tb])


def test_write_data_before_request():
    model = MemoryModel(MEM_SIZE)
    m, master, slave = loopback(32)
    result = {}

    async def tb(ctx):
        for i, word in enumerate((0xDEADBEEF, 0x01234567, 0x89ABCDEF)):
            payload = {"data": word, "strb": 0xF, "last": int(i == 2)}
            await stream_put(ctx, master.wr_data, payload)
        await ticks(ctx, 5)
        assert model.read(0x800, 12) == bytes(12)  # nothing written before the request
        await stream_put(ctx, master.wr_req, {"addr": 0x800, "beats": 3})
        result["rsp"] = await stream_get(ctx, master.wr_rsp)

    run_simulation(m, lambda sim: model.add_to(sim, slave), testbenches=[tb])
    assert result["rsp"].error == 0
    assert model.read(0x800, 12) == bytes.fromhex("efbeadde67452301efcdab89")


@pytest.mark.parametrize(
    "data_beats, message", [(2, "last came on beat 2"), (4, "no last on beat 3")]
)
def test_write_beat_count_mismatch_raises(data_beats, message):
    model = MemoryModel(MEM_SIZE)
    m, master, slave = loopback(64)

    async def tb(ctx):
        ctx.set(master.wr_rsp.ready, 1)
        await stream_put(ctx, master.wr_req, {"addr": 0, "beats": 3})
        for i in range(data_beats):
            payload = {"data": i, "strb": 0xFF, "last": int(i == data_beats - 1)}
            await stream_put(ctx, master.wr_data, payload)
        await ticks(ctx, 3)

    with pytest.raises(AssertionError, match=f"wr_data: burst 0x0 announced 3 beats, {message}"):
        run_simulation(m, lambda sim: model.add_to(sim, slave), testbenches=[tb])


def test_stream_helpers_through_fifo():
    """stream_put/stream_get/stream_assert with random gaps keep order and lose nothing."""
    fifo = SyncFIFOBuffered(width=16, depth=4)
    rng = random.Random(3)
    values = [rng.getrandbits(16) for _ in range(200)]
    received = []

    async def producer(ctx):
        for value in values:
            await stream_put(ctx, fifo.w_stream, value, rng=rng, gap=0.4)

    async def consumer(ctx):
        for _ in range(100):
            received.append(await stream_get(ctx, fifo.r_stream, rng=rng, stall=0.4))
        for value in values[100:]:
            await stream_assert(ctx, fifo.r_stream, value, rng=rng, stall=0.4)

    run_simulation(fifo, testbenches=[producer, consumer])
    assert received == values[:100]


def test_stream_assert_detects_mismatch():
    fifo = SyncFIFOBuffered(width=8, depth=2)

    async def producer(ctx):
        await stream_put(ctx, fifo.w_stream, 0x5A)

    async def consumer(ctx):
        await stream_assert(ctx, fifo.r_stream, 0x5B)

    with pytest.raises(AssertionError, match="90 != 91"):
        run_simulation(fifo, testbenches=[producer, consumer])


test_constructor_validation = rejects(
    MemoryModel,
    [
        ({"size": 0}, "memory size must be a positive integer"),
        ({"size": 64, "read_latency": 0}, "read_latency must be an integer ≥ 1"),
        ({"size": 64, "write_latency": 0}, "write_latency must be an integer ≥ 1"),
        ({"size": 64, "stall_probability": 1.0}, r"stall_probability must be in \[0, 1\)"),
        ({"size": 64, "max_outstanding": 0}, "max_outstanding must be a positive integer"),
        ({"size": 64, "error_ranges": [(8, 8)]}, "error range must satisfy"),
        ({"size": 64, "error_ranges": [(0, 8, 1)]}, "error response must be SLVERR"),
    ],
)


def test_host_access():
    model = MemoryModel(256, base=0x8000_0000)
    model.write(0x8000_0010, np.arange(4, dtype=np.int32))
    assert model.read(0x8000_0010, 8) == bytes([0, 0, 0, 0, 1, 0, 0, 0])
    with pytest.raises(AssertionError, match="outside the memory"):
        model.read(0x8000_00FF, 2)
    with pytest.raises(AssertionError, match="outside the memory"):
        model.write(0x7FFF_FFFF, b"x")
