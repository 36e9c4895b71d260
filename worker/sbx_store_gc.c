
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_store_gc.h"
#include "sbx_store_gc_mem.h"


#define SBX_STORE_SCAN_COUNT  "200"


static const char  sbx_store_scan_lua[] =
    "return redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', "
    "ARGV[3])";

static const char  sbx_store_drop_lost_lua[] =
    "if redis.call('HGET', KEYS[1], 'container_id') ~= ARGV[1] then "
    "return 0 end "
    "redis.call('DEL', KEYS[1]) "
    "redis.call('ZREM', KEYS[2], ARGV[2]) "
    "redis.call('ZREM', KEYS[3], ARGV[2]) "
    "redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[3]) "
    "return 1";

static const char  sbx_store_take_lost_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v then redis.call('DEL', KEYS[1]) return v end return ''";

static const char  sbx_store_volume_idle_lua[] =
    "if redis.call('HGET', KEYS[1], 'created') ~= ARGV[3] then "
    "redis.call('DEL', KEYS[1]) "
    "redis.call('HSET', KEYS[1], 'created', ARGV[3], 'since', ARGV[1]) "
    "end "
    "redis.call('EXPIRE', KEYS[1], ARGV[2]) "
    "return tonumber(redis.call('HGET', KEYS[1], 'since'))";

static const char  sbx_store_volume_used_lua[] =
    "return redis.call('DEL', KEYS[1])";


/* "<prefix><what>:<len(user)>:<user>:<session_id>", malloc'ed. */
static char *
sbx_store_gc_key(const sbx_store_t *st, const char *what, const char *user,
    const char *session_id)
{
    char  *key;

    if (user == NULL || session_id == NULL) {
        return NULL;
    }

    if (asprintf(&key, "%s%s:%zu:%s:%s", st->conf->redis_prefix, what,
                 strlen(user), user, session_id)
        < 0)
    {
        return NULL;
    }

    return key;
}


/*
 * Splits "<len>:<user>:<session_id>" (a record key past its
 * "<prefix>session:"); user is malloc'ed.  SBX_ERR for another shape.
 */
static int
sbx_store_gc_parse(const char *p, char **user, const char **session_id)
{
    uint64_t     len;
    const char  *colon;
    char         digits[24];
    size_t       n;

    colon = strchr(p, ':');
    n = colon ? (size_t) (colon - p) : 0;

    if (n == 0 || n >= sizeof(digits)) {
        return SBX_ERR;
    }

    memcpy(digits, p, n);
    digits[n] = '\0';

    if (sbx_parse_uint(digits, &len) != SBX_OK || len == 0
        || len > strlen(colon + 1) || colon[1 + len] != ':')
    {
        return SBX_ERR;
    }

    *session_id = colon + 2 + len;

    if (**session_id == '\0' || strlen(*session_id) > SBX_SESSION_ID_MAX) {
        return SBX_ERR;
    }

    *user = strndup(colon + 1, (size_t) len);

    return *user != NULL ? SBX_OK : SBX_ERR;
}


/* Hands the keys of one SCAN batch to handler. */
static int
sbx_store_gc_batch(redisReply *keys, size_t skip,
    sbx_store_record_pt handler, void *data)
{
    size_t       i;
    char        *user;
    const char  *sid;
    int          rc;

    for (i = 0; i < keys->elements; i++) {
        if (keys->element[i]->type != REDIS_REPLY_STRING
            || keys->element[i]->len <= skip
            || sbx_store_gc_parse(keys->element[i]->str + skip, &user, &sid)
               != SBX_OK)
        {
            continue;
        }

        rc = handler(data, user, sid);
        free(user);

        if (rc != SBX_OK) {
            return rc;
        }
    }

    return SBX_OK;
}


/* "<prefix>session:*" with the prefix's glob characters escaped. */
static char *
sbx_store_gc_pattern(const char *prefix)
{
    static const char   tail[] = "session:*";
    char               *pat, *q;
    const char         *p;

    pat = malloc(2 * strlen(prefix) + sizeof(tail));
    if (pat == NULL) {
        return NULL;
    }

    for (p = prefix, q = pat; *p; p++) {
        if (strchr("*?[]\\", *p) != NULL) {
            *q++ = '\\';
        }
        *q++ = *p;
    }

    memcpy(q, tail, sizeof(tail));

    return pat;
}


