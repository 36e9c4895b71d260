
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Per-user quotas, kept in Redis so that they hold across every nginx and
 * every sandboxd sharing it: live sessions (max_sessions_per_user) and
 * concurrent executions (max_concurrent_execs_per_user).  Each check and
 * reservation is one Lua script, atomic in Redis, and counts in Redis's
 * clock:
 *
 *   <prefix>user:<len(user)>:<user>:live    ZSET session_id by expiry (ms);
 *       sbx_store.c keeps it in step with the records, a reservation holds
 *       a place while the container is made
 *   <prefix>user:<len(user)>:<user>:execs   ZSET slot id by deadline (ms):
 *       the timeout plus a grace, so that the slot of a sandboxd that died
 *       mid-exec lapses on its own
 *
 * Members past their score are pruned by the same scripts.
 *
 * With the memory store (no redis_host) the same two sets are kept in
 * this process (sbx_memmap.c), with the same answers and deadlines, and
 * count this sandboxd's sessions and executions only.
 */


#ifndef SBX_QUOTA_H
#define SBX_QUOTA_H


#include "sbx_ctx.h"


#define SBX_E_SESSION_QUOTA  "session_quota_exceeded"
#define SBX_E_EXEC_QUOTA     "exec_quota_exceeded"

#define SBX_QUOTA_SLOT_LEN   32


/*
 * Holds a place for a new session in the user's live set, or fails with
 * session_quota_exceeded when max_sessions_per_user are live.  A session
 * already counted passes, and *reserved says whether this call took the
 * place (only then is it released on failure).  Nothing is reserved when
 * the quota is 0.
 */
int sbx_quota_session_reserve(sbx_ctx_t *ctx, const char *user,
    const char *session_id, int *reserved, sbx_error_t *err);

/* Gives back the place of a session that was not created; best effort. */
void sbx_quota_session_release(sbx_ctx_t *ctx, const char *user,
    const char *session_id);

/*
 * Takes an execution slot, held until sbx_quota_exec_end() or until
 * timeout_ms plus a grace have passed; exec_quota_exceeded when
 * max_concurrent_execs_per_user are taken.  slot gets its id
 * (SBX_QUOTA_SLOT_LEN + 1 bytes), empty when the quota is 0 (untracked).
 */
int sbx_quota_exec_begin(sbx_ctx_t *ctx, const char *user, long timeout_ms,
    char *slot, sbx_error_t *err);

/*
 * Moves a slot's deadline to timeout_ms plus the grace from now: called
 * once the session is there, which may have taken a while; best effort.
 */
void sbx_quota_exec_renew(sbx_ctx_t *ctx, const char *user, const char *slot,
    long timeout_ms);

/* Frees a slot (an empty one is none); best effort. */
void sbx_quota_exec_end(sbx_ctx_t *ctx, const char *user, const char *slot);

/*
 * The user's live sessions and running executions (-1 for executions when
 * their quota is 0: they are not tracked then).
 */
int sbx_quota_usage(sbx_ctx_t *ctx, const char *user, long long *sessions,
    long long *execs, sbx_error_t *err);


#endif /* SBX_QUOTA_H */
