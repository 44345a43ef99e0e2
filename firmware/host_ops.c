/* Host kernels of imported models: see host_ops.h. Each mirrors a function of
 * accel/model/host_ops.py line for line where the arithmetic is subtle. */
#include "host_ops.h"

#include "runtime.h"

#define I32_MIN (-2147483647 - 1)
#define I32_MAX 2147483647

static inline int32_t clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static inline int32_t shl(int32_t x, int32_t n) /* two's complement wrap, as in C int32 */
{
    return (int32_t)((uint32_t)x << n);
}

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), ties toward +inf. */
static int32_t srdhm(int32_t a, int32_t b)
{
    if (a == I32_MIN && b == I32_MIN)
        return I32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t num = ab + (ab >= 0 ? (1 << 30) : 1 - (1 << 30));
    /* C division by 2^31 truncates toward zero */
    return (int32_t)(num >= 0 ? num >> 31 : -((-num) >> 31));
}

/* gemmlowp RoundingDivideByPOT, exponent in [0, 31]: x / 2^e, ties away from zero. */
static int32_t rdbpot(int32_t x, int32_t exponent)
{
    int32_t mask = (int32_t)((1u << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0);
    return (x >> exponent) + (remainder > threshold);
}

int32_t host_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    return rdbpot(srdhm(shl(x, left), multiplier), right);
}

/* --- elementwise ------------------------------------------------------------------------ */

static void run_add(const host_add_t *p)
{
    const int8_t *a = (const int8_t *)p->a_addr, *b = (const int8_t *)p->b_addr;
    int8_t *out = (int8_t *)p->out_addr;
    const int32_t *d = p->dims, *as = p->a_strides, *bs = p->b_strides;
    for (int32_t i0 = 0; i0 < d[0]; i0++)
        for (int32_t i1 = 0; i1 < d[1]; i1++)
            for (int32_t i2 = 0; i2 < d[2]; i2++) {
                int32_t ao = i0 * as[0] + i1 * as[1] + i2 * as[2];
                int32_t bo = i0 * bs[0] + i1 * bs[1] + i2 * bs[2];
                for (int32_t i3 = 0; i3 < d[3]; i3++) {
                    int32_t va = shl(a[ao + i3 * as[3]] - p->a_zp, 20);
                    int32_t vb = shl(b[bo + i3 * bs[3]] - p->b_zp, 20);
                    int32_t sum = host_mbqm(va, p->a_mult, p->a_shift) +
                                  host_mbqm(vb, p->b_mult, p->b_shift);
                    int32_t raw = host_mbqm(sum, p->out_mult, p->out_shift) + p->out_zp;
                    *out++ = (int8_t)clamp(raw, p->act_min, p->act_max);
                }
            }
}

static void run_requantize(const host_requantize_t *p)
{
    const int8_t *in = (const int8_t *)p->in_addr;
    int8_t *out = (int8_t *)p->out_addr;
    for (int32_t i = 0; i < p->count; i++) {
        int32_t y = host_mbqm(in[i] - p->in_zp, p->multiplier, p->shift) + p->out_zp;
        out[i] = (int8_t)clamp(y, -128, 127);
    }
}

static double bits_to_double(uint32_t lo, uint32_t hi)
{
    union {
        uint64_t u;
        double d;
    } v = {.u = ((uint64_t)hi << 32) | lo};
    return v.d;
}

static float bits_to_float(uint32_t bits)
{
    union {
        uint32_t u;
        float f;
    } v = {.u = bits};
    return v.f;
}

/* Round half away from zero of |v| <= 2^20 (accel.ref.quant.round_half_away_from_zero). */
static int32_t round_away_double(double v)
{
    int32_t t = (int32_t)v; /* truncation */
    double frac = v - (double)t;
    if (frac >= 0.5)
        t += 1;
    else if (frac <= -0.5)
        t -= 1;
    return t;
}

static int32_t round_away_float(float v)
{
    int32_t t = (int32_t)v;
    float frac = v - (float)t;
    if (frac >= 0.5f)
        t += 1;
    else if (frac <= -0.5f)
        t -= 1;
    return t;
}

static void run_quantize(const host_affine_t *p)
{
    const float *in = (const float *)p->in_addr;
    int8_t *out = (int8_t *)p->out_addr;
    double scale = bits_to_double(p->scale_lo, p->scale_hi);
    for (int32_t i = 0; i < p->count; i++) {
        double q = (double)in[i] / scale;
        /* beyond +-1000 the int8 clamp below decides anyway */
        q = q > 1000.0 ? 1000.0 : (q < -1000.0 ? -1000.0 : q);
        out[i] = (int8_t)clamp(round_away_double(q) + p->zp, -128, 127);
    }
}

