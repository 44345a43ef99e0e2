/*
 * Reset entry: set the stack pointer, zero .bss, call main(), then leave the simulator
 * with exit(main's return value) — ECALL with a7 = 93, a0 = the code.
 */
    .section .text.start, "ax"
    .globl _start
    .type _start, @function
_start:
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
