/*
 * Run a model image: any chain of int8 layers the host laid out (accel/firmware/image.py).
 *
 * The host places a model_image_t at the start of the accelerator arena: per layer the
 * range of its descriptors (one, or several for a tiled layer), then the descriptors, the
 * packed weights and parameters and the activation buffers they point to, and the int8
 * input. The firmware runs every layer through the custom instructions (a tiled layer with
 * START then CONTINUE), checks each status, records the cycle counters, prints the output
 * bytes and stores the index of the largest one (the predicted class of a classifier).
 */
#include <stdint.h>

#include "accel_drv.h"
#include "model_image.h"
#include "runtime.h"

extern char __arena_start[];

int main(void)
{
    model_image_t *model = (model_image_t *)__arena_start;
    if (model->magic != MODEL_MAGIC || model->n_layers == 0 ||
        model->n_layers > MODEL_MAX_LAYERS) {
        printf("model: no model image at %p\n", (void *)model);
        model->status = (uint32_t)ACCEL_E_HARDWARE;
        return 2;
    }
    int err = accel_probe();
    if (err) {
        printf("model: accelerator does not match accel.h: %s\n", accel_strerror(err));
        model->status = (uint32_t)err;
        return 3;
    }
    for (uint32_t i = 0; i < model->n_layers; i++) {
        accel_counters_t counters;
        uint32_t first = model->first_desc[i], count = model->n_tiles[i];
        if (first + count > model->n_descs) {
            printf("model: layer %u: descriptors out of range\n", (unsigned)i);
            model->status = (uint32_t)ACCEL_E_HARDWARE;
            return 2;
        }
        err = accel_run_tiles(&model->descs[first], count, &counters);
        if (err) {
            printf("model: layer %u failed: %s (check %u)\n", (unsigned)i, accel_strerror(err),
                   (unsigned)accel_last_check());
            model->status = (uint32_t)err;
            return 1;
        }
        model->cycles[i] = counters.cycles;
    }
    const int8_t *out = (const int8_t *)model->output_addr;
    uint32_t best = 0;
    printf("output:");
    for (uint32_t k = 0; k < model->output_bytes; k++) {
        if (k < 16)
            printf(" %d", out[k]);
        if (out[k] > out[best])
            best = k;
    }
    printf("\nclass %u\n", (unsigned)best);
    model->predicted = best;
    model->status = 0;
    return 0;
}
