"""Properties of the AXI4 master and the assumptions of a protocol-legal slave.

``bus`` is any object with the AXI signal names as attributes (``awvalid``, ``rdata``, ...),
the master's view. The slave is free except for what AXI requires of it:

* R and B payloads stay stable, with ``valid`` high, until taken;
* read data only for an accepted AR burst, ``RLAST`` exactly on its last beat, in order
  (one ID); a write response only after the burst's AW and its last W beat were taken;
* IDs are 0 (the master uses one ID).

The master's properties:

* ``AxVALID``/``WVALID`` stay high with a stable payload until ``READY`` (``valid_held``);
* ``AxBURST`` = INCR, ``AxSIZE`` = the bus width, 1..``max_burst`` beats, address aligned and
  the burst inside one 4 KiB page;
* W beats only for an accepted AW burst, ``WLAST`` exactly on its last beat;
* at most ``reads_outstanding`` read bursts accepted and not fully answered, at most
  ``writes_ahead`` write bursts accepted before their last W beat;
* ``RREADY``/``BREADY`` (if ``ready_bound`` is given): a response the slave offers is taken
  within ``ready_bound`` cycles.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import Array, Cat, Signal

from accel.formal.props import Properties
from accel.hw.axi import BURST_INCR
from accel.spec import timing

__all__ = ["check_axi_read", "check_axi_write", "AXI_OKAY", "AXI_SLVERR", "AXI_DECERR"]

AXI_OKAY, AXI_SLVERR, AXI_DECERR = 0b00, 0b10, 0b11


def _held(m, props, name, valid, ready, payload, note):
    """``valid`` & ~``ready`` in one cycle -> ``valid`` and the same payload in the next."""
    stall = Signal(name=f"{name.replace('.', '_')}_stall")
    past = Signal(len(payload), name=f"{name.replace('.', '_')}_past")
    m.d.sync += [stall.eq(valid & ~ready), past.eq(payload)]
    props.check(m, name, ~stall | (valid & (payload == past)), note)


def _slave_held(m, props, name, valid, ready, payload):
    stall = Signal(name=f"{name.replace('.', '_')}_stall")
    past = Signal(len(payload), name=f"{name.replace('.', '_')}_past")
    m.d.sync += [stall.eq(valid & ~ready), past.eq(payload)]
    props.assume(m, name, ~stall | (valid & (payload == past)))


def _burst_rules(m, props, ch, bus, bus_bytes, max_burst):
    valid = getattr(bus, f"{ch}valid")
    addr = getattr(bus, f"{ch}addr")
    length = getattr(bus, f"{ch}len")
    size = bus_bytes.bit_length() - 1
    end = addr[:12] + ((length + 1) << size)  # page offset one past the last byte
    props.check(
        m,
        f"axi.{ch}.burst_in_4k_page",
        ~valid | (end <= timing.PAGE_BYTES),
        "a burst never crosses a 4 KiB boundary",
    )
    props.check(
        m,
        f"axi.{ch}.burst_shape",
        ~valid
        | (
            (getattr(bus, f"{ch}burst") == BURST_INCR)
            & (getattr(bus, f"{ch}size") == size)
            & (length < max_burst)
            & (addr[:size] == 0)
        ),
        f"INCR bursts of full-width beats, 1..{max_burst} beats, aligned",
    )


def check_axi_read(
    m, props: Properties, bus, *, bus_bytes, max_burst, reads_outstanding, ready_bound=None
):
    """Read channels: master properties and slave assumptions (see the module docstring).

    Returns the monitor's ``taken`` (an R beat taken) and ``outstanding`` (bursts)."""
    ar_payload = Cat(bus.araddr, bus.arlen, bus.arsize, bus.arburst, bus.arid)
    _held(
        m,
        props,
        "axi.ar.valid_held",
        bus.arvalid,
        bus.arready,
        ar_payload,
        "ARVALID stays high with a stable payload until ARREADY",
    )
    _burst_rules(m, props, "ar", bus, bus_bytes, max_burst)

    # The outstanding bursts' lengths, oldest first; the slave answers them in order.
    depth = reads_outstanding + 1
    lens = Array(Signal(8, name=f"rd_len{i}") for i in range(depth))
    count = Signal(range(depth + 1), name="rd_outstanding")
    head, tail = Signal(range(depth), name="rd_head"), Signal(range(depth), name="rd_tail")
    beat = Signal(8, name="rd_beat")
    ar_taken = bus.arvalid & bus.arready
    r_taken = bus.rvalid & bus.rready
    r_done = r_taken & bus.rlast
    with m.If(ar_taken):
        m.d.sync += [lens[tail].eq(bus.arlen), tail.eq((tail + 1) % depth)]
    with m.If(r_taken):
        m.d.sync += beat.eq(beat + 1)
    with m.If(r_done):
        m.d.sync += [beat.eq(0), head.eq((head + 1) % depth)]
    m.d.sync += count.eq(count + ar_taken - r_done)

    props.check(
        m,
        "axi.ar.outstanding",
        count <= reads_outstanding,
        f"at most {reads_outstanding} read bursts outstanding",
    )
    props.assume(m, "slave.r_only_for_a_burst", ~bus.rvalid | (count != 0))
    props.assume(m, "slave.r_last_on_last_beat", ~bus.rvalid | (bus.rlast == (beat == lens[head])))
    props.assume(m, "slave.r_id", bus.rid == 0)
    r_payload = Cat(bus.rdata, bus.rresp, bus.rlast, bus.rid)
    _slave_held(m, props, "slave.r_held", bus.rvalid, bus.rready, r_payload)
    if ready_bound is not None:
        _ready_bound(m, props, "axi.r.taken", bus.rvalid, bus.rready, ready_bound)
    return SimpleNamespace(taken=r_taken, outstanding=count)


