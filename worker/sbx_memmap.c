
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_memmap.h"


#define SBX_MEMMAP_BUCKETS_MIN  64


typedef struct {
    char     member[SBX_SESSION_ID_MAX + 1];
    char     value[SBX_MEMMAP_VALUE_MAX + 1];
    int64_t  number;
    int64_t  deadline;
} sbx_memmap_member_t;


typedef struct {
    sbx_session_rec_t  rec;
    int64_t            deadline;
} sbx_memmap_record_t;


typedef struct sbx_memmap_user_s  sbx_memmap_user_t;

struct sbx_memmap_user_s {
    sbx_memmap_user_t    *next;
    uint32_t              hash;
    sbx_memmap_record_t  *recs;
    size_t                nrecs;
    size_t                caprecs;
    sbx_memmap_member_t  *set[SBX_MEMMAP_NSETS];
    size_t                nset[SBX_MEMMAP_NSETS];
    size_t                capset[SBX_MEMMAP_NSETS];
    char                  name[];
};


struct sbx_memmap_s {
    pthread_mutex_t      mutex;
    sbx_memmap_user_t  **buckets;
    size_t               nbuckets;
    size_t               nusers;
};


sbx_memmap_t *
sbx_memmap_create(void)
{
    sbx_memmap_t  *m;

    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }

    m->buckets = calloc(SBX_MEMMAP_BUCKETS_MIN, sizeof(*m->buckets));
    if (m->buckets == NULL) {
        free(m);
        return NULL;
    }

    m->nbuckets = SBX_MEMMAP_BUCKETS_MIN;
    pthread_mutex_init(&m->mutex, NULL);

    return m;
}


static void
sbx_memmap_free_user(sbx_memmap_user_t *u)
{
    size_t  i;

    free(u->recs);

    for (i = 0; i < SBX_MEMMAP_NSETS; i++) {
        free(u->set[i]);
    }

    free(u);
}


void
sbx_memmap_destroy(sbx_memmap_t *m)
{
    sbx_memmap_user_t  *u, *next;
    size_t              i;

    if (m == NULL) {
        return;
    }

    for (i = 0; i < m->nbuckets; i++) {
        for (u = m->buckets[i]; u != NULL; u = next) {
            next = u->next;
            sbx_memmap_free_user(u);
        }
    }

    pthread_mutex_destroy(&m->mutex);
    free(m->buckets);
    free(m);
}


/* FNV-1a */
static uint32_t
sbx_memmap_hash(const char *s)
{
    uint32_t  h = 2166136261u;

    for ( /* void */ ; *s; s++) {
        h = (h ^ (unsigned char) *s) * 16777619u;
    }

    return h;
}


/* Doubles the table when there are more users than buckets; best effort. */
static void
sbx_memmap_grow(sbx_memmap_t *m)
{
    sbx_memmap_user_t  **b, *u, *next;
    size_t               n, i;

    if (m->nusers <= m->nbuckets) {
        return;
    }

    n = m->nbuckets * 2;
    b = calloc(n, sizeof(*b));
    if (b == NULL) {
        return;
    }

    for (i = 0; i < m->nbuckets; i++) {
        for (u = m->buckets[i]; u != NULL; u = next) {
            next = u->next;
            u->next = b[u->hash % n];
            b[u->hash % n] = u;
        }
    }

    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}


/* The user's entry; a new one when create is set (NULL without memory). */
static sbx_memmap_user_t *
sbx_memmap_user(sbx_memmap_t *m, const char *user, int create)
{
    sbx_memmap_user_t  *u;
    uint32_t            h;
    size_t              len;

    h = sbx_memmap_hash(user);

    for (u = m->buckets[h % m->nbuckets]; u != NULL; u = u->next) {
        if (u->hash == h && strcmp(u->name, user) == 0) {
            return u;
        }
    }

    if (!create) {
        return NULL;
    }

    len = strlen(user);

    u = calloc(1, sizeof(*u) + len + 1);
    if (u == NULL) {
        return NULL;
    }

    memcpy(u->name, user, len + 1);
    u->hash = h;
    u->next = m->buckets[h % m->nbuckets];
    m->buckets[h % m->nbuckets] = u;
    m->nusers++;

    sbx_memmap_grow(m);

    return u;
}


/* Frees a user that holds nothing any more. */
static void
sbx_memmap_release(sbx_memmap_t *m, sbx_memmap_user_t *u)
{
    sbx_memmap_user_t  **p;
    size_t               i;

    if (u == NULL || u->nrecs != 0) {
        return;
    }

    for (i = 0; i < SBX_MEMMAP_NSETS; i++) {
        if (u->nset[i] != 0) {
            return;
        }
    }

    for (p = &m->buckets[u->hash % m->nbuckets]; *p != NULL; p = &(*p)->next)
    {
        if (*p == u) {
            *p = u->next;
            m->nusers--;
            sbx_memmap_free_user(u);
            return;
        }
    }
}


