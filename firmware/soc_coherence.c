/*
 * The data cache and the accelerator's DMA (docs/soc.md, tests/soc/test_firmware_soc.py).
 *
 * The CPU fills a layer's inputs and weights with a pattern (its parameters with zeros: every
 * output is the output zero point, -5 = 0xfb), fills the output
 * region with 0xa5 and reads it back (on VexRiscv its lines are now in the data cache),
 * then runs the layer twice: once with raw START/WAIT instructions (no cache flush) and once
 * with the driver's accel_run_layer() (which invalidates the data cache after WAIT). After
 * each run it prints a checksum of the output region as the CPU reads it. The host compares
 * them with the output region in RAM: the driver's read must match it; the raw read shows
 * stale cached bytes on VexRiscv (and matches on the ISS, which has no cache).
 */
#include <stdint.h>

#include "accel_drv.h"
#include "runtime.h"

extern uint8_t __arena_start[];

#define OUT_OFFSET 0x3000u
#define OUT_BYTES (5u * 5u * 16u)

static uint32_t checksum(const volatile uint8_t *p, uint32_t n)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum = sum * 31u + p[i];
    return sum;
}

int main(void)
{
    uint8_t *arena = __arena_start;
    for (uint32_t i = 0; i < 0x2000u; i++) /* inputs and weights */
        arena[i] = (uint8_t)(i * 7u + 3u + (i >> 8));
    memset(arena + 0x2000u, 0, 0x1000u); /* parameters: multiplier 0, every output OUT_ZP */
    volatile uint8_t *out = arena + OUT_OFFSET;
    for (uint32_t i = 0; i < OUT_BYTES; i++)
        out[i] = 0xa5;
    printf("before %x\n", checksum(out, OUT_BYTES));

    uint32_t base = (uint32_t)(uintptr_t)arena;
    accel_layer_t layer = {
        .n = 1, .h = 14, .w = 14, .c = 6, .m = 16, .r = 5, .s = 5, .e = 10, .f = 10, .u = 1,
        .p = 0, .in_addr = base, .w_addr = base + 0x1000, .param_addr = base + 0x2000,
        .out_addr = base + OUT_OFFSET, .in_zp = (uint32_t)-128, .out_zp = (uint32_t)-5,
        .act_min = (uint32_t)-128, .act_max = 127, .pool = 1, .band = 10, .pl = 0,
        .in_row_pitch = 14 * 6, .out_row_pitch = 5 * 16, .out_pix_pitch = 16, .acc = 0,
    };
    accel_clear();
    accel_configure(&layer);
    uint32_t status = accel_start();
    status = accel_wait(); /* no cache flush */
    printf("raw %x status %x\n", checksum(out, OUT_BYTES), status);

    for (uint32_t i = 0; i < OUT_BYTES; i++)
        out[i] = 0xa5;
    (void)checksum(out, OUT_BYTES);
    int err = accel_run_layer(&layer, (accel_counters_t *)0);
    printf("driver %x err %d\n", checksum(out, OUT_BYTES), err);
    return err;
}
