
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * MCP sessions (Mcp-Session-Id): 128 random bits, each tied to the user
 * that opened it and the protocol version agreed, kept in a shared memory
 * zone (ngx_http_sandbox_shm.c, keyed by the id, as the rate limits are)
 * that every worker sees and "nginx -s reload" keeps.  A session not
 * used for the idle time is gone; a full zone forgets the least recently
 * used one.  Either way its client gets 404 and initializes again, as the
 * protocol expects.
 */


#include <openssl/rand.h>

#include "ngx_http_sandbox_module.h"


#define NGX_HTTP_SANDBOX_MCP_ZONE_SIZE  (1024 * 1024)
#define NGX_HTTP_SANDBOX_MCP_IDLE       3600


/* A session: follows the rbtree node it hangs on, in one allocation. */

typedef struct {
    ngx_queue_t                   queue;
    time_t                        used;
    u_char                        id[NGX_HTTP_SANDBOX_MCP_ID_LEN];
    u_char                        version;
    u_short                       len;
    u_char                        user[1];
} ngx_http_sandbox_mcp_node_t;


static ngx_http_sandbox_mcp_node_t *ngx_http_sandbox_mcp_lookup(
    ngx_http_sandbox_shm_t *zone, u_char *id);
static void ngx_http_sandbox_mcp_expire(ngx_http_sandbox_shm_t *zone,
    time_t idle, ngx_uint_t force);
static void ngx_http_sandbox_mcp_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_sandbox_mcp_parse_id(ngx_str_t *hex, u_char *id);


static ngx_str_t  ngx_http_sandbox_mcp_zone_name =
    ngx_string("sandbox_mcp_sessions");


/* sandbox_mcp_sessions [size=1m] [idle=1h]; */

char *
ngx_http_sandbox_mcp_sessions(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_main_conf_t *smcf = conf;

    ssize_t     size;
    ngx_str_t  *value, s;
    ngx_uint_t  i;

    if (smcf->mcp_size) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = NGX_HTTP_SANDBOX_MCP_ZONE_SIZE;
    smcf->mcp_idle = NGX_HTTP_SANDBOX_MCP_IDLE;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\": size must be at least %uzk",
                                   &value[i], 8 * ngx_pagesize / 1024);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "idle=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            smcf->mcp_idle = ngx_parse_time(&s, 1);

            if (smcf->mcp_idle == (time_t) NGX_ERROR || smcf->mcp_idle < 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid idle time \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    smcf->mcp_size = size;

    return NGX_CONF_OK;
}


/* The zone, made when the first location serves MCP. */

ngx_int_t
ngx_http_sandbox_mcp_zone(ngx_conf_t *cf)
{
    ngx_shm_zone_t                *shm_zone;
    ngx_http_sandbox_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sandbox_module);

    if (smcf->mcp_zone != NULL) {
        return NGX_OK;
    }

    if (smcf->mcp_size == 0) {
        smcf->mcp_size = NGX_HTTP_SANDBOX_MCP_ZONE_SIZE;
        smcf->mcp_idle = NGX_HTTP_SANDBOX_MCP_IDLE;
    }

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_sandbox_mcp_zone_name,
                                     smcf->mcp_size,
                                     &ngx_http_sandbox_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    smcf->mcp_zone = ngx_http_sandbox_shm_zone(cf, shm_zone,
                         ngx_http_sandbox_mcp_rbtree_insert,
                         "sandbox_mcp_sessions");

    return smcf->mcp_zone ? NGX_OK : NGX_ERROR;
}


/*
 * A new session of user at version (an index into the supported list);
 * its id as 32 hex digits into hex.  NGX_DECLINED: the zone cannot hold
 * even one more.
 */

ngx_int_t
ngx_http_sandbox_mcp_session_open(ngx_http_request_t *r, ngx_str_t *user,
    ngx_uint_t version, u_char *hex)
{
    size_t                         size;
    u_char                         id[NGX_HTTP_SANDBOX_MCP_ID_LEN];
    ngx_rbtree_node_t             *node;
    ngx_http_sandbox_mcp_node_t   *sn;
    ngx_http_sandbox_shm_t        *zone;
    ngx_http_sandbox_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_sandbox_module);
    zone = smcf->mcp_zone;

    if (RAND_bytes(id, sizeof(id)) != 1) {
        return NGX_ERROR;
    }

    size = sizeof(ngx_rbtree_node_t)
           + offsetof(ngx_http_sandbox_mcp_node_t, user) + user->len;

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_http_sandbox_mcp_expire(zone, smcf->mcp_idle, 0);

    node = ngx_slab_alloc_locked(zone->shpool, size);

    while (node == NULL && !ngx_queue_empty(&zone->sh->queue)) {
        ngx_http_sandbox_mcp_expire(zone, smcf->mcp_idle, 1);
        node = ngx_slab_alloc_locked(zone->shpool, size);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_memcpy(&node->key, id, sizeof(uint32_t));

    sn = (ngx_http_sandbox_mcp_node_t *) (node + 1);

    sn->used = ngx_time();
    ngx_memcpy(sn->id, id, sizeof(id));
    sn->version = (u_char) version;
    sn->len = (u_short) user->len;
    ngx_memcpy(sn->user, user->data, user->len);

    ngx_rbtree_insert(&zone->sh->rbtree, node);
    ngx_queue_insert_head(&zone->sh->queue, &sn->queue);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_hex_dump(hex, id, sizeof(id));

    return NGX_OK;
}