/* Makes room for one more element in *items; SBX_ERR without memory. */
static int
sbx_memmap_room(void **items, size_t n, size_t *cap, size_t size)
{
    void    *p;
    size_t   c;

    if (n < *cap) {
        return SBX_OK;
    }

    c = *cap ? *cap * 2 : 4;

    p = realloc(*items, c * size);
    if (p == NULL) {
        return SBX_ERR;
    }

    *items = p;
    *cap = c;

    return SBX_OK;
}


/* Drops the user's entries at or past their deadline; returns how many. */
static size_t
sbx_memmap_prune(sbx_memmap_user_t *u, int64_t now)
{
    size_t  i, s, dropped;

    dropped = 0;

    for (i = 0; i < u->nrecs; /* void */) {
        if (u->recs[i].deadline <= now) {
            u->recs[i] = u->recs[--u->nrecs];
            dropped++;
        } else {
            i++;
        }
    }

    for (s = 0; s < SBX_MEMMAP_NSETS; s++) {
        for (i = 0; i < u->nset[s]; /* void */) {
            if (u->set[s][i].deadline <= now) {
                u->set[s][i] = u->set[s][--u->nset[s]];
                dropped++;
            } else {
                i++;
            }
        }
    }

    return dropped;
}


/* The user, pruned at now; NULL when there is none (and create is 0). */
static sbx_memmap_user_t *
sbx_memmap_lookup(sbx_memmap_t *m, const char *user, int64_t now, int create)
{
    sbx_memmap_user_t  *u;

    u = sbx_memmap_user(m, user, create);

    if (u != NULL) {
        (void) sbx_memmap_prune(u, now);
    }

    return u;
}


static sbx_memmap_record_t *
sbx_memmap_find_record(sbx_memmap_user_t *u, const char *session_id)
{
    size_t  i;

    for (i = 0; u != NULL && i < u->nrecs; i++) {
        if (strcmp(u->recs[i].rec.session_id, session_id) == 0) {
            return &u->recs[i];
        }
    }

    return NULL;
}


static sbx_memmap_member_t *
sbx_memmap_find_member(sbx_memmap_user_t *u, sbx_memmap_set_e set,
    const char *member)
{
    size_t  i;

    for (i = 0; u != NULL && i < u->nset[set]; i++) {
        if (strcmp(u->set[set][i].member, member) == 0) {
            return &u->set[set][i];
        }
    }

    return NULL;
}


/*
 * Sets member's deadline, adding it when add is set and it is not there;
 * SBX_ERR without memory or for a member too long to be a session id.
 */
static int
sbx_memmap_score(sbx_memmap_user_t *u, sbx_memmap_set_e set,
    const char *member, int64_t deadline, int add)
{
    sbx_memmap_member_t  *e;
    size_t                len;

    e = sbx_memmap_find_member(u, set, member);

    if (e == NULL && add) {
        len = strlen(member);

        if (len > SBX_SESSION_ID_MAX
            || sbx_memmap_room((void **) &u->set[set], u->nset[set],
                               &u->capset[set], sizeof(*e))
               != SBX_OK)
        {
            return SBX_ERR;
        }

        e = &u->set[set][u->nset[set]++];
        memset(e, 0, sizeof(*e));
        memcpy(e->member, member, len + 1);
    }

    if (e != NULL) {
        e->deadline = deadline;
    }

    return SBX_OK;
}


static void
sbx_memmap_unset(sbx_memmap_user_t *u, sbx_memmap_set_e set,
    const char *member)
{
    sbx_memmap_member_t  *e;

    e = sbx_memmap_find_member(u, set, member);

    if (e != NULL) {
        *e = u->set[set][--u->nset[set]];
    }
}


int
sbx_memmap_get(sbx_memmap_t *m, const char *user, const char *session_id,
    int64_t now, sbx_session_rec_t *rec)
{
    sbx_memmap_user_t    *u;
    sbx_memmap_record_t  *r;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 0);
    r = sbx_memmap_find_record(u, session_id);

    if (r != NULL) {
        *rec = r->rec;
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);

    return r != NULL;
}


