/*
 * The model image the host places at the start of the accelerator arena (written by
 * accel/firmware/image.py: keep the two in sync; a test checks it).
 *
 * A model is a list of ops in execution order. An accelerator op (kind MODEL_OP_ACCEL) is a
 * layer: one descriptor, or several when it is tiled (accel.mapping.tiling), a range of the
 * descriptor table at descs_addr. A host op (kind = a HOST_OP_* code of host_ops.h) points
 * to its record. Every tensor lives at a fixed address (int8 NHWC as the accelerator reads
 * and writes it); an op's output is the next ops' input by address.
 */
#ifndef MODEL_IMAGE_H
#define MODEL_IMAGE_H

#include <stdint.h>

#include "accel_drv.h"

#define MODEL_MAGIC 0x4d434342u /* "BCCM": version 2, ops interleave layers and host ops */
#define MODEL_MAX_OPS 64u
#define MODEL_OP_ACCEL 0u

typedef struct model_op {
    uint32_t kind;         /* MODEL_OP_ACCEL or a HOST_OP_* code */
    uint32_t arg;          /* accel: index of the first descriptor; host: address of the record */
    uint32_t n_descs;      /* accel: number of descriptors (tiles); host: 0 */
    uint32_t cycles;       /* written: the accelerator's CYCLES counter (accel ops) */
    uint32_t instructions; /* written: instructions the CPU retired for the op (rdinstret) */
} model_op_t;

typedef struct model_image {
    uint32_t magic;
    uint32_t n_ops;
    uint32_t n_descs;
    uint32_t descs_addr;   /* n_descs descriptors, accel.h register order */
    uint32_t output_addr;  /* the first graph output */
    uint32_t output_count; /* its number of elements */
    uint32_t output_float; /* 1: float32 elements, 0: int8 */
    uint32_t predicted;    /* written by the firmware: index of the largest output element */
    uint32_t status;       /* written by the firmware: 0 or an ACCEL_E_* code */
    uint32_t failed_op;    /* written by the firmware: the op that failed (if status != 0) */
    model_op_t ops[MODEL_MAX_OPS];
} model_image_t;

#endif /* MODEL_IMAGE_H */
