"""Reusable helpers for Amaranth simulations: stream helpers and main-memory models.

Testbenches written with these helpers read like the protocol rather than like signal
wiggling (in the spirit of Glasgow's ``gateware/stream.py`` helpers)::

    async def producer(ctx):
        for addr in range(0, 4096, 64):
            await stream_put(ctx, dut.rd_req, {"addr": addr, "beats": 8}, rng=rng)

    async def consumer(ctx):
        beat = await stream_get(ctx, dut.rd_rsp, rng=rng)
        assert beat.data == expected

Memory models (:class:`MemoryModel` for the internal memory port, :class:`AXIMemoryModel` for
a flat AXI4 master such as :attr:`accel.hw.axi.AXI4Master.axi`) are registered with
:meth:`MemoryModel.add_to` as simulator *processes*: they behave like synchronous logic
(outputs change just after a clock edge, inputs are sampled at the edge), they cost one wake-up
per clock cycle and no combinational settling of their own, and they never keep
:meth:`Simulator.run` from returning. Every bus rule they rely on is checked; a violation
raises :exc:`AssertionError` from :meth:`Simulator.run` with a message naming the channel.

Timing of the models (no random stalls, receiver always ready):

* read: a request accepted at clock edge ``t`` has its first beat transferred at edge
  ``t + read_latency``, the following beats on the following edges;
* write: the response to a burst whose last data beat was accepted at edge ``t`` is
  transferred at edge ``t + write_latency``;
* request and write-data ``ready`` are high whenever no stall is drawn (and fewer than
  ``max_outstanding`` requests are pending), so back-to-back bursts run at one beat per cycle.
"""

from collections import deque
from dataclasses import dataclass, field

from amaranth.hdl import Cat

from accel.hw.memport import MAX_BURST_BEATS

__all__ = [
    "RESP_OKAY",
    "RESP_EXOKAY",
    "RESP_SLVERR",
    "RESP_DECERR",
    "stream_put",
    "stream_get",
    "stream_assert",
    "MemoryModel",
    "AXIMemoryModel",
    "MemPortBurst",
    "MemPortMaster",
]

RESP_OKAY = 0
RESP_EXOKAY = 1
RESP_SLVERR = 2
RESP_DECERR = 3

_PAGE = 4096


# --------------------------------------------------------------------------------------------
# Stream helpers (testbench side)


def _stall(rng, probability):
    return rng is not None and rng.random() < probability


async def stream_put(ctx, stream, payload, *, rng=None, gap=0.25):
    """Send one ``payload`` (an int, or a dict/int for a struct layout) on ``stream``.

    Drives ``valid`` and ``payload`` until the clock edge at which ``ready`` is sampled high,
    then drops ``valid`` (a following :func:`stream_put` in the same cycle raises it again,
    so back-to-back puts transfer one payload per cycle). With ``rng`` (a
    :class:`random.Random`), idle cycles are inserted before the payload is offered, each
    with probability ``gap``. Returns when the payload has been transferred.
    """
    while _stall(rng, gap):
        ctx.set(stream.valid, 0)
        await ctx.tick()
    ctx.set(stream.payload, payload)
    ctx.set(stream.valid, 1)
    # One-shot waits rather than `tick().until()`: a simulation aborted by an exception
    # elsewhere then leaves no half-closed async generator behind.
    while not (await ctx.tick().sample(stream.ready))[2]:
        pass
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream, *, rng=None, stall=0.25):
    """Receive one payload from ``stream`` and return it (as sampled at the transfer edge).

    Struct payloads are returned as :class:`amaranth.lib.data.Const` views (``beat.data``).
    With ``rng``, ``ready`` is held low for random cycles (each with probability ``stall``)
    before the payload is accepted.
    """
    while _stall(rng, stall):
        ctx.set(stream.ready, 0)
        await ctx.tick()
    ctx.set(stream.ready, 1)
    while True:
        _clk, _rst, payload, valid = await ctx.tick().sample(stream.payload, stream.valid)
        if valid:
            break
    ctx.set(stream.ready, 0)
    return payload


async def stream_assert(ctx, stream, expected, *, rng=None, stall=0.25):
    """Receive one payload from ``stream`` and assert it equals ``expected``.

    ``expected`` is an int, or a dict of field values for a struct layout (only the given
    fields are compared).
    """
    payload = await stream_get(ctx, stream, rng=rng, stall=stall)
    if isinstance(expected, dict):
        for name, value in expected.items():
            actual = getattr(payload, name)
            assert actual == value, f"stream payload field {name}: {actual!r} != {value!r}"
    else:
        actual = payload if isinstance(payload, int) else payload.as_bits()
        assert actual == expected, f"stream payload {actual!r} != {expected!r}"
    return payload