def check_axi_write(
    m, props: Properties, bus, *, bus_bytes, max_burst, writes_ahead, ready_bound=None
):
    """Write channels: master properties and slave assumptions (see the module docstring).

    Returns the monitor's ``taken`` (a B response taken), ``ahead`` (bursts accepted before
    their last W beat), ``unanswered`` (bursts waiting for B) and ``beat`` (W beat index)."""
    aw_payload = Cat(bus.awaddr, bus.awlen, bus.awsize, bus.awburst, bus.awid)
    _held(
        m,
        props,
        "axi.aw.valid_held",
        bus.awvalid,
        bus.awready,
        aw_payload,
        "AWVALID stays high with a stable payload until AWREADY",
    )
    w_payload = Cat(bus.wdata, bus.wstrb, bus.wlast)
    _held(
        m,
        props,
        "axi.w.valid_held",
        bus.wvalid,
        bus.wready,
        w_payload,
        "WVALID stays high with stable WDATA, WSTRB, WLAST until WREADY",
    )
    _burst_rules(m, props, "aw", bus, bus_bytes, max_burst)

    # Bursts whose AW was taken and whose W beats are not all taken, oldest first.
    depth = writes_ahead + 1
    lens = Array(Signal(8, name=f"wr_len{i}") for i in range(depth))
    ahead = Signal(range(depth + 1), name="wr_ahead")
    head, tail = Signal(range(depth), name="wr_head"), Signal(range(depth), name="wr_tail")
    beat = Signal(8, name="wr_beat")
    unanswered = Signal(16, name="wr_unanswered")  # last W beat taken, no B yet
    aw_taken = bus.awvalid & bus.awready
    w_taken = bus.wvalid & bus.wready
    w_done = w_taken & bus.wlast
    b_taken = bus.bvalid & bus.bready
    with m.If(aw_taken):
        m.d.sync += [lens[tail].eq(bus.awlen), tail.eq((tail + 1) % depth)]
    with m.If(w_taken):
        m.d.sync += beat.eq(beat + 1)
    with m.If(w_done):
        m.d.sync += [beat.eq(0), head.eq((head + 1) % depth)]
    m.d.sync += [
        ahead.eq(ahead + aw_taken - w_done),
        unanswered.eq(unanswered + w_done - b_taken),
    ]
    props.check(
        m,
        "axi.w.after_its_aw",
        ~bus.wvalid | (ahead != 0),
        "W beats only for a burst whose AW was taken (the writer's order)",
    )
    props.check(
        m,
        "axi.w.wlast_on_last_beat",
        ~bus.wvalid | (ahead == 0) | (bus.wlast == (beat == lens[head])),
        "WLAST exactly on the last beat of each burst",
    )
    props.check(
        m,
        "axi.aw.outstanding",
        ahead <= writes_ahead,
        f"at most {writes_ahead} write bursts requested ahead of their data",
    )
    props.assume(m, "slave.b_after_last_w", ~bus.bvalid | (unanswered != 0))
    props.assume(m, "slave.b_id", bus.bid == 0)
    _slave_held(m, props, "slave.b_held", bus.bvalid, bus.bready, Cat(bus.bresp, bus.bid))
    if ready_bound is not None:
        _ready_bound(m, props, "axi.b.taken", bus.bvalid, bus.bready, ready_bound)
    return SimpleNamespace(taken=b_taken, ahead=ahead, unanswered=unanswered, beat=beat)


def _ready_bound(m, props, name, valid, ready, bound):
    waited = Signal(range(bound + 2), name=f"{name.replace('.', '_')}_waited")
    with m.If(~valid | ready):
        m.d.sync += waited.eq(0)
    with m.Elif(waited <= bound):
        m.d.sync += waited.eq(waited + 1)
    props.check(
        m, name, waited < bound, f"a response offered by the slave is taken within {bound} cycles"
    )
