"""Exact performance model of the accelerator: cycles, counters and a phase breakdown.

:func:`predict` returns the value of every performance counter of the RTL (CYCLES, MAC_CYCLES,
STALL_CYCLES, DMA_READ_BYTES, DMA_WRITE_BYTES) for one layer run — exactly, not as an estimate
— in a few milliseconds, together with the usual bounds (ideal, mapping, roofline).

How it works: the model is an event-driven simulation of the control state of the
micro-architecture (:mod:`accel.hw.core` and the blocks it instantiates), without any data.
Every cycle in which some engine changes state in a way the others can see is evaluated with
the RTL's own rules; the cycles in between (a tile streaming pixels, a DMA burst delivering
beats, a bank timer or the K walker counting, DMA latency) are skipped in one step, because
nothing in them depends on anything but time. The read DMA runs ahead on its own through the
bursts no client sees, and the output side (accumulator latches, post-processing, writer),
which the rest of the machine only sees through the accumulator releases and the done
condition, runs on its own time line, brought up to date when the issuer waits for an
accumulator half and at the end. When the tile stream reaches a steady state (the state of
the weight stream, the issuer and the walker, relative to the current cycle, repeats at a tile
start while the input and parameter engines are idle), whole periods are skipped at once up
to the end of the band; so are whole periods of a band's read-out on the output side. Timing
never depends on data values: only the layer shape, the band, the pitches, the buffer
addresses (4 KiB burst splits, unaligned output regions: only an address's position within
its page matters, so predictions are remembered by that) and the memory latencies matter.

Every valid descriptor of ISA v2 is modelled: row-mode input (``IN_ROW_PITCH`` ≠ W·C), one
output region per row or per pixel (``OUT_ROW_PITCH``, ``OUT_PIX_PITCH``), ``ACC_IN`` (no
timing effect) and ``ACC_OUT``; a tiled layer is the sum of its descriptors (CONTINUE keeps
counting), :func:`best_descriptor_band` searches a tile's bands with the model.

Modules: :mod:`~accel.perf.model` (:func:`predict`, :func:`best_band`,
:func:`descriptor_for`, :func:`predict_descriptor`, :func:`best_descriptor_band`),
:mod:`~accel.perf.report` (:class:`MemoryTiming`, :class:`PerfReport`, the phases),
:mod:`~accel.perf.geometry` (the quantities derived from the descriptor), one module per
engine — :mod:`~accel.perf.reader`, :mod:`~accel.perf.params`, :mod:`~accel.perf.weights`,
:mod:`~accel.perf.issuer` (with the K walker), :mod:`~accel.perf.prefetch`,
:mod:`~accel.perf.postproc`, :mod:`~accel.perf.writer` and :mod:`~accel.perf.output`
(accumulators and the post FSM) —, :mod:`~accel.perf.accounting` (counters and phases), the
two steady-state fast paths :mod:`~accel.perf.steady` and :mod:`~accel.perf.output_steady`,
and the loop that drives the engines, :mod:`~accel.perf.sequencer`.

Engines and their timing rules (cycle 0 is the cycle of the START instruction's pulse):

* setup (:class:`accel.hw.geometry.LayerSetup`): the engines start (``run``) in cycle
  ``SETUP_CYCLES`` (7), or 7 + max(M tiles, K tiles) for array sizes that are not powers of two;
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
  BAND and TILE states (a cycle each at least) and the 3 cycles of BAND_BASE before the first
  vector;
* input prefetcher: 5 cycles of address arithmetic, then one command per band (per image when
  the whole image fits the input banks); a new window waits for the issuer to reach its band;
  in row mode one command per input row of ⌈W·C / bus bytes⌉ beats, each given as soon as the
  reader takes it (in the cycle it issues the previous row's last burst), the band loaded
  when the last row's last beat arrives;
* accumulators: a band is complete ``rows + cols + 5`` cycles after its last vector (the
  feeder, the array with its two PE multiplier stages, the read-modify-write);
* post-processing (:class:`accel.hw.postproc.PostProcessor`): one accumulator read per cycle
  (four per pooled output), a 4-entry FIFO and the 10-stage requantizer with back-pressure from
  the output writer (:class:`accel.hw.writer.OutputWriter`), whose byte packer, burst queue
  and write responses are modelled beat by beat; one write region per band, or per output
  row / pixel, the first offered with the band's start and the others whenever the writer
  takes them (the next band waits until all are offered); with ``ACC_OUT`` a complete band
  is released at once and nothing is written;
* done: when the last band is post-processed and every write is acknowledged.

Memory timing (:class:`MemoryTiming`): a fixed-latency memory that accepts a request and
moves a beat every cycle. cocotbext-axi's ``AxiRam`` behind :class:`accel.hw.axi.AXI4Master`
(the Verilog under cocotb, :mod:`accel.verif.rtlsim`) has read and write latency 2, the default
(:meth:`MemoryTiming.axi_ram`); the Amaranth simulator's
:class:`accel.verif.models.MemoryModel` takes the latencies given to
:func:`accel.verif.amaranth_sim.run_job` (default 2 and 2 as well). Random back-pressure (``seed``)
is not modelled.

Validated counter for counter (all five counters equal) against the Amaranth simulation and
the Verilator/cocotb run: ``tests/test_perf.py``, ``tests/perf/`` (ISA v2: tiled layers and
descriptors with their own pitches), ``benchmarks/perf_vs_rtl.py``.
"""

from accel.mapping import legal_bands
from accel.perf.model import (
    best_band,
    best_descriptor_band,
    descriptor_for,
    predict,
    predict_descriptor,
)
from accel.perf.report import PHASES, MemoryTiming, PerfReport

__all__ = [
    "PHASES",
    "MemoryTiming",
    "PerfReport",
    "predict",
    "best_band",
    "best_descriptor_band",
    "predict_descriptor",
    "legal_bands",
    "descriptor_for",
]