/* Adds or replaces the record and scores its live entry; the lock is held. */
static int
sbx_memmap_put_locked(sbx_memmap_user_t *u, const sbx_session_rec_t *rec,
    int64_t deadline)
{
    int                   added;
    sbx_memmap_record_t  *r, old;

    r = sbx_memmap_find_record(u, rec->session_id);
    added = (r == NULL);

    if (added) {
        if (sbx_memmap_room((void **) &u->recs, u->nrecs, &u->caprecs,
                            sizeof(*r))
            != SBX_OK)
        {
            return SBX_ERR;
        }

        r = &u->recs[u->nrecs++];

    } else {
        old = *r;
    }

    r->rec = *rec;
    r->deadline = deadline;

    if (sbx_memmap_score(u, SBX_MEMMAP_LIVE, rec->session_id, deadline, 1)
        != SBX_OK)
    {
        /* no record without its place in the quota; a replaced one stays */
        if (added) {
            *r = u->recs[--u->nrecs];

        } else {
            *r = old;
        }

        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_memmap_put(sbx_memmap_t *m, const char *user,
    const sbx_session_rec_t *rec, int64_t ttl_ms, int64_t now)
{
    sbx_memmap_user_t  *u;
    int                 rc;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 1);

    rc = u != NULL ? sbx_memmap_put_locked(u, rec, now + ttl_ms) : SBX_ERR;

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);

    return rc;
}


int
sbx_memmap_touch(sbx_memmap_t *m, const char *user, const char *session_id,
    int64_t last_used_at, int64_t ttl_ms, int64_t now)
{
    sbx_memmap_user_t    *u;
    sbx_memmap_record_t  *r;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 0);
    r = sbx_memmap_find_record(u, session_id);

    if (r != NULL) {
        r->rec.last_used_at = last_used_at;
        r->deadline = now + ttl_ms;

        /* a live entry lost to a lack of memory lapses: no harm */
        (void) sbx_memmap_score(u, SBX_MEMMAP_LIVE, session_id, r->deadline,
                                1);
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);

    return r != NULL;
}


void
sbx_memmap_delete(sbx_memmap_t *m, const char *user, const char *session_id)
{
    sbx_memmap_user_t    *u;
    sbx_memmap_record_t  *r;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_user(m, user, 0);
    r = sbx_memmap_find_record(u, session_id);

    if (r != NULL) {
        *r = u->recs[--u->nrecs];
    }

    if (u != NULL) {
        sbx_memmap_unset(u, SBX_MEMMAP_LIVE, session_id);
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);
}


static int
sbx_memmap_older(const void *a, const void *b)
{
    const sbx_session_rec_t  *x = a, *y = b;

    if (x->created_at != y->created_at) {
        return x->created_at < y->created_at ? -1 : 1;
    }

    return strcmp(x->session_id, y->session_id);
}


int
sbx_memmap_list(sbx_memmap_t *m, const char *user, int64_t now, size_t max,
    sbx_session_rec_t **recs, size_t *n, size_t *total)
{
    sbx_memmap_user_t  *u;
    sbx_session_rec_t  *out;
    size_t              i, cnt;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 0);
    cnt = u != NULL ? u->nrecs : 0;

    /* one more than needed: never a calloc(0) */
    out = calloc(cnt + 1, sizeof(*out));

    for (i = 0; out != NULL && i < cnt; i++) {
        out[i] = u->recs[i].rec;
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);

    if (out == NULL) {
        return SBX_ERR;
    }

    qsort(out, cnt, sizeof(*out), sbx_memmap_older);

    *recs = out;
    *total = cnt;
    *n = cnt < max ? cnt : max;

    return SBX_OK;
}


int
sbx_memmap_take(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member, uint64_t max, int64_t hold_ms, int64_t now,
    long long *n)
{
    sbx_memmap_user_t  *u;
    int                 rc;
    size_t              cnt;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 1);
    cnt = u != NULL ? u->nset[set] : 0;
    rc = SBX_OK;

    if (u == NULL) {
        rc = SBX_ERR;

    } else if (sbx_memmap_find_member(u, set, member) != NULL) {
        *n = 0;

    } else if (cnt >= max) {
        *n = -(long long) cnt;

    } else if (sbx_memmap_score(u, set, member, now + hold_ms, 1)
               != SBX_OK)
    {
        rc = SBX_ERR;

    } else {
        *n = (long long) cnt + 1;
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);

    return rc;
}


void
sbx_memmap_renew(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member, int64_t hold_ms, int64_t now)
{
    sbx_memmap_user_t  *u;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 0);

    if (u != NULL) {
        (void) sbx_memmap_score(u, set, member, now + hold_ms, 0);
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);
}


void
sbx_memmap_drop(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member)
{
    sbx_memmap_user_t  *u;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_user(m, user, 0);

    if (u != NULL) {
        sbx_memmap_unset(u, set, member);
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);
}


