"""Latencies and queue depths of the hardware engines, defined once.

The Amaranth blocks in :mod:`accel.hw` build their pipelines and FIFOs from these numbers and
the performance model :mod:`accel.perf` predicts with them, so a change of a pipeline depth
changes both (the RTL tests then check the model is still exact).
"""

#: LayerSetup: START (cycle 0) to ``run`` for power-of-two arrays (other sizes add
#: max(M tiles, K tiles) cycles of counting); the 16 x 32-bit products take two cycles (partial
#: products, sums), the last cycle registers the descriptor checks.
SETUP_CYCLES = 7
#: InputFeeder: an im2col vector issued in cycle T reaches the array input in T + this.
FEEDER_LATENCY = 3
#: Register stages between the issuer and the array input inside the feeder.
FEED_TO_ARRAY = 2
#: Issuer: start value of the DRAIN counter after a band's last vector (the issuer stays
#: ISSUER_DRAIN + 1 cycles in DRAIN, so the feeder has read the input banks before the next
#: band's window may replace them).
ISSUER_DRAIN = FEEDER_LATENCY + 1
#: ProcessingElement: register stages between an activation's arrival at a PE and the
#: partial-sum adder (the operand registers with the bank-selected weight, then the product
#: register of the multiplier). The systolic alignment is kept, so the array's latency grows by
#: this and nothing else changes.
PE_MUL_STAGES = 2
#: InputPrefetcher: cycles in PRODUCTS (the band's row addresses: partial products, sums).
PREFETCH_PRODUCT_CYCLES = 2
#: Issuer: cycles in BAND_BASE (the band's window offset, a multiply and three adds).
ISSUER_BASE_CYCLES = 3
#: Accumulators: cycles from an array result to the write of its sum (the read, the
#: registered read data, the registered sum).
ACC_RMW_STAGES = 3
#: Accumulators: cycles from a post-processor read to its data (block-RAM read, then the
#: read data registered per half before the half is selected).
ACC_READ_LATENCY = 2
#: Requantizer pipeline stages (accumulator + bias in, int8 out; free-running).
REQUANT_LATENCY = 10
#: PostProcessor: output vectors buffered behind the requantizers. The accumulator reads that
#: complete an output vector take a credit (output vectors in the requantizer or this FIFO),
#: so the free-running requantizer never meets a full FIFO; 16 credits keep one read per
#: cycle going while the writer takes one vector per cycle.
POST_FIFO_DEPTH = 16
#: PostProcessor: an output vector written into the output FIFO in cycle T is offered to the
#: writer in T + this (2: the FIFO's output is a register, so the writer's byte packer starts
#: from flip-flops, not from the FIFO's LUT-RAM read).
POST_FIFO_LATENCY = 2
#: ReadDMA: bursts in flight (burst-info FIFO depth).
READ_OUTSTANDING = 4
#: OutputWriter: bursts requested ahead of their data.
WRITE_BURST_QUEUE = 4
#: OutputWriter: output regions queued.
WRITE_REGION_FIFO = 2
#: AXI bursts never cross this boundary.
PAGE_BYTES = 4096


def array_latency(rows: int, cols: int) -> int:
    """SystolicArray: cycles from accepting an input vector to presenting its result."""
    return rows + cols + PE_MUL_STAGES


def bank_reuse_delay(rows: int, cols: int) -> int:
    """SystolicArray: cycles after the last vector of a weight bank (accepted at the array
    input) from which that bank may be reloaded (the last PE selects its weight ``rows + cols
    - 1`` cycles after the vector was accepted; the multiplier stages come after the select)."""
    return rows + cols - 1
