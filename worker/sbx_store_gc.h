
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * What the cleanup loop keeps in the store beside the session records
 * (sbx_store.h), every key with a TTL:
 *
 *   <prefix>lost:<len(user)>:<user>:<session_id>   STRING, TTL session_ttl
 *       why the cleanup loop removed a live session ("max_age",
 *       "container_gone"): the next call naming it answers session_lost
 *   <prefix>volume-idle:<volume>                   HASH, TTL 2 x
 *       created, since                              cleanup_volume_max_idle
 *       + 1 day: since when a workspace volume (of that Docker creation
 *       time) has been seen with neither container nor record
 *
 * Every failure is store_unavailable.
 */


#ifndef SBX_STORE_GC_H
#define SBX_STORE_GC_H


#include "sbx_store.h"


#define SBX_LOST_MAX_AGE         "max_age"
#define SBX_LOST_CONTAINER_GONE  "container_gone"
#define SBX_LOST_REASON_MAX      32


/* Called for each session record found; a non-SBX_OK return stops. */
typedef int (*sbx_store_record_pt)(void *data, const char *user,
    const char *session_id);

/*
 * Walks every session record under the prefix (SCAN, so records made or
 * removed meanwhile may or may not be seen).
 */
int sbx_store_scan_records(sbx_store_t *st, sbx_store_record_pt handler,
    void *data, sbx_error_t *err);

/*
 * Deletes the record (and its index entries) only if it still names
 * container_id, and leaves the "lost" mark with reason; *dropped says
 * whether it did.
 */
int sbx_store_drop_lost(sbx_store_t *st, const char *user,
    const char *session_id, const char *container_id, const char *reason,
    int *dropped, sbx_error_t *err);

/*
 * Takes (reads and deletes) the session's "lost" mark: reason gets it
 * (SBX_LOST_REASON_MAX + 1 bytes), or "" when there is none.
 */
int sbx_store_take_lost(sbx_store_t *st, const char *user,
    const char *session_id, char *reason, sbx_error_t *err);

/*
 * A volume (created: Docker's CreatedAt) is unused at now: *since gets
 * the time it was first seen so, which a volume of another CreatedAt
 * resets.
 */
int sbx_store_volume_idle(sbx_store_t *st, const char *volume,
    const char *created, int64_t now, int64_t *since, sbx_error_t *err);

/* The volume is in use, or removed: its idle mark goes. */
int sbx_store_volume_used(sbx_store_t *st, const char *volume,
    sbx_error_t *err);


#endif /* SBX_STORE_GC_H */
