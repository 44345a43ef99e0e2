/*
 * Host kernels: the ops of an imported model that run on the RV32IM core, bit-exact with the
 * NumPy golden kernels of accel/model/host_ops.py (TFLite's reference kernels).
 *
 * Every op is a record of 32-bit words that the host lays out in the model image
 * (accel/firmware/host_records.py: keep the two in sync; a test compares the fields).
 * Tensors are int8 (float32 for QUANTIZE's input and DEQUANTIZE's output), row-major
 * (NHWC for activations), addressed by byte address; shapes are 4-D, padded with leading 1s.
 * Quantization parameters come precomputed by the host (TFLite's Prepare step): fixed-point
 * multipliers and shifts as MultiplyByQuantizedMultiplier takes them; the float ops of
 * QUANTIZE, DEQUANTIZE and the rescaling CONCATENATION keep their IEEE float32/float64
 * constants as bit patterns and run on compiler-rt's soft-float.
 */
#ifndef HOST_OPS_H
#define HOST_OPS_H

#include <stdint.h>

#define HOST_MAX_CONCAT 8u

/* Op codes (model_op_t.kind; 0 is an accelerator layer). */
enum host_op_code {
    HOST_OP_ADD = 1,
    HOST_OP_MAX_POOL = 2,
    HOST_OP_AVERAGE_POOL = 3,
    HOST_OP_MEAN = 4,
    HOST_OP_PAD = 5,
    HOST_OP_CONCAT = 6,
    HOST_OP_SOFTMAX = 7,
    HOST_OP_REQUANTIZE = 8, /* QUANTIZE int8 -> int8 */
    HOST_OP_QUANTIZE = 9,   /* QUANTIZE float32 -> int8 */
    HOST_OP_DEQUANTIZE = 10,
    HOST_OP_TRANSPOSE = 11,
    HOST_OP_CONV = 12, /* CONV_2D or DEPTHWISE_CONV_2D the accelerator does not run */
    HOST_OP_COUNT
};

/* ADD (reference_integer_ops::Add): out = clamp(MBQM(MBQM((a - a_zp) << 20, a_mult, a_shift)
 * + MBQM((b - b_zp) << 20, b_mult, b_shift), out_mult, out_shift) + out_zp). The strides say
 * where element (i0..i3) of the output reads a and b (0 along a broadcast axis). */
typedef struct host_add {
    uint32_t a_addr, b_addr, out_addr;
    int32_t dims[4];
    int32_t a_strides[4], b_strides[4];
    int32_t a_zp, b_zp, out_zp;
    int32_t a_mult, a_shift, b_mult, b_shift, out_mult, out_shift;
    int32_t act_min, act_max;
} host_add_t;

/* MAX_POOL_2D / AVERAGE_POOL_2D over the window positions inside the input. */
typedef struct host_pool {
    uint32_t in_addr, out_addr;
    int32_t n, h, w, c, e, f;
    int32_t fh, fw, sh, sw, pad_top, pad_left;
    int32_t act_min, act_max;
} host_pool_t;

/* MEAN (reference_ops::QuantizedMeanOrSum): the axes whose bit is set are summed, then
 * MBQM(sum - in_zp * count, multiplier, shift) + out_zp, saturated (1/count folded into the
 * multiplier by the host). The output holds the kept axes in order. */
typedef struct host_mean {
    uint32_t in_addr, out_addr;
    int32_t dims[4];
    uint32_t axes;
    int32_t count, in_zp, multiplier, shift, out_zp;
} host_mean_t;

/* PAD / PADV2: out_dims = before + in_dims + after, filled with the raw int8 value. */
typedef struct host_pad {
    uint32_t in_addr, out_addr;
    int32_t in_dims[4], before[4], out_dims[4];
    int32_t value;
} host_pad_t;

/* CONCATENATION: outer blocks; block k of the output is part 0's block k (part_inner
 * bytes), then part 1's, ... (out_inner bytes in all). A part with part_requantize set is
 * rescaled in float32 (q * scale + bias, rounded half away from zero, + out_zp, clamped). */
typedef struct host_concat {
    uint32_t out_addr;
    int32_t outer, out_inner, n_parts, out_zp;
    uint32_t part_addr[HOST_MAX_CONCAT];
    int32_t part_inner[HOST_MAX_CONCAT];
    uint32_t part_requantize[HOST_MAX_CONCAT];
    uint32_t part_scale[HOST_MAX_CONCAT]; /* float32 bits */
    uint32_t part_bias[HOST_MAX_CONCAT];  /* float32 bits */
} host_concat_t;

/* SOFTMAX over the last axis (reference_ops::Softmax, gemmlowp fixed point); the output
 * has scale 1/256 and zero point -128. */
typedef struct host_softmax {
    uint32_t in_addr, out_addr;
    int32_t rows, depth;
    int32_t multiplier, left_shift, diff_min;
} host_softmax_t;

/* QUANTIZE int8 -> int8 (reference_ops::Requantize). */
typedef struct host_requantize {
    uint32_t in_addr, out_addr;
    int32_t count, in_zp, multiplier, shift, out_zp;
} host_requantize_t;

/* QUANTIZE float32 -> int8: clamp(round(x / scale) + zp), the division in double;
 * DEQUANTIZE int8 -> float32: (float)(scale * (double)(q - zp)). scale: float64 bits. */
typedef struct host_affine {
    uint32_t in_addr, out_addr;
    int32_t count, zp;
    uint32_t scale_lo, scale_hi;
} host_affine_t;

/* TRANSPOSE: output element (i0..i3) is the input element at sum(i_k * in_strides[k]). */
typedef struct host_transpose {
    uint32_t in_addr, out_addr;
    int32_t elem_bytes;
    int32_t out_dims[4], in_strides[4];
} host_transpose_t;

/* CONV_2D (depth_multiplier 0, weights M x R x S x C) or DEPTHWISE_CONV_2D (depth_multiplier
 * k, weights R x S x M, output channel m reads input channel m / k); padded pixels are
 * real 0; per-channel int32 bias, multiplier and shift. */
typedef struct host_conv {
    uint32_t in_addr, out_addr, weights_addr, bias_addr, multiplier_addr, shift_addr;
    int32_t n, h, w, c, e, f, m;
    int32_t r, s, sh, sw, pad_top, pad_left;
    int32_t depth_multiplier;
    int32_t in_zp, out_zp, act_min, act_max;
} host_conv_t;

/* Run the record at `record` for op `code`; returns 0, or -1 for an unknown code. */
int host_op_run(uint32_t code, const void *record);

/* The name of an op code, for messages. */
const char *host_op_name(uint32_t code);

/* TFLite's MultiplyByQuantizedMultiplier (gemmlowp rounding), shift in [-31, 30]. */
int32_t host_mbqm(int32_t x, int32_t multiplier, int32_t shift);

#endif /* HOST_OPS_H */
