/*
 * Run a model image: any imported model the host laid out (accel/firmware/image.py).
 *
 * The host places a model_image_t at the start of the accelerator arena: the ops in
 * execution order, the descriptor table, host-op records, the packed weights and parameters
 * and every tensor buffer, with the model's input written. The firmware runs each
 * accelerator op through the custom instructions (a tiled layer with START then CONTINUE)
 * and checks its status, runs each host op in C (host_ops.c), records per op the
 * accelerator's cycle counter and the instructions the CPU retired (rdinstret), prints the
 * first output and stores the index of its largest element (the predicted class of a
 * classifier).
 */
#include <stdint.h>

#include "accel_drv.h"
#include "host_ops.h"
#include "model_image.h"
#include "runtime.h"

extern char __arena_start[];

#define MODEL_E_IMAGE 100 /* status: a malformed image (bad magic, op or range) */

static inline uint32_t rdinstret(void)
{
    uint32_t value;
    __asm__ volatile("csrr %0, instret" : "=r"(value));
    return value;
}

static int fail(model_image_t *model, uint32_t op, int err, int exit_code)
{
    model->status = (uint32_t)err;
    model->failed_op = op;
    return exit_code;
}

static int run_op(model_image_t *model, uint32_t i)
{
    model_op_t *op = &model->ops[i];
    if (op->kind != MODEL_OP_ACCEL) {
        if (host_op_run(op->kind, (const void *)op->arg)) {
            printf("model: op %u: unknown host op %u\n", (unsigned)i, (unsigned)op->kind);
            return fail(model, i, MODEL_E_IMAGE, 2);
        }
        return 0;
    }
    if (op->arg + op->n_descs > model->n_descs) {
        printf("model: op %u: descriptors out of range\n", (unsigned)i);
        return fail(model, i, MODEL_E_IMAGE, 2);
    }
    accel_counters_t counters;
    const accel_layer_t *descs = (const accel_layer_t *)model->descs_addr;
    int err = accel_run_tiles(&descs[op->arg], op->n_descs, &counters);
    if (err) {
        printf("model: op %u failed: %s (check %u)\n", (unsigned)i, accel_strerror(err),
               (unsigned)accel_last_check());
        return fail(model, i, err, 1);
    }
    op->cycles = counters.cycles;
    return 0;
}

static void report(model_image_t *model)
{
    uint32_t best = 0;
    printf("output:");
    if (model->output_float) {
        const float *out = (const float *)model->output_addr;
        for (uint32_t k = 1; k < model->output_count; k++)
            if (out[k] > out[best])
                best = k;
        printf(" (float32)");
    } else {
        const int8_t *out = (const int8_t *)model->output_addr;
        for (uint32_t k = 0; k < model->output_count; k++) {
            if (k < 16)
                printf(" %d", out[k]);
            if (out[k] > out[best])
                best = k;
        }
    }
    printf("\nclass %u\n", (unsigned)best);
    model->predicted = best;
}

int main(void)
{
    model_image_t *model = (model_image_t *)__arena_start;
    if (model->magic != MODEL_MAGIC || model->n_ops == 0 || model->n_ops > MODEL_MAX_OPS) {
        printf("model: no model image at %p\n", (void *)model);
        return fail(model, 0, MODEL_E_IMAGE, 2);
    }
    int err = accel_probe();
    if (err) {
        printf("model: accelerator does not match accel.h: %s\n", accel_strerror(err));
        return fail(model, 0, err, 3);
    }
    for (uint32_t i = 0; i < model->n_ops; i++) {
        uint32_t start = rdinstret();
        int code = run_op(model, i);
        if (code)
            return code;
        model->ops[i].instructions = rdinstret() - start;
    }
    report(model);
    model->status = 0;
    return 0;
}