/*
 * The session of id (hex) if it is user's and not idle too long: its
 * version into *version, and its idle clock restarted.  NGX_DECLINED
 * otherwise; with close, the session is ended too.
 */

ngx_int_t
ngx_http_sandbox_mcp_session_use(ngx_http_request_t *r, ngx_str_t *hex,
    ngx_str_t *user, ngx_uint_t close, ngx_uint_t *version)
{
    u_char                         id[NGX_HTTP_SANDBOX_MCP_ID_LEN];
    ngx_int_t                      rc;
    ngx_http_sandbox_mcp_node_t   *sn;
    ngx_http_sandbox_shm_t        *zone;
    ngx_http_sandbox_main_conf_t  *smcf;

    if (ngx_http_sandbox_mcp_parse_id(hex, id) != NGX_OK) {
        return NGX_DECLINED;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_sandbox_module);
    zone = smcf->mcp_zone;

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sn = ngx_http_sandbox_mcp_lookup(zone, id);

    if (sn != NULL && ngx_time() - sn->used > smcf->mcp_idle) {
        ngx_http_sandbox_shm_free(zone, &sn->queue);
        sn = NULL;
    }

    /* another user's session is as unknown as one that never was */

    if (sn != NULL
        && ngx_memn2cmp(sn->user, user->data, sn->len, user->len) == 0)
    {
        rc = NGX_OK;

        if (version) {
            *version = sn->version;
        }

        if (close) {
            ngx_http_sandbox_shm_free(zone, &sn->queue);

        } else {
            sn->used = ngx_time();
            ngx_http_sandbox_shm_touch(zone, &sn->queue);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static ngx_int_t
ngx_http_sandbox_mcp_parse_id(ngx_str_t *hex, u_char *id)
{
    ngx_int_t   n;
    ngx_uint_t  i;

    if (hex->len != 2 * NGX_HTTP_SANDBOX_MCP_ID_LEN) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_SANDBOX_MCP_ID_LEN; i++) {
        n = ngx_hextoi(hex->data + 2 * i, 2);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        id[i] = (u_char) n;
    }

    return NGX_OK;
}


static ngx_http_sandbox_mcp_node_t *
ngx_http_sandbox_mcp_lookup(ngx_http_sandbox_shm_t *zone, u_char *id)
{
    uint32_t                      key;
    ngx_int_t                     rc;
    ngx_rbtree_node_t            *node, *sentinel;
    ngx_http_sandbox_mcp_node_t  *sn;

    ngx_memcpy(&key, id, sizeof(key));

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        sn = (ngx_http_sandbox_mcp_node_t *) (node + 1);

        rc = ngx_memcmp(id, sn->id, NGX_HTTP_SANDBOX_MCP_ID_LEN);

        if (rc == 0) {
            return sn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Frees up to two sessions idle too long from the tail of the LRU queue;
 * with force, first the least recently used one, idle or not.
 */

static void
ngx_http_sandbox_mcp_expire(ngx_http_sandbox_shm_t *zone, time_t idle,
    ngx_uint_t force)
{
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_http_sandbox_mcp_node_t  *sn;

    for (n = 0; n < 2 + force; n++) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);
        sn = ngx_queue_data(q, ngx_http_sandbox_mcp_node_t, queue);

        if (!(force && n == 0) && ngx_time() - sn->used <= idle) {
            return;
        }

        ngx_http_sandbox_shm_free(zone, &sn->queue);
    }
}


static void
ngx_http_sandbox_mcp_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_sandbox_mcp_node_t   *sn, *st;

    sn = (ngx_http_sandbox_mcp_node_t *) (node + 1);

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            st = (ngx_http_sandbox_mcp_node_t *) (temp + 1);
            p = (ngx_memcmp(sn->id, st->id, NGX_HTTP_SANDBOX_MCP_ID_LEN) < 0)
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
