"""Properties of the CFU control port, seen from the CPU side.

The CPU issues a command (``cmd_valid & cmd_ready``) and stalls until the response
(``rsp_valid & rsp_ready``), so the monitor keeps one command in flight and checks:

* the port takes a command whenever none is in flight and none while one is;
* no response without a command, and a response offered stays offered, payload stable, until
  taken (``rsp_ready`` is free: the bound needs no fairness, it counts cycles until the
  response is *offered*);
* every command except WAIT is offered its response within ``bound`` cycles of its acceptance;
  a WAIT within ``wait_bound`` cycles of the accelerator being idle (``idle``);
* the STATUS word answered by START, CONTINUE, WAIT and STATUS reports the error events: the
  ERR_UNKNOWN bit is set exactly when an unknown function id was received since the last
  CLEAR; ERR_BUS and ERR_DESCRIPTOR are set after a bus or descriptor error event and never
  without one.

Events count from the cycle a command executes (the cycle after its acceptance), so an event
up to that cycle is cleared by a CLEAR; a status response reflects the events up to two
cycles before it is offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Signal, Value

from accel.formal.props import Properties
from accel.spec import isa

__all__ = ["CfuPort", "check_cfu", "known_function_id", "STATUS_OPS"]

#: Control operations that answer with the STATUS word.
STATUS_OPS = ("START", "CONTINUE", "WAIT", "STATUS")


@dataclass
class CfuPort:
    """The CFU signals of a design under proof (any Amaranth values)."""

    cmd_valid: Value
    cmd_ready: Value
    function_id: Value
    rsp_valid: Value
    rsp_ready: Value
    outputs: Value

    @classmethod
    def of_top(cls, top) -> CfuPort:
        """The CFU port of an :class:`~accel.hw.top.AcceleratorTop` (flattened port names)."""
        return cls(
            top.cmd_valid,
            top.cmd_ready,
            top.cmd_payload_function_id,
            top.rsp_valid,
            top.rsp_ready,
            top.rsp_payload_outputs_0,
        )


def known_function_id(fid) -> Value:
    """1 when ``fid`` is an instruction of :func:`accel.spec.isa.instructions`."""
    result = 0
    for item in isa.instructions():
        result = result | (fid == item["function_id"])
    return result


def _ctrl(name: str) -> int:
    return isa.function_id("CTRL", isa.CONTROL_OP[name].index)


def check_cfu(
    m,
    props: Properties,
    port: CfuPort,
    *,
    bound: int,
    wait_bound: int,
    idle=None,
    bus_event=None,
    desc_event=None,
    handshake: bool = True,
    status: bool = True,
    prefix: str = "ctrl",
):
    """Add the control-port monitor and its properties (see the module docstring).

    ``idle``: the accelerator is idle (WAIT may answer); ``bus_event``/``desc_event``: a bus or
    descriptor error happened this cycle, as the control port sees it. Omitted ones are not
    checked; ``handshake=False`` / ``status=False`` leave out the handshake and bound
    checks / the STATUS word checks. Returns the function id of
    the command in flight.
    """
    check = props.check if handshake else (lambda *args: None)
    accept = port.cmd_valid & port.cmd_ready
    taken = port.rsp_valid & port.rsp_ready
    in_flight = Signal(name=f"{prefix}_in_flight")
    fid = Signal(isa.FUNCTION_ID_BITS, name=f"{prefix}_fid")
    with m.If(accept):
        m.d.sync += [in_flight.eq(1), fid.eq(port.function_id)]
    with m.Elif(taken):
        m.d.sync += in_flight.eq(0)

    check(
        m,
        f"{prefix}.ready_when_idle",
        in_flight | port.cmd_ready,
        "the port takes a command whenever none is in flight",
    )
    check(
        m,
        f"{prefix}.one_command_at_a_time",
        ~in_flight | ~port.cmd_ready,
        "no command is taken while one is in flight",
    )
    check(
        m,
        f"{prefix}.no_response_without_command",
        ~port.rsp_valid | in_flight,
        "rsp_valid only while a command is in flight",
    )

    held = Signal(name=f"{prefix}_held")
    held_outputs = Signal(32, name=f"{prefix}_held_outputs")
    m.d.sync += [held.eq(port.rsp_valid & ~port.rsp_ready), held_outputs.eq(port.outputs)]
    check(
        m,
        f"{prefix}.response_held_stable",
        ~held | (port.rsp_valid & (port.outputs == held_outputs)),
        "an offered response stays offered with the same payload until rsp_ready",
    )

    is_wait = fid == _ctrl("WAIT")
    waiting = Signal(range(bound + 2), name=f"{prefix}_latency")
    with m.If(accept):
        m.d.sync += waiting.eq(1)
    with m.Elif(in_flight & ~port.rsp_valid & (waiting <= bound)):
        m.d.sync += waiting.eq(waiting + 1)
    check(
        m,
        f"{prefix}.answer_within_{bound}",
        ~in_flight | is_wait | port.rsp_valid | (waiting < bound),
        f"every command except WAIT is offered its response within {bound} cycles",
    )
    if idle is not None:
        idle_for = Signal(range(wait_bound + 2), name=f"{prefix}_idle_for")
        with m.If(accept | ~idle):
            m.d.sync += idle_for.eq(0)
        with m.Elif(in_flight & ~port.rsp_valid & (idle_for <= wait_bound)):
            m.d.sync += idle_for.eq(idle_for + 1)
        check(
            m,
            f"{prefix}.wait_answers_when_idle",
            ~in_flight | ~is_wait | port.rsp_valid | (idle_for < wait_bound),
            f"WAIT is offered its response within {wait_bound} cycles of the layer's end",
        )

    if status:
        _check_status(m, props, port, accept, fid, held, bus_event, desc_event, prefix)
    return fid


def _check_status(m, props, port, accept, fid, held, bus_event, desc_event, prefix):
    # CLEAR acts in the cycle after its acceptance: it clears the events up to that cycle.
    clearing = Signal(name=f"{prefix}_clearing")
    is_clear = port.function_id == _ctrl("CLEAR")
    m.d.sync += clearing.eq(accept & is_clear)
    clear_now = (accept & is_clear) | clearing

    status_fids = [_ctrl(name) for name in STATUS_OPS]
    is_status = 0
    for value in status_fids:
        is_status = is_status | (fid == value)
    first_offer = port.rsp_valid & ~held & is_status
    bits = isa.STATUS_BIT

    def sticky(name, event):
        since_clear = Signal(name=f"{prefix}_{name}_since_clear")
        ever = Signal(name=f"{prefix}_{name}_ever")
        with m.If(clear_now):
            m.d.sync += since_clear.eq(0)
        with m.Elif(event):
            m.d.sync += since_clear.eq(1)
        with m.If(event):
            m.d.sync += ever.eq(1)
        d1 = Signal(name=f"{prefix}_{name}_d1")
        d2 = Signal(name=f"{prefix}_{name}_d2")
        m.d.sync += [d1.eq(since_clear & ~clear_now), d2.eq(d1 & ~clear_now)]
        return d2, ever | event

    unknown, _ = sticky("unknown", accept & ~known_function_id(port.function_id))
    bit = port.outputs[bits["ERR_UNKNOWN"].bit]
    props.check(
        m,
        f"{prefix}.err_unknown_exact",
        ~first_offer | (bit == unknown),
        "STATUS.ERR_UNKNOWN is set exactly when an unknown function id came since CLEAR",
    )
    for name, event in (("ERR_BUS", bus_event), ("ERR_DESCRIPTOR", desc_event)):
        if event is None:
            continue
        seen, ever = sticky(name.lower(), event)
        bit = port.outputs[bits[name].bit]
        props.check(
            m,
            f"{prefix}.{name.lower()}_reported",
            ~first_offer | ~seen | bit,
            f"STATUS.{name} is set after the error event",
        )
        props.check(
            m,
            f"{prefix}.{name.lower()}_not_spurious",
            ~first_offer | ~bit | ever,
            f"STATUS.{name} is never set without an error event",
        )
