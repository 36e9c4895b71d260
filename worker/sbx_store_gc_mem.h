
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The memory store's side of sbx_store_gc.h: the cleanup loop's "lost"
 * marks and volume idle clocks, kept in this process's map (sbx_memmap.c)
 * with the same meanings and lifetimes.  A restart forgets them: a lost
 * session then answers not_found instead of session_lost once, and an
 * unused volume's idle clock starts again (it is kept longer, never
 * shorter).  sbx_store_gc.c dispatches to these functions.
 */


#ifndef SBX_STORE_GC_MEM_H
#define SBX_STORE_GC_MEM_H


#include "sbx_store_gc.h"


int sbx_store_gc_mem_scan(sbx_store_t *st, sbx_store_record_pt handler,
    void *data, sbx_error_t *err);
int sbx_store_gc_mem_drop_lost(sbx_store_t *st, const char *user,
    const char *session_id, const char *container_id, const char *reason,
    int *dropped, sbx_error_t *err);
int sbx_store_gc_mem_take_lost(sbx_store_t *st, const char *user,
    const char *session_id, char *reason, sbx_error_t *err);
int sbx_store_gc_mem_volume_idle(sbx_store_t *st, const char *volume,
    const char *created, int64_t now, int64_t *since, sbx_error_t *err);
int sbx_store_gc_mem_volume_used(sbx_store_t *st, const char *volume,
    sbx_error_t *err);


#endif /* SBX_STORE_GC_MEM_H */