int
sbx_store_scan_records(sbx_store_t *st, sbx_store_record_pt handler,
    void *data, sbx_error_t *err)
{
    redisReply  *r;
    char         cursor[32], *pattern;
    const char  *argv[3];
    size_t       skip;
    int          rc;

    if (st->memory) {
        return sbx_store_gc_mem_scan(st, handler, data, err);
    }

    pattern = sbx_store_gc_pattern(st->conf->redis_prefix);
    if (pattern == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    skip = strlen(st->conf->redis_prefix) + sizeof("session:") - 1;
    strcpy(cursor, "0");
    rc = SBX_OK;

    do {
        argv[0] = cursor;
        argv[1] = pattern;
        argv[2] = SBX_STORE_SCAN_COUNT;

        r = sbx_store_script(st, sbx_store_scan_lua, 0, argv, 3, err);
        if (r == NULL) {
            rc = SBX_ERR;
            break;
        }

        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
            || r->element[0]->type != REDIS_REPLY_STRING
            || r->element[0]->len >= sizeof(cursor)
            || r->element[1]->type != REDIS_REPLY_ARRAY)
        {
            sbx_error_set(err, SBX_E_STORE_UNAVAILABLE, "unexpected reply");
            freeReplyObject(r);
            rc = SBX_ERR;
            break;
        }

        strcpy(cursor, r->element[0]->str);
        rc = sbx_store_gc_batch(r->element[1], skip, handler, data);
        freeReplyObject(r);

    } while (rc == SBX_OK && strcmp(cursor, "0") != 0);

    free(pattern);

    return rc;
}


int
sbx_store_drop_lost(sbx_store_t *st, const char *user,
    const char *session_id, const char *container_id, const char *reason,
    int *dropped, sbx_error_t *err)
{
    char        *rec, *idx, *live, *lost, ttl[32];
    const char  *argv[8];
    long long    res;
    int          rc;

    if (st->memory) {
        return sbx_store_gc_mem_drop_lost(st, user, session_id, container_id,
                                          reason, dropped, err);
    }

    rec = sbx_store_gc_key(st, "session", user, session_id);
    lost = sbx_store_gc_key(st, "lost", user, session_id);
    idx = sbx_store_user_key(st, user, "sessions");
    live = sbx_store_user_key(st, user, "live");

    rc = SBX_ERR;

    if (rec == NULL || lost == NULL || idx == NULL || live == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        goto done;
    }

    snprintf(ttl, sizeof(ttl), "%" PRIu64, st->conf->session_ttl);

    argv[0] = rec;
    argv[1] = idx;
    argv[2] = live;
    argv[3] = lost;
    argv[4] = container_id;
    argv[5] = session_id;
    argv[6] = ttl;
    argv[7] = reason;

    rc = sbx_store_integer(sbx_store_script(st, sbx_store_drop_lost_lua,
                                               4, argv, 8, err),
                              &res, err);
    *dropped = rc == SBX_OK && res == 1;

done:

    free(rec);
    free(lost);
    free(idx);
    free(live);

    return rc;
}


int
sbx_store_take_lost(sbx_store_t *st, const char *user,
    const char *session_id, char *reason, sbx_error_t *err)
{
    redisReply  *r;
    const char  *argv[1];
    char        *key;

    if (st->memory) {
        return sbx_store_gc_mem_take_lost(st, user, session_id, reason,
                                          err);
    }

    reason[0] = '\0';

    key = sbx_store_gc_key(st, "lost", user, session_id);
    if (key == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    argv[0] = key;
    r = sbx_store_script(st, sbx_store_take_lost_lua, 1, argv, 1, err);
    free(key);

    if (r == NULL) {
        return SBX_ERR;
    }

    if (r->type == REDIS_REPLY_STRING) {
        snprintf(reason, SBX_LOST_REASON_MAX + 1, "%s", r->str);
    }

    freeReplyObject(r);

    return SBX_OK;
}


int
sbx_store_volume_idle(sbx_store_t *st, const char *volume,
    const char *created, int64_t now, int64_t *since, sbx_error_t *err)
{
    char        *key, at[32], ttl[32];
    const char  *argv[4];
    long long    res;
    int          rc;

    if (st->memory) {
        return sbx_store_gc_mem_volume_idle(st, volume, created, now, since,
                                            err);
    }

    if (asprintf(&key, "%svolume-idle:%s", st->conf->redis_prefix, volume)
        < 0)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    snprintf(at, sizeof(at), "%" PRId64, now);
    snprintf(ttl, sizeof(ttl), "%" PRIu64,
             2 * st->conf->cleanup_volume_max_idle + 86400);

    argv[0] = key;
    argv[1] = at;
    argv[2] = ttl;
    argv[3] = created;

    rc = sbx_store_integer(sbx_store_script(st, sbx_store_volume_idle_lua,
                                               1, argv, 4, err),
                              &res, err);
    free(key);

    *since = rc == SBX_OK ? (int64_t) res : now;

    return rc;
}


int
sbx_store_volume_used(sbx_store_t *st, const char *volume, sbx_error_t *err)
{
    char        *key;
    const char  *argv[1];
    long long    res;
    int          rc;

    if (st->memory) {
        return sbx_store_gc_mem_volume_used(st, volume, err);
    }

    if (asprintf(&key, "%svolume-idle:%s", st->conf->redis_prefix, volume)
        < 0)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    argv[0] = key;
    rc = sbx_store_integer(sbx_store_script(st, sbx_store_volume_used_lua,
                                               1, argv, 1, err),
                              &res, err);
    free(key);

    return rc;
}
