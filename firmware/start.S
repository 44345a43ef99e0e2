/*
 * Reset entry: set the trap vector and enable the CFU (both for VexRiscv; the ISS records
 * the CSR writes and ignores them), set the stack pointer, zero .bss, call main(), then leave
 * with exit(main's return value) — ECALL with a7 = 93, a0 = the code.
 *
 * The ISS implements the environment calls itself. On the VexRiscv SoC (docs/soc.md) ECALL
 * traps to trap_entry below, which implements write (a7 = 64) on the MMIO console and exit
 * (a7 = 93) on the MMIO exit register; any other trap reports mcause/mepc/mtval through MMIO
 * and exits with SOC_EXIT_TRAP | mcause.
 */
#include "soc.h"

    .section .text.start, "ax"
    .globl _start
    .type _start, @function
_start:
    la      t0, trap_entry
    csrw    mtvec, t0
    li      t0, SOC_CFU_ENABLE
    csrs    SOC_CSR_CFU, t0
    la      sp, __stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:
    bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    call    main
    li      a7, 93          /* exit(a0) */
    ecall
3:
    ebreak                  /* not reached: the exit call halts */
    j       3b
    .size _start, . - _start

/* Machine trap handler (VexRiscv only). Keeps every register except a0 (the call's result). */
    .section .text.trap, "ax"
    .balign 4
    .globl trap_entry
    .type trap_entry, @function
trap_entry:
    csrw    mscratch, t0
    csrr    t0, mcause
    addi    t0, t0, -11     /* environment call from M-mode */
    bnez    t0, fault
    li      t0, 93
    beq     a7, t0, sys_exit
    li      t0, 64
    bne     a7, t0, sys_unknown
    addi    sp, sp, -16     /* write(fd, buf, len): the bytes go to the console */
    sw      t1, 0(sp)
    sw      t2, 4(sp)
    sw      t3, 8(sp)
    li      t0, SOC_MMIO_BASE
    mv      t1, a1
    add     t2, a1, a2
4:
    bgeu    t1, t2, 5f
    lbu     t3, 0(t1)
    sw      t3, SOC_MMIO_CHAR(t0)
    addi    t1, t1, 1
    j       4b
5:
    mv      a0, a2
    lw      t1, 0(sp)
    lw      t2, 4(sp)
    lw      t3, 8(sp)
    addi    sp, sp, 16
    j       trap_return
sys_unknown:
    li      a0, -38         /* ENOSYS */
trap_return:
    csrr    t0, mepc
    addi    t0, t0, 4
    csrw    mepc, t0
    csrr    t0, mscratch
    mret
sys_exit:                   /* report minstret, then the exit code stops the simulation */
    li      t0, SOC_MMIO_BASE
    csrr    t1, minstret
    csrr    t2, minstreth
    sw      t1, SOC_MMIO_INSTRET_LO(t0)
    sw      t2, SOC_MMIO_INSTRET_HI(t0)
    sw      a0, SOC_MMIO_EXIT(t0)
6:
    j       6b
fault:
    li      t0, SOC_MMIO_BASE
    csrr    t1, mcause
    sw      t1, SOC_MMIO_TRAP_CAUSE(t0)
    csrr    t2, mepc
    sw      t2, SOC_MMIO_TRAP_PC(t0)
    csrr    t2, mtval
    sw      t2, SOC_MMIO_TRAP_VAL(t0)
    andi    t1, t1, 0xff
    ori     t1, t1, SOC_EXIT_TRAP
    sw      t1, SOC_MMIO_EXIT(t0)
7:
    j       7b
    .size trap_entry, . - trap_entry
