
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The memory backend of the session store, for a sandboxd with no
 * redis_host: the records, the per-user index and the live set of
 * sbx_store.h kept in this process (sbx_memmap.c), so that the simplest
 * deployment is nginx, sandboxd and Docker.  The functions mirror
 * sbx_store_*(), which dispatch to them; they never fail but for memory,
 * and for a view of the sessions not yet rebuilt from Docker's labels
 * (sbx_rebuild.c): until it is, every one of them (and the quotas, and
 * the cleanup loop's) fails with store_unavailable.
 *
 * Deadlines are kept in the monotonic clock; the records' times are Unix
 * seconds as in Redis.
 */


#ifndef SBX_STORE_MEM_H
#define SBX_STORE_MEM_H


#include "sbx_memmap.h"
#include "sbx_store.h"


/*
 * The process's map, made on first use (NULL without memory): the quota
 * sets live in it too.  Sweeps expired entries now and then.
 */
sbx_memmap_t *sbx_store_mem_map(void);

/* Frees the map, at exit, once no thread uses the store any more. */
void sbx_store_mem_free(void);

/* The sessions were rebuilt from Docker: the store is ready. */
void sbx_store_mem_rebuilt(void);

/*
 * The map for an operation: once the sessions are rebuilt (tried again,
 * at most once a second, when they are not), else NULL with
 * store_unavailable, so that no answer comes from a view that is not
 * Docker's yet.
 */
sbx_memmap_t *sbx_store_mem_ready_map(sbx_store_t *st, sbx_error_t *err);

/* The rebuild's write: the record unless the session has one. */
int sbx_store_mem_adopt(sbx_store_t *st, const char *user,
    const sbx_session_rec_t *rec, int *written, sbx_error_t *err);

int sbx_store_mem_ping(sbx_store_t *st, sbx_error_t *err);
int sbx_store_mem_get(sbx_store_t *st, const char *user,
    const char *session_id, sbx_session_rec_t *rec, int *found,
    sbx_error_t *err);
int sbx_store_mem_exists(sbx_store_t *st, const char *user,
    const char *session_id, int *exists, sbx_error_t *err);
int sbx_store_mem_put(sbx_store_t *st, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err);
int sbx_store_mem_touch(sbx_store_t *st, const char *user,
    const char *session_id, int64_t now, int *found, sbx_error_t *err);
int sbx_store_mem_delete(sbx_store_t *st, const char *user,
    const char *session_id, sbx_error_t *err);
int sbx_store_mem_list(sbx_store_t *st, const char *user,
    sbx_session_rec_t **recs, size_t *n, sbx_error_t *err);


#endif /* SBX_STORE_MEM_H */
