
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * ngx_http_sandbox_limit_module: per-user rate limits in a shared memory
 * zone (ngx_http_sandbox_shm.c: an rbtree of keys plus an LRU queue, the
 * old zone's state kept across "nginx -s reload").  The key is the
 * authenticated user id, so the limit is taken by the access handler once
 * a user is known: credentials that name nobody never reach the zone.
 * The arithmetic (GCRA) is in sbx_ratelimit.c.
 */


#include "ngx_http_sandbox_module.h"
#include "sbx_ratelimit.h"


/* A key's state: follows the rbtree node it hangs on, in one allocation. */

typedef struct {
    ngx_queue_t                   queue;
    uint64_t                      tat;         /* microseconds */
    u_short                       len;
    u_char                        user[1];
} ngx_http_sandbox_limit_node_t;


typedef struct {
    ngx_shm_zone_t               *zone;        /* NULL: off */
    sbx_ratelimit_t               rate;
} ngx_http_sandbox_limit_loc_conf_t;


static void ngx_http_sandbox_limit_take(ngx_http_request_t *r,
    ngx_http_sandbox_limit_loc_conf_t *llcf, ngx_str_t *user,
    sbx_ratelimit_result_t *res);
static ngx_http_sandbox_limit_node_t *ngx_http_sandbox_limit_lookup(
    ngx_http_sandbox_shm_t *zone, uint32_t hash, ngx_str_t *user);
static ngx_http_sandbox_limit_node_t *ngx_http_sandbox_limit_insert(
    ngx_http_sandbox_shm_t *zone, uint32_t hash, ngx_str_t *user,
    uint64_t now);
static void ngx_http_sandbox_limit_expire(
    ngx_http_sandbox_shm_t *zone, uint64_t now, ngx_uint_t force);
static ngx_int_t ngx_http_sandbox_limit_headers(ngx_http_request_t *r,
    ngx_http_sandbox_limit_loc_conf_t *llcf, sbx_ratelimit_result_t *res);
static ngx_int_t ngx_http_sandbox_limit_header(ngx_http_request_t *r,
    const char *name, const char *fmt, ...);
static void ngx_http_sandbox_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);

