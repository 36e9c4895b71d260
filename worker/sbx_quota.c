
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_log.h"
#include "sbx_quota.h"
#include "sbx_store_mem.h"


/* how long a reserved session place waits for its container and record */
#define SBX_QUOTA_RESERVE_MS     120000
/* an exec slot outlives the timeout by this: session creation, the agent */
#define SBX_QUOTA_EXEC_GRACE_MS  60000


/*
 * KEYS[1] a quota set; ARGV: member, max, hold (ms).  Prunes members past
 * their score, then adds member scored now + hold unless max are there.
 * Returns the count with it, 0 when it was already a member, or -count
 * when full.
 */
static const char  sbx_quota_take_lua[] =
    SBX_LUA_NOW_MS
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end "
    "local n = redis.call('ZCARD', KEYS[1]) "
    "if n >= tonumber(ARGV[2]) then return -n end "
    "local hold = tonumber(ARGV[3]) "
    SBX_LUA_HOLD("KEYS[1]", "", "ARGV[1]", "hold")
    "return n + 1";

/* KEYS[1] a quota set; ARGV: member, hold (ms): a member's new deadline */
static const char  sbx_quota_renew_lua[] =
    SBX_LUA_NOW_MS
    "local hold = tonumber(ARGV[2]) "
    SBX_LUA_HOLD("KEYS[1]", "'XX', ", "ARGV[1]", "hold")
    "return 1";

/* KEYS: the live set and the exec set; prunes both, returns the counts */
static const char  sbx_quota_usage_lua[] =
    SBX_LUA_NOW_MS
    "local r = {} "
    "for i, k in ipairs(KEYS) do "
    "redis.call('ZREMRANGEBYSCORE', k, '-inf', now) "
    "r[i] = redis.call('ZCARD', k) end "
    "return r";


/*
 * The memory store (no redis_host) keeps the same sets in this process,
 * with the same answers and deadlines (sbx_memmap.c).
 */
static sbx_memmap_set_e
sbx_quota_mem_set(const char *what)
{
    return strcmp(what, "live") == 0 ? SBX_MEMMAP_LIVE : SBX_MEMMAP_EXECS;
}


