/*
 * The LeNet-5 model header the host places at the start of the accelerator arena
 * (mirrored by accel/firmware/image.py: keep the two in sync; a test checks it).
 */
#ifndef LENET_MODEL_H
#define LENET_MODEL_H

#include <stdint.h>

#include "accel_drv.h"

#define LENET_MAGIC 0x354e454cu /* "LEN5" */
#define LENET_MAX_LAYERS 8u
#define LENET_CLASSES 10u

typedef struct lenet_model {
    uint32_t magic;
    uint32_t n_layers;
    uint32_t input_addr;  /* int8 NHWC image, 32x32x1 */
    uint32_t logits_addr; /* int8 logits[10] written by the last layer */
    uint32_t predicted;   /* written by the firmware */
    uint32_t status;      /* written by the firmware: 0 or an ACCEL_E_* code */
    uint32_t cycles[LENET_MAX_LAYERS];         /* written: CYCLES counter per layer */
    accel_layer_t layers[LENET_MAX_LAYERS];    /* descriptors, in accel.spec.isa register order */
} lenet_model_t;

#endif /* LENET_MODEL_H */
