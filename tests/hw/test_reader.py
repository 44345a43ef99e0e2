# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.reader.ReadDMA against accel.verif.models.MemoryModel.

Each client's received beats are compared with the memory contents read directly from the
host-side copy (a NumPy/bytes golden independent of the DMA). The memory model checks every
request against the port rules (alignment, 1..256 beats, no 4 KiB crossing, inside memory);
the tests add the ``max_burst`` limit and count bursts in flight with a handshake monitor.
"""

import random
from types import SimpleNamespace

import pytest
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out
from helpers import DMA_PARAMETER_ERRORS, PAGE, finish_dma_trace, paged_memory, rejects, run_dma

from accel.hw.reader import ReadDMA, read_command_layout, read_data_layout
from accel.verif.models import stream_get, stream_put


def random_commands(rng, n, nbytes, size, max_beats=300):
    """n commands (addr, beats): aligned, inside ``size`` bytes, often crossing 4 KiB."""
    cmds = []
    for _ in range(n):
        beats = rng.randint(1, max_beats)
        span = beats * nbytes
        if rng.random() < 0.5:  # start just below a page boundary
            addr = PAGE * rng.randint(1, size // PAGE - 1) - nbytes * rng.randint(1, 40)
        else:
            addr = nbytes * rng.randrange((size - span) // nbytes)
        cmds.append((max(0, min(addr, size - span)), beats))
    return cmds


def expected_beats(mem, nbytes, cmds, error_pages=()):
    """(data, last) per beat; beats in an error page read as 0 (the model's behaviour)."""
    out = []
    for addr, beats in cmds:
        for k in range(beats):
            a = addr + k * nbytes
            data = 0 if a // PAGE in error_pages else int.from_bytes(mem[a : a + nbytes], "little")
            out.append((data, int(k == beats - 1)))
    return out


def run_reader(
    dut,
    mem,
    per_client,
    *,
    seed=1,
    gap=0.0,
    stall=0.0,
    mem_stall=0.0,
    error_pages=(),
    clear_at_end=False,
    clear_edge=None,
    max_cycles=100_000,
):
    """Drive ``per_client[i]`` commands on client i and collect its data.

    ``gap``: probability of an idle cycle before each command (a float, or one per client);
    ``stall``: probability that a client is not ready; ``mem_stall``: memory stall
    probability. ``clear`` is high in the cycle before edge ``clear_edge`` (if given).
    Returns ``(received, model, trace)``; ``trace`` holds the handshake edges
    (index of the clock edge, from 1) of every channel, the idle trace and the final status.
    """
    rng = random.Random(seed)
    gaps = gap if isinstance(gap, list) else [gap] * len(per_client)
    nbytes = dut.data_width // 8
    model = paged_memory(len(mem), seed=seed, mem_stall=mem_stall, error_pages=error_pages)
    model.write(0, mem)
    want = [len(expected_beats(mem, nbytes, cmds)) for cmds in per_client]
    received = [[] for _ in per_client]
    trace = SimpleNamespace(
        cmd=[[] for _ in per_client],  # edges of command handshakes, per client
        data=[[] for _ in per_client],  # edges of data beats, per client
        req=[],  # (edge, addr, beats) of rd_req handshakes
        rsp=[],  # edges of rd_rsp handshakes
        idle=[],  # idle[k]: idle during cycle k (sampled at edge k + 1)
        max_in_flight=0,  # bursts requested and not fully answered
        status={},
    )

    def driver(i):
        async def tb(ctx):
            for addr, beats in per_client[i]:
                await stream_put(
                    ctx, dut.cmd[i], {"addr": addr, "beats": beats}, rng=rng, gap=gaps[i]
                )

        return tb

    def sink(i):
        async def tb(ctx):
            while len(received[i]) < want[i]:
                beat = await stream_get(ctx, dut.data[i], rng=rng if stall else None, stall=stall)
                received[i].append((beat.data, beat.last))

        return tb

    async def monitor(ctx):
        """Observe every handshake at its clock edge; stop when every client has its data."""
        signals = [
            dut.idle,
            dut.rd_req.valid,
            dut.rd_req.ready,
            dut.rd_req.payload,
            dut.rd_rsp.valid,
            dut.rd_rsp.ready,
            dut.rd_rsp.payload,
        ]
        for i in range(len(per_client)):
            signals += [dut.cmd[i].valid, dut.cmd[i].ready, dut.data[i].valid, dut.data[i].ready]
        edge = in_flight = 0
        while any(len(trace.data[i]) < want[i] for i in range(len(per_client))):
            ctx.set(dut.clear, edge + 1 == clear_edge)
            _, _, idle, qv, qr, req, rv, rr, rsp, *clients = await ctx.tick().sample(*signals)
            edge += 1
            assert edge < max_cycles, "timeout"
            trace.idle.append(idle)
            if qv and qr:
                trace.req.append((edge, req.addr, req.beats))
                in_flight += 1
                trace.max_in_flight = max(trace.max_in_flight, in_flight)
            if rv and rr:
                trace.rsp.append(edge)
                in_flight -= rsp.last
            for i in range(len(per_client)):
                cv, cr, dv, dr = clients[4 * i : 4 * i + 4]
                if cv and cr:
                    trace.cmd[i].append(edge)
                if dv and dr:
                    trace.data[i].append(edge)
        await finish_dma_trace(ctx, dut, trace, "beats_read", settle=2, clear_at_end=clear_at_end)

    run_dma(
        dut, model, monitor, [tb for i in range(len(per_client)) for tb in (driver(i), sink(i))]
    )
    assert all(1 <= beats <= dut.max_burst for _, _, beats in trace.req)
    return received, model, trace


@pytest.mark.parametrize(
    "data_width, clients, max_burst, outstanding, n_cmds",
    [(64, 3, 16, 4, 10), (32, 2, 8, 2, 8), (128, 1, 256, 1, 6)],
)
def test_random_commands(data_width, clients, max_burst, outstanding, n_cmds):
    rng = random.Random(data_width + clients)
    nbytes = data_width // 8
    mem = rng.randbytes(64 * 1024)
    per_client = [random_commands(rng, n_cmds, nbytes, len(mem)) for _ in range(clients)]
    dut = ReadDMA(data_width, clients, max_burst, outstanding)
    received, model, trace = run_reader(
        dut, mem, per_client, seed=data_width, gap=0.3, stall=0.3, mem_stall=0.3
    )
    for i, cmds in enumerate(per_client):
        assert received[i] == expected_beats(mem, nbytes, cmds), f"client {i}"
    total = sum(beats for cmds in per_client for _, beats in cmds)
    assert sum(entry["beats"] for entry in model.read_log) == total
    assert trace.max_in_flight == outstanding  # overlapping, within the limit
    assert trace.status == {"idle": 1, "error": 0, "beats_read": total}


def test_full_throughput():
    """One beat per cycle with a memory that never stalls and an always-ready client."""
    rng = random.Random(5)
    mem = rng.randbytes(16 * 1024)
    cmds = [(PAGE - 8 * 37, 700)]  # crosses 4 KiB; 45 bursts
    dut = ReadDMA()
    received, model, trace = run_reader(dut, mem, [cmds, [], []])
    assert received[0] == expected_beats(mem, 8, cmds)
    # Command handshake (edge 1), request loaded (2), request taken (3), first beat (4).
    assert trace.cmd[0] == [1]
    assert trace.data[0] == list(range(4, 4 + 700))
    assert [beats for _, _, beats in trace.req[:4]] == [16, 16, 5, 16]  # 37 = 16 + 16 + 5
    # Busy from the cycle after the command handshake until the cycle of the last beat.
    last = trace.data[0][-1]
    assert trace.idle[0] == 1 and set(trace.idle[1:last]) == {0} and trace.idle[last] == 1


def test_short_commands_back_to_back():
    """One-beat commands of one client are accepted and served one per cycle."""
    rng = random.Random(9)
    mem = rng.randbytes(8 * 1024)
    cmds = [(8 * rng.randrange(1024), 1) for _ in range(40)]
    dut = ReadDMA(clients=2)
    received, model, trace = run_reader(dut, mem, [[], cmds])
    assert received[1] == expected_beats(mem, 8, cmds)
    assert trace.cmd[1] == list(range(1, 41))
    assert trace.data[1] == list(range(4, 44))


def test_priority():
    """Client 0 overtakes a long command of client 2 after at most one burst."""
    rng = random.Random(6)
    mem = rng.randbytes(32 * 1024)
    low = [(16 * 1024, 1000)]  # client 2: 63 bursts
    high = [(0, 100), (4096 + 64, 20)]  # client 0: 7 bursts, then 2
    per_client = [high, [], low]
    dut = ReadDMA()
    # Client 0 waits ~30 cycles (gap) so that client 2 is already streaming.
    received, model, trace = run_reader(dut, mem, per_client, seed=11, gap=[0.97, 0.0, 0.0])
    for i, cmds in enumerate(per_client):
        assert received[i] == expected_beats(mem, 8, cmds)
    owner = [(edge, 0 if addr < 16 * 1024 else 2) for edge, addr, _ in trace.req]
    assert owner[0] == (trace.cmd[2][0] + 2, 2)  # client 2 really started first
    for cmd_edge, n_bursts in zip(trace.cmd[0], (7, 2), strict=True):
        first = next(k for k, (edge, c) in enumerate(owner) if c == 0 and edge > cmd_edge)
        low_after_cmd = [k for k, (edge, c) in enumerate(owner[:first]) if edge > cmd_edge]
        assert len(low_after_cmd) <= 1
        # Fixed priority: the whole command of client 0 goes before client 2 continues.
        assert [c for _, c in owner[first : first + n_bursts]] == [0] * n_bursts
    assert [c for _, c in owner].count(0) == 9
    assert trace.status["idle"] == 1


def test_error_is_sticky_and_cleared():
    rng = random.Random(7)
    mem = rng.randbytes(16 * 1024)
    per_client = [random_commands(rng, 3, 8, len(mem), 60) for _ in range(3)]
    per_client[1].append((2 * PAGE + 800, 5))  # reads from the error page
    dut = ReadDMA()
    received, model, trace = run_reader(
        dut, mem, per_client, seed=3, mem_stall=0.2, error_pages=[2], clear_at_end=True
    )
    for i, cmds in enumerate(per_client):
        assert received[i] == expected_beats(mem, 8, cmds, error_pages=[2])
    total = sum(b for cmds in per_client for _, b in cmds)
    assert trace.status == {
        "idle": 1,
        "error": 1,
        "beats_read": total,
        "error_after_clear": 0,
        "beats_after_clear": 0,
    }


def test_clear_while_busy():
    """Beats received in the cycle of ``clear`` and later are counted; earlier ones are not."""
    rng = random.Random(10)
    mem = rng.randbytes(16 * 1024)
    per_client = [[(0, 50)], [(5000, 60)], [(9000, 70)]]
    dut = ReadDMA()
    received, model, trace = run_reader(dut, mem, per_client, clear_edge=60)
    assert trace.rsp[0] < 60 and 60 in trace.rsp  # beats before and at the clearing edge
    assert trace.status["beats_read"] == len([e for e in trace.rsp if e >= 60])


def test_error_stays_clear_without_errors():
    rng = random.Random(7)
    mem = rng.randbytes(16 * 1024)
    per_client = [[(0, 40)], [(5 * 1024, 60)], [(3 * PAGE + 8, 8)]]
    dut = ReadDMA()
    received, model, trace = run_reader(dut, mem, per_client, error_pages=[2])
    assert trace.status == {"idle": 1, "error": 0, "beats_read": 108}


def test_zero_beat_command_is_dropped():
    rng = random.Random(8)
    mem = rng.randbytes(8 * 1024)
    dut = ReadDMA(clients=1)
    received, model, trace = run_reader(dut, mem, [[(64, 0), (128, 3), (0, 0), (8, 1)]])
    assert received[0] == expected_beats(mem, 8, [(128, 3), (8, 1)])
    assert [(a, b) for _, a, b in trace.req] == [(128, 3), (8, 1)]
    assert trace.status["idle"] == 1


def test_members():
    dut = ReadDMA(clients=2)
    members = dut.signature.members
    assert set(members) == {
        "rd_req",
        "rd_rsp",
        "error",
        "beats_read",
        "clear",
        "idle",
        "cmd",
        "data",
    }
    assert members["cmd"].dimensions == (2,) and members["cmd"].flow == In
    assert members["data"].dimensions == (2,) and members["data"].flow == Out
    assert len(dut.cmd) == 2 and len(dut.data) == 2
    assert dut.cmd[1].signature == stream.Signature(read_command_layout()).flip()
    assert dut.data[0].signature == stream.Signature(read_data_layout(64))


test_parameter_validation = rejects(
    ReadDMA,
    [*DMA_PARAMETER_ERRORS, ({"clients": 0}, "clients"), ({"outstanding": 0}, "outstanding")],
)
