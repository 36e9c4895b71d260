
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_log.h"
#include "sbx_store.h"
#include "sbx_store_mem.h"


#define SBX_STORE_CONNECT_MS  2000
#define SBX_STORE_COMMAND_MS  5000
#define SBX_STORE_LIST_MAX    1000
#define SBX_STORE_LIST_LAST   "1000"      /* one more, to see a cut */


/*
 * Every script that writes a record also keeps the user's live set
 * (KEYS[3]) in step: the session scored by when its record expires, in
 * Redis's own clock, so that every sandboxd sharing the store counts the
 * same sessions (sbx_quota.c).
 */
#define SBX_STORE_LIVE_LUA(sid, ttl)                                         \
    SBX_LUA_NOW_MS                                                           \
    "local ms = tonumber(" ttl ") * 1000 "                                   \
    SBX_LUA_HOLD("KEYS[3]", "", sid, "ms")

static const char  sbx_store_touch_lua[] =
    "if redis.call('EXPIRE', KEYS[1], ARGV[2]) == 1 then "
    "redis.call('HSET', KEYS[1], 'last_used_at', ARGV[1]) "
    "redis.call('EXPIRE', KEYS[2], ARGV[2]) "
    SBX_STORE_LIVE_LUA("ARGV[3]", "ARGV[2]")
    "return 1 end return 0";

static const char  sbx_store_put_lua[] =
    "redis.call('HSET', KEYS[1], 'container_id', ARGV[1], "
    "'container_name', ARGV[2], 'created_at', ARGV[3], "
    "'last_used_at', ARGV[4]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[5]) "
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[6]) "
    "redis.call('EXPIRE', KEYS[2], ARGV[5]) "
    SBX_STORE_LIVE_LUA("ARGV[6]", "ARGV[5]")
    "return 1";

/* unindexes a session only when its record is gone, atomically */
static const char  sbx_store_prune_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then "
    "redis.call('ZREM', KEYS[3], ARGV[1]) "
    "return redis.call('ZREM', KEYS[2], ARGV[1]) end return 0";

static const char  sbx_store_delete_lua[] =
    "redis.call('DEL', KEYS[1]) "
    "redis.call('ZREM', KEYS[2], ARGV[1]) "
    "redis.call('ZREM', KEYS[3], ARGV[1]) "
    "return 1";


/* The three keys of a session; each buffer is malloc'ed. */
typedef struct {
    char    *rec;
    size_t   rec_len;
    char    *idx;
    size_t   idx_len;
    char    *live;
    size_t   live_len;
} sbx_store_keys_t;


void
sbx_store_init(sbx_store_t *st, const sbx_config_t *conf)
{
    st->conf = conf;
    st->redis = NULL;
    st->memory = conf->redis_host[0] == '\0';
}


void
sbx_store_cleanup(sbx_store_t *st)
{
    if (st->redis != NULL) {
        redisFree(st->redis);
        st->redis = NULL;
    }
}


static struct timeval
sbx_store_tv(long ms)
{
    struct timeval  tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    return tv;
}


static void
sbx_store_fail(sbx_store_t *st, sbx_error_t *err, const char *what)
{
    sbx_error_set(err, SBX_E_STORE_UNAVAILABLE, "redis: %s",
                  st->redis && st->redis->err ? st->redis->errstr : what);

    /* the context is unusable after an I/O or protocol error */
    if (st->redis != NULL && st->redis->err) {
        sbx_store_cleanup(st);
    }
}


/* Sends a command whose reply must not be an error; frees the reply. */
static int
sbx_store_simple(sbx_store_t *st, sbx_error_t *err, const char *fmt, ...)
{
    va_list      ap;
    redisReply  *r;
    int          rc;

    va_start(ap, fmt);
    r = redisvCommand(st->redis, fmt, ap);
    va_end(ap);

    if (r == NULL) {
        sbx_store_fail(st, err, "no reply");
        return SBX_ERR;
    }

    rc = SBX_OK;
    if (r->type == REDIS_REPLY_ERROR) {
        sbx_log_warn("redis: %.200s", r->str);
        sbx_error_set(err, SBX_E_STORE_UNAVAILABLE,
                      "redis refused a command");
        rc = SBX_ERR;
    }

    freeReplyObject(r);

    return rc;
}


static int sbx_store_connect(sbx_store_t *st, sbx_error_t *err);