static void run_dequantize(const host_affine_t *p)
{
    const int8_t *in = (const int8_t *)p->in_addr;
    float *out = (float *)p->out_addr;
    double scale = bits_to_double(p->scale_lo, p->scale_hi);
    for (int32_t i = 0; i < p->count; i++)
        out[i] = (float)(scale * (double)(in[i] - p->zp));
}

/* --- pooling and reductions ------------------------------------------------------------- */

static void run_pool(const host_pool_t *p, int is_max)
{
    const int8_t *in = (const int8_t *)p->in_addr;
    int8_t *out = (int8_t *)p->out_addr;
    for (int32_t n = 0; n < p->n; n++)
        for (int32_t e = 0; e < p->e; e++)
            for (int32_t f = 0; f < p->f; f++) {
                int32_t y0 = e * p->sh - p->pad_top, x0 = f * p->sw - p->pad_left;
                int32_t ya = y0 < 0 ? 0 : y0, yb = y0 + p->fh > p->h ? p->h : y0 + p->fh;
                int32_t xa = x0 < 0 ? 0 : x0, xb = x0 + p->fw > p->w ? p->w : x0 + p->fw;
                int32_t count = (yb - ya) * (xb - xa);
                for (int32_t c = 0; c < p->c; c++) {
                    int32_t acc = is_max ? -1000 : 0;
                    for (int32_t y = ya; y < yb; y++) {
                        const int8_t *row = in + ((n * p->h + y) * p->w) * p->c + c;
                        for (int32_t x = xa; x < xb; x++) {
                            int32_t v = row[x * p->c];
                            if (!is_max)
                                acc += v;
                            else if (v > acc)
                                acc = v;
                        }
                    }
                    if (!is_max && count > 0) {
                        int32_t half = count / 2;
                        acc = acc > 0 ? (acc + half) / count : (acc - half) / count;
                    }
                    *out++ = (int8_t)clamp(acc, p->act_min, p->act_max);
                }
            }
}

static void run_mean(const host_mean_t *p)
{
    const int8_t *in = (const int8_t *)p->in_addr;
    int8_t *out = (int8_t *)p->out_addr;
    const int32_t *d = p->dims;
    int32_t outer[4], inner[4], stride[4];
    stride[3] = 1;
    for (int k = 2; k >= 0; k--)
        stride[k] = stride[k + 1] * d[k + 1];
    for (int k = 0; k < 4; k++) {
        int reduced = (p->axes >> k) & 1;
        outer[k] = reduced ? 1 : d[k];
        inner[k] = reduced ? d[k] : 1;
    }
    for (int32_t o0 = 0; o0 < outer[0]; o0++)
        for (int32_t o1 = 0; o1 < outer[1]; o1++)
            for (int32_t o2 = 0; o2 < outer[2]; o2++)
                for (int32_t o3 = 0; o3 < outer[3]; o3++) {
                    uint32_t sum = 0; /* int32 with wrap-around, as TFLite */
                    for (int32_t r0 = 0; r0 < inner[0]; r0++)
                        for (int32_t r1 = 0; r1 < inner[1]; r1++)
                            for (int32_t r2 = 0; r2 < inner[2]; r2++)
                                for (int32_t r3 = 0; r3 < inner[3]; r3++)
                                    sum += (uint32_t)(int32_t)in[(o0 + r0) * stride[0] +
                                                                 (o1 + r1) * stride[1] +
                                                                 (o2 + r2) * stride[2] +
                                                                 (o3 + r3) * stride[3]];
                    int32_t acc = (int32_t)(sum - (uint32_t)(p->in_zp * p->count));
                    int32_t y = host_mbqm(acc, p->multiplier, p->shift) + p->out_zp;
                    *out++ = (int8_t)clamp(y, -128, 127);
                }
}

/* --- data movement ---------------------------------------------------------------------- */

static void run_pad(const host_pad_t *p)
{
    const int8_t *in = (const int8_t *)p->in_addr;
    int8_t *out = (int8_t *)p->out_addr;
    const int32_t *id = p->in_dims, *b = p->before, *od = p->out_dims;
    memset(out, p->value, (size_t)(od[0] * od[1] * od[2] * od[3]));
    for (int32_t i0 = 0; i0 < id[0]; i0++)
        for (int32_t i1 = 0; i1 < id[1]; i1++)
            for (int32_t i2 = 0; i2 < id[2]; i2++) {
                int32_t o = (((i0 + b[0]) * od[1] + i1 + b[1]) * od[2] + i2 + b[2]) * od[3] + b[3];
                memcpy(out + o, in + ((i0 * id[1] + i1) * id[2] + i2) * id[3], (size_t)id[3]);
            }
}

