/* Accelerator driver: see accel_drv.h. */
#include "accel_drv.h"
#include "soc.h"

static uint32_t last_status;

int accel_status_error(uint32_t status)
{
    if (status & ACCEL_STATUS_ERR_BUS)
        return ACCEL_E_BUS;
    if (status & ACCEL_STATUS_ERR_DESCRIPTOR)
        return ACCEL_E_DESCRIPTOR;
    if (status & ACCEL_STATUS_ERR_BUSY)
        return ACCEL_E_BUSY;
    if (status & ACCEL_STATUS_ERR_UNKNOWN)
        return ACCEL_E_UNKNOWN;
    return ACCEL_OK;
}

int accel_probe(void)
{
    if (accel_info_version() != ACCEL_ISA_VERSION || accel_info_rows() != ACCEL_CFG_ROWS ||
        accel_info_cols() != ACCEL_CFG_COLS || accel_info_bus_bytes() != ACCEL_CFG_BUS_BYTES ||
        accel_info_in_bytes() != ACCEL_CFG_IN_BYTES ||
        accel_info_acc_depth() != ACCEL_CFG_ACC_DEPTH ||
        accel_info_param_depth() != ACCEL_CFG_PARAM_DEPTH)
        return ACCEL_E_HARDWARE;
    return ACCEL_OK;
}

void accel_configure(const accel_layer_t *layer)
{
    accel_set_desc(layer);
}

int accel_start_layer(const accel_layer_t *layer)
{
    last_status = accel_status();
    if (last_status & ACCEL_STATUS_BUSY)
        return ACCEL_E_BUSY;
    accel_clear();
    accel_configure(layer);
    last_status = accel_start();
    return accel_status_error(last_status);
}

int accel_finish(accel_counters_t *counters)
{
    last_status = accel_wait();
    soc_dcache_invalidate(); /* the DMA wrote memory behind the data cache (docs/soc.md) */
    if (counters)
        accel_read_counters(counters);
    int err = accel_status_error(last_status);
    if (err)
        return err;
    if (!(last_status & ACCEL_STATUS_DONE))
        return ACCEL_E_NOT_DONE;
    return ACCEL_OK;
}

int accel_run_layer(const accel_layer_t *layer, accel_counters_t *counters)
{
    int err = accel_start_layer(layer);
    if (err)
        return err;
    return accel_finish(counters);
}

int accel_run_tiles(const accel_layer_t *tiles, uint32_t count, accel_counters_t *counters)
{
    if (count == 0)
        return accel_finish(counters);
    int err = accel_start_layer(&tiles[0]);
    for (uint32_t i = 1; !err && i < count; i++) {
        err = accel_finish((accel_counters_t *)0);
        if (err)
            break;
        accel_configure(&tiles[i]);
        last_status = accel_continue();
        err = accel_status_error(last_status);
    }
    if (err)
        return err;
    return accel_finish(counters);
}

void accel_read_counters(accel_counters_t *c)
{
    c->cycles = accel_counter_cycles();
    c->mac_cycles = accel_counter_mac_cycles();
    c->dma_read_bytes = accel_counter_dma_read_bytes();
    c->dma_write_bytes = accel_counter_dma_write_bytes();
    c->stall_cycles = accel_counter_stall_cycles();
}

uint32_t accel_last_status(void)
{
    return last_status;
}

uint32_t accel_last_check(void)
{
    return (last_status & ACCEL_STATUS_ERR_DESCRIPTOR) ? ACCEL_STATUS_ERR_CODE(last_status) : 0;
}

const char *accel_strerror(int err)
{
    switch (err) {
    case ACCEL_OK:
        return "ok";
    case ACCEL_E_BUSY:
        return "busy";
    case ACCEL_E_DESCRIPTOR:
        return "invalid descriptor";
    case ACCEL_E_UNKNOWN:
        return "unknown instruction";
    case ACCEL_E_BUS:
        return "bus error";
    case ACCEL_E_NOT_DONE:
        return "not done";
    case ACCEL_E_HARDWARE:
        return "hardware mismatch";
    default:
        return "unknown error";
    }
}
