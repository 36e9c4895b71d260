
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The in-memory session map of a single sandboxd (no Redis configured):
 * what the Redis store keeps, with the same semantics, behind one mutex.
 * Per user, keyed by user name in a hash table:
 *
 *   records   session_id -> record and its expiry (the session TTL)
 *   live      session_id -> expiry: the sessions counted by the quota, in
 *             step with the records, plus places reserved while a
 *             container is made
 *   execs     slot id -> deadline: the running commands
 *   lost      session_id -> why the cleanup loop removed a live session
 *
 * and, under the user "" (no user is empty), the host's own entries:
 *
 *   volumes   volume name -> its Docker creation time and since when it
 *             has been unused (the cleanup loop's idle clock)
 *
 * Every entry has a deadline in milliseconds of the caller's clock
 * (sbx_time_mono_ms() in sandboxd, any clock in the unit tests); an entry
 * at or past its deadline is gone.  Lookups ignore such entries and the
 * user's operations drop them; sbx_memmap_expire() sweeps every user.
 * A user with no entry left is freed.
 */


#ifndef SBX_MEMMAP_H
#define SBX_MEMMAP_H


#include <stddef.h>
#include <stdint.h>

#include "sbx_store.h"


#define SBX_MEMMAP_VALUE_MAX  64


/* the sets of a user */
typedef enum {
    SBX_MEMMAP_LIVE = 0,
    SBX_MEMMAP_EXECS,
    SBX_MEMMAP_LOST,
    SBX_MEMMAP_VOLUMES,
    SBX_MEMMAP_NSETS
} sbx_memmap_set_e;


/* Called for each record; a return other than SBX_OK stops the walk. */
typedef int (*sbx_memmap_record_pt)(void *data, const char *user,
    const char *session_id);


typedef struct sbx_memmap_s  sbx_memmap_t;


/* NULL without memory. */
sbx_memmap_t *sbx_memmap_create(void);
void sbx_memmap_destroy(sbx_memmap_t *m);

/* The record, when it exists and has not expired: 1, else 0. */
int sbx_memmap_get(sbx_memmap_t *m, const char *user,
    const char *session_id, int64_t now, sbx_session_rec_t *rec);

/*
 * Writes the record (replacing one of that session) expiring at now +
 * ttl_ms, and scores the session in the live set alike.  SBX_ERR without
 * memory.
 */
int sbx_memmap_put(sbx_memmap_t *m, const char *user,
    const sbx_session_rec_t *rec, int64_t ttl_ms, int64_t now);

/*
 * When the record exists: sets its last_used_at, moves its expiry and
 * its live entry to now + ttl_ms and returns 1; 0 otherwise.
 */
int sbx_memmap_touch(sbx_memmap_t *m, const char *user,
    const char *session_id, int64_t last_used_at, int64_t ttl_ms,
    int64_t now);

/* Removes the record and its live entry. */
void sbx_memmap_delete(sbx_memmap_t *m, const char *user,
    const char *session_id);

/*
 * The user's records, oldest first (created_at, then session id, as a
 * Redis sorted set orders them), at most max, in a malloc'ed array the
 * caller frees; *total gets how many there are.  SBX_ERR without memory.
 */
int sbx_memmap_list(sbx_memmap_t *m, const char *user, int64_t now,
    size_t max, sbx_session_rec_t **recs, size_t *n, size_t *total);

/*
 * Drops the set's members past their deadline, then adds member with the
 * deadline now + hold_ms unless max are there.  *n gets the count with
 * it, 0 when it was a member already (its deadline unchanged), or -count
 * when full: the answers of the Redis script.  SBX_ERR without memory.
 */
int sbx_memmap_take(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member, uint64_t max, int64_t hold_ms, int64_t now,
    long long *n);

/* Moves an existing member's deadline to now + hold_ms. */
void sbx_memmap_renew(sbx_memmap_t *m, const char *user,
    sbx_memmap_set_e set, const char *member, int64_t hold_ms, int64_t now);

/* Removes a member. */
void sbx_memmap_drop(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member);

/* The set's members before their deadline. */
long long sbx_memmap_count(sbx_memmap_t *m, const char *user,
    sbx_memmap_set_e set, int64_t now);

/*
 * Sets member with a value (at most SBX_MEMMAP_VALUE_MAX bytes) and a
 * number, until now + ttl_ms.  SBX_ERR without memory, or for a member or
 * value too long.
 */
int sbx_memmap_set(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member, const char *value, int64_t number, int64_t ttl_ms,
    int64_t now);

/*
 * Reads member: 1 with its value (SBX_MEMMAP_VALUE_MAX + 1 bytes) and
 * number, and removes it when take is set; 0 when it is not there.
 */
int sbx_memmap_read(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member, int take, int64_t now, char *value, int64_t *number);

/*
 * Calls handler for every record (of every user) that has not expired,
 * from a copy taken under the lock: the handler may use the map.  Returns
 * SBX_OK, the handler's first other return, or SBX_ERR without memory.
 */
int sbx_memmap_each_record(sbx_memmap_t *m, int64_t now,
    sbx_memmap_record_pt handler, void *data);

/* Drops every expired entry of every user; returns how many. */
size_t sbx_memmap_expire(sbx_memmap_t *m, int64_t now);

/* Users held (for the tests: a user with no entry is freed). */
size_t sbx_memmap_users(sbx_memmap_t *m);


#endif /* SBX_MEMMAP_H */
