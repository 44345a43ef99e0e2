/*
 * Self-test of the firmware toolchain, the runtime and the ISS: RV32IM arithmetic
 * (including the M-extension edge cases), memory copies in program memory and the
 * accelerator arena, printf, and the accelerator driver (INFO, one layer, one rejected
 * layer). It prints its results for the host to check and returns the number of failed
 * internal checks as its exit code.
 */
#include <stdint.h>

#include "accel_drv.h"
#include "runtime.h"

extern uint8_t __arena_start[];

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

/* The M instructions, exactly (C division by zero or INT_MIN / -1 would be undefined). */
#define RV_OP(name)                                                                      \
    static uint32_t rv_##name(uint32_t a, uint32_t b)                                    \
    {                                                                                    \
        uint32_t r;                                                                      \
        __asm__ volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));                \
        return r;                                                                        \
    }
RV_OP(mul)
RV_OP(mulh)
RV_OP(mulhsu)
RV_OP(mulhu)
RV_OP(div)
RV_OP(divu)
RV_OP(rem)
RV_OP(remu)

static volatile uint32_t operands[] = {
    0u, 1u, 7u, 0xfffffff9u /* -7 */, 0x80000000u /* INT_MIN */, 0xffffffffu /* -1 */,
    0x7fffffffu, 123456789u, 0xfff0edbau /* -987718 */,
};
#define N_OPERANDS (sizeof operands / sizeof operands[0])

static void test_m_extension(void)
{
    for (unsigned i = 0; i < N_OPERANDS; i++) {
        for (unsigned j = 0; j < N_OPERANDS; j++) {
            uint32_t a = operands[i], b = operands[j];
            printf("M %x %x: %x %x %x %x %x %x %x %x\n", a, b, rv_mul(a, b), rv_mulh(a, b),
                   rv_mulhsu(a, b), rv_mulhu(a, b), rv_div(a, b), rv_divu(a, b), rv_rem(a, b),
                   rv_remu(a, b));
        }
    }
}

/* Compiler-generated code for C arithmetic, checked against itself at another width. */
static void test_c_arithmetic(void)
{
    volatile int32_t x = -123457, y = 321;
    volatile int64_t wide = (int64_t)x * (int64_t)y;
    check(wide == -39629697LL, "64-bit product");
    check(x / y == -384 && x % y == -193, "signed division rounds toward zero");
    check((uint32_t)x >> 28 == 0xfu && x >> 28 == -1, "logical and arithmetic shifts");
    volatile uint64_t u = 0x123456789abcdefULL, d = 1000u;
    check(u / d == 81985529216486ULL && u % d == 895u, "64-bit division (compiler-rt)");
    printf("C %d %d %d %u\n", x * y, x / y, x % y, (uint32_t)x >> 3);
}

/* CRC-32 (IEEE, reflected), the same as Python's zlib.crc32. */
static uint32_t crc32(const uint8_t *p, uint32_t n)
{
    uint32_t crc = 0xffffffffu;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint8_t src[1024];
static uint8_t dst[1024 + 8];

static void test_memory(void)
{
    for (unsigned i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    printf("crc src %x\n", crc32(src, sizeof src));

    static const struct { uint16_t d, s, n; } cases[] = {
        {0, 0, 1024}, {1, 0, 1000}, {0, 3, 1001}, {2, 2, 513}, {4, 8, 3}, {7, 5, 0},
    };
    for (unsigned k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memset(dst, 0xa5, sizeof dst);
        memcpy(dst + cases[k].d, src + cases[k].s, cases[k].n);
        int ok = 1;
        for (unsigned i = 0; i < sizeof dst; i++) {
            uint8_t want = (i >= cases[k].d && i < cases[k].d + cases[k].n)
                               ? src[i - cases[k].d + cases[k].s]
                               : 0xa5;
            ok &= dst[i] == want;
        }
        check(ok, "memcpy");
    }

    /* Overlapping moves, both directions. */
    memcpy(dst, src, 256);
    memmove(dst + 5, dst, 200);
    check(memcmp(dst + 5, src, 200) == 0, "memmove forward overlap");
    memcpy(dst, src, 256);
    memmove(dst, dst + 9, 200);
    check(memcmp(dst, src + 9, 200) == 0, "memmove backward overlap");

    /* A few KB to the accelerator arena and back. */
    uint8_t *arena = __arena_start;
    for (unsigned i = 0; i < 4; i++)
        memcpy(arena + i * sizeof src, src, sizeof src);
    memset(arena + 4096, 0x5a, 100);
    printf("crc arena %x\n", crc32(arena, 4096 + 100));
}

static void test_printf(void)
{
    printf("fmt [%d] [%5d] [%-5d] [%05d] [%u] [%x] [%08X] [%c] [%s] [%-4s] [%%]\n", -42, 42, 42,
           -42, 4000000000u, 0xbeefu, 0xbeefu, 'z', "str", "ab");
}

static void test_accelerator(void)
{
    printf("accel version=%u rows=%u cols=%u bus=%u in=%u acc=%u param=%u\n",
           accel_info_version(), accel_info_rows(), accel_info_cols(), accel_info_bus_bytes(),
           accel_info_in_bytes(), accel_info_acc_depth(), accel_info_param_depth());
    int err = accel_probe();
    printf("probe %d %s\n", err, accel_strerror(err));

    /* LeNet's conv2 with a fused pool (the backend of the test only records it). */
    uint32_t base = (uint32_t)(uintptr_t)__arena_start;
    accel_layer_t layer = {
        .n = 1, .h = 14, .w = 14, .c = 6, .m = 16, .r = 5, .s = 5, .e = 10, .f = 10, .u = 1,
        .p = 0, .in_addr = base, .w_addr = base + 0x1000, .param_addr = base + 0x2000,
        .out_addr = base + 0x3000, .in_zp = (uint32_t)-128, .out_zp = (uint32_t)-5, .act_min = (uint32_t)-5,
        .act_max = 127, .pool = 1, .band = 10, .pl = 0, .in_row_pitch = 14 * 6,
        .out_row_pitch = 5 * 16, .out_pix_pitch = 16, .acc = 0,
    };
    accel_counters_t ctr;
    err = accel_run_layer(&layer, &ctr);
    printf("layer %d %s cycles=%u mac=%u rd=%u wr=%u stall=%u\n", err, accel_strerror(err),
           ctr.cycles, ctr.mac_cycles, ctr.dma_read_bytes, ctr.dma_write_bytes,
           ctr.stall_cycles);

    layer.e = 15; /* the last window would lie wholly in padding */
    err = accel_run_layer(&layer, &ctr);
    printf("bad layer %d %s check=%u\n", err, accel_strerror(err), accel_last_check());
}

int main(void)
{
    puts("selftest start");
    test_m_extension();
    test_c_arithmetic();
    test_memory();
    test_printf();
    test_accelerator();
    printf("selftest done, %d failures\n", failures);
    return failures;
}