# --------------------------------------------------------------------------------------------
# Memory models


class _Binding:
    """How a memory model reaches the signals of one port (internal port or AXI4).

    Per channel: ``<ch>_valid``, ``<ch>_ready``; requests and write data also ``<ch>_bits``
    (sampled at each edge) and ``decode_<ch>`` (bits -> ``(addr, beats, tag)`` or
    ``(data, strb, last)``); responses ``present_<ch>(ctx, ...)`` (drives the payload).
    """

    names = ("rd_req", "rd_rsp", "wr_req", "wr_data", "wr_rsp")


class MemoryModel:
    """Main-memory model serving the internal memory port (``MemPortSignature``).

    Parameters
    ----------
    size : int
        Bytes of memory, mapped at ``base .. base + size - 1``.
    base : int
        Address of the first byte.
    read_latency : int
        Clock edges from a read request's acceptance to its first beat's transfer (≥ 1).
    write_latency : int
        Clock edges from a write burst's last data beat to its response (≥ 1).
    rng : :class:`random.Random` or None
        If given, every channel stalls randomly: ``ready`` of requests and write data is low
        with probability ``stall_probability`` each cycle, and responses leave gaps (``valid``
        low) with the same probability. A response, once offered, stays until accepted.
    stall_probability : float
        See ``rng``.
    max_outstanding : int or None
        Requests accepted but not yet fully answered, per direction, before request ``ready``
        is held low. ``None``: unlimited.
    error_ranges : iterable of ``(start, stop)`` or ``(start, stop, resp)``
        Address ranges (``stop`` exclusive) that answer with an error: every beat of a read
        burst touching a range has ``error=1`` (and data 0); a write burst touching a range is
        discarded (memory unchanged) and answered with ``error=1``. ``resp`` is the AXI
        response code (:data:`RESP_SLVERR` by default, or :data:`RESP_DECERR`); the internal
        port only carries an error bit. Error ranges may lie outside the memory.
    check_handshake : bool
        Check that requests and write data keep ``valid`` high and their payload stable while
        stalled (the stream/AXI handshake rule).

    The model checks every request: address aligned to the bus width, 1..256 beats, no
    4 KiB crossing, inside the memory (unless it touches an error range), and that every
    write burst carries exactly the announced number of beats with ``last`` on the final one.
    Violations raise :exc:`AssertionError`.

    Counters (all bursts, including those answered with an error): ``read_bursts``,
    ``write_bursts``, ``beats_read``, ``beats_written``, ``bytes_read``, ``bytes_written``
    (bus bytes: beats × bus width / 8). ``read_log`` / ``write_log`` list each accepted
    request as a dict (``addr``, ``beats``, and the AXI fields for :class:`AXIMemoryModel`).

    One model may serve several ports (they share the memory and the counters); each port
    gets its own independent read and write engines. Writes to and reads from overlapping
    addresses in flight at the same time are not ordered with respect to each other.
    """

    def __init__(
        self,
        size,
        *,
        base=0,
        read_latency=1,
        write_latency=1,
        rng=None,
        stall_probability=0.25,
        max_outstanding=None,
        error_ranges=(),
        check_handshake=True,
    ):
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f"memory size must be a positive integer, not {size!r}")
        if not isinstance(base, int) or base < 0:
            raise ValueError(f"memory base must be a non-negative integer, not {base!r}")
        for name, value in (("read_latency", read_latency), ("write_latency", write_latency)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer ≥ 1, not {value!r}")
        if not 0.0 <= stall_probability < 1.0:
            raise ValueError(f"stall_probability must be in [0, 1), not {stall_probability!r}")
        if max_outstanding is not None and (
            not isinstance(max_outstanding, int) or max_outstanding < 1
        ):
            raise ValueError(
                f"max_outstanding must be a positive integer or None, not {max_outstanding!r}"
            )
        self.base = base
        self.size = size
        self.mem = bytearray(size)
        self.read_latency = read_latency
        self.write_latency = write_latency
        self.rng = rng
        self.stall_probability = stall_probability
        self.max_outstanding = max_outstanding
        self.check_handshake = check_handshake
        self.error_ranges = []
        for entry in error_ranges:
            self.add_error_range(*entry)
        self.read_bursts = 0
        self.write_bursts = 0
        self.beats_read = 0
        self.beats_written = 0
        self.bytes_read = 0
        self.bytes_written = 0
        self.read_log = []
        self.write_log = []

    # -- host-side access ---------------------------------------------------------------------

    def add_error_range(self, start, stop, resp=RESP_SLVERR):
        """Make bursts touching ``[start, stop)`` answer with AXI response ``resp``."""
        if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start < stop):
            raise ValueError(f"error range must satisfy 0 <= start < stop, not {start}..{stop}")
        if resp not in (RESP_SLVERR, RESP_DECERR):
            raise ValueError(f"error response must be SLVERR (2) or DECERR (3), not {resp!r}")
        self.error_ranges.append((start, stop, resp))

    def _offset(self, addr, n):
        if addr < self.base or addr + n > self.base + self.size:
            raise AssertionError(
                f"access 0x{addr:x}..0x{addr + n - 1:x} is outside the memory "
                f"0x{self.base:x}..0x{self.base + self.size - 1:x}"
            )
        return addr - self.base

    def write(self, addr, data):
        """Store ``data`` (bytes-like, or a NumPy array: its raw bytes) at ``addr``."""
        if hasattr(data, "tobytes"):
            data = data.tobytes()
        data = bytes(data)
        offset = self._offset(addr, len(data))
        self.mem[offset : offset + len(data)] = data

    def read(self, addr, n):
        """Return ``n`` bytes from ``addr``."""
        offset = self._offset(addr, n)
        return bytes(self.mem[offset : offset + n])

    # -- request checking ---------------------------------------------------------------------

    def _error_resp(self, addr, nbytes):
        for start, stop, resp in self.error_ranges:
            if addr < stop and start < addr + nbytes:
                return resp
        return RESP_OKAY

    def _check_request(self, channel, addr, beats, nbytes_beat):
        if not 1 <= beats <= MAX_BURST_BEATS:
            raise AssertionError(
                f"{channel}: burst at 0x{addr:x} has {beats} beats, must be 1..{MAX_BURST_BEATS}"
            )
        if addr % nbytes_beat:
            raise AssertionError(
                f"{channel}: address 0x{addr:x} is not aligned to the {nbytes_beat}-byte bus"
            )
        nbytes = beats * nbytes_beat
        if addr % _PAGE + nbytes > _PAGE:
            raise AssertionError(
                f"{channel}: burst 0x{addr:x} + {nbytes} bytes crosses a 4 KiB boundary"
            )
        resp = self._error_resp(addr, nbytes)
        if resp == RESP_OKAY and (addr < self.base or addr + nbytes > self.base + self.size):
            raise AssertionError(
                f"{channel}: burst 0x{addr:x} + {nbytes} bytes is outside the memory "
                f"0x{self.base:x}..0x{self.base + self.size - 1:x}"
            )
        return resp

    # -- simulation ---------------------------------------------------------------------------

    def add_to(self, sim, port):
        """Serve ``port``, an interface with the members of ``MemPortSignature`` (either flow).

        Registers two background processes with ``sim``: one for reads, one for writes.
        """
        binding = _memport_binding(port)
        self._add_engines(sim, binding)

    def _add_engines(self, sim, b):
        async def read_engine(ctx):
            await self._serve_reads(ctx, b)

        async def write_engine(ctx):
            await self._serve_writes(ctx, b)

        sim.add_process(read_engine)
        sim.add_process(write_engine)

    def _draw_stall(self):
        rng = self.rng
        return rng is not None and rng.random() < self.stall_probability

    def _req_ready(self, pending):
        if self._draw_stall():
            return 0
        return int(self.max_outstanding is None or pending < self.max_outstanding)

    async def _serve_reads(self, ctx, b):
        nb = b.data_width // 8
        latency = self.read_latency
        full = (1 << b.data_width) - 1
        queue = deque()  # [first_edge, addr, beats, resp, tag]
        beat = 0  # next beat of queue[0]
        req_ready, rsp_valid, rsp_shown = self._req_ready(0), 0, 0
        held = None  # request payload seen stalled at the previous edge
        edge = 0
        ctx.set(b.rd_req_ready, req_ready)
        ctx.set(b.rd_rsp_valid, 0)
        trigger = ctx.tick().sample(b.rd_req_valid, b.rd_req_bits, b.rd_rsp_ready)
        async for _clk, rst, req_valid, req_bits, rsp_ready in trigger:
            edge += 1
            if rst:
                queue.clear()
                beat = req_ready = rsp_valid = rsp_shown = 0
                held = None
                ctx.set(b.rd_req_ready, 0)
                ctx.set(b.rd_rsp_valid, 0)
                continue
            if held is not None and self.check_handshake and (not req_valid or req_bits != held):
                raise AssertionError(
                    f"{b.names[0]}: valid dropped or payload changed while stalled "
                    f"(held 0x{held:x})"
                )
            held = None
            if req_valid:
                if req_ready:
                    addr, beats, tag = b.decode_rd_req(req_bits, self.read_log)
                    resp = self._check_request(b.names[0], addr, beats, nb)
                    queue.append([edge + latency - 1, addr, beats, resp, tag])
                    self.read_bursts += 1
                else:
                    held = req_bits
            if rsp_valid and rsp_ready:
                self.beats_read += 1
                self.bytes_read += nb
                beat += 1
                rsp_valid = 0
                if beat == queue[0][2]:
                    queue.popleft()
                    beat = 0
            if not rsp_valid and queue and queue[0][0] <= edge and not self._draw_stall():
                _first, addr, beats, resp, tag = queue[0]
                if resp == RESP_OKAY:
                    offset = addr - self.base + beat * nb
                    data = int.from_bytes(self.mem[offset : offset + nb], "little")
                else:
                    data = 0
                b.present_rd_rsp(ctx, data & full, int(beat == beats - 1), resp, tag)
                rsp_valid = 1
            if rsp_valid != rsp_shown:
                rsp_shown = rsp_valid
                ctx.set(b.rd_rsp_valid, rsp_valid)
            new_ready = self._req_ready(len(queue))
            if new_ready != req_ready:
                req_ready = new_ready
                ctx.set(b.rd_req_ready, req_ready)

    async def _serve_writes(self, ctx, b):
        nb = b.data_width // 8
        all_strb = (1 << nb) - 1
        latency = self.write_latency
        requests = deque()  # [addr, beats, resp, tag] awaiting their data
        bursts = deque()  # complete data bursts [(data, strb), ...] awaiting their request
        current = []  # data beats of the burst in progress
        responses = deque()  # [first_edge, resp, tag]
        req_ready, data_ready = self._req_ready(0), int(not self._draw_stall())
        rsp_valid = rsp_shown = 0
        held_req = held_data = None
        edge = 0
        ctx.set(b.wr_req_ready, req_ready)
        ctx.set(b.wr_data_ready, data_ready)
        ctx.set(b.wr_rsp_valid, 0)
        trigger = ctx.tick().sample(
            b.wr_req_valid, b.wr_req_bits, b.wr_data_valid, b.wr_data_bits, b.wr_rsp_ready
        )
        async for _clk, rst, req_valid, req_bits, data_valid, data_bits, rsp_ready in trigger:
            edge += 1
            if rst:
                requests.clear()
                bursts.clear()
                current = []
                responses.clear()
                req_ready = data_ready = rsp_valid = rsp_shown = 0
                held_req = held_data = None
                ctx.set(b.wr_req_ready, 0)
                ctx.set(b.wr_data_ready, 0)
                ctx.set(b.wr_rsp_valid, 0)
                continue
            if self.check_handshake:
                if held_req is not None and (not req_valid or req_bits != held_req):
                    raise AssertionError(
                        f"{b.names[2]}: valid dropped or payload changed while stalled "
                        f"(held 0x{held_req:x})"
                    )
                if held_data is not None and (not data_valid or data_bits != held_data):
                    raise AssertionError(
                        f"{b.names[3]}: valid dropped or payload changed while stalled"
                    )
            held_req = held_data = None
            if req_valid:
                if req_ready:
                    addr, beats, tag = b.decode_wr_req(req_bits, self.write_log)
                    resp = self._check_request(b.names[2], addr, beats, nb)
                    requests.append([addr, beats, resp, tag])
                    self.write_bursts += 1
                else:
                    held_req = req_bits
            if data_valid:
                if data_ready:
                    data, strb, last = b.decode_wr_data(data_bits)
                    current.append((data, strb))
                    self.beats_written += 1
                    self.bytes_written += nb
                    index = len(bursts)  # request this beat belongs to, if already known
                    if index < len(requests) and len(current) > requests[index][1]:
                        addr, beats = requests[index][0], requests[index][1]
                        raise AssertionError(
                            f"{b.names[3]}: burst 0x{addr:x} announced {beats} beats, "
                            f"no last on beat {beats}"
                        )
                    if last:
                        bursts.append(current)
                        current = []
                else:
                    held_data = data_bits
            while bursts and requests:
                addr, beats, resp, tag = requests.popleft()
                beats_data = bursts.popleft()
                if len(beats_data) != beats:
                    raise AssertionError(
                        f"{b.names[3]}: burst 0x{addr:x} announced {beats} beats, "
                        f"last came on beat {len(beats_data)}"
                    )
                if resp == RESP_OKAY:
                    offset = addr - self.base
                    mem = self.mem
                    for data, strb in beats_data:
                        if strb == all_strb:
                            mem[offset : offset + nb] = data.to_bytes(nb, "little")
                        elif strb:
                            raw = data.to_bytes(nb, "little")
                            for i in range(nb):
                                if strb >> i & 1:
                                    mem[offset + i] = raw[i]
                        offset += nb
                responses.append([edge + latency - 1, resp, tag])
            if rsp_valid and rsp_ready:
                responses.popleft()
                rsp_valid = 0
            if not rsp_valid and responses and responses[0][0] <= edge and not self._draw_stall():
                b.present_wr_rsp(ctx, responses[0][1], responses[0][2])
                rsp_valid = 1
            if rsp_valid != rsp_shown:
                rsp_shown = rsp_valid
                ctx.set(b.wr_rsp_valid, rsp_valid)
            new_ready = self._req_ready(len(requests) + len(responses))
            if new_ready != req_ready:
                req_ready = new_ready
                ctx.set(b.wr_req_ready, req_ready)
            new_ready = int(not self._draw_stall())
            if new_ready != data_ready:
                data_ready = new_ready
                ctx.set(b.wr_data_ready, data_ready)