static void run_concat(const host_concat_t *p)
{
    int8_t *out = (int8_t *)p->out_addr;
    int32_t offset = 0;
    for (int32_t k = 0; k < p->n_parts; k++) {
        const int8_t *in = (const int8_t *)p->part_addr[k];
        int32_t inner = p->part_inner[k];
        float scale = bits_to_float(p->part_scale[k]), bias = bits_to_float(p->part_bias[k]);
        for (int32_t o = 0; o < p->outer; o++) {
            int8_t *dst = out + o * p->out_inner + offset;
            const int8_t *src = in + o * inner;
            if (!p->part_requantize[k]) {
                memcpy(dst, src, (size_t)inner);
                continue;
            }
            for (int32_t i = 0; i < inner; i++) {
                float v = (float)src[i] * scale; /* two float32 roundings, no fused multiply-add */
                v = v + bias;
                v = v > 1000.0f ? 1000.0f : (v < -1000.0f ? -1000.0f : v);
                dst[i] = (int8_t)clamp(round_away_float(v) + p->out_zp, -128, 127);
            }
        }
        offset += inner;
    }
}

static void run_transpose(const host_transpose_t *p)
{
    const uint8_t *in = (const uint8_t *)p->in_addr;
    uint8_t *out = (uint8_t *)p->out_addr;
    const int32_t *d = p->out_dims, *s = p->in_strides;
    int32_t size = p->elem_bytes;
    for (int32_t i0 = 0; i0 < d[0]; i0++)
        for (int32_t i1 = 0; i1 < d[1]; i1++)
            for (int32_t i2 = 0; i2 < d[2]; i2++)
                for (int32_t i3 = 0; i3 < d[3]; i3++) {
                    int32_t src = i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3];
                    for (int32_t b = 0; b < size; b++)
                        *out++ = in[src * size + b];
                }
}

/* --- convolution (the layers the accelerator does not take) ------------------------------ */

static void run_conv(const host_conv_t *p)
{
    const int8_t *in = (const int8_t *)p->in_addr, *w = (const int8_t *)p->weights_addr;
    const int32_t *bias = (const int32_t *)p->bias_addr;
    const int32_t *mult = (const int32_t *)p->multiplier_addr;
    const int32_t *shift = (const int32_t *)p->shift_addr;
    int8_t *out = (int8_t *)p->out_addr;
    int32_t k = p->depth_multiplier;
    for (int32_t n = 0; n < p->n; n++)
        for (int32_t e = 0; e < p->e; e++)
            for (int32_t f = 0; f < p->f; f++)
                for (int32_t m = 0; m < p->m; m++) {
                    int32_t channel = k ? m / k : 0; /* depthwise: the input channel */
                    uint32_t acc = 0;                /* int32 with wrap-around */
                    for (int32_t r = 0; r < p->r; r++) {
                        int32_t y = e * p->sh - p->pad_top + r;
                        if (y < 0 || y >= p->h)
                            continue;
                        for (int32_t s = 0; s < p->s; s++) {
                            int32_t x = f * p->sw - p->pad_left + s;
                            if (x < 0 || x >= p->w)
                                continue;
                            const int8_t *px = in + ((n * p->h + y) * p->w + x) * p->c;
                            if (k) {
                                acc += (uint32_t)((px[channel] - p->in_zp) * w[(r * p->s + s) * p->m + m]);
                                continue;
                            }
                            const int8_t *wm = w + ((m * p->r + r) * p->s + s) * p->c;
                            for (int32_t c = 0; c < p->c; c++)
                                acc += (uint32_t)((px[c] - p->in_zp) * wm[c]);
                        }
                    }
                    int32_t total = (int32_t)(acc + (uint32_t)bias[m]);
                    int32_t v = host_mbqm(total, mult[m], shift[m]) + p->out_zp;
                    *out++ = (int8_t)clamp(v, p->act_min, p->act_max);
                }
}

/* --- softmax: gemmlowp fixed point, as accel/model/host_ops.py --------------------------- */

static int32_t sat_shift_left(int32_t x, int32_t exponent)
{
    int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold)
        return I32_MAX;
    if (x < -threshold)
        return I32_MIN;
    return shl(x, exponent);
}

