"""The SoC's address map and MMIO registers, defined once (``firmware/soc.h`` mirrors them).

=================  ==========================  =========================================
range              what                        who
=================  ==========================  =========================================
``0x0000_0000``    on-chip RAM (``ram_bytes``)  CPU (I$ and D$, cached) and accelerator DMA
``0xF000_0000``    MMIO block (4 KiB)          CPU data bus only; uncached (bit 31 set)
anything else      Wishbone ERR                the CPU takes an access-fault trap
=================  ==========================  =========================================

The accelerator's AXI master sees the RAM from address 0; an address beyond it (or a burst
that runs past its end) is answered with SLVERR.
"""

RAM_BASE = 0x0000_0000
MMIO_BASE = 0xF000_0000
MMIO_BYTES = 0x1000

#: MMIO register offsets (32-bit registers; see ``firmware/soc.h``).
MMIO_REGISTERS = {
    "EXIT": 0x00,  # W: stop the simulation with this exit code
    "CHAR": 0x04,  # W: one console byte (bits 7..0)
    "CYCLE_LO": 0x08,  # R: cycle counter since reset, low word (latches the high word)
    "CYCLE_HI": 0x0C,  # R: the high word latched by the last CYCLE_LO read
    "INSTRET_LO": 0x10,  # W: minstret, reported by the firmware's exit path
    "INSTRET_HI": 0x14,
    "TRAP_CAUSE": 0x18,  # W: mcause / mepc / mtval of an unexpected trap
    "TRAP_PC": 0x1C,
    "TRAP_VAL": 0x20,
}

#: Exit code of an unexpected trap: ``EXIT_TRAP | mcause``.
EXIT_TRAP = 0x100

#: CSR of VexRiscv's CfuPlugin enable (bit 31) and the D-cache flush instruction word.
CSR_CFU = 0xBC0
CFU_ENABLE = 1 << 31
DCACHE_FLUSH_WORD = 0x0000_500F