/*
 * Sends one command and returns its reply, which is not an error reply;
 * NULL with err set otherwise.  A kept-alive connection that turns out to
 * be dead (Redis restarted) is replaced and the command sent once more:
 * every command of this store is idempotent.
 */
redisReply *
sbx_store_argv(sbx_store_t *st, int argc, const char **argv,
    const size_t *argvlen, sbx_error_t *err)
{
    redisReply  *r;
    int          reused, attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        reused = st->redis != NULL;

        if (sbx_store_connect(st, err) != SBX_OK) {
            return NULL;
        }

        r = redisCommandArgv(st->redis, argc, argv, argvlen);

        if (r != NULL) {
            if (r->type == REDIS_REPLY_ERROR) {
                sbx_log_warn("redis: %s: %.200s", argv[0], r->str);
                sbx_error_set(err, SBX_E_STORE_UNAVAILABLE,
                              "redis refused a command");
                freeReplyObject(r);
                return NULL;
            }
            return r;
        }

        sbx_store_fail(st, err, "no reply");

        if (!reused) {
            break;
        }
    }

    return NULL;
}


/* Connects (and authenticates, and selects the db) when not connected. */
static int
sbx_store_connect(sbx_store_t *st, sbx_error_t *err)
{
    const sbx_config_t  *conf = st->conf;
    struct timeval       tv;

    if (st->redis != NULL) {
        return SBX_OK;
    }

    tv = sbx_store_tv(SBX_STORE_CONNECT_MS);

    if (conf->redis_host[0] == '/') {
        st->redis = redisConnectUnixWithTimeout(conf->redis_host, tv);
    } else {
        st->redis = redisConnectWithTimeout(conf->redis_host,
                                            (int) conf->redis_port, tv);
    }

    if (st->redis == NULL || st->redis->err) {
        sbx_store_fail(st, err, "cannot connect");
        sbx_store_cleanup(st);
        return SBX_ERR;
    }

    redisSetTimeout(st->redis, sbx_store_tv(SBX_STORE_COMMAND_MS));

    if (conf->redis_password[0] != '\0'
        && sbx_store_simple(st, err, "AUTH %s", conf->redis_password)
           != SBX_OK)
    {
        goto err;
    }

    if (conf->redis_db != 0
        && sbx_store_simple(st, err, "SELECT %d", (int) conf->redis_db)
           != SBX_OK)
    {
        goto err;
    }

    return SBX_OK;

err:

    sbx_store_cleanup(st);
    return SBX_ERR;
}


char *
sbx_store_user_key(const sbx_store_t *st, const char *user, const char *what)
{
    char  *key;

    if (user == NULL || what == NULL) {
        return NULL;
    }

    if (asprintf(&key, "%suser:%zu:%s:%s", st->conf->redis_prefix,
                 strlen(user), user, what)
        < 0)
    {
        return NULL;
    }

    return key;
}


static int
sbx_store_make_keys(sbx_store_t *st, const char *user,
    const char *session_id, sbx_store_keys_t *k, sbx_error_t *err)
{
    int  n;

    k->idx = NULL;
    k->live = NULL;

    n = asprintf(&k->rec, "%ssession:%zu:%s:%s", st->conf->redis_prefix,
                 strlen(user), user, session_id ? session_id : "");
    if (n < 0) {
        k->rec = NULL;
        goto err;
    }

    k->rec_len = (size_t) n;

    k->idx = sbx_store_user_key(st, user, "sessions");
    k->live = sbx_store_user_key(st, user, "live");

    if (k->idx == NULL || k->live == NULL) {
        goto err;
    }

    k->idx_len = strlen(k->idx);
    k->live_len = strlen(k->live);

    return SBX_OK;

err:

    free(k->rec);
    free(k->idx);
    free(k->live);
    sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
    return SBX_ERR;
}


static void
sbx_store_free_keys(sbx_store_keys_t *k)
{
    free(k->rec);
    free(k->idx);
    free(k->live);
}


