/*
 * The model image the host places at the start of the accelerator arena (written by
 * accel/firmware/image.py: keep the two in sync; a test checks it). A model is a chain of
 * layers; a layer is one descriptor, or several when it is tiled (accel.mapping.tiling).
 */
#ifndef MODEL_IMAGE_H
#define MODEL_IMAGE_H

#include <stdint.h>

#include "accel_drv.h"

#define MODEL_MAGIC 0x4d434341u /* "ACCM" */
#define MODEL_MAX_LAYERS 32u

typedef struct model_image {
    uint32_t magic;
    uint32_t n_layers;
    uint32_t n_descs;
    uint32_t input_addr;   /* int8 NHWC input of the first layer */
    uint32_t output_addr;  /* int8 output of the last layer */
    uint32_t output_bytes;
    uint32_t predicted;    /* written by the firmware: index of the largest output byte */
    uint32_t status;       /* written by the firmware: 0 or an ACCEL_E_* code */
    uint32_t first_desc[MODEL_MAX_LAYERS]; /* layer i runs descs[first_desc[i]] ... */
    uint32_t n_tiles[MODEL_MAX_LAYERS];    /* ... n_tiles[i] descriptors */
    uint32_t cycles[MODEL_MAX_LAYERS];     /* written: CYCLES counter per layer */
    accel_layer_t descs[];                 /* n_descs descriptors, accel.h register order */
} model_image_t;

#endif /* MODEL_IMAGE_H */
