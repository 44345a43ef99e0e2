/*
 * LeNet-5 inference under firmware control.
 *
 * The host (accel/firmware/image.py) places a lenet_model_t at the start of the accelerator
 * arena: one accel_layer_t descriptor per layer (conv1 .. fc2, pooling fused in hardware),
 * followed by the packed weights, parameters and activation buffers they point to, and the
 * int8 input image. The firmware runs every layer through the custom instructions, checks
 * each status, records the cycle counters, then reads the 10 int8 logits, prints them with
 * the predicted class and stores the class in the model header.
 */
#include <stdint.h>

#include "accel_drv.h"
#include "lenet_model.h"
#include "runtime.h"

extern char __arena_start[];

int main(void)
{
    lenet_model_t *model = (lenet_model_t *)__arena_start;
    if (model->magic != LENET_MAGIC || model->n_layers == 0 ||
        model->n_layers > LENET_MAX_LAYERS) {
        printf("lenet: no model at %p\n", (void *)model);
        model->status = (uint32_t)ACCEL_E_HARDWARE;
        return 2;
    }
    int err = accel_probe();
    if (err) {
        printf("lenet: accelerator does not match accel.h: %s\n", accel_strerror(err));
        model->status = (uint32_t)err;
        return 3;
    }
    for (uint32_t i = 0; i < model->n_layers; i++) {
        accel_counters_t counters;
        err = accel_run_layer(&model->layers[i], &counters);
        if (err) {
            printf("lenet: layer %u failed: %s (check %u)\n", (unsigned)i, accel_strerror(err),
                   (unsigned)accel_last_check());
            model->status = (uint32_t)err;
            return 1;
        }
        model->cycles[i] = counters.cycles;
    }
    const int8_t *logits = (const int8_t *)model->logits_addr;
    uint32_t best = 0;
    printf("logits:");
    for (uint32_t k = 0; k < LENET_CLASSES; k++) {
        printf(" %d", logits[k]);
        if (logits[k] > logits[best])
            best = k;
    }
    printf("\nclass %u\n", (unsigned)best);
    model->predicted = best;
    model->status = 0;
    return 0;
}
