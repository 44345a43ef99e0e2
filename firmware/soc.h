/*
 * The VexRiscv SoC of accel.soc (docs/soc.md): its MMIO registers and the data-cache flush.
 * The numbers mirror accel/soc/memory_map.py (tests/soc/test_firmware_soc.py checks them).
 * Usable from C and from start.S (only #defines outside the C part).
 *
 * MMIO (uncached: VexRiscv treats every address with bit 31 set as I/O), 32-bit accesses:
 *   SOC_MMIO_EXIT        W  end of the program: the simulation stops with this exit code
 *   SOC_MMIO_CHAR        W  console output, one byte (bits 7..0)
 *   SOC_MMIO_CYCLE_LO/HI R  64-bit cycle counter since reset (reading LO latches HI)
 *   SOC_MMIO_INSTRET_LO/HI W  the CPU's minstret, written by the exit path for the host
 *   SOC_MMIO_TRAP_CAUSE/PC/VAL W  mcause, mepc, mtval of an unexpected trap
 */
#ifndef SOC_H
#define SOC_H

#define SOC_MMIO_BASE 0xF0000000
#define SOC_MMIO_EXIT 0x00
#define SOC_MMIO_CHAR 0x04
#define SOC_MMIO_CYCLE_LO 0x08
#define SOC_MMIO_CYCLE_HI 0x0C
#define SOC_MMIO_INSTRET_LO 0x10
#define SOC_MMIO_INSTRET_HI 0x14
#define SOC_MMIO_TRAP_CAUSE 0x18
#define SOC_MMIO_TRAP_PC 0x1C
#define SOC_MMIO_TRAP_VAL 0x20

/* Exit code of an unexpected trap: SOC_EXIT_TRAP | mcause (low bits). */
#define SOC_EXIT_TRAP 0x100

/* CfuPlugin's enable: bit 31 of CSR 0xBC0 (VexRiscv's CfuPlugin stateAndIndexCsrOffset; the
 * other bits are the ExternalInterruptArray mask, left 0). Until it is set, custom-0
 * instructions trap as illegal. */
#define SOC_CSR_CFU 0xBC0
#define SOC_CFU_ENABLE 0x80000000

/* VexRiscv DBusCachedPlugin's flush instruction (MISC-MEM, funct3 = 5, rs2 = 0): invalidates
 * every line of the write-through data cache. A no-op on the ISS. */
#define SOC_DCACHE_FLUSH_WORD 0x0000500f

#ifndef __ASSEMBLER__
/* Forget every cached line, so the next loads see what the accelerator's DMA wrote. Stores
 * need nothing: the data cache is write-through and a store completes on the bus before
 * the next instruction. */
static inline void soc_dcache_invalidate(void)
{
    __asm__ volatile(".word 0x0000500f" ::: "memory");
}
#endif

#endif /* SOC_H */