static void *ngx_http_sandbox_limit_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_sandbox_limit_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_sandbox_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sandbox_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_http_sandbox_limit_commands[] = {

    { ngx_string("sandbox_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_sandbox_limit_zone,
      0,
      0,
      NULL },

    { ngx_string("sandbox_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_sandbox_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_sandbox_limit_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_sandbox_limit_create_loc_conf,
                                           /* create location configuration */
    ngx_http_sandbox_limit_merge_loc_conf  /* merge location configuration */
};


ngx_module_t  ngx_http_sandbox_limit_module = {
    NGX_MODULE_V1,
    &ngx_http_sandbox_limit_module_ctx,    /* module context */
    ngx_http_sandbox_limit_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * Takes one request from the authenticated user's allowance.  Every
 * answer of a limited location gets the RateLimit-* headers (they are
 * added to headers_out now, so that error responses made later keep
 * them); a request over the limit is answered 429 with Retry-After.
 * Returns NGX_OK to go on, or the status to finalize the request with.
 */

ngx_int_t
ngx_http_sandbox_limit_check(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    sbx_ratelimit_result_t              res;
    ngx_http_sandbox_limit_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_limit_module);

    if (llcf->zone == NULL || ctx->user.len == 0) {
        return NGX_OK;
    }

    ngx_http_sandbox_limit_take(r, llcf, &ctx->user, &res);

    if (ngx_http_sandbox_limit_headers(r, llcf, &res) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (res.allowed) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "sandbox: user \"%V\" is over the rate limit of zone "
                  "\"%V\", retry after %uL s", &ctx->user,
                  &llcf->zone->shm.name, res.retry_after);

    if (ngx_http_sandbox_limit_header(r, "Retry-After", "%uL",
                                      res.retry_after)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_TOO_MANY_REQUESTS,
                                 "rate_limited",
                                 "too many requests: the rate limit is "
                                 "exceeded, retry after the seconds in "
                                 "Retry-After");
}


static void
ngx_http_sandbox_limit_take(ngx_http_request_t *r,
    ngx_http_sandbox_limit_loc_conf_t *llcf, ngx_str_t *user,
    sbx_ratelimit_result_t *res)
{
    uint32_t                        hash;
    uint64_t                        now, tat;
    ngx_http_sandbox_shm_t         *zone;
    ngx_http_sandbox_limit_node_t  *node;

    zone = llcf->zone->data;
    hash = ngx_crc32_short(user->data, user->len);

    /* nginx's clock, monotonic where the system has one */
    now = (uint64_t) ngx_current_msec * 1000;

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_http_sandbox_limit_lookup(zone, hash, user);

    if (node == NULL) {
        node = ngx_http_sandbox_limit_insert(zone, hash, user, now);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);

        /* the zone cannot hold even one key: decide as for a new key */

        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "sandbox: zone \"%V\" has no room for a key, "
                      "user \"%V\" goes unlimited", &llcf->zone->shm.name,
                      user);

        tat = 0;
        sbx_ratelimit_take(&llcf->rate, &tat, now, res);

        return;
    }

    sbx_ratelimit_take(&llcf->rate, &node->tat, now, res);

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* Finds a user's node, and makes it the most recently used one. */

static ngx_http_sandbox_limit_node_t *
ngx_http_sandbox_limit_lookup(ngx_http_sandbox_shm_t *zone,
    uint32_t hash, ngx_str_t *user)
{
    ngx_int_t                       rc;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_sandbox_limit_node_t  *ln;

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        ln = (ngx_http_sandbox_limit_node_t *) (node + 1);

        rc = ngx_memn2cmp(user->data, ln->user, user->len, ln->len);

        if (rc == 0) {
            ngx_http_sandbox_shm_touch(zone, &ln->queue);
            return ln;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Adds a node for a user.  Idle keys at the tail of the LRU queue go
 * first; when the zone is still full, the least recently used keys are
 * evicted, so that a full zone never fails a request.
 */

static ngx_http_sandbox_limit_node_t *
ngx_http_sandbox_limit_insert(ngx_http_sandbox_shm_t *zone,
    uint32_t hash, ngx_str_t *user, uint64_t now)
{
    size_t                          size;
    ngx_rbtree_node_t              *node;
    ngx_http_sandbox_limit_node_t  *ln;

    size = sizeof(ngx_rbtree_node_t)
           + offsetof(ngx_http_sandbox_limit_node_t, user) + user->len;

    ngx_http_sandbox_limit_expire(zone, now, 0);

    node = ngx_slab_alloc_locked(zone->shpool, size);

    /*
     * Keys of different lengths use different slab sizes: evicting one
     * may not make room for another, so evict until there is room.
     */

    while (node == NULL && !ngx_queue_empty(&zone->sh->queue)) {
        ngx_http_sandbox_limit_expire(zone, now, 1);

        node = ngx_slab_alloc_locked(zone->shpool, size);
    }

    if (node == NULL) {
        return NULL;
    }

    node->key = hash;

    ln = (ngx_http_sandbox_limit_node_t *) (node + 1);

    ln->tat = 0;
    ln->len = (u_short) user->len;
    ngx_memcpy(ln->user, user->data, user->len);

    ngx_rbtree_insert(&zone->sh->rbtree, node);
    ngx_queue_insert_head(&zone->sh->queue, &ln->queue);

    return ln;
}


/*
 * Frees up to two idle keys (full allowance: forgetting them changes
 * nothing) from the tail of the LRU queue; with force, first the least
 * recently used key, idle or not.
 */

static void
ngx_http_sandbox_limit_expire(ngx_http_sandbox_shm_t *zone,
    uint64_t now, ngx_uint_t force)
{
    ngx_uint_t                      n;
    ngx_queue_t                    *q;
    ngx_http_sandbox_limit_node_t  *ln;

    for (n = 0; n < 2 + force; n++) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);
        ln = ngx_queue_data(q, ngx_http_sandbox_limit_node_t, queue);

        if (!(force && n == 0) && !sbx_ratelimit_idle(ln->tat, now)) {
            return;
        }

        ngx_http_sandbox_shm_free(zone, q);
    }
}


static ngx_int_t
ngx_http_sandbox_limit_headers(ngx_http_request_t *r,
    ngx_http_sandbox_limit_loc_conf_t *llcf, sbx_ratelimit_result_t *res)
{
    uint64_t  window;

    window = llcf->rate.burst * llcf->rate.interval;
    window = (window + SBX_RATELIMIT_USEC - 1) / SBX_RATELIMIT_USEC;

    if (ngx_http_sandbox_limit_header(r, "RateLimit-Limit", "%uL",
                                      res->limit)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_sandbox_limit_header(r, "RateLimit-Remaining", "%uL",
                                      res->remaining)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_sandbox_limit_header(r, "RateLimit-Reset", "%uL",
                                      res->reset)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_limit_header(r, "RateLimit-Policy", "%uL;w=%uL",
                                         res->limit, window);
}


static ngx_int_t
ngx_http_sandbox_limit_header(ngx_http_request_t *r, const char *name,
    const char *fmt, ...)
{
    u_char     *p;
    va_list     args;
    ngx_str_t   value;

    p = ngx_pnalloc(r->pool, 2 * NGX_INT64_LEN + sizeof(";w="));
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    value.len = ngx_vslprintf(p, p + 2 * NGX_INT64_LEN + sizeof(";w="), fmt,
                              args)
                - p;
    va_end(args);

    value.data = p;

    return ngx_http_sandbox_add_header(r, name, &value);
}


static void
ngx_http_sandbox_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_sandbox_limit_node_t   *ln, *lt;

    ln = (ngx_http_sandbox_limit_node_t *) (node + 1);

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            lt = (ngx_http_sandbox_limit_node_t *) (temp + 1);
            p = (ngx_memn2cmp(ln->user, lt->user, ln->len, lt->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static void *
ngx_http_sandbox_limit_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_sandbox_limit_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sandbox_limit_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->rate = { 0, 0, 0, 0 };
     */

    conf->zone = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_sandbox_limit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_sandbox_limit_loc_conf_t *prev = parent;
    ngx_http_sandbox_limit_loc_conf_t *conf = child;

    if (conf->zone != NGX_CONF_UNSET_PTR) {
        return NGX_CONF_OK;
    }

    if (prev->zone == NGX_CONF_UNSET_PTR) {
        conf->zone = NULL;
        return NGX_CONF_OK;
    }

    conf->zone = prev->zone;
    conf->rate = prev->rate;

    return NGX_CONF_OK;
}


/* sandbox_limit_zone name:size; */

static char *
ngx_http_sandbox_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char          *p;
    ssize_t          size;
    ngx_str_t       *value, name, s;
    ngx_shm_zone_t  *shm_zone;

    value = cf->args->elts;

    p = (u_char *) ngx_strlchr(value[1].data, value[1].data + value[1].len,
                               ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\": use name:size", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - name.data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small: use at least %uz",
                           &value[1], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_http_sandbox_limit_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_sandbox_shm_zone(cf, shm_zone,
                                  ngx_http_sandbox_limit_rbtree_insert,
                                  "sandbox_limit_zone")
        == NULL)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* sandbox_limit zone=name rate=Nr/s|Nr/m [burst=N];  sandbox_limit off; */

static char *
ngx_http_sandbox_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_limit_loc_conf_t *llcf = conf;

    ngx_int_t        burst;
    ngx_str_t       *value, name;
    uint64_t         count, period;
    ngx_uint_t       i;
    ngx_shm_zone_t  *shm_zone;

    if (llcf->zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        llcf->zone = NULL;
        return NGX_CONF_OK;
    }

    name.len = 0;
    count = 0;
    period = 0;
    burst = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            name.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "rate=", 5) == 0) {
            if (sbx_ratelimit_parse_rate((char *) value[i].data + 5,
                                         value[i].len - 5, &count, &period)
                != 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid rate \"%V\": use <N>r/s or "
                                   "<N>r/m", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            burst = ngx_atoi(value[i].data + 6, value[i].len - 6);

            if (burst <= 0 || (uint64_t) burst > SBX_RATELIMIT_BURST_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid burst \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0 || count == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs \"zone=\" and \"rate=\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (sbx_ratelimit_init(&llcf->rate, count, period, (uint64_t) burst)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid rate or burst");
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, 0,
                                     &ngx_http_sandbox_limit_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown sandbox_limit_zone \"%V\": declare it "
                           "before it is used", &name);
        return NGX_CONF_ERROR;
    }

    llcf->zone = shm_zone;

    return NGX_CONF_OK;
}