def _memport_binding(port):
    b = _Binding()
    try:
        rd_req, rd_rsp = port.rd_req, port.rd_rsp
        wr_req, wr_data, wr_rsp = port.wr_req, port.wr_data, port.wr_rsp
    except AttributeError as e:
        raise TypeError(f"MemoryModel serves a MemPortSignature interface, not {port!r}") from e
    b.data_width = dw = len(wr_data.payload.data)
    req_layout = rd_req.payload.shape()
    addr_off, addr_w = req_layout["addr"].offset, req_layout["addr"].width
    beats_off, beats_w = req_layout["beats"].offset, req_layout["beats"].width
    addr_mask, beats_mask = (1 << addr_w) - 1, (1 << beats_w) - 1

    def decode_req(bits, log):
        addr, beats = bits >> addr_off & addr_mask, bits >> beats_off & beats_mask
        log.append({"addr": addr, "beats": beats})
        return addr, beats, None

    rsp_layout = rd_rsp.payload.shape()
    last_shift, error_shift = rsp_layout["last"].offset, rsp_layout["error"].offset
    rd_rsp_bits = rd_rsp.payload.as_value()

    def present_rd_rsp(ctx, data, last, resp, _tag):
        ctx.set(rd_rsp_bits, data | last << last_shift | int(resp != 0) << error_shift)

    wd_layout = wr_data.payload.shape()
    data_off, strb_off, wlast_off = (wd_layout[n].offset for n in ("data", "strb", "last"))
    data_mask, strb_mask = (1 << dw) - 1, (1 << (dw // 8)) - 1

    def decode_wr_data(bits):
        return bits >> data_off & data_mask, bits >> strb_off & strb_mask, bits >> wlast_off & 1

    wr_rsp_bits = wr_rsp.payload.as_value()
    wr_error_shift = wr_rsp.payload.shape()["error"].offset

    def present_wr_rsp(ctx, resp, _tag):
        ctx.set(wr_rsp_bits, int(resp != 0) << wr_error_shift)

    b.rd_req_valid, b.rd_req_ready = rd_req.valid, rd_req.ready
    b.rd_req_bits = rd_req.payload.as_value()
    b.decode_rd_req = decode_req
    b.rd_rsp_valid, b.rd_rsp_ready = rd_rsp.valid, rd_rsp.ready
    b.present_rd_rsp = present_rd_rsp
    b.wr_req_valid, b.wr_req_ready = wr_req.valid, wr_req.ready
    b.wr_req_bits = wr_req.payload.as_value()
    b.decode_wr_req = decode_req
    b.wr_data_valid, b.wr_data_ready = wr_data.valid, wr_data.ready
    b.wr_data_bits = wr_data.payload.as_value()
    b.decode_wr_data = decode_wr_data
    b.wr_rsp_valid, b.wr_rsp_ready = wr_rsp.valid, wr_rsp.ready
    b.present_wr_rsp = present_wr_rsp
    return b


class AXIMemoryModel(MemoryModel):
    """Main-memory model serving a flat AXI4 master interface (an AXI4 slave with RAM behind it).

    Same parameters, checks, counters and error injection as :class:`MemoryModel`, for a port
    with the members of :func:`accel.hw.axi.axi_signature` (``awvalid``, ``rdata``, …), for
    example :attr:`accel.hw.axi.AXI4Master.axi`. Error ranges answer with their ``resp`` code
    (SLVERR or DECERR) on ``rresp`` of every beat / on ``bresp``.

    AXI-specific checks: bursts must be INCR (``AxBURST`` = 1), full width (``AxSIZE`` =
    log2(bus bytes)), aligned, not crossing 4 KiB; ``WLAST`` must come exactly on the burst's
    final beat. ``RID``/``BID`` echo ``ARID``/``AWID``; responses come back in request order.
    Write data may arrive before its address. ``read_log`` / ``write_log`` record, per
    accepted request, ``id addr len size burst lock cache prot qos`` and ``beats``.
    """

    def add_to(self, sim, axi):
        """Serve ``axi``, an interface with the flat AXI4 members (either flow)."""
        self._add_engines(sim, _axi_binding(axi))


def _axi_binding(axi):
    b = _Binding()
    b.names = ("AR", "R", "AW", "W", "B")
    try:
        b.data_width = dw = len(axi.wdata)
        id_w = len(axi.arid)
        ar = [axi.araddr, axi.arlen, axi.arsize, axi.arburst, axi.arlock, axi.arcache]
        ar += [axi.arprot, axi.arqos, axi.arid]
        aw = [axi.awaddr, axi.awlen, axi.awsize, axi.awburst, axi.awlock, axi.awcache]
        aw += [axi.awprot, axi.awqos, axi.awid]
        for name in ("bid", "bresp", "rid", "rdata", "rresp", "rlast", "wstrb", "wlast"):
            getattr(axi, name)
    except AttributeError as e:
        raise TypeError(f"AXIMemoryModel serves a flat AXI4 interface, not {axi!r}") from e
    names = ("addr", "len", "size", "burst", "lock", "cache", "prot", "qos", "id")
    fields = []  # (name, offset, mask)
    offset = 0
    for name, sig in zip(names, ar, strict=True):
        fields.append((name, offset, (1 << len(sig)) - 1))
        offset += len(sig)
    nb = dw // 8
    size_expected = nb.bit_length() - 1

    def make_decoder(channel):
        def decode(bits, log):
            rec = {name: bits >> off & mask for name, off, mask in fields}
            rec["beats"] = rec["len"] + 1
            log.append(rec)
            if rec["burst"] != 1:
                raise AssertionError(
                    f"{channel}: burst type {rec['burst']} at 0x{rec['addr']:x}, only INCR (1) "
                    f"is supported"
                )
            if rec["size"] != size_expected:
                raise AssertionError(
                    f"{channel}: {channel}SIZE {rec['size']} at 0x{rec['addr']:x}, expected "
                    f"{size_expected} (full {dw}-bit beats)"
                )
            return rec["addr"], rec["beats"], rec["id"]

        return decode

    def present_rd_rsp(ctx, data, last, resp, tag):
        ctx.set(axi.rdata, data)
        ctx.set(axi.rlast, last)
        ctx.set(axi.rresp, resp)
        ctx.set(axi.rid, tag & ((1 << id_w) - 1))

    strb_off, last_off = dw, dw + nb
    data_mask, strb_mask = (1 << dw) - 1, (1 << nb) - 1

    def decode_wr_data(bits):
        return bits & data_mask, bits >> strb_off & strb_mask, bits >> last_off & 1

    def present_wr_rsp(ctx, resp, tag):
        ctx.set(axi.bresp, resp)
        ctx.set(axi.bid, tag & ((1 << id_w) - 1))

    b.rd_req_valid, b.rd_req_ready = axi.arvalid, axi.arready
    b.rd_req_bits = Cat(*ar)
    b.decode_rd_req = make_decoder("AR")
    b.rd_rsp_valid, b.rd_rsp_ready = axi.rvalid, axi.rready
    b.present_rd_rsp = present_rd_rsp
    b.wr_req_valid, b.wr_req_ready = axi.awvalid, axi.awready
    b.wr_req_bits = Cat(*aw)
    b.decode_wr_req = make_decoder("AW")
    b.wr_data_valid, b.wr_data_ready = axi.wvalid, axi.wready
    b.wr_data_bits = Cat(axi.wdata, axi.wstrb, axi.wlast)
    b.decode_wr_data = decode_wr_data
    b.wr_rsp_valid, b.wr_rsp_ready = axi.bvalid, axi.bready
    b.present_wr_rsp = present_wr_rsp
    return b


# --------------------------------------------------------------------------------------------
# Traffic source for the internal memory port


@dataclass
class MemPortBurst:
    """One burst issued by :class:`MemPortMaster`: a write if ``data`` is given, else a read.

    After the simulation, a read has ``rdata``/``rerror`` (one entry per beat) and a write
    has ``werror`` (the ``error`` bit of its response).
    """

    addr: int
    beats: int
    data: list | None = None
    strb: list | None = None
    rdata: list = field(default_factory=list)
    rerror: list = field(default_factory=list)
    werror: int | None = None

    @property
    def is_write(self):
        return self.data is not None


class MemPortMaster:
    """Issue a list of :class:`MemPortBurst` on a memory port, as its master, in order.

    :meth:`add_to` registers five critical testbenches (read requests, read responses, write
    requests, write data, write responses) that run concurrently, so several requests can be
    outstanding and write data may run ahead of write requests. With ``rng``, every channel
    gets random idle cycles (``valid`` gaps on requests and data, ``ready`` stalls on
    responses). Checks that every read burst has ``last`` exactly on its final beat.
    """

    def __init__(self, bursts, *, rng=None, stall_probability=0.25):
        self.bursts = list(bursts)
        self.rng = rng
        self.stall_probability = stall_probability
        for burst in self.bursts:
            if not 1 <= burst.beats <= MAX_BURST_BEATS:
                raise ValueError(f"burst has {burst.beats} beats, must be 1..{MAX_BURST_BEATS}")
            if burst.is_write:
                if len(burst.data) != burst.beats:
                    raise ValueError(
                        f"write burst has {len(burst.data)} data beats, not {burst.beats}"
                    )
                if burst.strb is not None and len(burst.strb) != burst.beats:
                    raise ValueError(
                        f"write burst has {len(burst.strb)} strobes, not {burst.beats}"
                    )

    def add_to(self, sim, port):
        reads = [b for b in self.bursts if not b.is_write]
        writes = [b for b in self.bursts if b.is_write]
        rng, p = self.rng, self.stall_probability
        strb_all = (1 << (len(port.wr_data.payload.data) // 8)) - 1

        def requests(channel, bursts):
            async def testbench(ctx):
                for burst in bursts:
                    payload = {"addr": burst.addr, "beats": burst.beats}
                    await stream_put(ctx, channel, payload, rng=rng, gap=p)

            return testbench

        async def read_responses(ctx):
            for burst in reads:
                for i in range(burst.beats):
                    beat = await stream_get(ctx, port.rd_rsp, rng=rng, stall=p)
                    if beat.last != (i == burst.beats - 1):
                        raise AssertionError(
                            f"rd_rsp: burst 0x{burst.addr:x} beat {i} of {burst.beats} "
                            f"has last={beat.last}"
                        )
                    burst.rdata.append(beat.data)
                    burst.rerror.append(beat.error)

        async def write_data(ctx):
            for burst in writes:
                for i, data in enumerate(burst.data):
                    strb = strb_all if burst.strb is None else burst.strb[i]
                    payload = {"data": data, "strb": strb, "last": int(i == burst.beats - 1)}
                    await stream_put(ctx, port.wr_data, payload, rng=rng, gap=p)

        async def write_responses(ctx):
            for burst in writes:
                burst.werror = (await stream_get(ctx, port.wr_rsp, rng=rng, stall=p)).error

        for testbench in (
            requests(port.rd_req, reads),
            read_responses,
            requests(port.wr_req, writes),
            write_data,
            write_responses,
        ):
            sim.add_testbench(testbench)
