/*
 * Accelerator driver: run one layer from a descriptor struct through the custom
 * instructions of the generated include/accel.h, wait, check the status, read counters.
 *
 * Typical use:
 *
 *     accel_counters_t ctr;
 *     int err = accel_run_layer(&layer, &ctr);
 *     if (err) printf("layer failed: %s\n", accel_strerror(err));
 *
 * or, to overlap CPU work with the accelerator, accel_start_layer() ... accel_finish().
 */
#ifndef ACCEL_DRV_H
#define ACCEL_DRV_H

#include <stdint.h>

#include "accel.h"

/* Driver error codes (0 = success); accel_strerror() names them. */
#define ACCEL_OK 0
#define ACCEL_E_BUSY (-1)       /* accelerator busy when starting, or STATUS.ERR_BUSY */
#define ACCEL_E_DESCRIPTOR (-2) /* START rejected the descriptor: see accel_last_check() */
#define ACCEL_E_UNKNOWN (-3)    /* STATUS.ERR_UNKNOWN: unknown function id or register */
#define ACCEL_E_BUS (-4)        /* STATUS.ERR_BUS: the memory answered SLVERR/DECERR */
#define ACCEL_E_NOT_DONE (-5)   /* WAIT answered without STATUS.DONE */
#define ACCEL_E_HARDWARE (-6)   /* INFO disagrees with the configuration accel.h was made for */

/* One descriptor: the registers of accel.h (ACCEL_REG_*) as the generated accel_desc_t,
 * in Sze et al.'s letters: shapes n h w c m r s e f, stride u, top/left padding p and pl;
 * byte addresses of the input, output, packed weights and parameters with the input and
 * output pitches; zero points and clamp bounds (two's complement words); pool = 1 for the
 * fused 2x2 max-pool; band output rows per pixel tile; acc the accumulate mode. A layer is
 * one descriptor, or several (a tiled layer) run by accel_run_tiles(). */
typedef accel_desc_t accel_layer_t;

/* The performance counters (accel.h ACCEL_COUNTER_*) of the last layer. */
typedef struct accel_counters {
    uint32_t cycles;
    uint32_t mac_cycles;
    uint32_t dma_read_bytes;
    uint32_t dma_write_bytes;
    uint32_t stall_cycles;
} accel_counters_t;

/* Check that the hardware answers INFO like the configuration of accel.h (ISA version,
 * ROWS, COLS, bus width, buffer sizes): ACCEL_OK or ACCEL_E_HARDWARE. */
int accel_probe(void);

/* Write every descriptor register of `layer` (no START). */
void accel_configure(const accel_layer_t *layer);

/* Clear errors and counters, configure `layer` and START it without waiting. Returns
 * ACCEL_E_BUSY if a layer is still running, else the error of the STATUS START returned. */
int accel_start_layer(const accel_layer_t *layer);

/* WAIT for the running layer, check its status, read the counters into `counters` (may be
 * NULL). */
int accel_finish(accel_counters_t *counters);

/* accel_start_layer() then accel_finish(). */
int accel_run_layer(const accel_layer_t *layer, accel_counters_t *counters);

/* Run the `count` descriptors of one tiled layer in order: the first with START, the others
 * with CONTINUE (the counters keep counting), each waited for and checked. `counters` (may
 * be NULL) receives the totals over all of them. */
int accel_run_tiles(const accel_layer_t *tiles, uint32_t count, accel_counters_t *counters);

/* The driver error for a STATUS word: ACCEL_OK if no error bit is set. Precedence when
 * several are set: BUS, DESCRIPTOR, BUSY, UNKNOWN. */
int accel_status_error(uint32_t status);

void accel_read_counters(accel_counters_t *counters);

/* STATUS as last returned by START or WAIT, and its descriptor check code
 * (ACCEL_CHECK_*, 0 if none). */
uint32_t accel_last_status(void);
uint32_t accel_last_check(void);

/* A short name for a driver error code. */
const char *accel_strerror(int err);

#endif /* ACCEL_DRV_H */
