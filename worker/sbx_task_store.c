
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_log.h"
#include "sbx_task_store.h"


/*
 * Every script has the task's three keys: KEYS[1] the task, KEYS[2] its
 * user's tasks, KEYS[3] this instance's tasks.
 */

/* ARGV: max, ttl (how long the task and its place are kept), id, user,
   kind, instance, session_id, callback_url */
static const char  sbx_task_lua_create[] =
    SBX_LUA_NOW_MS
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) "
    "local max = tonumber(ARGV[1]) "
    "if max > 0 and redis.call('ZCARD', KEYS[2]) >= max then "
    "return -1 end "
    "if redis.call('EXISTS', KEYS[1]) == 0 then "
    "redis.call('HSET', KEYS[1], 'user', ARGV[4], 'kind', ARGV[5], "
    "'status', 'queued', 'instance', ARGV[6], 'session_id', ARGV[7], "
    "'created_at', now, 'callback_url', ARGV[8]) "
    "if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], "
    "'callback_status', 'pending', 'callback_attempts', 0) end "
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "local hold = tonumber(ARGV[2]) "
    SBX_LUA_HOLD("KEYS[2]", "", "ARGV[3]", "hold")
    "redis.call('SADD', KEYS[3], ARGV[3]) "
    "if redis.call('PTTL', KEYS[3]) < hold then "
    "redis.call('PEXPIRE', KEYS[3], hold) end "
    "return now";

/* ARGV: user, id */
static const char  sbx_task_lua_start[] =
    SBX_LUA_NOW_MS
    "if redis.call('HGET', KEYS[1], 'user') == ARGV[1] "
    "and redis.call('HGET', KEYS[1], 'status') == 'queued' then "
    "redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', now) "
    "return now end "
    "redis.call('SREM', KEYS[3], ARGV[2]) "
    "return 0";

/* ARGV: user, id, status, session_id, result, body, error_code,
   error_message, ttl */
static const char  sbx_task_lua_finish[] =
    SBX_LUA_NOW_MS
    "redis.call('ZREM', KEYS[2], ARGV[2]) "
    "redis.call('SREM', KEYS[3], ARGV[2]) "
    "if redis.call('HGET', KEYS[1], 'user') ~= ARGV[1] "
    "or redis.call('HGET', KEYS[1], 'status') ~= 'running' then "
    "return 0 end "
    "redis.call('HSET', KEYS[1], 'status', ARGV[3], 'finished_at', now, "
    "'session_id', ARGV[4], 'result', ARGV[5], 'body', ARGV[6], "
    "'error_code', ARGV[7], 'error_message', ARGV[8]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[9]) "
    "return now";

/* ARGV: user, id; answers the status it had */
static const char  sbx_task_lua_cancel[] =
    SBX_LUA_NOW_MS
    "if redis.call('HGET', KEYS[1], 'user') ~= ARGV[1] then return '' end "
    "local st = redis.call('HGET', KEYS[1], 'status') "
    "if st == 'queued' or st == 'running' then "
    "redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_at', now) "
    "redis.call('ZREM', KEYS[2], ARGV[2]) end "
    "return st";

/* ARGV: user, status, attempts, error */
static const char  sbx_task_lua_callback[] =
    "if redis.call('HGET', KEYS[1], 'user') == ARGV[1] then "
    "redis.call('HSET', KEYS[1], 'callback_status', ARGV[2], "
    "'callback_attempts', ARGV[3], 'callback_error', ARGV[4]) end "
    "return 0";

/* ARGV: id, why */
static const char  sbx_task_lua_interrupt[] =
    SBX_LUA_NOW_MS
    "redis.call('SREM', KEYS[3], ARGV[1]) "
    "redis.call('ZREM', KEYS[2], ARGV[1]) "
    "local st = redis.call('HGET', KEYS[1], 'status') "
    "if st ~= 'queued' and st ~= 'running' then return 0 end "
    "redis.call('HSET', KEYS[1], 'status', 'failed', 'finished_at', now, "
    "'error_code', 'interrupted', 'error_message', ARGV[2]) "
    "return 1";


typedef struct {
    char  *task;
    char  *user;        /* the user's tasks */
    char  *instance;    /* the instance's tasks */
} sbx_task_keys_t;


static void
sbx_task_keys_free(sbx_task_keys_t *k)
{
    free(k->task);
    free(k->user);
    free(k->instance);
}