static int
sbx_quota_mem_take(sbx_ctx_t *ctx, const char *user, const char *what,
    const char *member, uint64_t max, long long hold_ms, long long *n,
    sbx_error_t *err)
{
    sbx_memmap_t  *m;

    m = sbx_store_mem_ready_map(&ctx->store, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    if (sbx_memmap_take(m, user, sbx_quota_mem_set(what), member, max,
                        hold_ms, sbx_time_mono_ms(), n)
        != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    return SBX_OK;
}


/* A new deadline (hold_ms >= 0) for member, or its removal (-1). */
static void
sbx_quota_mem_member(const char *user, const char *what, const char *member,
    long long hold_ms)
{
    sbx_memmap_t  *m;

    m = sbx_store_mem_map();

    if (m == NULL) {
        return;
    }

    if (hold_ms < 0) {
        sbx_memmap_drop(m, user, sbx_quota_mem_set(what), member);

    } else {
        sbx_memmap_renew(m, user, sbx_quota_mem_set(what), member, hold_ms,
                         sbx_time_mono_ms());
    }
}


static int
sbx_quota_mem_usage(sbx_ctx_t *ctx, const char *user, long long *sessions,
    long long *execs, sbx_error_t *err)
{
    sbx_memmap_t  *m;
    int64_t        now;

    m = sbx_store_mem_ready_map(&ctx->store, err);
    if (m == NULL) {
        return SBX_ERR;
    }

    now = sbx_time_mono_ms();

    *sessions = sbx_memmap_count(m, user, SBX_MEMMAP_LIVE, now);
    *execs = ctx->conf->max_concurrent_execs_per_user == 0
             ? -1 : sbx_memmap_count(m, user, SBX_MEMMAP_EXECS, now);

    return SBX_OK;
}


/*
 * Runs sbx_quota_take_lua over the user's set "what"; *n gets its answer.
 */
static int
sbx_quota_take(sbx_ctx_t *ctx, const char *user, const char *what,
    const char *member, uint64_t max, long long hold_ms, long long *n,
    sbx_error_t *err)
{
    char         smax[32], shold[32];
    const char  *argv[4];
    redisReply  *r;

    if (ctx->store.memory) {
        return sbx_quota_mem_take(ctx, user, what, member, max, hold_ms, n,
                                  err);
    }

    argv[0] = sbx_store_user_key(&ctx->store, user, what);
    if (argv[0] == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    snprintf(smax, sizeof(smax), "%llu", (unsigned long long) max);
    snprintf(shold, sizeof(shold), "%lld", hold_ms);

    argv[1] = member;
    argv[2] = smax;
    argv[3] = shold;

    r = sbx_store_script(&ctx->store, sbx_quota_take_lua, 1, argv, 4, err);
    free((char *) argv[0]);

    return sbx_store_integer(r, n, err);
}


/*
 * Runs a script over member of the user's set "what" (ZREM, or a new
 * deadline), best effort: a member left behind lapses at its deadline.
 */
static void
sbx_quota_member(sbx_ctx_t *ctx, const char *user, const char *what,
    const char *lua, const char *member, const char *hold)
{
    const char   *argv[3];
    redisReply   *r;
    sbx_error_t   err;

    argv[0] = sbx_store_user_key(&ctx->store, user, what);
    if (argv[0] == NULL) {
        return;
    }

    argv[1] = member;
    argv[2] = hold;

    r = sbx_store_script(&ctx->store, lua, 1, argv, hold ? 3 : 2, &err);
    free((char *) argv[0]);

    if (r == NULL) {
        sbx_log_warn("quota: cannot update \"%s\" of %s: %s", member, what,
                     err.msg);
        return;
    }

    freeReplyObject(r);
}


static void
sbx_quota_drop(sbx_ctx_t *ctx, const char *user, const char *what,
    const char *member)
{
    static const char  lua[] = "return redis.call('ZREM', KEYS[1], ARGV[1])";

    if (ctx->store.memory) {
        sbx_quota_mem_member(user, what, member, -1);
        return;
    }

    sbx_quota_member(ctx, user, what, lua, member, NULL);
}


int
sbx_quota_session_reserve(sbx_ctx_t *ctx, const char *user,
    const char *session_id, int *reserved, sbx_error_t *err)
{
    uint64_t   max = ctx->conf->max_sessions_per_user;
    long long  n;

    *reserved = 0;

    if (max == 0) {
        return SBX_OK;
    }

    if (sbx_quota_take(ctx, user, "live", session_id, max,
                       SBX_QUOTA_RESERVE_MS, &n, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (n < 0) {
        sbx_error_set(err, SBX_E_SESSION_QUOTA, "session quota exceeded: "
                      "%lld live sessions, at most %llu; delete one first",
                      -n, (unsigned long long) max);
        return SBX_ERR;
    }

    /* 0: counted already (another sandboxd is creating it): not ours */

    *reserved = (n > 0);

    return SBX_OK;
}


void
sbx_quota_session_release(sbx_ctx_t *ctx, const char *user,
    const char *session_id)
{
    if (ctx->conf->max_sessions_per_user != 0) {
        sbx_quota_drop(ctx, user, "live", session_id);
    }
}


int
sbx_quota_exec_begin(sbx_ctx_t *ctx, const char *user, long timeout_ms,
    char *slot, sbx_error_t *err)
{
    uint64_t   max = ctx->conf->max_concurrent_execs_per_user;
    long long  n;

    slot[0] = '\0';

    if (max == 0) {
        return SBX_OK;
    }

    if (sbx_random_hex(slot, SBX_QUOTA_SLOT_LEN / 2) != SBX_OK) {
        slot[0] = '\0';
        sbx_error_set(err, SBX_E_INTERNAL, "no randomness");
        return SBX_ERR;
    }

    if (sbx_quota_take(ctx, user, "execs", slot, max,
                       (long long) timeout_ms + SBX_QUOTA_EXEC_GRACE_MS, &n,
                       err)
        != SBX_OK)
    {
        slot[0] = '\0';
        return SBX_ERR;
    }

    if (n == 0) {
        slot[0] = '\0';
        sbx_error_set(err, SBX_E_INTERNAL, "an execution slot id was taken");
        return SBX_ERR;
    }

    if (n < 0) {
        slot[0] = '\0';
        sbx_error_set(err, SBX_E_EXEC_QUOTA, "execution quota exceeded: "
                      "%lld commands running, at most %llu at a time",
                      -n, (unsigned long long) max);
        return SBX_ERR;
    }

    return SBX_OK;
}


void
sbx_quota_exec_renew(sbx_ctx_t *ctx, const char *user, const char *slot,
    long timeout_ms)
{
    char  hold[32];

    if (slot[0] != '\0' && ctx->store.memory) {
        sbx_quota_mem_member(user, "execs", slot,
                             (long long) timeout_ms + SBX_QUOTA_EXEC_GRACE_MS);

    } else if (slot[0] != '\0') {
        snprintf(hold, sizeof(hold), "%lld",
                 (long long) timeout_ms + SBX_QUOTA_EXEC_GRACE_MS);
        sbx_quota_member(ctx, user, "execs", sbx_quota_renew_lua, slot, hold);
    }
}


void
sbx_quota_exec_end(sbx_ctx_t *ctx, const char *user, const char *slot)
{
    if (slot[0] != '\0') {
        sbx_quota_drop(ctx, user, "execs", slot);
    }
}


int
sbx_quota_usage(sbx_ctx_t *ctx, const char *user, long long *sessions,
    long long *execs, sbx_error_t *err)
{
    const char  *keys[2];
    redisReply  *r;
    int          rc;

    if (ctx->store.memory) {
        return sbx_quota_mem_usage(ctx, user, sessions, execs, err);
    }

    keys[0] = sbx_store_user_key(&ctx->store, user, "live");
    keys[1] = sbx_store_user_key(&ctx->store, user, "execs");

    r = NULL;
    rc = SBX_ERR;

    if (keys[0] == NULL || keys[1] == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        goto done;
    }

    r = sbx_store_script(&ctx->store, sbx_quota_usage_lua, 2, keys, 2, err);
    if (r == NULL) {
        goto done;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_INTEGER
        || r->element[1]->type != REDIS_REPLY_INTEGER)
    {
        sbx_error_set(err, SBX_E_STORE_UNAVAILABLE, "unexpected reply");
        goto done;
    }

    *sessions = r->element[0]->integer;
    *execs = ctx->conf->max_concurrent_execs_per_user == 0
             ? -1 : r->element[1]->integer;
    rc = SBX_OK;

done:

    freeReplyObject(r);
    free((char *) keys[0]);
    free((char *) keys[1]);

    return rc;
}