int
sbx_store_ping(sbx_store_t *st, long timeout_ms, sbx_error_t *err)
{
    static const char    *argv[1] = { "PING" };
    static const size_t   lens[1] = { 4 };
    redisReply           *r;
    int                   rc;

    if (st->memory) {
        return sbx_store_mem_ping(st, err);
    }

    if (sbx_store_connect(st, err) != SBX_OK) {
        return SBX_ERR;
    }

    redisSetTimeout(st->redis, sbx_store_tv(timeout_ms));

    r = sbx_store_argv(st, 1, argv, lens, err);
    rc = r != NULL ? SBX_OK : SBX_ERR;
    freeReplyObject(r);

    if (st->redis != NULL) {
        redisSetTimeout(st->redis, sbx_store_tv(SBX_STORE_COMMAND_MS));
    }

    return rc;
}


static int64_t
sbx_store_int(const char *s)
{
    uint64_t  v;

    return sbx_parse_uint(s, &v) == SBX_OK && v < INT64_MAX ? (int64_t) v
                                                              : 0;
}


/*
 * Fills rec from an HGETALL reply; a reply without a valid container id is
 * no record.
 */
static int
sbx_store_parse_rec(redisReply *r, const char *session_id,
    sbx_session_rec_t *rec)
{
    size_t       i;
    const char  *f, *v;

    memset(rec, 0, sizeof(*rec));

    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        return 0;
    }

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING
            || r->element[i + 1]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        f = r->element[i]->str;
        v = r->element[i + 1]->str;

        if (strcmp(f, "container_id") == 0 && sbx_valid_docker_id(v)) {
            strcpy(rec->container_id, v);

        } else if (strcmp(f, "container_name") == 0
                   && strlen(v) == SBX_CONTAINER_NAME_LEN)
        {
            strcpy(rec->container_name, v);

        } else if (strcmp(f, "created_at") == 0) {
            rec->created_at = sbx_store_int(v);

        } else if (strcmp(f, "last_used_at") == 0) {
            rec->last_used_at = sbx_store_int(v);
        }
    }

    snprintf(rec->session_id, sizeof(rec->session_id), "%s", session_id);

    return rec->container_id[0] != '\0';
}


int
sbx_store_integer(redisReply *r, long long *out, sbx_error_t *err)
{
    if (r == NULL) {
        return SBX_ERR;
    }

    if (r->type != REDIS_REPLY_INTEGER) {
        sbx_error_set(err, SBX_E_STORE_UNAVAILABLE, "unexpected reply");
        freeReplyObject(r);
        return SBX_ERR;
    }

    *out = r->integer;
    freeReplyObject(r);

    return SBX_OK;
}


/* Runs "<cmd> <session record key>"; the caller frees the reply. */
static redisReply *
sbx_store_on_record(sbx_store_t *st, const char *cmd, const char *user,
    const char *session_id, sbx_error_t *err)
{
    sbx_store_keys_t  k;
    redisReply       *r;

    const char       *argv[2];
    size_t            lens[2];

    if (sbx_store_make_keys(st, user, session_id, &k, err) != SBX_OK) {
        return NULL;
    }

    argv[0] = cmd;
    lens[0] = strlen(cmd);
    argv[1] = k.rec;
    lens[1] = k.rec_len;

    r = sbx_store_argv(st, 2, argv, lens, err);
    sbx_store_free_keys(&k);

    return r;
}


int
sbx_store_get(sbx_store_t *st, const char *user, const char *session_id,
    sbx_session_rec_t *rec, int *found, sbx_error_t *err)
{
    redisReply  *r;

    if (st->memory) {
        return sbx_store_mem_get(st, user, session_id, rec, found, err);
    }

    r = sbx_store_on_record(st, "HGETALL", user, session_id, err);
    if (r == NULL) {
        return SBX_ERR;
    }

    *found = sbx_store_parse_rec(r, session_id, rec);
    freeReplyObject(r);

    return SBX_OK;
}


int
sbx_store_exists(sbx_store_t *st, const char *user, const char *session_id,
    int *exists, sbx_error_t *err)
{
    redisReply  *r;

    long long    n;

    if (st->memory) {
        return sbx_store_mem_exists(st, user, session_id, exists, err);
    }

    r = sbx_store_on_record(st, "EXISTS", user, session_id, err);

    if (sbx_store_integer(r, &n, err) != SBX_OK) {
        return SBX_ERR;
    }

    *exists = n > 0;

    return SBX_OK;
}


redisReply *
sbx_store_script(sbx_store_t *st, const char *script, size_t nkeys,
    const char **argv, size_t argc, sbx_error_t *err)
{
    return sbx_store_script_bin(st, script, nkeys, argv, NULL, argc, err);
}


