# amaranth: UnusedElaboratable=no
"""The SoC interconnect in the Amaranth simulator: the core's two Wishbone masters and the
accelerator's AXI4 master (driven through the accelerator's own AXI4Master adapter) on one RAM,
concurrently, with random stalls on every channel.

Checks: no write lost or reordered (the RAM at the end equals the writes applied in each
master's order; every CPU read returns the latest write of that master), reads return the
memory contents, both Wishbone masters make progress (bounded wait, also against a master
that never drops ``cyc``), the DMA port's exact latencies, SLVERR for DMA bursts beyond the
RAM, the flag for unmapped CPU addresses, and the MMIO registers. With ``ram_ports=2`` (the
FPGA organisation) the same, plus: each pair of RAM ports uses one address every cycle (two
read-write ports) and the DMA's read beats wait exactly for the write beats they meet.
"""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from helpers import run_simulation

from accel.hw.axi import AXI4Master
from accel.perf import MemoryTiming
from accel.soc.interconnect import SoCInterconnect
from accel.soc.memory_map import MMIO_BASE, MMIO_REGISTERS
from accel.soc.ram_ports import READ_LATENCY, WRITE_LATENCY, soc_ram
from accel.verif.models import MemPortBurst, MemPortMaster

WIDTH = 64
NB = WIDTH // 8
RAM_BYTES = 16384
DMA_WRITE = (0, 4096)  # only the DMA writes here
SHARED_READ = (4096, 8192)  # read-only data: DMA reads and instruction fetches
CPU_DATA = (8192, 16384)  # the data bus's own region