static int32_t exp_on_interval(int32_t a) /* Q0.31 in (-1/4, 0] -> Q0.31 */
{
    const int32_t constant_term = 1895147668, one_third = 715827883;
    int32_t x = a + (1 << 28);
    int32_t x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
    int32_t x4_over_4 = rdbpot(x4, 2);
    int32_t poly = rdbpot(srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return constant_term + srdhm(constant_term, x + poly);
}

static int32_t exp_on_negative_values(int32_t a) /* FixedPoint<int32, 5> <= 0 -> Q0.31 */
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308,
                                      39332535,   720401,     242};
    const int32_t one_quarter = 1 << 24, mask = one_quarter - 1;
    int32_t a_mod = (a & mask) - one_quarter;
    int32_t result = exp_on_interval(sat_shift_left(a_mod, 5));
    int32_t remainder = a_mod - a;
    for (int i = 0; i < 7; i++) /* exponents -2 .. 4: bits 24 .. 30 */
        if (remainder & (1 << (24 + i)))
            result = srdhm(result, barrel[i]);
    return a == 0 ? I32_MAX : result;
}

static int32_t one_over_one_plus_x(int32_t a) /* Q0.31 in [0, 1) -> Q0.31 of 1/(1+a) */
{
    int64_t s = (int64_t)a + I32_MAX;
    int32_t half_denominator = (int32_t)(s >= 0 ? (s + 1) / 2 : -((-(s - 1)) / 2));
    int32_t x = 1515870810 + srdhm(half_denominator, -1010580540);
    for (int i = 0; i < 3; i++) {
        int32_t one_minus = (1 << 29) - srdhm(half_denominator, x);
        x = x + sat_shift_left(srdhm(x, one_minus), 2);
    }
    return sat_shift_left(x, 1);
}

static int32_t clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0)
        return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

static void run_softmax(const host_softmax_t *p)
{
    const int8_t *in = (const int8_t *)p->in_addr;
    int8_t *out = (int8_t *)p->out_addr;
    int32_t depth = p->depth;
    for (int32_t row = 0; row < p->rows; row++, in += depth, out += depth) {
        int32_t max = -128;
        for (int32_t i = 0; i < depth; i++)
            max = in[i] > max ? in[i] : max;
        uint32_t sum = 0;
        for (int32_t i = 0; i < depth; i++) {
            int32_t diff = in[i] - max;
            if (diff >= p->diff_min) {
                int32_t rescaled = srdhm(shl(diff, p->left_shift), p->multiplier);
                sum += (uint32_t)rdbpot(exp_on_negative_values(rescaled), 12);
            }
        }
        int32_t headroom = clz32(sum);
        int32_t scale = one_over_one_plus_x((int32_t)((sum << headroom) - 0x80000000u));
        int32_t exponent = (12 - headroom) + 31 - 8;
        for (int32_t i = 0; i < depth; i++) {
            int32_t diff = in[i] - max;
            if (diff < p->diff_min) {
                out[i] = -128;
                continue;
            }
            int32_t rescaled = srdhm(shl(diff, p->left_shift), p->multiplier);
            int32_t exp = exp_on_negative_values(rescaled);
            out[i] = (int8_t)clamp(rdbpot(srdhm(scale, exp), exponent) - 128, -128, 127);
        }
    }
}

/* --- dispatch --------------------------------------------------------------------------- */

int host_op_run(uint32_t code, const void *record)
{
    switch (code) {
    case HOST_OP_ADD:
        run_add(record);
        return 0;
    case HOST_OP_MAX_POOL:
        run_pool(record, 1);
        return 0;
    case HOST_OP_AVERAGE_POOL:
        run_pool(record, 0);
        return 0;
    case HOST_OP_MEAN:
        run_mean(record);
        return 0;
    case HOST_OP_PAD:
        run_pad(record);
        return 0;
    case HOST_OP_CONCAT:
        run_concat(record);
        return 0;
    case HOST_OP_SOFTMAX:
        run_softmax(record);
        return 0;
    case HOST_OP_REQUANTIZE:
        run_requantize(record);
        return 0;
    case HOST_OP_QUANTIZE:
        run_quantize(record);
        return 0;
    case HOST_OP_DEQUANTIZE:
        run_dequantize(record);
        return 0;
    case HOST_OP_TRANSPOSE:
        run_transpose(record);
        return 0;
    case HOST_OP_CONV:
        run_conv(record);
        return 0;
    default:
        return -1;
    }
}

const char *host_op_name(uint32_t code)
{
    static const char *const names[HOST_OP_COUNT] = {
        "ACCEL", "ADD", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "PAD", "CONCATENATION",
        "SOFTMAX", "QUANTIZE(int8)", "QUANTIZE", "DEQUANTIZE", "TRANSPOSE", "CONV"};
    return code < HOST_OP_COUNT ? names[code] : "unknown";
}