redisReply *
sbx_store_script_bin(sbx_store_t *st, const char *script, size_t nkeys,
    const char **argv, const size_t *argvlen, size_t argc, sbx_error_t *err)
{
    const char  *av[SBX_STORE_SCRIPT_ARGS + 3];
    size_t       avlen[SBX_STORE_SCRIPT_ARGS + 3], i;
    char         nk[8];

    if (argc > SBX_STORE_SCRIPT_ARGS || nkeys > argc) {
        sbx_error_set(err, SBX_E_INTERNAL, "too many script arguments");
        return NULL;
    }

    snprintf(nk, sizeof(nk), "%zu", nkeys);

    av[0] = "EVAL";
    avlen[0] = 4;
    av[1] = script;
    avlen[1] = strlen(script);
    av[2] = nk;
    avlen[2] = strlen(nk);

    for (i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        avlen[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
    }

    return sbx_store_argv(st, (int) argc + 3, av, avlen, err);
}


/* Runs a script over the session's three keys; *result gets its integer. */
static int
sbx_store_eval(sbx_store_t *st, const char *script, const char *user,
    const char *session_id, const char **argv, size_t argc,
    long long *result, sbx_error_t *err)
{
    sbx_store_keys_t   k;
    redisReply        *r;
    const char        *av[SBX_STORE_SCRIPT_ARGS];
    size_t             i, n;

    if (sbx_store_make_keys(st, user, session_id, &k, err) != SBX_OK) {
        return SBX_ERR;
    }

    n = 0;
    av[n++] = k.rec;
    av[n++] = k.idx;
    av[n++] = k.live;

    for (i = 0; i < argc && n < SBX_STORE_SCRIPT_ARGS; i++) {
        av[n++] = argv[i];
    }

    r = sbx_store_script(st, script, 3, av, n, err);
    sbx_store_free_keys(&k);

    return sbx_store_integer(r, result, err);
}


int
sbx_store_put(sbx_store_t *st, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err)
{
    char         created[32], used[32], ttl[32];
    const char  *argv[6];
    long long    res;

    if (st->memory) {
        return sbx_store_mem_put(st, user, rec, err);
    }

    snprintf(created, sizeof(created), "%" PRId64, rec->created_at);
    snprintf(used, sizeof(used), "%" PRId64, rec->last_used_at);
    snprintf(ttl, sizeof(ttl), "%" PRIu64, st->conf->session_ttl);

    argv[0] = rec->container_id;
    argv[1] = rec->container_name;
    argv[2] = created;
    argv[3] = used;
    argv[4] = ttl;
    argv[5] = rec->session_id;

    return sbx_store_eval(st, sbx_store_put_lua, user, rec->session_id, argv,
                          6, &res, err);
}


int
sbx_store_touch(sbx_store_t *st, const char *user, const char *session_id,
    int64_t now, int *found, sbx_error_t *err)
{
    char         used[32], ttl[32];
    const char  *argv[3];
    long long    res;

    if (st->memory) {
        return sbx_store_mem_touch(st, user, session_id, now, found, err);
    }

    snprintf(used, sizeof(used), "%" PRId64, now);
    snprintf(ttl, sizeof(ttl), "%" PRIu64, st->conf->session_ttl);

    argv[0] = used;
    argv[1] = ttl;
    argv[2] = session_id;

    if (sbx_store_eval(st, sbx_store_touch_lua, user, session_id, argv, 3,
                       &res, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    *found = res == 1;

    return SBX_OK;
}


int
sbx_store_delete(sbx_store_t *st, const char *user, const char *session_id,
    sbx_error_t *err)
{
    const char  *argv[1];
    long long    res;

    if (st->memory) {
        return sbx_store_mem_delete(st, user, session_id, err);
    }

    argv[0] = session_id;

    return sbx_store_eval(st, sbx_store_delete_lua, user, session_id, argv,
                          1, &res, err);
}


/*
 * Fetches the records of the first nids ids of a ZRANGE reply with one
 * pipeline.  Any failure drops the connection: replies still queued on it
 * would otherwise be read as the answers of later commands.
 */
static int
sbx_store_fetch_all(sbx_store_t *st, const char *user, redisReply *ids,
    size_t nids, sbx_session_rec_t *recs, size_t *n, sbx_error_t *err)
{
    sbx_store_keys_t   k;
    redisReply        *r;
    size_t             i;
    const char        *sid;
    int                rc;

    *n = 0;

    for (i = 0; i < nids; i++) {
        sid = ids->element[i]->str;
        if (sbx_store_make_keys(st, user, sid, &k, err) != SBX_OK) {
            goto failed;
        }

        rc = redisAppendCommand(st->redis, "HGETALL %b", k.rec, k.rec_len);
        sbx_store_free_keys(&k);

        if (rc != REDIS_OK) {
            sbx_store_fail(st, err, "cannot queue a command");
            goto failed;
        }
    }

    rc = SBX_OK;

    for (i = 0; i < nids; i++) {
        if (redisGetReply(st->redis, (void **) &r) != REDIS_OK) {
            sbx_store_fail(st, err, "no reply");
            goto failed;
        }

        sid = ids->element[i]->str;

        if (r->type == REDIS_REPLY_ERROR) {
            sbx_log_warn("redis: HGETALL: %.200s", r->str);
            sbx_error_set(err, SBX_E_STORE_UNAVAILABLE,
                          "redis refused a command");
            rc = SBX_ERR;

        } else if (sbx_store_parse_rec(r, sid, &recs[*n])) {
            /* an expired record is left out and unindexed by the caller */
            (*n)++;
        }

        freeReplyObject(r);
    }

    return rc;

failed:

    sbx_store_cleanup(st);
    *n = 0;
    return SBX_ERR;
}


int
sbx_store_list(sbx_store_t *st, const char *user, sbx_session_rec_t **recs,
    size_t *n, sbx_error_t *err)
{
    sbx_store_keys_t   k;
    redisReply        *ids;
    size_t             i, j, nids;
    int                found;
    long long          pruned;
    sbx_session_rec_t *out;
    const char        *argv[4];
    size_t             lens[4];

    if (st->memory) {
        return sbx_store_mem_list(st, user, recs, n, err);
    }

    *recs = NULL;
    *n = 0;

    if (sbx_store_make_keys(st, user, NULL, &k, err) != SBX_OK) {
        return SBX_ERR;
    }

    argv[0] = "ZRANGE";
    lens[0] = 6;
    argv[1] = k.idx;
    lens[1] = k.idx_len;
    argv[2] = "0";
    lens[2] = 1;
    argv[3] = SBX_STORE_LIST_LAST;
    lens[3] = strlen(SBX_STORE_LIST_LAST);

    ids = sbx_store_argv(st, 4, argv, lens, err);
    if (ids == NULL) {
        sbx_store_free_keys(&k);
        return SBX_ERR;
    }

    for (i = 0; ids != NULL && ids->type == REDIS_REPLY_ARRAY
                && i < ids->elements; i++)
    {
        if (ids->element[i]->type != REDIS_REPLY_STRING) {
            freeReplyObject(ids);
            ids = NULL;
            break;
        }
    }

    if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
        sbx_error_set(err, SBX_E_STORE_UNAVAILABLE, "unexpected reply");
        freeReplyObject(ids);
        sbx_store_free_keys(&k);
        return SBX_ERR;
    }

    nids = ids->elements;

    if (nids > SBX_STORE_LIST_MAX) {
        nids = SBX_STORE_LIST_MAX;
        sbx_log_warn("user \"%s\" has more than %d sessions, the list "
                     "is cut", user, SBX_STORE_LIST_MAX);
    }

    out = calloc(nids + 1, sizeof(*out));
    if (out == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        goto err;
    }

    if (sbx_store_fetch_all(st, user, ids, nids, out, n, err) != SBX_OK) {
        goto err;
    }

    /*
     * Unindex members whose record expired.  The script checks again,
     * atomically: a session created since the fetch keeps its entry.
     */
    for (i = 0, j = 0; i < nids; i++) {
        found = j < *n && strcmp(out[j].session_id, ids->element[i]->str)
                          == 0;
        if (found) {
            j++;
            continue;
        }

        argv[0] = ids->element[i]->str;

        if (sbx_store_eval(st, sbx_store_prune_lua, user, argv[0], argv, 1,
                           &pruned, err)
            != SBX_OK)
        {
            goto err;
        }
    }

    freeReplyObject(ids);
    sbx_store_free_keys(&k);
    *recs = out;

    return SBX_OK;

err:

    free(out);
    *n = 0;
    freeReplyObject(ids);
    sbx_store_free_keys(&k);
    return SBX_ERR;
}
