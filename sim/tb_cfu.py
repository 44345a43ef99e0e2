"""Control-port driver: issues custom instructions on the CFU ``cmd``/``rsp`` handshake.

The CPU side of the CFU interface (CFU Playground / VexRiscv): a command is transferred in the
cycle ``cmd_valid & cmd_ready`` is seen at a rising clock edge, and the CPU then stalls until
the response is transferred (``rsp_valid & rsp_ready``). Exactly one response follows each
command. The driver keeps one command in flight, like the CPU.

Optional randomization (``rng``): idle cycles before a command (``gap_probability``), random
``rsp_ready`` low cycles (``rsp_stall_probability``), and junk on the operand wires outside the
``cmd_valid`` cycle (the accelerator must latch its operands).
"""

from __future__ import annotations

import random

from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

__all__ = ["CfuDriver"]


class CfuDriver:
    """CPU model of the CFU port of ``dut`` (ports ``cmd_*``, ``rsp_*``), clocked by ``clk``."""

    def __init__(
        self,
        dut,
        clk,
        rng: random.Random | None = None,
        gap_probability: float = 0.0,
        rsp_stall_probability: float = 0.0,
    ):
        for name, p in (
            ("gap_probability", gap_probability),
            ("rsp_stall_probability", rsp_stall_probability),
        ):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), not {p!r}")
        self.dut = dut
        self.clk = clk
        self.rng = rng
        self.gap_probability = gap_probability if rng else 0.0
        self.rsp_stall_probability = rsp_stall_probability if rng else 0.0
        self._edge = RisingEdge(clk)
        self.idle()

    def idle(self) -> None:
        """Drive the idle state: no command, ready for a response."""
        dut = self.dut
        dut.cmd_valid.value = 0
        dut.rsp_ready.value = 0 if self.rsp_stall_probability else 1
        self._junk_operands()

    def _junk_operands(self) -> None:
        dut, rng = self.dut, self.rng
        if rng is None:
            dut.cmd_payload_function_id.value = 0
            dut.cmd_payload_inputs_0.value = 0
            dut.cmd_payload_inputs_1.value = 0
        else:
            dut.cmd_payload_function_id.value = rng.getrandbits(len(dut.cmd_payload_function_id))
            dut.cmd_payload_inputs_0.value = rng.getrandbits(32)
            dut.cmd_payload_inputs_1.value = rng.getrandbits(32)

    def _draw(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability

    async def command(self, function_id: int, inputs_0: int = 0, inputs_1: int = 0) -> int:
        """Issue one instruction and return its response (the CPU's ``rd``).

        The response may be transferred at the same edge as the command. While no response is
        offered the driver sleeps until ``rsp_valid`` rises instead of waking every cycle (a
        blocking WAIT can take hundreds of thousands of cycles).
        """
        dut = self.dut
        stall = self.rsp_stall_probability
        if self._draw(self.gap_probability):
            await ClockCycles(self.clk, self.rng.randint(1, 6))
        dut.cmd_payload_function_id.value = function_id
        dut.cmd_payload_inputs_0.value = inputs_0 & 0xFFFFFFFF
        dut.cmd_payload_inputs_1.value = inputs_1 & 0xFFFFFFFF
        dut.cmd_valid.value = 1
        ready = 1 if not stall else int(not self._draw(stall))
        dut.rsp_ready.value = ready
        accepted = False
        held = None  # response payload offered while rsp_ready was low
        while True:
            await self._edge
            # Values read here are those sampled by this edge.
            if not accepted:
                if dut.cmd_ready.value:
                    accepted = True
                    dut.cmd_valid.value = 0
                    self._junk_operands()
                elif ready and dut.rsp_valid.value:
                    raise AssertionError("a response was transferred before its command")
            if accepted and dut.rsp_valid.value:
                value = int(dut.rsp_payload_outputs_0.value)
                if ready:
                    break
                if held is not None and value != held:
                    raise AssertionError("rsp_payload_outputs_0 changed while rsp_ready was low")
                held = value
            elif held is not None:
                raise AssertionError("rsp_valid dropped before the response was accepted")
            if stall:
                ready = int(not self._draw(stall))
                dut.rsp_ready.value = ready
            if accepted:
                await ReadOnly()
                if not dut.rsp_valid.value:
                    await RisingEdge(dut.rsp_valid)
        dut.rsp_ready.value = 0 if stall else 1
        return value