static int
sbx_task_keys(sbx_store_t *st, const char *user, const char *id,
    sbx_task_keys_t *k, sbx_error_t *err)
{
    const char  *prefix = st->conf->redis_prefix;

    k->user = sbx_store_user_key(st, user, "tasks");

    if (asprintf(&k->task, "%stask:%s", prefix, id) < 0) {
        k->task = NULL;
    }

    if (asprintf(&k->instance, "%sinstance:%s:tasks", prefix,
                 st->conf->instance) < 0)
    {
        k->instance = NULL;
    }

    if (k->task == NULL || k->user == NULL || k->instance == NULL) {
        sbx_task_keys_free(k);
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    return SBX_OK;
}


/* Runs a script over the task's three keys; lens may be NULL. */
static redisReply *
sbx_task_script(sbx_store_t *st, const char *script, const char *user,
    const char *id, const char **args, const size_t *lens, size_t nargs,
    sbx_error_t *err)
{
    const char       *av[SBX_STORE_SCRIPT_ARGS];
    size_t            avlen[SBX_STORE_SCRIPT_ARGS], n, i;
    redisReply       *r;
    sbx_task_keys_t   k;

    if (sbx_task_keys(st, user, id, &k, err) != SBX_OK) {
        return NULL;
    }

    n = 0;
    av[n++] = k.task;
    av[n++] = k.user;
    av[n++] = k.instance;

    for (i = 0; i < nargs && n < SBX_STORE_SCRIPT_ARGS; i++) {
        av[n++] = args[i];
    }

    for (i = 0; i < n; i++) {
        avlen[i] = (i >= 3 && lens != NULL) ? lens[i - 3] : strlen(av[i]);
    }

    r = sbx_store_script_bin(st, script, 3, av, avlen, n, err);
    sbx_task_keys_free(&k);

    return r;
}


int
sbx_task_store_create(sbx_store_t *st, const char *user,
    sbx_task_rec_t *rec, uint64_t max_active, sbx_error_t *err)
{
    char         max[24], ttl[24];
    long long    now;
    const char  *args[8];

    if (st->memory) {
        return sbx_task_mem_create(st->conf, user, rec, max_active, err);
    }

    snprintf(max, sizeof(max), "%llu", (unsigned long long) max_active);
    snprintf(ttl, sizeof(ttl), "%llu",
             (unsigned long long) st->conf->task_ttl * 1000);

    args[0] = max;
    args[1] = ttl;
    args[2] = rec->id;
    args[3] = user;
    args[4] = rec->kind;
    args[5] = st->conf->instance;
    args[6] = rec->session_id;
    args[7] = rec->callback_url;

    if (sbx_store_integer(sbx_task_script(st, sbx_task_lua_create, user,
                                          rec->id, args, NULL, 8, err),
                          &now, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (now < 0) {
        sbx_error_set(err, SBX_E_TASK_QUOTA, "%llu tasks are queued or "
                      "running already (max_tasks_per_user)",
                      (unsigned long long) max_active);
        return SBX_ERR;
    }

    snprintf(rec->status, sizeof(rec->status), "queued");
    rec->created_at = now;

    if (rec->callback_url[0] != '\0') {
        snprintf(rec->callback_status, sizeof(rec->callback_status),
                 "pending");
    }

    return SBX_OK;
}


int
sbx_task_store_start(sbx_store_t *st, const char *user, const char *id,
    int *started, sbx_error_t *err)
{
    long long    now;
    const char  *args[2];

    if (st->memory) {
        return sbx_task_mem_start(user, id, started);
    }

    args[0] = user;
    args[1] = id;

    if (sbx_store_integer(sbx_task_script(st, sbx_task_lua_start, user, id,
                                          args, NULL, 2, err),
                          &now, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    *started = now > 0;

    return SBX_OK;
}


int
sbx_task_store_finish(sbx_store_t *st, const char *user,
    const sbx_task_rec_t *rec, int *finished, sbx_error_t *err)
{
    char         ttl[24];
    size_t       lens[9], i;
    long long    now;
    const char  *args[9];

    if (st->memory) {
        return sbx_task_mem_finish(st->conf, user, rec, finished, err);
    }

    snprintf(ttl, sizeof(ttl), "%llu",
             (unsigned long long) st->conf->task_ttl * 1000);

    args[0] = user;
    args[1] = rec->id;
    args[2] = rec->status;
    args[3] = rec->session_id;
    args[4] = rec->result ? rec->result : "";
    args[5] = rec->body ? rec->body : "";
    args[6] = rec->error_code;
    args[7] = rec->error_message;
    args[8] = ttl;

    /* the body is bytes, not a string */
    for (i = 0; i < 9; i++) {
        lens[i] = i == 5 ? (rec->body ? rec->body_len : 0) : strlen(args[i]);
    }

    if (sbx_store_integer(sbx_task_script(st, sbx_task_lua_finish, user,
                                          rec->id, args, lens, 9, err),
                          &now, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    *finished = now > 0;

    return SBX_OK;
}


static int64_t
sbx_task_int(const redisReply *v)
{
    uint64_t  n;

    return sbx_parse_uint(v->str, &n) == SBX_OK && n < INT64_MAX
           ? (int64_t) n : 0;
}


/* Copies a field's value into a fixed buffer of size bytes. */
static void
sbx_task_copy(char *dst, size_t size, const redisReply *v)
{
    size_t  n;

    n = v->len < size - 1 ? v->len : size - 1;
    memcpy(dst, v->str, n);
    dst[n] = '\0';
}


/* A field's value, malloc'ed (NUL-terminated), or NULL when empty. */
static int
sbx_task_dup(char **dst, size_t *len, const redisReply *v)
{
    if (v->len == 0) {
        return SBX_OK;
    }

    *dst = malloc(v->len + 1);
    if (*dst == NULL) {
        return SBX_ERR;
    }

    memcpy(*dst, v->str, v->len);
    (*dst)[v->len] = '\0';

    if (len != NULL) {
        *len = v->len;
    }

    return SBX_OK;
}


/* Fills rec from an HGETALL reply: 1 when it is user's task. */
static int
sbx_task_parse(redisReply *r, const char *user, sbx_task_rec_t *rec)
{
    int          mine, rc;
    size_t       i;
    const char  *f;
    redisReply  *v;

    mine = 0;
    rc = SBX_OK;

    for (i = 0; i + 1 < r->elements && rc == SBX_OK; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING
            || r->element[i + 1]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        f = r->element[i]->str;
        v = r->element[i + 1];

        if (strcmp(f, "user") == 0) {
            mine = strcmp(v->str, user) == 0 && v->len == strlen(user);
        } else if (strcmp(f, "kind") == 0) {
            sbx_task_copy(rec->kind, sizeof(rec->kind), v);
        } else if (strcmp(f, "status") == 0) {
            sbx_task_copy(rec->status, sizeof(rec->status), v);
        } else if (strcmp(f, "session_id") == 0) {
            sbx_task_copy(rec->session_id, sizeof(rec->session_id), v);
        } else if (strcmp(f, "created_at") == 0) {
            rec->created_at = sbx_task_int(v);
        } else if (strcmp(f, "started_at") == 0) {
            rec->started_at = sbx_task_int(v);
        } else if (strcmp(f, "finished_at") == 0) {
            rec->finished_at = sbx_task_int(v);
        } else if (strcmp(f, "result") == 0) {
            rc = sbx_task_dup(&rec->result, NULL, v);
        } else if (strcmp(f, "body") == 0) {
            rc = sbx_task_dup(&rec->body, &rec->body_len, v);
        } else if (strcmp(f, "error_code") == 0) {
            sbx_task_copy(rec->error_code, sizeof(rec->error_code), v);
        } else if (strcmp(f, "error_message") == 0) {
            sbx_task_copy(rec->error_message, sizeof(rec->error_message), v);
        } else if (strcmp(f, "callback_url") == 0) {
            sbx_task_copy(rec->callback_url, sizeof(rec->callback_url), v);
        } else if (strcmp(f, "callback_status") == 0) {
            sbx_task_copy(rec->callback_status,
                          sizeof(rec->callback_status), v);
        } else if (strcmp(f, "callback_attempts") == 0) {
            rec->callback_attempts = sbx_task_int(v);
        } else if (strcmp(f, "callback_error") == 0) {
            sbx_task_copy(rec->callback_error, sizeof(rec->callback_error),
                          v);
        }
    }

    return rc == SBX_OK ? mine : SBX_ERR;
}


int
sbx_task_store_get(sbx_store_t *st, const char *user, const char *id,
    sbx_task_rec_t *rec, int *found, sbx_error_t *err)
{
    int               rc;
    size_t            lens[2];
    redisReply       *r;
    const char       *argv[2];
    sbx_task_keys_t   k;

    memset(rec, 0, sizeof(*rec));
    snprintf(rec->id, sizeof(rec->id), "%s", id);

    if (st->memory) {
        return sbx_task_mem_get(user, id, rec, found, err);
    }

    if (sbx_task_keys(st, user, id, &k, err) != SBX_OK) {
        return SBX_ERR;
    }

    argv[0] = "HGETALL";
    argv[1] = k.task;
    lens[0] = 7;
    lens[1] = strlen(k.task);

    r = sbx_store_argv(st, 2, argv, lens, err);
    sbx_task_keys_free(&k);

    if (r == NULL) {
        return SBX_ERR;
    }

    rc = r->type == REDIS_REPLY_ARRAY ? sbx_task_parse(r, user, rec) : 0;
    freeReplyObject(r);

    if (rc == SBX_ERR) {
        sbx_task_rec_free(rec);
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    *found = rc == 1 && rec->status[0] != '\0';

    return SBX_OK;
}


int
sbx_task_store_cancel(sbx_store_t *st, const char *user, const char *id,
    char *prev, sbx_error_t *err)
{
    redisReply  *r;
    const char  *args[2];

    prev[0] = '\0';

    if (st->memory) {
        sbx_task_mem_cancel(user, id, prev);
        return SBX_OK;
    }

    args[0] = user;
    args[1] = id;

    r = sbx_task_script(st, sbx_task_lua_cancel, user, id, args, NULL, 2,
                        err);
    if (r == NULL) {
        return SBX_ERR;
    }

    if (r->type == REDIS_REPLY_STRING) {
        snprintf(prev, SBX_TASK_STATUS_MAX + 1, "%s", r->str);
    }

    freeReplyObject(r);

    return SBX_OK;
}


int
sbx_task_store_callback(sbx_store_t *st, const char *user, const char *id,
    const char *status, int64_t attempts, const char *error,
    sbx_error_t *err)
{
    char         n[24];
    long long    ignored;
    const char  *args[4];

    if (st->memory) {
        sbx_task_mem_callback(user, id, status, attempts, error);
        return SBX_OK;
    }

    snprintf(n, sizeof(n), "%lld", (long long) attempts);

    args[0] = user;
    args[1] = status;
    args[2] = n;
    args[3] = error;

    return sbx_store_integer(sbx_task_script(st, sbx_task_lua_callback, user,
                                             id, args, NULL, 4, err),
                             &ignored, err);
}


/* Marks one task of the instance's set as interrupted. */
static int
sbx_task_interrupt_one(sbx_store_t *st, const char *id, const char *why,
    long long *marked, sbx_error_t *err)
{
    size_t            lens[3];
    redisReply       *r;
    const char       *argv[3], *args[2];
    sbx_task_keys_t   k;
    char             *user;

    if (sbx_task_keys(st, "-", id, &k, err) != SBX_OK) {
        return SBX_ERR;
    }

    argv[0] = "HGET";
    argv[1] = k.task;
    argv[2] = "user";
    lens[0] = 4;
    lens[1] = strlen(k.task);
    lens[2] = 4;

    r = sbx_store_argv(st, 3, argv, lens, err);
    sbx_task_keys_free(&k);

    if (r == NULL) {
        return SBX_ERR;
    }

    user = r->type == REDIS_REPLY_STRING ? strdup(r->str) : strdup("-");
    freeReplyObject(r);

    if (user == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    args[0] = id;
    args[1] = why;

    r = sbx_task_script(st, sbx_task_lua_interrupt, user, id, args, NULL,
                        2, err);
    free(user);

    return sbx_store_integer(r, marked, err);
}


int
sbx_task_store_interrupt(sbx_store_t *st, const char *why, size_t *n,
    sbx_error_t *err)
{
    int               rc;
    size_t            lens[2], i;
    long long         marked;
    redisReply       *r;
    const char       *argv[2];
    sbx_task_keys_t   k;

    *n = 0;

    if (st->memory) {
        return SBX_OK;
    }

    if (sbx_task_keys(st, "-", "-", &k, err) != SBX_OK) {
        return SBX_ERR;
    }

    argv[0] = "SMEMBERS";
    argv[1] = k.instance;
    lens[0] = 8;
    lens[1] = strlen(k.instance);

    r = sbx_store_argv(st, 2, argv, lens, err);
    sbx_task_keys_free(&k);

    if (r == NULL) {
        return SBX_ERR;
    }

    rc = SBX_OK;

    for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING
            || !sbx_task_id_valid(r->element[i]->str))
        {
            continue;
        }

        rc = sbx_task_interrupt_one(st, r->element[i]->str, why, &marked,
                                    err);
        if (rc != SBX_OK) {
            break;
        }

        *n += (size_t) marked;
    }

    freeReplyObject(r);

    return rc;
}
