
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_log.h"
#include "sbx_rebuild.h"
#include "sbx_store_mem.h"


#define SBX_STORE_MEM_LIST_MAX  1000      /* as the Redis store's */
#define SBX_STORE_MEM_SWEEP_MS  10000     /* a full sweep at most this often */
#define SBX_STORE_MEM_RETRY_MS  1000      /* a failed rebuild, again after */


static pthread_mutex_t  sbx_store_mem_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t  sbx_store_mem_rebuild_mutex =
    PTHREAD_MUTEX_INITIALIZER;
static sbx_memmap_t    *sbx_store_mem_m;
static int64_t          sbx_store_mem_swept;
static int              sbx_store_mem_ready;
static int64_t          sbx_store_mem_tried;


sbx_memmap_t *
sbx_store_mem_map(void)
{
    sbx_memmap_t  *m;
    int64_t        now;
    int            sweep;

    now = sbx_time_mono_ms();

    pthread_mutex_lock(&sbx_store_mem_mutex);

    if (sbx_store_mem_m == NULL) {
        sbx_store_mem_m = sbx_memmap_create();
        sbx_store_mem_swept = now;
    }

    m = sbx_store_mem_m;
    sweep = m != NULL && now - sbx_store_mem_swept >= SBX_STORE_MEM_SWEEP_MS;

    if (sweep) {
        sbx_store_mem_swept = now;
    }

    pthread_mutex_unlock(&sbx_store_mem_mutex);

    /* users who never come back leave nothing behind */
    if (sweep) {
        (void) sbx_memmap_expire(m, now);
    }

    return m;
}


void
sbx_store_mem_free(void)
{
    pthread_mutex_lock(&sbx_store_mem_mutex);
    sbx_memmap_destroy(sbx_store_mem_m);
    sbx_store_mem_m = NULL;
    pthread_mutex_unlock(&sbx_store_mem_mutex);
}


void
sbx_store_mem_rebuilt(void)
{
    pthread_mutex_lock(&sbx_store_mem_mutex);
    sbx_store_mem_ready = 1;
    pthread_mutex_unlock(&sbx_store_mem_mutex);
}


static int
sbx_store_mem_is_ready(void)
{
    int  ready;

    pthread_mutex_lock(&sbx_store_mem_mutex);
    ready = sbx_store_mem_ready;
    pthread_mutex_unlock(&sbx_store_mem_mutex);

    return ready;
}


/*
 * Rebuilds the view when an earlier attempt failed (Docker was down at
 * start), at most once a second and by one thread at a time.
 */
static int
sbx_store_mem_retry(sbx_store_t *st, sbx_error_t *err)
{
    int64_t  now;
    int      rc;

    if (pthread_mutex_trylock(&sbx_store_mem_rebuild_mutex) != 0) {
        sbx_error_set(err, SBX_E_STORE_UNAVAILABLE, "the sessions are "
                      "being rebuilt from Docker");
        return SBX_ERR;
    }

    now = sbx_time_mono_ms();
    rc = SBX_ERR;

    if (sbx_store_mem_is_ready()) {
        rc = SBX_OK;

    } else if (now - sbx_store_mem_tried < SBX_STORE_MEM_RETRY_MS) {
        sbx_error_set(err, SBX_E_STORE_UNAVAILABLE, "the sessions are not "
                      "rebuilt from Docker yet");

    } else {
        sbx_store_mem_tried = now;
        rc = sbx_rebuild_sessions(st->conf, err) < 0 ? SBX_ERR : SBX_OK;
    }

    pthread_mutex_unlock(&sbx_store_mem_rebuild_mutex);

    return rc;
}


sbx_memmap_t *
sbx_store_mem_ready_map(sbx_store_t *st, sbx_error_t *err)
{
    sbx_memmap_t  *m;

    m = sbx_store_mem_map();

    if (m == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return NULL;
    }

    if (!sbx_store_mem_is_ready() && sbx_store_mem_retry(st, err) != SBX_OK) {
        return NULL;
    }

    return m;
}


int
sbx_store_mem_ping(sbx_store_t *st, sbx_error_t *err)
{
    return sbx_store_mem_ready_map(st, err) != NULL ? SBX_OK : SBX_ERR;
}


/*
 * The rebuild's write, before the store is ready: the record, unless the
 * session has one.  *written says which.
 */
int
sbx_store_mem_adopt(sbx_store_t *st, const char *user,
    const sbx_session_rec_t *rec, int *written, sbx_error_t *err)
{
    sbx_memmap_t       *m;
    sbx_session_rec_t   old;
    int64_t             now;

    *written = 0;

    m = sbx_store_mem_map();
    if (m == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    now = sbx_time_mono_ms();

    if (sbx_memmap_get(m, user, rec->session_id, now, &old)) {
        return SBX_OK;
    }

    if (sbx_memmap_put(m, user, rec, (int64_t) st->conf->session_ttl * 1000,
                       now)
        != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    *written = 1;

    return SBX_OK;
}


int
sbx_store_mem_get(sbx_store_t *st, const char *user, const char *session_id,
    sbx_session_rec_t *rec, int *found, sbx_error_t *err)
{
    sbx_memmap_t  *m;

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    memset(rec, 0, sizeof(*rec));
    *found = sbx_memmap_get(m, user, session_id, sbx_time_mono_ms(), rec);

    return SBX_OK;
}


int
sbx_store_mem_exists(sbx_store_t *st, const char *user,
    const char *session_id, int *exists, sbx_error_t *err)
{
    sbx_session_rec_t  rec;

    return sbx_store_mem_get(st, user, session_id, &rec, exists, err);
}


static int64_t
sbx_store_mem_ttl_ms(sbx_store_t *st)
{
    return (int64_t) st->conf->session_ttl * 1000;
}


int
sbx_store_mem_put(sbx_store_t *st, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err)
{
    sbx_memmap_t  *m;

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    if (sbx_memmap_put(m, user, rec, sbx_store_mem_ttl_ms(st),
                       sbx_time_mono_ms())
        != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_store_mem_touch(sbx_store_t *st, const char *user,
    const char *session_id, int64_t now, int *found, sbx_error_t *err)
{
    sbx_memmap_t  *m;

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    *found = sbx_memmap_touch(m, user, session_id, now,
                              sbx_store_mem_ttl_ms(st), sbx_time_mono_ms());

    return SBX_OK;
}


int
sbx_store_mem_delete(sbx_store_t *st, const char *user,
    const char *session_id, sbx_error_t *err)
{
    sbx_memmap_t  *m;

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    sbx_memmap_delete(m, user, session_id);

    return SBX_OK;
}


int
sbx_store_mem_list(sbx_store_t *st, const char *user,
    sbx_session_rec_t **recs, size_t *n, sbx_error_t *err)
{
    sbx_memmap_t  *m;
    size_t         total;

    *recs = NULL;
    *n = 0;

    m = sbx_store_mem_ready_map(st, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    if (sbx_memmap_list(m, user, sbx_time_mono_ms(), SBX_STORE_MEM_LIST_MAX,
                        recs, n, &total)
        != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    if (total > *n) {
        sbx_log_warn("user \"%s\" has more than %d sessions, the list "
                     "is cut", user, SBX_STORE_MEM_LIST_MAX);
    }

    return SBX_OK;
}
