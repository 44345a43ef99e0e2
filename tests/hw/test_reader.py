# amaranth: UnusedElaboratable=no
"""Tests of accel.hw.reader.ReadDMA against a Python memory model.

Each client's received beats are compared with the memory contents read directly in Python;
the memory model checks every request against the port rules (alignment, 1..max_burst beats,
no 4 KiB crossing) and counts bursts in flight.
"""

import random
from collections import deque

import pytest
from amaranth.sim import Simulator

from accel.hw.reader import ReadDMA

PAGE = 4096


class ReadMemory:
    """Read side of a memport slave with random stalls and error injection.

    One background testbench serves ``rd_req``/``rd_rsp`` of ``port``; responses come back in
    request order, one cycle after the request at the earliest. Requests are logged with the
    index of the clock edge at which they were accepted.
    """

    def __init__(self, port, data_width, contents, *, max_burst, stall=0.0, error_rate=0.0,
                 seed=0):
        self.port = port
        self.nbytes = data_width // 8
        self.mem = contents
        self.max_burst = max_burst
        self.stall = stall
        self.error_rate = error_rate
        self.rng = random.Random(seed)
        self.requests = []  # (edge, addr, beats)
        self.max_in_flight = 0
        self.errors = 0

    def check_request(self, addr, beats):
        assert addr % self.nbytes == 0, f"unaligned read address {addr:#x}"
        assert 1 <= beats <= self.max_burst, f"bad burst length {beats}"
        assert addr % PAGE + beats * self.nbytes <= PAGE, f"burst {addr:#x}+{beats} crosses 4 KiB"
        assert addr + beats * self.nbytes <= len(self.mem), f"read outside memory at {addr:#x}"

    def beat(self, addr):
        return int.from_bytes(self.mem[addr : addr + self.nbytes], "little")

    async def process(self, ctx):
        rd_req, rd_rsp = self.port.rd_req, self.port.rd_rsp
        queue = deque()  # [addr, beats left]
        edge = 0
        while True:
            req_ready = self.rng.random() >= self.stall
            ctx.set(rd_req.ready, req_ready)
            presenting = bool(queue) and self.rng.random() >= self.stall
            if presenting:
                addr, left = queue[0]
                error = self.rng.random() < self.error_rate
                ctx.set(
                    rd_rsp.payload,
                    {"data": self.beat(addr), "last": left == 1, "error": error},
                )
            ctx.set(rd_rsp.valid, presenting)
            _, _, req_valid, req, rsp_ready = await ctx.tick().sample(
                rd_req.valid, rd_req.payload, rd_rsp.ready
            )
            edge += 1
            if presenting and rsp_ready:
                self.errors += error
                queue[0][0] += self.nbytes
                queue[0][1] -= 1
                if queue[0][1] == 0:
                    queue.popleft()
            if req_valid and req_ready:
                self.check_request(req.addr, req.beats)
                self.requests.append((edge, req.addr, req.beats))
                queue.append([req.addr, req.beats])
                self.max_in_flight = max(self.max_in_flight, len(queue))


