# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.writer.OutputWriter against accel.verif.models.MemoryModel.

The memory is pre-filled with a pattern; after the run it must equal, byte for byte, a golden
bytearray in which only the regions were overwritten (in command order). The burst list is
checked against an independent Python split of each region (whole beats covering the region,
at most ``max_burst`` beats, never crossing 4 KiB). Byte-stream transfers carry random counts
in 0..lanes (``count == 0`` transfers are allowed and must be ignored) with random gaps.
"""

import random
from types import SimpleNamespace

import pytest
from helpers import DMA_PARAMETER_ERRORS, PAGE, finish_dma_trace, paged_memory, rejects, run_dma

from accel.hw.writer import OutputWriter
from accel.verif.models import stream_put


def pattern(size):
    return bytearray((i * 37 + 11) & 0xFF for i in range(size))


def golden_bursts(regions, nbytes, max_burst):
    """(addr, beats) of every burst, computed from the port rules alone."""
    bursts = []
    for addr, length in regions:
        if length == 0:
            continue
        beat = addr // nbytes
        end = (addr + length - 1) // nbytes + 1
        while beat < end:
            page_end = (beat * nbytes // PAGE + 1) * PAGE // nbytes
            n = min(end - beat, max_burst, page_end - beat)
            bursts.append((beat * nbytes, n))
            beat += n
    return bursts


def random_regions(rng, n, size, max_length=600):
    regions = []
    for _ in range(n):
        length = rng.randint(1, max_length)
        if rng.random() < 0.5:  # straddle a page boundary
            addr = PAGE * rng.randint(1, size // PAGE - 1) - rng.randint(1, length)
        else:
            addr = rng.randrange(size - length)
        regions.append((max(0, min(addr, size - length)), length))
    return regions


def split(rng, payload, lanes, zero_counts=True):
    """Random transfers (count, bytes) covering ``payload``; counts in 0..lanes."""
    transfers, pos = [], 0
    while pos < len(payload):
        count = min(rng.randint(0 if zero_counts else 1, lanes), len(payload) - pos)
        chunk = list(payload[pos : pos + count])
        chunk += [rng.randrange(256) for _ in range(lanes - count)]  # garbage in unused lanes
        transfers.append((count, chunk))
        pos += count
    return transfers


def run_writer(
    dut,
    regions,
    payloads,
    *,
    size,
    seed=1,
    cmd_gap=0.0,
    data_gap=0.0,
    mem_stall=0.0,
    error_pages=(),
    transfers=None,
    clear_at_end=False,
    clear_edge=None,
    max_cycles=100_000,
):
    """Write ``regions`` with ``payloads``; return (model, trace).

    ``transfers``: per region, a list of (count, bytes) transfers (default: one full transfer
    per ``lanes`` bytes). ``clear`` is high in the cycle before edge ``clear_edge`` (if given).
    ``trace`` holds handshake edges (clock edge index, from 1) of every channel, the idle trace
    and the final status.
    """
    rng = random.Random(seed)
    lanes = dut.lanes
    if transfers is None:
        transfers = [
            [(len(p[k : k + lanes]), list(p[k : k + lanes]) + [0] * (lanes - len(p[k : k + lanes])))
             for k in range(0, len(p), lanes)]
            for p in payloads
        ]  # fmt: skip
    model = paged_memory(size, seed=seed, mem_stall=mem_stall, error_pages=error_pages)
    model.write(0, pattern(size))
    n_bursts = len(golden_bursts(regions, dut.data_width // 8, dut.max_burst))
    trace = SimpleNamespace(
        cmd=[], data=[], req=[], beat=[], rsp=[], idle=[], status={}, max_pending_data=0
    )

    async def cmd_driver(ctx):
        for addr, length in regions:
            await stream_put(ctx, dut.cmd, {"addr": addr, "length": length}, rng=rng, gap=cmd_gap)

    async def data_driver(ctx):
        for region in transfers:
            for count, chunk in region:
                await stream_put(
                    ctx, dut.data, {"bytes": chunk, "count": count}, rng=rng, gap=data_gap
                )

    async def monitor(ctx):
        signals = [dut.idle, dut.cmd.valid, dut.cmd.ready, dut.data.valid, dut.data.ready,
                   dut.wr_req.valid, dut.wr_req.ready, dut.wr_req.payload,
                   dut.wr_data.valid, dut.wr_data.ready, dut.wr_data.payload,
                   dut.wr_rsp.valid, dut.wr_rsp.ready]  # fmt: skip
        edge = 0
        while len(trace.rsp) < n_bursts:
            ctx.set(dut.clear, edge + 1 == clear_edge)
            _, _, idle, cv, cr, dv, dr, qv, qr, req, wv, wr, beat, rv, rr = await ctx.tick().sample(
                *signals
            )
            edge += 1
            assert edge < max_cycles, "timeout"
            trace.idle.append(idle)
            if cv and cr:
                trace.cmd.append(edge)
            if dv and dr:
                trace.data.append(edge)
            if qv and qr:
                trace.req.append((edge, req.addr, req.beats))
            if wv and wr:
                trace.beat.append((edge, beat.strb, beat.last))
                # The request of every data beat has been accepted at an earlier edge.
                assert len(trace.beat) <= sum(b for e, _, b in trace.req if e < edge)
            if rv and rr:
                trace.rsp.append(edge)
        await finish_dma_trace(
            ctx, dut, trace, "bytes_written", settle=3, clear_at_end=clear_at_end
        )

    run_dma(dut, model, monitor, [cmd_driver, data_driver])
    return model, trace


def golden_memory(size, regions, payloads, error_pages=()):
    golden = pattern(size)
    for (addr, length), payload in zip(regions, payloads, strict=True):
        assert len(payload) == length
        for k in range(length):
            if (addr + k) // PAGE not in error_pages:
                golden[addr + k] = payload[k]
    return golden


@pytest.mark.parametrize(
    "data_width, lanes, max_burst, n_regions",
    [(64, 8, 16, 30), (64, 4, 16, 20), (64, 16, 8, 30), (32, 4, 16, 20), (32, 8, 4, 20)],
)
def test_random_regions(data_width, lanes, max_burst, n_regions):
    rng = random.Random(data_width * 100 + lanes)
    size = 16 * 1024
    nbytes = data_width // 8
    regions = random_regions(rng, n_regions, size)
    payloads = [rng.randbytes(length) for _, length in regions]
    transfers = [split(rng, p, lanes) for p in payloads]
    dut = OutputWriter(data_width, lanes, max_burst)
    model, trace = run_writer(
        dut, regions, payloads, size=size, seed=lanes, cmd_gap=0.3, data_gap=0.3,
        mem_stall=0.3, transfers=transfers,
    )  # fmt: skip
    assert model.mem == golden_memory(size, regions, payloads)
    assert [(e["addr"], e["beats"]) for e in model.write_log] == golden_bursts(
        regions, nbytes, max_burst
    )
    total = sum(length for _, length in regions)
    assert trace.status == {"idle": 1, "error": 0, "bytes_written": total}


def test_strobes_of_unaligned_region():
    """Leading and trailing bytes of partial beats have their strobes clear."""
    regions = [(4096 - 13, 30), (100, 3), (203, 5)]  # 5 beats in 2 bursts; 1 beat; 1 beat
    payloads = [bytes(range(1, 31)), b"abc", b"vwxyz"]
    dut = OutputWriter()
    model, trace = run_writer(dut, regions, payloads, size=8192)
    assert [(strb, last) for _, strb, last in trace.beat] == [
        (0b11111000, 0), (0b11111111, 1),  # 4083..4095, a burst ending at 4 KiB
        (0b11111111, 0), (0b11111111, 0), (0b00000001, 1),  # 4096..4112
        (0b01110000, 1),  # 100..102
        (0b11111000, 1),  # 203..207
    ]  # fmt: skip
    assert model.mem == golden_memory(8192, regions, payloads)
    assert trace.status["bytes_written"] == 38


@pytest.mark.parametrize("lanes, beat_every", [(8, 1), (16, 1), (4, 2)])
def test_full_throughput(lanes, beat_every):
    """One beat per cycle when lanes >= bus bytes and input and memory never stall."""
    rng = random.Random(lanes)
    regions = [(4096 - 3 * 64 + 5, 1000)]  # unaligned, crosses 4 KiB: 126 beats
    payloads = [rng.randbytes(1000)]
    dut = OutputWriter(lanes=lanes)
    model, trace = run_writer(dut, regions, payloads, size=8192)
    assert model.mem == golden_memory(8192, regions, payloads)
    edges = [edge for edge, _, _ in trace.beat]
    assert len(edges) == 126
    # Steady state: a beat every `beat_every` cycles (the last, partial beat may come sooner).
    gaps = [b - a for a, b in zip(edges, edges[1:], strict=False)]
    assert gaps[:-1] == [beat_every] * 124 and gaps[-1] <= beat_every
    # Busy from the command handshake until the last response.
    assert set(trace.idle[trace.cmd[0] : trace.rsp[-1]]) == {0} and trace.idle[-1] == 1


def test_small_regions_back_to_back():
    """Aligned one-beat regions stream at one beat per cycle."""
    rng = random.Random(3)
    regions = [(8 * rng.randrange(1000), 8) for _ in range(30)]
    payloads = [rng.randbytes(8) for _ in regions]
    dut = OutputWriter()
    model, trace = run_writer(dut, regions, payloads, size=8192)
    assert model.mem == golden_memory(8192, regions, payloads)
    edges = [edge for edge, _, _ in trace.beat]
    assert edges == list(range(edges[0], edges[0] + 30))


def test_error_is_sticky_and_cleared():
    rng = random.Random(9)
    size = 16 * 1024
    regions = random_regions(rng, 6, size, 300) + [(2 * PAGE - 10, 40), (100, 10)]
    payloads = [rng.randbytes(length) for _, length in regions]
    transfers = [split(rng, p, 8) for p in payloads]
    dut = OutputWriter()
    model, trace = run_writer(
        dut, regions, payloads, size=size, mem_stall=0.2, error_pages=[1], transfers=transfers,
        clear_at_end=True,
    )  # fmt: skip
    assert model.mem == golden_memory(size, regions, payloads, error_pages=[1])
    assert trace.status == {
        "idle": 1,
        "error": 1,
        "bytes_written": sum(length for _, length in regions),
        "error_after_clear": 0,
        "bytes_after_clear": 0,
    }


def test_clear_while_busy():
    """Bytes of beats written in the cycle of ``clear`` and later are counted."""
    rng = random.Random(4)
    regions = [(3, 500)]
    payloads = [rng.randbytes(500)]
    dut = OutputWriter()
    model, trace = run_writer(dut, regions, payloads, size=4096, clear_edge=40)
    assert trace.beat[0][0] < 40 and 40 in [edge for edge, _, _ in trace.beat]
    counted = sum(bin(strb).count("1") for edge, strb, _ in trace.beat if edge >= 40)
    assert trace.status["bytes_written"] == counted


def test_error_stays_clear_without_errors():
    regions = [(10, 100), (3 * PAGE - 50, 100)]
    payloads = [bytes(100), bytes(range(100))]
    dut = OutputWriter()
    model, trace = run_writer(dut, regions, payloads, size=16 * 1024, error_pages=[1])
    assert model.mem == golden_memory(16 * 1024, regions, payloads)
    assert trace.status == {"idle": 1, "error": 0, "bytes_written": 200}


def test_zero_length_region_is_dropped():
    regions = [(5, 0), (17, 9), (0, 0), (40, 1)]
    payloads = [b"", b"123456789", b"", b"!"]
    dut = OutputWriter()
    model, trace = run_writer(dut, regions, payloads, size=4096)
    assert model.mem == golden_memory(4096, regions, payloads)
    assert [(e["addr"], e["beats"]) for e in model.write_log] == [(16, 2), (40, 1)]


test_parameter_validation = rejects(
    OutputWriter, [*DMA_PARAMETER_ERRORS, ({"lanes": 0}, "lanes"), ({"lanes": 65}, "lanes")]
)


def test_request_precedes_data_under_stalls():
    """Every data beat follows the acceptance of its request, even when requests stall."""
    rng = random.Random(12)
    size = 16 * 1024
    regions = random_regions(rng, 12, size, 200)
    payloads = [rng.randbytes(length) for _, length in regions]
    dut = OutputWriter(lanes=16, max_burst=1)
    model, trace = run_writer(dut, regions, payloads, size=size, seed=5, mem_stall=0.6)
    assert model.mem == golden_memory(size, regions, payloads)  # the monitor checks the order


def test_overlong_transfer_is_truncated():
    """Bytes beyond a region's length are dropped; the next transfer starts the next region."""
    regions = [(3, 5), (20, 4)]
    payloads = [b"ABCDE", b"wxyz"]
    transfers = [[(8, list(b"ABCDEFGH"))], [(4, list(b"wxyz????"))]]
    dut = OutputWriter()
    model, trace = run_writer(dut, regions, payloads, size=4096, transfers=transfers)
    assert model.mem == golden_memory(4096, regions, payloads)
    assert trace.status["bytes_written"] == 9
