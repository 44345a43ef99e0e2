"""Main memory of the accelerator testbench: cocotbext-axi's ``AxiRam`` plus error injection.

:class:`AccelAxiRam` is :class:`cocotbext.axi.AxiRam` with three additions, made by thin
subclasses of its read and write handlers (``AxiRamRead._read`` / ``AxiRamWrite._write``):

* **error injection**: a beat whose address touches an error range ``[start, stop)`` answers
  with the range's response (``SLVERR`` or ``DECERR``); its read data is zero and its write is
  discarded. cocotbext-axi itself turns any exception of ``_read``/``_write`` into ``SLVERR``;
  ``DECERR`` is substituted on the response channel by a wrapper of its ``send``;
* **bounds checking**: an access beyond the memory (which plain ``AxiRam`` would silently wrap
  around) is recorded in :attr:`violations` and answered with ``SLVERR``;
* **back-pressure**: :meth:`set_backpressure` installs a random pause generator on every one of
  the five AXI channels (AR, R, AW, W, B) with cocotbext-axi's ``set_pause_generator``.

Read latency of this model (measured on the RTL, see ``sim/README.md``): the first R beat is
transferred two clock edges after the AR handshake; the B response two edges after the last W
beat, when nothing is paused.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import cocotb
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiResp
from cocotbext.axi.axi_ram import AxiRamRead, AxiRamWrite
from cocotbext.axi.memory import Memory

__all__ = ["AccelAxiRam", "AxiErrorResponse", "HandshakeMonitor", "random_pauses"]


class AxiErrorResponse(Exception):
    """Raised by the data handlers for a beat that must answer with an error response."""


def random_pauses(rng: random.Random, probability: float, max_run: int = 4) -> Iterator[bool]:
    """Endless pause pattern: with ``probability`` per cycle, a pause of 1..``max_run`` cycles."""
    if not 0.0 <= probability < 1.0:
        raise ValueError(f"pause probability must be in [0, 1), not {probability!r}")
    while True:
        if rng.random() < probability:
            for _ in range(rng.randint(1, max_run)):
                yield True
        else:
            yield False


class _Checks:
    """Error ranges and bounds shared by the read and write handlers of one memory."""

    def __init__(self, size: int):
        self.size = size
        self.error_ranges: list[tuple[int, int, AxiResp]] = []
        self.violations: list[str] = []

    def response(self, kind: str, address: int, length: int) -> AxiResp:
        for start, stop, resp in self.error_ranges:
            if address < stop and start < address + length:
                return resp
        if address + length > self.size:
            self.violations.append(
                f"{kind} of {length} bytes at 0x{address:x} is outside the memory "
                f"(0x0..0x{self.size - 1:x})"
            )
            return AxiResp.SLVERR
        return AxiResp.OKAY


class _ErrorInjection:
    """What the read and the write handler add to cocotbext-axi's: ``checks`` decides each
    access's response, and one that is not OKAY (``_pending_resp``) goes out in the next beat
    of the response channel: ``RESPONSE`` names that channel and its response field."""

    RESPONSE: tuple[str, str]

    def __init__(self, bus, clock, reset, reset_active_level, mem, checks: _Checks):
        super().__init__(bus, clock, reset, reset_active_level, mem=mem)
        self._checks = checks
        self._pending_resp = None
        channel_name, field = self.RESPONSE
        channel = getattr(self, channel_name)
        send = channel.send

        async def send_with_resp(beat):
            if self._pending_resp is not None:
                setattr(beat, field, self._pending_resp)
                self._pending_resp = None
            await send(beat)

        channel.send = send_with_resp


class _ErrorRamRead(_ErrorInjection, AxiRamRead):
    RESPONSE = ("r_channel", "rresp")

    async def _read(self, address, length):
        resp = self._checks.response("read", address, length)
        if resp != AxiResp.OKAY:
            self._pending_resp = resp
            raise AxiErrorResponse(f"read 0x{address:x}: {resp.name}")
        return self.read(address, length)


class _ErrorRamWrite(_ErrorInjection, AxiRamWrite):
    RESPONSE = ("b_channel", "bresp")

    async def _write(self, address, data):
        resp = self._checks.response("write", address, len(data))
        if resp != AxiResp.OKAY:
            if self._pending_resp is None or resp > self._pending_resp:
                self._pending_resp = resp
            raise AxiErrorResponse(f"write 0x{address:x}: {resp.name}")
        self.write(address, data)


class AccelAxiRam(Memory):
    """``size`` bytes of RAM at address 0 on an AXI4 slave port (an ``AxiBus``).

    ``mem`` is a ``bytearray`` the host side reads and writes directly (``write``/``read`` of
    :class:`cocotbext.axi.memory.Memory`). ``violations`` lists accesses outside the memory.
    The slave's channels reset with ``reset`` (active high by default), like ``AxiRam``.
    """

    def __init__(self, bus, clock, reset=None, reset_active_level=True, *, size: int):
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f"memory size must be a positive integer, not {size!r}")
        super().__init__(size, bytearray(size))
        self._checks = _Checks(size)
        self.write_if = _ErrorRamWrite(
            bus.write, clock, reset, reset_active_level, self.mem, self._checks
        )
        self.read_if = _ErrorRamRead(
            bus.read, clock, reset, reset_active_level, self.mem, self._checks
        )

    @property
    def violations(self) -> list[str]:
        return self._checks.violations

    def add_error_range(self, start: int, stop: int, resp: int = AxiResp.SLVERR) -> None:
        """Answer every beat touching ``[start, stop)`` with ``resp`` (SLVERR or DECERR)."""
        resp = AxiResp(resp)
        if resp not in (AxiResp.SLVERR, AxiResp.DECERR):
            raise ValueError(f"error response must be SLVERR or DECERR, not {resp.name}")
        if not 0 <= start < stop:
            raise ValueError(f"error range must satisfy 0 <= start < stop, not {start}..{stop}")
        self._checks.error_ranges.append((start, stop, resp))

    def clear_error_ranges(self) -> None:
        self._checks.error_ranges.clear()

    def channels(self) -> list:
        """The five channel models: AR, R, AW, W, B."""
        r, w = self.read_if, self.write_if
        return [r.ar_channel, r.r_channel, w.aw_channel, w.w_channel, w.b_channel]

    def set_backpressure(self, rng: random.Random | None, probability: float = 0.3) -> None:
        """Random pauses on every channel (``rng`` None: none). Ready/valid then drop at random."""
        for channel in self.channels():
            if rng is None or probability == 0:
                channel.clear_pause_generator()
                channel.pause = False  # the generator may have been stopped mid-pause
            else:
                seed = rng.getrandbits(32)
                channel.set_pause_generator(random_pauses(random.Random(seed), probability))


class HandshakeMonitor:
    """Checks the master's side of the AXI handshake on AR, AW and W.

    AXI rule: once ``valid`` is high it stays high, with an unchanged payload, until the
    transfer (``ready`` high at a clock edge). Violations are appended to ``violations``.
    Runs a coroutine every cycle, so it is meant for the back-pressure jobs (where the rule is
    actually exercised: without pauses the slave is always ready).
    """

    PAYLOADS = {
        "ar": ("araddr", "arlen", "arsize", "arburst", "arid"),
        "aw": ("awaddr", "awlen", "awsize", "awburst", "awid"),
        "w": ("wdata", "wstrb", "wlast"),
    }

    def __init__(self, dut, clk, violations: list[str], prefix: str = "m_axi"):
        self.clk = clk
        self.violations = violations
        self.channels = []
        for ch, fields in self.PAYLOADS.items():
            valid = getattr(dut, f"{prefix}_{ch}valid")
            ready = getattr(dut, f"{prefix}_{ch}ready")
            payload = [getattr(dut, f"{prefix}_{name}") for name in fields]
            self.channels.append((ch, valid, ready, payload))
        self._task = None

    def start(self) -> None:
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        edge = RisingEdge(self.clk)
        held = {ch: None for ch, *_ in self.channels}
        while True:
            await edge
            for ch, valid, ready, payload in self.channels:
                v = int(valid.value)
                snapshot = None
                if v:
                    snapshot = tuple(int(sig.value) for sig in payload)
                previous = held[ch]
                if previous is not None and (not v or snapshot != previous):
                    what = "valid dropped" if not v else "payload changed"
                    self.violations.append(f"AXI {ch.upper()} channel: {what} while stalled")
                held[ch] = snapshot if v and not int(ready.value) else None