def random_commands(rng, n, nbytes, size, max_beats=300):
    """n commands (addr, beats): aligned, inside ``size`` bytes, often crossing 4 KiB."""
    cmds = []
    for _ in range(n):
        beats = rng.randint(1, max_beats)
        span = beats * nbytes
        if rng.random() < 0.5:  # start just below a page boundary
            page = rng.randrange(PAGE, size - span, PAGE) if size - span > PAGE else PAGE
            addr = page - nbytes * rng.randint(1, 40)
        else:
            addr = nbytes * rng.randrange((size - span) // nbytes)
        addr = max(0, min(addr, size - span))
        cmds.append((addr, beats))
    return cmds


def expected_beats(mem, nbytes, cmds):
    out = []
    for addr, beats in cmds:
        for k in range(beats):
            a = addr + k * nbytes
            out.append((int.from_bytes(mem[a : a + nbytes], "little"), int(k == beats - 1)))
    return out


def run_reader(dut, mem, per_client, *, seed=1, gap=0.0, ready=1.0, stall=0.0, error_rate=0.0,
               clear_at_end=False, max_cycles=100_000):
    """Drive ``per_client[i]`` commands on client i (random gaps before each command with
    probability ``gap`` per cycle, a float or one per client; ``ready``: probability that a
    client is ready). Returns (received beats, model, status, command and beat edge indices).
    """
    rng = random.Random(seed)
    gaps = gap if isinstance(gap, list) else [gap] * len(per_client)
    model = ReadMemory(dut, dut.data_width, mem, max_burst=dut.max_burst, stall=stall,
                       error_rate=error_rate, seed=seed + 1)
    want = [len(expected_beats(mem, model.nbytes, cmds)) for cmds in per_client]
    received = [[] for _ in per_client]
    accepted = [[] for _ in per_client]  # edge index of each command handshake
    beat_edges = [[] for _ in per_client]  # edge index of each data beat
    status = {}

    def driver(i):
        async def tb(ctx):
            cmd, edge = dut.cmd[i], 0
            for addr, beats in per_client[i]:
                while rng.random() < gaps[i]:
                    await ctx.tick()
                    edge += 1
                ctx.set(cmd.payload, {"addr": addr, "beats": beats})
                ctx.set(cmd.valid, 1)
                while True:
                    _, _, taken = await ctx.tick().sample(cmd.ready)
                    edge += 1
                    if taken:
                        break
                accepted[i].append(edge)
                ctx.set(cmd.valid, 0)

        return tb

    def sink(i):
        async def tb(ctx):
            stream, edge = dut.data[i], 0
            while len(received[i]) < want[i]:
                r = rng.random() < ready
                ctx.set(stream.ready, r)
                _, _, valid, payload = await ctx.tick().sample(stream.valid, stream.payload)
                edge += 1
                if valid and r:
                    received[i].append((payload.data, payload.last))
                    beat_edges[i].append(edge)
            ctx.set(stream.ready, 1)

        return tb

    async def finisher(ctx):
        cycles = 0
        status["idle_trace"] = trace = []  # trace[k]: idle during cycle k (before edge k + 1)
        while any(len(r) < w for r, w in zip(received, want, strict=True)):
            _, _, idle = await ctx.tick().sample(dut.idle)
            trace.append(idle)
            cycles += 1
            assert cycles < max_cycles, "timeout"
        await ctx.tick().repeat(2)
        status["idle"] = ctx.get(dut.idle)
        status["error"] = ctx.get(dut.error)
        status["beats_read"] = ctx.get(dut.beats_read)
        status["cycles"] = cycles
        if clear_at_end:
            ctx.set(dut.clear, 1)
            await ctx.tick()
            ctx.set(dut.clear, 0)
            status["error_after_clear"] = ctx.get(dut.error)
            status["beats_after_clear"] = ctx.get(dut.beats_read)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(model.process, background=True)
    for i in range(len(per_client)):
        sim.add_testbench(driver(i), background=True)
        sim.add_testbench(sink(i))
    sim.add_testbench(finisher)
    sim.run()
    return received, model, status, (accepted, beat_edges)


@pytest.mark.parametrize(
    "data_width, clients, max_burst, outstanding, n_cmds",
    [(64, 3, 16, 4, 6), (32, 2, 8, 2, 5), (128, 1, 256, 1, 4)],
)
def test_random_commands(data_width, clients, max_burst, outstanding, n_cmds):
    rng = random.Random(data_width + clients)
    nbytes = data_width // 8
    size = 64 * 1024
    mem = bytearray(rng.randbytes(size))
    per_client = [random_commands(rng, n_cmds, nbytes, size) for _ in range(clients)]
    dut = ReadDMA(data_width, clients, max_burst, outstanding)
    received, model, status, _ = run_reader(
        dut, mem, per_client, seed=data_width, gap=0.3, ready=0.7, stall=0.3
    )
    for i, cmds in enumerate(per_client):
        assert received[i] == expected_beats(mem, nbytes, cmds), f"client {i}"
    total = sum(beats for cmds in per_client for _, beats in cmds)
    assert sum(beats for _, _, beats in model.requests) == total
    assert 1 < model.max_in_flight <= outstanding or outstanding == 1
    assert model.max_in_flight <= outstanding
    assert (status["idle"], status["error"], status["beats_read"]) == (1, 0, total)


def test_full_throughput():
    """One beat per cycle with a memory that never stalls and an always-ready client."""
    rng = random.Random(5)
    mem = bytearray(rng.randbytes(16 * 1024))
    cmds = [(PAGE - 8 * 37, 700)]  # crosses 4 KiB; 44 bursts
    dut = ReadDMA()
    received, model, status, (accepted, edges) = run_reader(dut, mem, [cmds, [], []])
    assert received[0] == expected_beats(mem, 8, cmds)
    # Command handshake (edge 1), request loaded (2), request taken (3), first beat (4).
    assert accepted[0] == [1]
    assert edges[0] == list(range(4, 4 + 700))
    assert [beats for _, _, beats in model.requests[:3]] == [16, 16, 5]  # 37 = 16 + 16 + 5
    # Busy from the cycle after the command handshake until the cycle of the last beat.
    last = edges[0][-1]
    trace = status["idle_trace"]
    assert trace[0] == 1 and set(trace[1:last]) == {0} and trace[last] == 1


def test_short_commands_back_to_back():
    """One-beat commands of one client are accepted and served one per cycle."""
    rng = random.Random(9)
    mem = bytearray(rng.randbytes(8 * 1024))
    cmds = [(8 * rng.randrange(1024), 1) for _ in range(40)]
    dut = ReadDMA(clients=2)
    received, model, status, (accepted, edges) = run_reader(dut, mem, [[], cmds])
    assert received[1] == expected_beats(mem, 8, cmds)
    assert accepted[1] == list(range(1, 41))
    assert edges[1] == list(range(4, 44))


def test_priority():
    """Client 0 overtakes a long command of client 2 after at most one burst."""
    rng = random.Random(6)
    mem = bytearray(rng.randbytes(32 * 1024))
    low = [(16 * 1024, 1000)]  # client 2: 63 bursts
    high = [(0, 100), (4096 + 64, 20)]  # client 0
    per_client = [high, [], low]
    dut = ReadDMA()
    # Client 0 waits ~40 cycles (gap) so that client 2 is already streaming.
    received, model, status, (accepted, _) = run_reader(
        dut, mem, per_client, seed=11, gap=[0.97, 0.0, 0.0]
    )
    for i, cmds in enumerate(per_client):
        assert received[i] == expected_beats(mem, 8, cmds)
    first_cmd = accepted[0][0]
    owner = [(edge, 0 if addr < 16 * 1024 else 2) for edge, addr, _ in model.requests]
    first_high = next(k for k, (_, c) in enumerate(owner) if c == 0)
    low_between = [e for e, c in owner[:first_high] if c == 2 and e > first_cmd]
    assert owner[0][1] == 2 and owner[0][0] < first_cmd  # client 2 really started first
    assert len(low_between) <= 1
    # While client 0 has a command pending, it gets every burst.
    high_bursts = [k for k, (_, c) in enumerate(owner) if c == 0]
    expected_high = sum(-(-b // 16) + (a % PAGE + 8 * b > PAGE) for a, b in high[:1])
    assert high_bursts[:expected_high] == list(range(first_high, first_high + expected_high))
    assert status["idle"] == 1


def test_error_is_sticky_and_cleared():
    rng = random.Random(7)
    mem = bytearray(rng.randbytes(16 * 1024))
    per_client = [random_commands(rng, 3, 8, len(mem), 60) for _ in range(3)]
    dut = ReadDMA()
    received, model, status, _ = run_reader(
        dut, mem, per_client, seed=3, stall=0.2, error_rate=0.02, clear_at_end=True
    )
    for i, cmds in enumerate(per_client):
        assert received[i] == expected_beats(mem, 8, cmds)  # data delivered despite errors
    total = sum(b for cmds in per_client for _, b in cmds)
    assert model.errors > 0
    assert status["error"] == 1
    assert status["beats_read"] == total
    assert status["error_after_clear"] == 0
    assert status["beats_after_clear"] == 0


def test_zero_beat_command_is_dropped():
    rng = random.Random(8)
    mem = bytearray(rng.randbytes(8 * 1024))
    dut = ReadDMA(clients=1)
    received, model, status, _ = run_reader(dut, mem, [[(64, 0), (128, 3), (0, 0), (8, 1)]])
    assert received[0] == expected_beats(mem, 8, [(128, 3), (8, 1)])
    assert [(a, b) for _, a, b in model.requests] == [(128, 3), (8, 1)]
    assert status["idle"] == 1


def test_idle_and_members():
    dut = ReadDMA(clients=2)
    assert dut.cmd[1] is dut.cmd1 and dut.data[0] is dut.data0
    assert set(dut.signature.members) == {
        "rd_req", "rd_rsp", "error", "beats_read", "clear", "idle",
        "cmd0", "data0", "cmd1", "data1",
    }  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"data_width": 48}, "data_width"),
        ({"clients": 0}, "clients"),
        ({"max_burst": 0}, "max_burst"),
        ({"max_burst": 257}, "max_burst"),
        ({"outstanding": 0}, "outstanding"),
    ],
)
def test_parameter_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReadDMA(**kwargs)
