
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The Redis store of sessions (hiredis).  One store per thread, connected
 * on first use and again at the next use after any connection error.
 *
 *   <prefix>session:<len(user)>:<user>:<session_id>   HASH, TTL session_ttl
 *       container_id, container_name, created_at, last_used_at
 *   <prefix>user:<len(user)>:<user>:sessions          ZSET session_id by
 *                                                      created_at
 *   <prefix>user:<len(user)>:<user>:live              ZSET session_id by
 *                                                      expiry (ms, Redis
 *                                                      clock), for quotas
 *
 * Every failure is store_unavailable.
 *
 * With no redis_host the same functions keep the sessions in this process
 * instead (sbx_store_mem.c): a single sandboxd needs no Redis.
 */


#ifndef SBX_STORE_H
#define SBX_STORE_H


#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "sbx_config.h"
#include "sbx_util.h"


typedef struct {
    char     session_id[SBX_SESSION_ID_MAX + 1];
    char     container_id[SBX_CONTAINER_ID_MAX + 1];
    char     container_name[SBX_CONTAINER_NAME_LEN + 1];
    int64_t  created_at;
    int64_t  last_used_at;
} sbx_session_rec_t;


#define SBX_STORE_SCRIPT_ARGS  16


/* Lua: "now", in Redis's clock (ms), shared by every sandboxd. */
#define SBX_LUA_NOW_MS                                                        \
    "local t = redis.call('TIME') "                                          \
    "local now = t[1] * 1000 + math.floor(t[2] / 1000) "

/*
 * Lua, after SBX_LUA_NOW_MS: scores member now + hold (ms) in the sorted
 * set key (with ZADD's flags, "" or "'XX', "), and keeps the set at least
 * that long.  hold is a Lua expression.
 */
#define SBX_LUA_HOLD(key, flags, member, hold)                                \
    "redis.call('ZADD', " key ", " flags "now + " hold ", " member ") "       \
    "if redis.call('PTTL', " key ") < " hold " then "                        \
    "redis.call('PEXPIRE', " key ", " hold ") end "


typedef struct {
    const sbx_config_t  *conf;
    redisContext        *redis;
    int                  memory;     /* no redis_host: sbx_store_mem.c */
} sbx_store_t;


void sbx_store_init(sbx_store_t *st, const sbx_config_t *conf);
void sbx_store_cleanup(sbx_store_t *st);

/* "<prefix>user:<len(user)>:<user>:<what>", malloc'ed; NULL without memory. */
char *sbx_store_user_key(const sbx_store_t *st, const char *user,
    const char *what);

/*
 * EVALs a Lua script: argv holds its nkeys keys, then its arguments (at
 * most SBX_STORE_SCRIPT_ARGS in all).  Returns the reply, never an error
 * reply, for the caller to free; NULL with err set otherwise.
 */
redisReply *sbx_store_script(sbx_store_t *st, const char *script,
    size_t nkeys, const char **argv, size_t argc, sbx_error_t *err);

/* The same with argvlen[i] bytes of argv[i] (binary safe). */
redisReply *sbx_store_script_bin(sbx_store_t *st, const char *script,
    size_t nkeys, const char **argv, const size_t *argvlen, size_t argc,
    sbx_error_t *err);

/*
 * One command of argc arguments (binary safe): its reply, never an error
 * reply, for the caller to free; NULL with err set otherwise.  A dead
 * kept-alive connection is replaced and the command sent once more, so
 * commands must be idempotent.
 */
redisReply *sbx_store_argv(sbx_store_t *st, int argc, const char **argv,
    const size_t *argvlen, sbx_error_t *err);

/*
 * The integer of a reply (sbx_store_script's), which it frees; a NULL
 * reply (the command failed, err is set) or another type is an error.
 */
int sbx_store_integer(redisReply *r, long long *out, sbx_error_t *err);

/* PING with a deadline of timeout_ms. */
int sbx_store_ping(sbx_store_t *st, long timeout_ms, sbx_error_t *err);

/* Reads a record; *found says whether it exists. */
int sbx_store_get(sbx_store_t *st, const char *user, const char *session_id,
    sbx_session_rec_t *rec, int *found, sbx_error_t *err);

/* Whether the record exists (for the cleanup loop). */
int sbx_store_exists(sbx_store_t *st, const char *user,
    const char *session_id, int *exists, sbx_error_t *err);

/* Writes a new record and indexes it, both with the session TTL. */
int sbx_store_put(sbx_store_t *st, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err);

/*
 * Sets last_used_at to now and refreshes the TTLs, atomically and only if
 * the record still exists (*found).
 */
int sbx_store_touch(sbx_store_t *st, const char *user,
    const char *session_id, int64_t now, int *found, sbx_error_t *err);

/* Deletes the record and its index entry. */
int sbx_store_delete(sbx_store_t *st, const char *user,
    const char *session_id, sbx_error_t *err);

/*
 * The user's live records, oldest first, at most 1000 of them (a cut list
 * is logged), in a malloc'ed array the caller frees; index entries of
 * expired records are removed, never those of a record that exists.
 */
int sbx_store_list(sbx_store_t *st, const char *user,
    sbx_session_rec_t **recs, size_t *n, sbx_error_t *err);


#endif /* SBX_STORE_H */
