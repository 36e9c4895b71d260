
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <stdio.h>
#include <string.h>

#include "sbx_store_gc_mem.h"
#include "sbx_store_mem.h"


/* the map's "user" of the host's own entries: no user is empty */
#define SBX_STORE_GC_MEM_HOST  ""


int
sbx_store_gc_mem_scan(sbx_store_t *st, sbx_store_record_pt handler,
    void *data, sbx_error_t *err)
{
    sbx_memmap_t  *m;
    int            rc;

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    rc = sbx_memmap_each_record(m, sbx_time_mono_ms(), handler, data);

    if (rc == SBX_ERR) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
    }

    return rc;
}


/* The caller holds the session's stripe, as every writer of records does. */
int
sbx_store_gc_mem_drop_lost(sbx_store_t *st, const char *user,
    const char *session_id, const char *container_id, const char *reason,
    int *dropped, sbx_error_t *err)
{
    sbx_memmap_t       *m;
    sbx_session_rec_t   rec;
    int64_t             now;

    *dropped = 0;

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    now = sbx_time_mono_ms();

    if (!sbx_memmap_get(m, user, session_id, now, &rec)
        || strcmp(rec.container_id, container_id) != 0)
    {
        return SBX_OK;
    }

    sbx_memmap_delete(m, user, session_id);
    *dropped = 1;

    if (sbx_memmap_set(m, user, SBX_MEMMAP_LOST, session_id, reason, 0,
                       (int64_t) st->conf->session_ttl * 1000, now)
        != SBX_OK)
    {
        /* the record is gone all the same: the session is made anew */
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_store_gc_mem_take_lost(sbx_store_t *st, const char *user,
    const char *session_id, char *reason, sbx_error_t *err)
{
    sbx_memmap_t  *m;
    char           value[SBX_MEMMAP_VALUE_MAX + 1];
    int64_t        n;

    reason[0] = '\0';

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    if (sbx_memmap_read(m, user, SBX_MEMMAP_LOST, session_id, 1,
                        sbx_time_mono_ms(), value, &n))
    {
        snprintf(reason, SBX_LOST_REASON_MAX + 1, "%.*s",
                 SBX_LOST_REASON_MAX, value);
    }

    return SBX_OK;
}


int
sbx_store_gc_mem_volume_idle(sbx_store_t *st, const char *volume,
    const char *created, int64_t now, int64_t *since, sbx_error_t *err)
{
    sbx_memmap_t  *m;
    char           value[SBX_MEMMAP_VALUE_MAX + 1];
    char           at[SBX_MEMMAP_VALUE_MAX + 1];
    int64_t        mono, ttl_ms;

    *since = now;
    snprintf(at, sizeof(at), "%s", created);

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    mono = sbx_time_mono_ms();
    ttl_ms = ((int64_t) st->conf->cleanup_volume_max_idle * 2 + 86400)
             * 1000;

    /* a volume made again (another creation time) starts a new clock */
    if (sbx_memmap_read(m, SBX_STORE_GC_MEM_HOST, SBX_MEMMAP_VOLUMES, volume,
                        0, mono, value, since)
        && strcmp(value, at) != 0)
    {
        *since = now;
    }

    if (sbx_memmap_set(m, SBX_STORE_GC_MEM_HOST, SBX_MEMMAP_VOLUMES, volume,
                       at, *since, ttl_ms, mono)
        != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "cannot keep the idle time of "
                      "volume %.64s", volume);
        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_store_gc_mem_volume_used(sbx_store_t *st, const char *volume,
    sbx_error_t *err)
{
    sbx_memmap_t  *m;

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    sbx_memmap_drop(m, SBX_STORE_GC_MEM_HOST, SBX_MEMMAP_VOLUMES, volume);

    return SBX_OK;
}