class Fixture(wiring.Component):
    """SoCInterconnect + a RAM + the accelerator's AXI4Master in front of the DMA port (or
    nothing: ``adapter=False``, a testbench drives the AXI signals)."""

    def __init__(self, init=(), adapter=True, width=WIDTH, ram_ports=4):
        self.adapter = adapter
        self.bus = SoCInterconnect(width, RAM_BYTES, ram_ports)
        self.axi = AXI4Master(width, 32, 1)
        self.ram, self.ports = soc_ram(width, RAM_BYTES // (width // 8), list(init), ram_ports)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.bus, m.submodules.axi, m.submodules.ram = self.bus, self.axi, self.ram
        if self.adapter:
            wiring.connect(m, self.axi.axi, self.bus.dma)
        for name, port in self.ports.items():
            wiring.connect(m, getattr(self.bus, name), port)
        return m


async def wb_transfer(ctx, bus, adr, *, we=0, dat=0, sel=0xF, beats=1):
    """One Wishbone bus cycle from word address ``adr``: a classic transfer (``beats`` 1,
    cti 0) or an incrementing burst (cti 2, the last beat 7) as VexRiscv's caches issue it.
    Returns ``(data of each beat, error, cycles from stb to the last acknowledge)``."""
    ctx.set(bus.cyc, 1)
    ctx.set(bus.stb, 1)
    ctx.set(bus.we, we)
    ctx.set(bus.dat_w, dat)
    ctx.set(bus.sel, sel)
    data, cycles = [], 0
    for beat in range(beats):
        ctx.set(bus.adr, adr + beat)
        ctx.set(bus.cti, 0 if beats == 1 else 7 if beat == beats - 1 else 2)
        while True:
            cycles += 1
            _, _, ack, err, dat_r = await ctx.tick().sample(bus.ack, bus.err, bus.dat_r)
            if err:
                ctx.set(bus.cyc, 0)
                ctx.set(bus.stb, 0)
                return data, 1, cycles
            if ack:
                data.append(dat_r)
                break
    ctx.set(bus.cyc, 0)
    ctx.set(bus.stb, 0)
    return data, 0, cycles


async def idle(ctx, rng, p):
    while rng.random() < p:
        await ctx.tick()


def _word(memory, addr):
    return int.from_bytes(memory[addr : addr + 4], "little")


def _dma_bursts(rng, nb):
    bursts = []
    full = (1 << nb) - 1
    for _ in range(24):
        if rng.random() < 0.5:  # writes overlap each other: their order matters
            beats = rng.randint(1, 16)
            addr = rng.randrange(DMA_WRITE[0], DMA_WRITE[1] - beats * nb, nb)
            data = [rng.getrandbits(8 * nb) for _ in range(beats)]
            strb = [rng.choice([full, rng.getrandbits(nb)]) for _ in range(beats)]
            bursts.append(MemPortBurst(addr, beats, data, strb))
        else:
            beats = rng.randint(1, 32)
            addr = rng.randrange(SHARED_READ[0], SHARED_READ[1] - beats * nb, nb)
            bursts.append(MemPortBurst(addr, beats))
    return bursts


def _apply_writes(memory, bursts, nb):
    for burst in bursts:
        if burst.is_write:
            for i, (value, strb) in enumerate(zip(burst.data, burst.strb, strict=True)):
                raw = value.to_bytes(nb, "little")
                for k in range(nb):
                    if strb >> k & 1:
                        memory[burst.addr + i * nb + k] = raw[k]


async def check_shared_addresses(ctx, dut, log):
    """Every cycle: the CPU's two ports and the DMA's two ports each use one address, and the
    DMA's ports never read and write in the same cycle (two read-write ports)."""
    bus = dut.bus
    async for _clk, _rst, *values in ctx.tick().sample(
        bus.cpu_rd.addr, bus.cpu_wr.addr, bus.dma_rd.addr, bus.dma_wr.addr,
        bus.dma_rd.en, bus.dma_wr.en,
    ):  # fmt: skip
        cpu_r, cpu_w, dma_r, dma_w, dma_ren, dma_wen = values
        assert cpu_r == cpu_w and dma_r == dma_w
        assert not (dma_ren and dma_wen)
        log["cycles"] += 1
        log["writes"] += bool(dma_wen)


TRAFFIC = [(1, 64, 4), (2, 64, 4), (3, 64, 4), (4, 32, 4), (5, 128, 4), (6, 64, 2), (7, 32, 2)]


@pytest.mark.parametrize("seed, width, ram_ports", TRAFFIC)
def test_concurrent_cpu_and_dma_traffic(seed, width, ram_ports):
    rng = random.Random(seed)
    nb = width // 8
    initial = bytearray(rng.getrandbits(8) for _ in range(RAM_BYTES))
    words = [int.from_bytes(initial[i : i + nb], "little") for i in range(0, RAM_BYTES, nb)]
    dut = Fixture(words, width=width, ram_ports=ram_ports)
    bursts = _dma_bursts(rng, nb)
    dma = MemPortMaster(bursts, rng=random.Random(seed + 100), stall_probability=0.3)
    expected = bytearray(initial)
    _apply_writes(expected, bursts, nb)
    cpu_model = bytearray(initial)  # what the data bus's own writes leave in its region
    progress = {"ibus": [], "dbus": []}

    async def instruction_fetches(ctx):
        local = random.Random(seed + 200)
        for _ in range(40):
            await idle(ctx, local, 0.3)
            line = local.randrange(SHARED_READ[0], SHARED_READ[1], 32)
            data, err, cycles = await wb_transfer(ctx, dut.bus.ibus, line >> 2, beats=8)
            assert not err
            assert data == [_word(initial, line + 4 * k) for k in range(8)]
            progress["ibus"].append(cycles)

    async def data_accesses(ctx):
        local = random.Random(seed + 300)
        for _ in range(150):
            await idle(ctx, local, 0.3)
            addr = local.randrange(CPU_DATA[0], CPU_DATA[1], 4)
            if local.random() < 0.5:
                value, sel = local.getrandbits(32), local.choice([0xF, local.getrandbits(4)])
                _, err, cycles = await wb_transfer(
                    ctx, dut.bus.dbus, addr >> 2, we=1, dat=value, sel=sel
                )
                for k in range(4):
                    if sel >> k & 1:
                        cpu_model[addr + k] = value >> 8 * k & 0xFF
            else:
                data, err, cycles = await wb_transfer(ctx, dut.bus.dbus, addr >> 2)
                assert data == [_word(cpu_model, addr)], f"read of 0x{addr:x}"
            assert not err
            progress["dbus"].append(cycles)

    final = bytearray()

    def finished():
        cpu = len(progress["ibus"]) == 40 and len(progress["dbus"]) == 150
        reads = all(len(b.rdata) == b.beats for b in bursts if not b.is_write)
        return cpu and reads and all(b.werror is not None for b in bursts if b.is_write)

    async def read_back(ctx):
        while not finished():
            await ctx.tick()
        for i in range(RAM_BYTES // nb):
            final.extend(ctx.get(dut.ram.data[i]).to_bytes(nb, "little"))

    shared = {"cycles": 0, "writes": 0}

    async def shared_ports(ctx):
        await check_shared_addresses(ctx, dut, shared)

    run_simulation(
        dut,
        lambda sim: dma.add_to(sim, dut.axi.bus),
        testbenches=[instruction_fetches, data_accesses, read_back],
        background=[shared_ports] if ram_ports == 2 else [],
    )
    if ram_ports == 2:
        assert shared["cycles"] > 100 and shared["writes"] > 0
    for burst in bursts:
        if burst.is_write:
            assert burst.werror == 0
        else:
            assert burst.rerror == [0] * burst.beats
            assert burst.rdata == [
                int.from_bytes(initial[burst.addr + i * nb : burst.addr + (i + 1) * nb], "little")
                for i in range(burst.beats)
            ]
    # the RAM at the end: the DMA's writes in its order, the CPU's in its order
    expected[CPU_DATA[0] : CPU_DATA[1]] = cpu_model[CPU_DATA[0] : CPU_DATA[1]]
    assert final == expected
    assert len(progress["ibus"]) == 40 and len(progress["dbus"]) == 150
    # a data access waits for at most one 8-beat line refill (2 cycles a beat) plus its own
    assert max(progress["dbus"]) <= 8 * 2 + 2 + 1
    assert max(progress["ibus"]) <= 2 + 8 * 2 + 1


def test_a_master_that_never_drops_cyc_does_not_starve_the_other():
    dut = Fixture()
    waits = []

    async def hog(ctx):  # back-to-back classic reads, cyc high throughout
        bus = dut.bus.dbus
        ctx.set(bus.cyc, 1)
        ctx.set(bus.stb, 1)
        ctx.set(bus.adr, CPU_DATA[0] >> 2)
        ctx.set(bus.sel, 0xF)
        for _ in range(400):
            await ctx.tick()
        ctx.set(bus.cyc, 0)
        ctx.set(bus.stb, 0)

    async def fetches(ctx):
        await ctx.tick()
        for line in range(SHARED_READ[0], SHARED_READ[0] + 10 * 32, 32):
            _, err, cycles = await wb_transfer(ctx, dut.bus.ibus, line >> 2, beats=8)
            assert not err
            waits.append(cycles)

    run_simulation(dut, testbenches=[hog, fetches])
    assert len(waits) == 10 and max(waits) <= 2 + 8 * 2 + 1


@pytest.mark.parametrize("ram_ports", [4, 2])
def test_dma_port_latencies(ram_ports):
    """No stalls: an AR accepted at edge t gives its first beat at t + 2 and the next beats
    (and the next burst's) on the following edges; a B comes 2 edges after the last W beat:
    the memory timing accel.perf.MemoryTiming() models. With two RAM ports the read bursts
    run while a write burst streams: each read beat waits for the write beats of the cycles
    it would have used (a W beat accepted at edge w used the port in the cycle before w; a read
    beat transferred at edge r used it in the cycle before r - 1)."""
    dut = Fixture(list(range(RAM_BYTES // NB)), adapter=False, ram_ports=ram_ports)
    axi = dut.bus.dma
    log = {"ar": [], "r": [], "w": [], "w_last": [], "b": []}

    async def driver(ctx):
        ctx.set(axi.rready, 1)
        ctx.set(axi.bready, 1)
        for ch in ("ar", "aw"):
            ctx.set(getattr(axi, f"{ch}size"), 3)
            ctx.set(getattr(axi, f"{ch}burst"), 1)
        edge = 0
        requests = [(0x100, 3), (0x200, 1)]
        writes = [(0x800, 2)]
        ctx.set(axi.arvalid, 1)
        ctx.set(axi.araddr, requests[0][0])
        ctx.set(axi.arlen, requests[0][1])
        ctx.set(axi.awvalid, 1)
        ctx.set(axi.awaddr, writes[0][0])
        ctx.set(axi.awlen, writes[0][1])
        w_beats = 0
        while edge < 30:
            sample = await ctx.tick().sample(
                axi.arvalid, axi.arready, axi.rvalid, axi.rdata, axi.rlast, axi.awvalid,
                axi.awready, axi.wvalid, axi.wready, axi.bvalid,
            )  # fmt: skip
            edge += 1
            arv, arr, rv, rdata, rlast, awv, awr, wv, wr, bv = sample[2:]
            if arv and arr:
                log["ar"].append(edge)
                requests.pop(0)
                if requests:
                    ctx.set(axi.araddr, requests[0][0])
                    ctx.set(axi.arlen, requests[0][1])
                else:
                    ctx.set(axi.arvalid, 0)
            if rv:
                log["r"].append((edge, rdata, rlast))
            if awv and awr:
                ctx.set(axi.awvalid, 0)
                ctx.set(axi.wvalid, 1)
                ctx.set(axi.wstrb, 0xFF)
                ctx.set(axi.wdata, 0)
            if wv and wr:
                log["w"].append(edge)
                w_beats += 1
                if w_beats == 3:
                    log["w_last"].append(edge)
                    ctx.set(axi.wvalid, 0)
                ctx.set(axi.wlast, w_beats == 2)
            if bv:
                log["b"].append(edge)

    run_simulation(dut, testbenches=[driver])
    timing = MemoryTiming()
    assert (READ_LATENCY, WRITE_LATENCY) == (timing.read_latency, timing.write_latency)
    t0, t1 = log["ar"]
    assert t1 == t0 + 1  # one request a cycle
    edges = [e for e, _d, _l in log["r"]]
    expected = list(range(t0 + READ_LATENCY, t0 + READ_LATENCY + 6))  # 4 + 2 beats
    if ram_ports == 2:
        assert len(log["w"]) == 3 and log["w"][0] < expected[-1]  # the channels do meet
        free = (e for e in range(t0 + READ_LATENCY, 100) if e - 1 not in log["w"])
        expected = [next(free) for _ in range(6)]
    assert edges == expected
    assert [d for _e, d, _l in log["r"]] == [0x20, 0x21, 0x22, 0x23, 0x40, 0x41]
    assert [lst for _e, _d, lst in log["r"]] == [0, 0, 0, 1, 0, 1]
    assert log["b"] == [log["w_last"][0] + WRITE_LATENCY]


def test_out_of_range_dma_bursts_answer_slverr():
    dut = Fixture()
    bursts = [
        MemPortBurst(RAM_BYTES - 2 * NB, 4),  # runs past the end
        MemPortBurst(RAM_BYTES, 2, [1, 2], [0xFF, 0xFF]),
        MemPortBurst(0, 2),
    ]
    dma = MemPortMaster(bursts)
    run_simulation(dut, lambda sim: dma.add_to(sim, dut.axi.bus), testbenches=[])
    assert bursts[0].rerror == [0, 0, 1, 1]
    assert bursts[1].werror == 1
    assert bursts[2].rerror == [0, 0]


def test_unmapped_addresses_and_mmio_registers():
    """An unmapped address is acknowledged (VexRiscv ignores ERR) with 0 and flagged."""
    dut = Fixture()
    reg = {name: (MMIO_BASE + offset) >> 2 for name, offset in MMIO_REGISTERS.items()}
    seen = {}

    async def cpu(ctx):
        bus = dut.bus.dbus
        assert not ctx.get(dut.bus.bus_error)
        data, err, cycles = await wb_transfer(ctx, bus, 0x1000_0000 >> 2)
        assert data == [0] and not err and cycles <= 3
        _, err, _ = await wb_transfer(ctx, bus, RAM_BYTES >> 2, we=1, dat=5)
        assert not err
        seen["bus_error"] = (ctx.get(dut.bus.bus_error), ctx.get(dut.bus.bus_error_addr))
        (lo,), err, _ = await wb_transfer(ctx, bus, reg["CYCLE_LO"])
        (hi,), _, _ = await wb_transfer(ctx, bus, reg["CYCLE_HI"])
        (lo2,), _, _ = await wb_transfer(ctx, bus, reg["CYCLE_LO"])
        assert not err and hi == 0 and 0 < lo < lo2 < 40
        for ch in b"ok":
            await wb_transfer(ctx, bus, reg["CHAR"], we=1, dat=ch)
        await wb_transfer(ctx, bus, reg["TRAP_CAUSE"], we=1, dat=2)
        await wb_transfer(ctx, bus, reg["INSTRET_LO"], we=1, dat=1234)
        assert not ctx.get(dut.bus.exit_valid)
        await wb_transfer(ctx, bus, reg["EXIT"], we=1, dat=0xFFFF_FFFD)
        await ctx.tick()
        seen.update(
            exit=(ctx.get(dut.bus.exit_valid), ctx.get(dut.bus.exit_code)),
            trap=(ctx.get(dut.bus.trap_valid), ctx.get(dut.bus.trap_cause)),
            instret=ctx.get(dut.bus.instret_lo),
        )

    chars = []

    async def console(ctx):
        async for _clk, _rst, valid, data in ctx.tick().sample(
            dut.bus.char_valid, dut.bus.char_data
        ):
            if valid:
                chars.append(data)

    run_simulation(dut, testbenches=[cpu], background=[console])
    assert bytes(chars) == b"ok"
    assert seen == {
        "bus_error": (1, 0x1000_0000),  # the first unmapped access
        "exit": (1, 0xFFFF_FFFD),
        "trap": (1, 2),
        "instret": 1234,
    }
