"""Exact performance model of the accelerator: cycles, counters and a phase breakdown.

:func:`predict` returns the value of every performance counter of the RTL (CYCLES, MAC_CYCLES,
STALL_CYCLES, DMA_READ_BYTES, DMA_WRITE_BYTES) for one layer run — exactly, not as an estimate
— in a few milliseconds, together with the usual bounds (ideal, mapping, roofline).

How it works: the model is an event-driven simulation of the control state of the
micro-architecture (:mod:`accel.hw.core` and the blocks it instantiates), without any data.
Every cycle in which some engine changes state in a way the others can see is evaluated with
the RTL's own rules; the cycles in between (a tile streaming pixels, a DMA burst delivering
beats, a bank timer or the K walker counting, DMA latency) are skipped in one step, because
nothing in them depends on anything but time. When the tile stream reaches a steady state
(the whole machine state, relative to the current cycle, repeats at a tile start while the
input, parameter and output engines are idle), whole periods are skipped at once up to the
end of the band. Timing never depends on data values: only the layer shape, the band, the
buffer addresses (4 KiB burst splits, unaligned output regions) and the memory latencies
matter.

Engines and their timing rules (cycle 0 is the cycle of the START instruction's pulse):

* setup (:class:`accel.hw.geometry.LayerSetup`): the engines start (``run``) in cycle 5, or
  5 + max(M tiles, K tiles) for array sizes that are not powers of two;
* read DMA (:class:`accel.hw.reader.ReadDMA`): fixed priority input > weights > parameters,
  decided per burst; a burst issued in cycle t is accepted by memory in t + 1 and its beats
  arrive from t + 1 + read_latency on, one per cycle, after the previous burst's; at most four
  bursts in flight (the burst-info FIFO); bursts of at most ``max_burst`` beats, split at 4 KiB;
* weight fetcher: one tile command at a time, at most ``weight_depth`` tiles requested and
  not yet loaded into the array;
* weight banks: a tile is loaded when it is in the FIFO, fewer than two loaded tiles wait, and
  its bank's timer (``rows + cols + 2`` cycles after the last vector of the tile two before)
  has expired; a tile starts in its load cycle at the earliest;
* K walker: the row constants of the next K tile take ``rows`` cycles after each tile start;
* issuer: ``band rows × F`` cycles per tile, tiles back to back; a band starts when its input
  rows are loaded and its accumulator half is free; between bands 5 drain cycles, then the
  BAND, BAND_BASE and TILE states (a cycle each at least) before the first vector;
* input prefetcher: 3 cycles of address arithmetic, then one command per band (per image when
  the whole image fits the input banks); a new window waits for the issuer to reach its band;
* accumulators: a band is complete ``rows + cols + 3`` cycles after its last vector;
* post-processing (:class:`accel.hw.postproc.PostProcessor`): one accumulator read per cycle
  (four per pooled output), a 4-entry FIFO and the 9-stage requantizer with back-pressure from
  the output writer (:class:`accel.hw.writer.OutputWriter`), whose byte packer, burst queue
  and write responses are modelled beat by beat;
* done: when the last band is post-processed and every write is acknowledged.

Memory timing (:class:`MemoryTiming`): a fixed-latency memory that accepts a request and
moves a beat every cycle. cocotbext-axi's ``AxiRam`` behind :class:`accel.hw.axi.AXI4Master`
(the Verilog under cocotb, :mod:`accel.verif.rtlsim`) has read and write latency 2, the default
(:meth:`MemoryTiming.axi_ram`); the Amaranth simulator's
:class:`accel.verif.models.MemoryModel` takes the latencies given to
:func:`accel.verif.amaranth_sim.run_job` (default 2 and 2 as well). Random back-pressure (``seed``)
is not modelled.

Validated counter for counter (all five counters equal) against the Amaranth simulation and
the Verilator/cocotb run: ``tests/test_perf.py``, ``benchmarks/perf_vs_rtl.py``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from accel.mapping import (
    LayerJob,
    LayerShape,
    MappingError,
    failed_check,
    legal_bands,
    require_mappable,
    shape_descriptor,
)
from accel.spec import timing
from accel.spec.config import AccelConfig

__all__ = [
    "PHASES",
    "MemoryTiming",
    "PerfReport",
    "predict",
    "best_band",
    "legal_bands",
    "descriptor_for",
]

_PAGE_BYTES = timing.PAGE_BYTES
_FEEDER_LATENCY = timing.FEEDER_LATENCY  # bank timers
_FEED_TO_ARRAY = timing.FEED_TO_ARRAY  # issue -> array input (feeder register stages)
_DRAIN = _FEEDER_LATENCY + 1  # issuer DRAIN counter start
_POST_FIFO = timing.POST_FIFO_DEPTH
_REQUANT_STAGES = timing.REQUANT_LATENCY
_READ_OUTSTANDING = timing.READ_OUTSTANDING
_WRITE_QUEUE = timing.WRITE_BURST_QUEUE
_REGION_FIFO = timing.WRITE_REGION_FIFO
_INF = float("inf")

#: Names of :attr:`PerfReport.phases`, in order.
PHASES = (
    "setup",
    "mac",
    "wait_weights",
    "wait_bank",
    "wait_walker",
    "wait_input",
    "wait_accumulator",
    "switch",
    "tail",
)
_SETUP, _MAC, _WEIGHTS, _BANK, _WALKER, _INPUT, _ACC, _SWITCH, _TAIL = range(len(PHASES))


@dataclass(frozen=True)
class MemoryTiming:
    """Fixed-latency main memory that accepts one request per cycle and moves one beat per cycle.

    ``read_latency``: cycles from a read request's acceptance to its first beat (≥ 1).
    ``write_latency``: cycles from a write burst's last data beat to its response (≥ 1).
    The default is the timing of cocotbext-axi's ``AxiRam`` (the RTL runs), which is also
    the default of :func:`accel.verif.amaranth_sim.run_job`.
    """

    read_latency: int = 2
    write_latency: int = 2

    def __post_init__(self):
        for name in ("read_latency", "write_latency"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer ≥ 1, not {value!r}")

    @classmethod
    def axi_ram(cls) -> MemoryTiming:
        """cocotbext-axi ``AxiRam`` without back-pressure (RTL/cocotb runs): 2 and 2."""
        return cls(read_latency=2, write_latency=2)


@dataclass
class PerfReport:
    """Predicted counters and bounds of one layer run.

    ``cycles``, ``mac_cycles``, ``stall_cycles``, ``dma_read_bytes``, ``dma_write_bytes`` are
    the RTL counters CYCLES, MAC_CYCLES, STALL_CYCLES, DMA_READ_BYTES and DMA_WRITE_BYTES
    (exact). ``macs``: multiply-accumulates of the layer; ``pes``: rows × cols;
    ``ideal_cycles`` = ceil(macs / pes); ``mapping_cycles``: tiles × pixels streamed (= the
    array's busy cycles, ``mac_cycles``); ``min_bytes``: every input, weight, parameter
    (12 bytes per output channel) and output byte counted once; ``roofline_cycles`` =
    max(macs / pes, min_bytes / bus bytes); ``utilization`` = macs / (pes × cycles).

    ``phases`` splits ``cycles`` by what the issuer (the array's feeder) does in each cycle;
    the values add up to ``cycles``:

    * ``setup``: START to the first vector (descriptor checks, first input rows and weights);
    * ``mac``: streaming pixels (= ``mac_cycles``);
    * ``wait_weights``: a tile waits for its weights to arrive from memory;
    * ``wait_bank``: its weights are buffered but its array bank is still in use;
    * ``wait_walker``: only its K-tile row constants are not ready (the walker needs ``rows``
      cycles per tile, which limits tiles of fewer than ``rows`` pixels);
    * ``wait_input``: a band waits for its input rows;
    * ``wait_accumulator``: a band waits for post-processing to free its accumulator half;
    * ``switch``: tile starts after a wait, pipeline drain and set-up between bands;
    * ``tail``: last vector to done (array latency, post-processing, output writes).

    ``wait_weights + wait_bank + wait_walker + wait_input`` plus the stalls during ``setup``
    make up ``stall_cycles``. ``bands``: per band (image n, first output row e0, rows, first
    and last issue cycle, post-processing start cycle), cycles counted from START.
    """

    cycles: int
    macs: int
    pes: int
    ideal_cycles: int
    mapping_cycles: int
    roofline_cycles: float
    min_bytes: int
    utilization: float
    dma_read_bytes: int
    dma_write_bytes: int
    mac_cycles: int
    stall_cycles: int
    band: int
    phases: dict[str, int] = field(default_factory=dict)
    bands: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)

    @property
    def roofline_ratio(self) -> float:
        """cycles / roofline_cycles (1.0 = at the roofline)."""
        return self.cycles / self.roofline_cycles

    @property
    def bound(self) -> str:
        """``"compute"`` or ``"memory"``: the larger term of the roofline."""
        return "compute" if self.macs / self.pes >= self.roofline_cycles else "memory"

    def counters(self) -> dict[str, int]:
        """The predicted RTL counters, by their :data:`accel.spec.isa.COUNTERS` names."""
        return {
            "CYCLES": self.cycles,
            "MAC_CYCLES": self.mac_cycles,
            "DMA_READ_BYTES": self.dma_read_bytes,
            "DMA_WRITE_BYTES": self.dma_write_bytes,
            "STALL_CYCLES": self.stall_cycles,
        }


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _align(value: int, alignment: int) -> int:
    return _cdiv(value, alignment) * alignment


def descriptor_for(
    shape: LayerShape, config: AccelConfig, band: int | None = None, base: int = 0x1000
) -> dict[str, int]:
    """The descriptor :func:`accel.driver.prepare_layer` builds for ``shape`` (same addresses);
    without ``band``, the best one (:func:`best_band`)."""
    if band is None:
        require_mappable(shape, config)
        band = best_band(shape, config)
    return shape_descriptor(shape, config, band, base)


def _check_descriptor(d: dict, config: AccelConfig) -> None:
    """An invalid layer never runs: the hardware answers START with ERR_DESCRIPTOR."""
    check = failed_check(d, config)
    if check is not None:
        raise MappingError(f"the accelerator rejects this descriptor: {check.name}: {check.doc}")


def _simulate(d: dict, cfg: AccelConfig, read_latency: int, write_latency: int) -> dict:
    """Event-driven simulation of the sequencer; returns counters, phases and band times.

    Each evaluated cycle applies the RTL's rules (combinational values from the registers,
    then the register updates); afterwards the next cycle in which anything can happen is
    computed and the cycles in between are accounted for in one step.
    """
    N, H, W, C, M, R, S, E, F, U, P = (d[k] for k in "NHWCMRSEFUP")
    pool, BAND = d["POOL"], d["BAND"]
    rows_a, cols_a = cfg.rows, cfg.cols
    bb = cfg.bus_bytes
    shift = bb.bit_length() - 1
    page_beats = _PAGE_BYTES >> shift
    page_mask = page_beats - 1
    wtb, ptb = cfg.weight_tile_beats, cfg.param_tile_beats
    depth = cfg.weight_depth
    max_burst = cfg.max_burst
    WC = W * C
    HWC = H * WC
    K = R * S * C
    E_run = E & ~1 if pool else E
    F_out = F // 2 if pool else F
    m_tiles = _cdiv(M, cols_a)
    k_tiles = _cdiv(K, rows_a)
    tiles = m_tiles * k_tiles
    out_row_bytes = F_out * M
    whole = HWC + bb - 1 <= cfg.in_bytes
    hold = _FEEDER_LATENCY + rows_a + cols_a - 1  # bank timer: free `hold` cycles after use
    done_delay = _FEED_TO_ARRAY + rows_a + cols_a + 1  # last vector -> band_done_now
    L = read_latency
    WL = write_latency
    in_addr, w_addr, p_addr = d["IN_ADDR"], d["W_ADDR"], d["PARAM_ADDR"]
    lane_mask = ~(bb - 1)

    bands = [(n, e0, min(E_run - e0, BAND)) for n in range(N) for e0 in range(0, E_run, BAND)]
    n_bands = len(bands)
    pow2 = rows_a & (rows_a - 1) == 0 and cols_a & (cols_a - 1) == 0
    t_run = 5 if pow2 else 5 + max(m_tiles, k_tiles)

    # Post-processing read pattern of one output pixel: (bytes, last read of the pool window).
    sub_n = 4 if pool else 1
    pattern = [
        (min(M - tile * cols_a, cols_a), sub == sub_n - 1)
        for tile in range(m_tiles)
        for sub in range(sub_n)
    ]
    pat_len = len(pattern)

    # read DMA (clients: 0 input, 1 weights, 2 parameters)
    active = [False, False, False]
    raddr = [0, 0, 0]
    remain = [0, 0, 0]
    info = deque()  # bursts in flight: (last beat cycle, client, final burst of the command)
    mem_free = 0  # first cycle in which memory can deliver another beat
    last_load = -1
    beats_read = 0
    # parameter loader, weight fetcher, weight FIFO, banks, K walker
    param_issue = False
    params_loaded = False
    fetch_running = False
    fetch_tile = 0
    fetch_band = 0
    w_reserved = 0
    w_count = 0
    load_bank = 0
    loaded_ahead = 0
    free_at = [0, 0]  # bank b's timer is 0 from this cycle on
    ready_at = _INF  # the K walker's next row constants are valid from this cycle on
    # issuer: 0 IDLE, 1 BAND, 2 BAND_BASE, 3 TILE, 4 STREAM, 5 DRAIN
    ist = 0
    band = 0
    acc_free = 3
    tile_idx = 0
    tile_len = 0
    stream_end = 0  # last pixel cycle of the streaming tile
    tile_parity = 0
    drain = 0
    loaded_bands = 0
    # input prefetcher: 0 IDLE, 1 BAND, 2 RANGE, 3 WAIT_BANKS, 4 ISSUE, 5 LOADING
    pst = 0
    l_band = 0
    loaded_hi = 0
    load_lo = load_hi = 0
    load_start = load_end = 0
    l_hb0 = l_hlast = 0
    # accumulators and post-processing FSM: 0 IDLE, 1 WAIT_BAND, 2 REGION, 3 RUN, 4 FINISH
    band_done = deque()  # (cycle, half) of the band-complete pulses
    band_computed = 0
    qst = 0
    p_band = 0
    out_addr = d["OUT_ADDR"]
    # post-processor
    running = False
    n_reads = 0
    read_i = 0
    inflight = None  # tag of the accumulator read of the previous cycle
    reads_done = False
    fifo = deque()
    pipe = [None] * _REQUANT_STAGES  # requantizer stages: tag or None (bubble)
    in_requant = 0
    # output writer
    lanes = cols_a
    cap = _cdiv(2 * bb + lanes - 1, bb) * bb
    region = deque()  # (offset in the first beat, length)
    blen = deque()
    rg_active = False
    rg_addr = 0
    rg_remain = 0
    wr_valid = False
    wr_beats = 0
    wlevel = 0
    have = False
    in_remain = 0
    beat_count = 0
    pending = 0
    wresp = deque()  # cycles in which the write responses are valid
    last_resp = -1
    bytes_written = 0
    post_busy = False  # post-processor or writer busy (beyond waiting for write responses)
    # accounting
    mac = 0
    stall = 0
    ph = [0] * len(PHASES)  # cycles per phase (indices _SETUP ...)
    ph[_SETUP] = t_run - 1
    band_log = []
    started = False  # first vector issued

    # Whole periods of the tile stream are skipped when the state repeats (see the end of the
    # loop); this needs every weight tile to be split into bursts the same way.
    tile_bytes = wtb * bb
    total_tiles = tiles * n_bands
    periodic = all(
        (w_addr + i * tile_bytes) // _PAGE_BYTES
        == (w_addr + (i + 1) * tile_bytes - 1) // _PAGE_BYTES
        for i in range(tiles)
    )
    history = {}

    t = t_run
    while True:
        run = t == t_run
        # ================================ combinational ================================
        end_burst = bool(info) and info[0][0] == t
        end_client = info[0][1] if end_burst and info[0][2] else -1  # command's last beat
        sel = 0 if active[0] else 1 if active[1] else 2 if active[2] else -1
        load = sel >= 0 and len(info) < _READ_OUTSTANDING
        burst = 0
        final = False
        if load:
            limit = page_beats - ((raddr[sel] >> shift) & page_mask)
            if limit > max_burst:
                limit = max_burst
            final = remain[sel] <= limit
            burst = remain[sel] if final else limit
        fetch_request = (
            fetch_running
            and w_reserved < depth
            and (not active[1] or (load and sel == 1 and final))
        )
        param_accept = param_issue and (not active[2] or (load and sel == 2 and final))
        input_ready = not active[0] or (load and sel == 0 and final)
        load_now = w_count != 0 and loaded_ahead < 2 and t >= free_at[load_bank]
        can_start = (loaded_ahead != 0 or load_now) and t >= ready_at
        tile_started = False
        started_bank = 0
        issue = ist == 4
        last_pixel = False
        acc_claim = 0
        if issue:
            if t == stream_end:
                last_pixel = True
                started_bank = 1 - tile_parity
                tile_started = tile_idx + 1 < tiles and can_start
        elif ist == 3:
            started_bank = tile_parity
            tile_started = can_start
        elif ist == 1:
            half = band & 1
            if (acc_free >> half) & 1 and loaded_bands > band:
                acc_claim = 1 << half
        band_done_now = 0
        while band_done and band_done[0][0] == t:
            band_done_now |= 1 << band_done.popleft()[1]
        pf_go = False
        if pst == 3:
            pf_go = (whole and bands[l_band][1] != 0) or (ist == 1 and band == l_band)
        p_half = p_band & 1
        rsp_taken = bool(wresp) and wresp[0] == t
        post_idle = not running and not fifo and inflight is None and in_requant == 0
        if post_busy:
            can_read = running and len(fifo) + (inflight is not None) < _POST_FIFO
            tag8 = pipe[-1]
            out_valid = tag8 is not None and tag8[1]
            w_data_ready = have and wlevel + lanes <= cap
            o_ready = w_data_ready if out_valid else True
            w_load = rg_active and len(blen) + wr_valid < _WRITE_QUEUE
            w_burst = 0
            rg_final = False
            if w_load:
                w_limit = page_beats - ((rg_addr >> shift) & page_mask)
                if w_limit > max_burst:
                    w_limit = max_burst
                rg_final = rg_remain <= w_limit
                w_burst = rg_remain if rg_final else w_limit
            w_cmd_ready = len(region) < _REGION_FIFO and (not rg_active or (w_load and rg_final))
            accept = out_valid and w_data_ready
            take = 0
            finish = False
            if accept:
                take = min(tag8[0], in_remain)
                finish = take == in_remain
            start_region = bool(region) and (not have or finish)
            level_start = wlevel + take
            if finish:
                level_start = _cdiv(level_start, bb) * bb
            if start_region:
                level_start += region[0][0]
            emit = wlevel >= bb and bool(blen)
            w_last = emit and beat_count + 1 == blen[0]
            writer_idle = False
        else:
            can_read = w_load = emit = w_last = False
            w_cmd_ready = True
            writer_idle = pending == 0
        post_start = qst == 2 and w_cmd_ready
        acc_release = (1 << p_half) if reads_done else 0
        if qst == 4 and post_idle and writer_idle and sel < 0 and last_load != t - 1 and not info:
            ph[_TAIL] += 1
            break
        q_wait_go = qst == 1 and (band_computed >> p_half) & 1 and params_loaded and post_idle

        # ================================ accounting ================================
        if issue:
            mac += 1
            ph[_MAC] += 1
            started = True
        elif ist == 3:
            if not tile_started:
                stall += 1
                if not started:
                    ph[_SETUP] += 1
                elif loaded_ahead == 0 and w_count == 0:
                    ph[_WEIGHTS] += 1
                elif loaded_ahead == 0 and not load_now:
                    ph[_BANK] += 1
                else:
                    ph[_WALKER] += 1
            elif started:
                ph[_SWITCH] += 1
            else:
                ph[_SETUP] += 1
        elif ist == 1 and not acc_claim and (acc_free >> (band & 1)) & 1:
            stall += 1
            if started:
                ph[_INPUT] += 1
            else:
                ph[_SETUP] += 1
        elif not started:
            ph[_SETUP] += 1
        elif ist == 1 and not acc_claim:
            ph[_ACC] += 1
        elif ist == 0:
            ph[_TAIL] += 1
        else:
            ph[_SWITCH] += 1

        # ================================ registers ================================
        req_taken = wr_valid
        # read DMA
        if end_burst:
            info.popleft()
        if load:
            first = t + 1 + L
            if first < mem_free:
                first = mem_free
            mem_free = first + burst
            info.append((mem_free - 1, sel, final))
            beats_read += burst
            last_load = t
            raddr[sel] += burst << shift
            remain[sel] -= burst
            if final:
                active[sel] = False
        if param_accept:
            active[2], raddr[2], remain[2] = True, p_addr & lane_mask, m_tiles * ptb
        if fetch_request:
            active[1], raddr[1], remain[1] = True, (w_addr + fetch_tile * wtb * bb) & lane_mask, wtb
        if pst == 4 and load_hi > load_lo and input_ready:
            beats = (load_end - load_start + bb - 1) >> shift
            active[0], raddr[0], remain[0] = beats != 0, load_start & lane_mask, beats
        # parameters
        if run:
            param_issue = True
            params_loaded = False
        elif param_accept:
            param_issue = False
        if end_client == 2:
            params_loaded = True
        # weight fetcher and weight FIFO
        if run:
            fetch_running, fetch_tile, fetch_band = True, 0, 0
        elif fetch_request:
            if fetch_tile + 1 == tiles:
                fetch_tile = 0
                fetch_band += 1
                if fetch_band == n_bands:
                    fetch_running = False
            else:
                fetch_tile += 1
        w_reserved += fetch_request - load_now
        w_count += (end_client == 1) - load_now
        # array weight banks and K walker
        if load_now:
            load_bank ^= 1
        loaded_ahead += load_now - tile_started
        if issue:
            free_at[tile_parity] = t + hold
        if tile_started:
            free_at[started_bank] = t + hold
        if run:
            ready_at = t + rows_a + 1
        elif tile_started:
            ready_at = t + rows_a
        # issuer
        if ist == 0:
            if run:
                band, tile_parity, ist = 0, 0, 1
        elif ist == 1:
            if acc_claim:
                ist = 2
                tile_idx = 0
        elif ist == 2:
            ist = 3
        elif ist == 3:
            if tile_started:
                ist = 4
                tile_len = bands[band][2] * F
                stream_end = t + tile_len
                if tile_idx == 0:
                    band_log.append([*bands[band], t + 1, -1, -1])
        elif last_pixel:
            tile_parity ^= 1
            if tile_idx + 1 < tiles:
                tile_idx += 1
                if tile_started:
                    stream_end = t + tile_len
                else:
                    ist = 3
            else:
                band_log[band][4] = t
                band_done.append((t + done_delay, band & 1))
                band += 1
                drain = _DRAIN
                ist = 0 if band == n_bands else 5
        elif ist == 5:
            if drain == 0:
                ist = 1
            drain -= 1
        acc_free = (acc_free | acc_release) & ~acc_claim
        # input prefetcher
        if pst == 0:
            if run:
                l_band = 0
                loaded_bands = 0
                pst = 1
        elif pst == 1:
            _n, e0_, rows_ = bands[l_band]
            l_hb0 = e0_ * U - P
            l_hlast = (e0_ + rows_ - 1) * U - P + R
            pst = 2
        elif pst == 2:
            if whole:
                load_lo = 0 if bands[l_band][1] == 0 else loaded_hi
            else:
                load_lo = l_hb0 if l_hb0 > 0 else 0
            load_hi = l_hlast if l_hlast < H else H
            pst = 3
        elif pst == 3:
            if pf_go:
                img_off = bands[l_band][0] * HWC
                load_start = (in_addr + img_off + load_lo * WC) & lane_mask
                load_end = in_addr + img_off + load_hi * WC
                pst = 4
        elif pst == 4:
            if load_hi <= load_lo:
                loaded_bands += 1
                l_band += 1
                pst = 0 if l_band == n_bands else 1
            elif input_ready:
                loaded_hi = load_hi
                pst = 5
        elif pst == 5:
            if end_client == 0:
                loaded_bands += 1
                l_band += 1
                pst = 0 if l_band == n_bands else 1
        # accumulators and post-processing FSM
        band_computed = (band_computed | band_done_now) & ~((1 << p_half) if post_start else 0)
        if qst == 0:
            if run:
                p_band = 0
                qst = 1
        elif qst == 1:
            if q_wait_go:
                qst = 2
        elif qst == 2:
            if post_start:
                band_log[p_band][5] = t
                qst = 3
        elif qst == 3:
            if reads_done:
                p_band += 1
                qst = 4 if p_band == n_bands else 1
        if post_busy:
            # requantizer pipeline (bubbles are squeezed out while the output stalls)
            head = fifo[0] if fifo else None
            if tag8 is None or o_ready:
                pipe.pop()
                pipe.insert(0, head)
                accepted = head is not None
                in_requant += accepted - (tag8 is not None)
            else:
                accepted = False
                for j in range(_REQUANT_STAGES - 2, -1, -1):
                    if pipe[j] is None:
                        del pipe[j]
                        pipe.insert(0, head)
                        accepted = head is not None
                        in_requant += accepted
                        break
            if accepted:
                fifo.popleft()
            if inflight is not None:
                fifo.append(inflight)
            inflight = None
            reads_done = False
            if can_read:
                inflight = pattern[read_i % pat_len]
                read_i += 1
                if read_i == n_reads:
                    running = False
                    reads_done = True
            # writer: burst requests
            if wr_valid:
                blen.append(wr_beats)
            if w_load:
                wr_valid = True
                wr_beats = w_burst
                rg_addr += w_burst << shift
                rg_remain -= w_burst
                if rg_final:
                    rg_active = False
            else:
                wr_valid = False
            # byte packer and beats
            if start_region:
                have = True
                in_remain = region.popleft()[1]
            elif finish:
                have = False
            elif accept:
                in_remain -= take
            bytes_written += take
            if emit:
                wlevel = level_start - bb
                if w_last:
                    beat_count = 0
                    blen.popleft()
                    last_resp = max(t + WL, last_resp + 1)
                    wresp.append(last_resp)
                else:
                    beat_count += 1
            else:
                wlevel = level_start
        if post_start:
            prow = bands[p_band][2] >> 1 if pool else bands[p_band][2]
            length = prow * out_row_bytes
            running = True
            n_reads = prow * F_out * pat_len
            read_i = 0
            off = out_addr & (bb - 1)
            rg_active = True
            rg_addr = out_addr & lane_mask
            rg_remain = (off + length + bb - 1) >> shift
            region.append((off, length))
            out_addr += length
        pending += req_taken - rsp_taken
        if rsp_taken:
            wresp.popleft()
        post_busy = bool(
            running
            or fifo
            or inflight is not None
            or in_requant
            or reads_done
            or rg_active
            or wr_valid
            or region
            or have
            or wlevel
            or blen
        )

        # ============ steady state: jump over whole periods of identical tiles ============
        if (
            tile_started
            and periodic
            and not post_busy
            and not wresp
            and not band_done
            and not band_computed
            and qst == 1
            and params_loaded
            and not param_issue
            and not active[0]
            and not active[2]
            and (pst == 0 or (pst == 3 and (not whole or bands[l_band][1] == 0)))
        ):
            key = (
                tile_parity,
                stream_end - t,
                active[1],
                remain[1],
                tuple((e - t, c, f) for e, c, f in info),
                mem_free - t if mem_free > t else 0,
                fetch_running,
                w_reserved,
                w_count,
                load_bank,
                loaded_ahead,
                free_at[0] - t if free_at[0] > t else 0,
                free_at[1] - t if free_at[1] > t else 0,
                ready_at - t if ready_at > t else 0,
                acc_free,
                loaded_bands - band,
                pst,
                l_band - band,
                p_band - band,
            )
            if any(c != 1 for _e, c, _f in info):
                key = None
            started_n = band * tiles + tile_idx
            fetched_n = fetch_band * tiles + fetch_tile
            ph_now = tuple(ph)
            prev = history.get(key) if key is not None else None
            if prev is not None and prev[0] == band:
                _b, t0, mac0, stall0, ph0, beats0, started0, fetched0 = prev
                p = started_n - started0
                dt = t - t0
                n = min(
                    (tiles - 1 - tile_idx) // p,
                    (total_tiles - 1 - fetched_n) // p
                    if fetch_running
                    else (tiles - 1 - tile_idx) // p,
                )
                if n > 0:
                    shift_t = n * dt
                    mac += n * (mac - mac0)
                    stall += n * (stall - stall0)
                    for i, (now, before) in enumerate(zip(ph_now, ph0, strict=True)):
                        ph[i] += n * (now - before)
                    beats_read += n * (beats_read - beats0)
                    tile_idx += n * p
                    fetched_n += n * (fetched_n - fetched0)
                    fetch_band, fetch_tile = divmod(fetched_n, tiles)
                    if active[1]:
                        idx = (fetched_n - 1) % tiles
                        raddr[1] = w_addr + idx * tile_bytes + ((wtb - remain[1]) << shift)
                    info = deque((e + shift_t, c, f) for e, c, f in info)
                    mem_free += shift_t
                    last_load += shift_t
                    free_at[0] += shift_t
                    free_at[1] += shift_t
                    ready_at += shift_t
                    stream_end += shift_t
                    t += shift_t
                    history.clear()
                    t1 = t + 1
                else:
                    history.clear()
            elif key is not None:
                history[key] = (band, t, mac, stall, ph_now, beats_read, started_n, fetched_n)

        # ======================== next cycle in which anything happens ========================
        t1 = t + 1
        if (
            post_busy
            or param_issue
            or pst == 1
            or pst == 2
            or pst == 4
            or ist == 2
            or (sel_any := active[0] or active[1] or active[2])
            and len(info) < _READ_OUTSTANDING
            or (fetch_running and w_reserved < depth and not active[1])
            or (pst == 3 and ((whole and bands[l_band][1] != 0) or (ist == 1 and band == l_band)))
            or (ist == 1 and (acc_free >> (band & 1)) & 1 and loaded_bands > band)
            or (qst == 1 and (band_computed >> (p_band & 1)) & 1 and params_loaded)
            or qst == 2
            or (qst == 4 and pending == 0 and not sel_any and last_load != t and not info)
        ):
            t = t1
            continue
        nxt = _INF
        if info:
            nxt = info[0][0]
        if band_done and band_done[0][0] < nxt:
            nxt = band_done[0][0]
        if wresp and wresp[0] < nxt:
            nxt = wresp[0]
        if ist == 4:
            if stream_end < nxt:
                nxt = stream_end
        elif ist == 5:
            if t1 + drain < nxt:
                nxt = t1 + drain
        elif ist == 3:
            if loaded_ahead:
                cand = ready_at if ready_at > t1 else t1
                if cand < nxt:
                    nxt = cand
            elif t1 < ready_at < nxt:
                nxt = ready_at
        if w_count and loaded_ahead < 2 and not (ist == 4 and tile_parity == load_bank):
            cand = free_at[load_bank] if free_at[load_bank] > t1 else t1
            if cand < nxt:
                nxt = cand
        if nxt == _INF:
            raise AssertionError(f"performance model deadlocked in cycle {t}")
        skip = nxt - t1
        if skip > 0:
            # Cycles t+1 .. nxt-1: nothing changes but time-driven counters.
            if ist == 4:
                mac += skip
                ph[_MAC] += skip
                free_at[tile_parity] = nxt - 1 + hold
            elif ist == 3:
                stall += skip
                # The reason is the same in every skipped cycle: a weight arrival, a bank
                # becoming free and the walker becoming ready are all events.
                if not started:
                    ph[_SETUP] += skip
                elif loaded_ahead == 0 and w_count == 0:
                    ph[_WEIGHTS] += skip
                elif loaded_ahead == 0:
                    ph[_BANK] += skip
                else:
                    ph[_WALKER] += skip
            elif ist == 1 and (acc_free >> (band & 1)) & 1:
                stall += skip
                if started:
                    ph[_INPUT] += skip
                else:
                    ph[_SETUP] += skip
            elif not started:
                ph[_SETUP] += skip
            elif ist == 1:
                ph[_ACC] += skip
            elif ist == 5:
                drain -= skip
                ph[_SWITCH] += skip
            elif ist == 0:
                ph[_TAIL] += skip
            else:
                ph[_SWITCH] += skip
        t = nxt

    phases = dict(zip(PHASES, ph, strict=True))
    return {
        "CYCLES": t,
        "MAC_CYCLES": mac,
        "STALL_CYCLES": stall,
        "DMA_READ_BYTES": beats_read * bb,
        "DMA_WRITE_BYTES": bytes_written,
        "phases": phases,
        "bands": [tuple(b) for b in band_log],
    }


def _job_inputs(shape_or_job, config: AccelConfig, band: int | None):
    if isinstance(shape_or_job, LayerJob):
        if band is not None and band != shape_or_job.band:
            raise ValueError(f"band={band} given for a job prepared with band={shape_or_job.band}")
        return shape_or_job.shape, dict(shape_or_job.descriptor)
    if isinstance(shape_or_job, LayerShape):
        return shape_or_job, descriptor_for(shape_or_job, config, band)
    raise TypeError(f"expected a LayerJob or a LayerShape, not {type(shape_or_job).__name__}")


def predict(
    shape_or_job: LayerJob | LayerShape,
    config: AccelConfig,
    memory: MemoryTiming = MemoryTiming(),
    band: int | None = None,
) -> PerfReport:
    """Predict the counters of one layer run on ``config`` (exact; a few milliseconds).

    ``shape_or_job``: a :class:`accel.driver.LayerJob` (its descriptor, band and buffer
    addresses are used as they are) or a :class:`accel.driver.LayerShape` with an optional
    ``band`` (default: :func:`accel.driver.choose_band`), laid out in memory as
    :func:`accel.driver.prepare_layer` would. ``memory``: the latencies of main memory.
    Raises :class:`accel.driver.MappingError` for a layer the accelerator would reject.
    """
    if not isinstance(config, AccelConfig):
        raise TypeError(f"config must be an AccelConfig, not {type(config).__name__}")
    if not isinstance(memory, MemoryTiming):
        raise TypeError(f"memory must be a MemoryTiming, not {type(memory).__name__}")
    shape, desc = _job_inputs(shape_or_job, config, band)
    _check_descriptor(desc, config)
    result = _simulate(desc, config, memory.read_latency, memory.write_latency)
    pes = config.rows * config.cols
    macs = shape.macs
    m_tiles = _cdiv(shape.M, config.cols)
    k_tiles = _cdiv(shape.K, config.rows)
    pixels = shape.N * shape.E_run * shape.F
    min_bytes = shape.min_bytes
    cycles = result["CYCLES"]
    return PerfReport(
        cycles=cycles,
        macs=macs,
        pes=pes,
        ideal_cycles=shape.ideal_cycles(config),
        mapping_cycles=m_tiles * k_tiles * pixels,
        roofline_cycles=shape.roofline(config),
        min_bytes=min_bytes,
        utilization=macs / (pes * cycles),
        dma_read_bytes=result["DMA_READ_BYTES"],
        dma_write_bytes=result["DMA_WRITE_BYTES"],
        mac_cycles=result["MAC_CYCLES"],
        stall_cycles=result["STALL_CYCLES"],
        band=desc["BAND"],
        phases=result["phases"],
        bands=result["bands"],
    )


def best_band(shape: LayerShape, config: AccelConfig, memory: MemoryTiming = MemoryTiming()) -> int:
    """The legal BAND with the fewest predicted cycles (the smallest such band on a tie)."""
    bands = legal_bands(shape, config)
    if not bands:
        raise MappingError(f"layer {shape} has no legal band on this configuration")
    best = None
    for band in bands:
        cycles = predict(shape, config, memory, band=band).cycles
        if best is None or cycles < best[0]:
            best = (cycles, band)
    return best[1]