long long
sbx_memmap_count(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    int64_t now)
{
    sbx_memmap_user_t  *u;
    long long           n;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 0);
    n = u != NULL ? (long long) u->nset[set] : 0;

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);

    return n;
}


int
sbx_memmap_set(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member, const char *value, int64_t number, int64_t ttl_ms,
    int64_t now)
{
    sbx_memmap_user_t    *u;
    sbx_memmap_member_t  *e;
    size_t                len;
    int                   rc;

    len = strlen(value);
    if (len > SBX_MEMMAP_VALUE_MAX) {
        return SBX_ERR;
    }

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 1);

    rc = u != NULL ? sbx_memmap_score(u, set, member, now + ttl_ms, 1)
                   : SBX_ERR;

    e = rc == SBX_OK ? sbx_memmap_find_member(u, set, member) : NULL;

    if (e != NULL) {
        memcpy(e->value, value, len + 1);
        e->number = number;
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);

    return rc;
}


int
sbx_memmap_read(sbx_memmap_t *m, const char *user, sbx_memmap_set_e set,
    const char *member, int take, int64_t now, char *value, int64_t *number)
{
    sbx_memmap_user_t    *u;
    sbx_memmap_member_t  *e;

    pthread_mutex_lock(&m->mutex);

    u = sbx_memmap_lookup(m, user, now, 0);
    e = sbx_memmap_find_member(u, set, member);

    if (e != NULL) {
        memcpy(value, e->value, sizeof(e->value));
        *number = e->number;

        if (take) {
            *e = u->set[set][--u->nset[set]];
        }
    }

    sbx_memmap_release(m, u);

    pthread_mutex_unlock(&m->mutex);

    return e != NULL;
}


/*
 * "user\0session\0" of every live record, in one malloc'ed buffer of *len
 * bytes; the lock is held.
 */
static char *
sbx_memmap_record_names(sbx_memmap_t *m, int64_t now, size_t *len)
{
    sbx_memmap_user_t  *u;
    size_t              i, j, n, ulen;
    char               *buf, *p;

    n = 0;

    for (i = 0; i < m->nbuckets; i++) {
        for (u = m->buckets[i]; u != NULL; u = u->next) {
            ulen = strlen(u->name) + 1;

            for (j = 0; j < u->nrecs; j++) {
                if (u->recs[j].deadline > now) {
                    n += ulen + strlen(u->recs[j].rec.session_id) + 1;
                }
            }
        }
    }

    buf = malloc(n + 1);
    if (buf == NULL) {
        return NULL;
    }

    p = buf;

    for (i = 0; i < m->nbuckets; i++) {
        for (u = m->buckets[i]; u != NULL; u = u->next) {
            for (j = 0; j < u->nrecs; j++) {
                if (u->recs[j].deadline > now) {
                    p = stpcpy(p, u->name) + 1;
                    p = stpcpy(p, u->recs[j].rec.session_id) + 1;
                }
            }
        }
    }

    *len = n;

    return buf;
}


int
sbx_memmap_each_record(sbx_memmap_t *m, int64_t now,
    sbx_memmap_record_pt handler, void *data)
{
    char        *names;
    const char  *user, *sid, *p, *end;
    size_t       len;
    int          rc;

    pthread_mutex_lock(&m->mutex);
    names = sbx_memmap_record_names(m, now, &len);
    pthread_mutex_unlock(&m->mutex);

    if (names == NULL) {
        return SBX_ERR;
    }

    rc = SBX_OK;
    end = names + len;

    for (p = names; rc == SBX_OK && p < end; /* void */) {
        user = p;
        sid = user + strlen(user) + 1;
        p = sid + strlen(sid) + 1;
        rc = handler(data, user, sid);
    }

    free(names);

    return rc;
}


size_t
sbx_memmap_expire(sbx_memmap_t *m, int64_t now)
{
    sbx_memmap_user_t  *u, *next;
    size_t              i, dropped;

    pthread_mutex_lock(&m->mutex);

    dropped = 0;

    for (i = 0; i < m->nbuckets; i++) {
        for (u = m->buckets[i]; u != NULL; u = next) {
            next = u->next;
            dropped += sbx_memmap_prune(u, now);
            sbx_memmap_release(m, u);
        }
    }

    pthread_mutex_unlock(&m->mutex);

    return dropped;
}


size_t
sbx_memmap_users(sbx_memmap_t *m)
{
    size_t  n;

    pthread_mutex_lock(&m->mutex);
    n = m->nusers;
    pthread_mutex_unlock(&m->mutex);

    return n;
}
