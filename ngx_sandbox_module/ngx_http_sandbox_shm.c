
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The shared memory zones of the rate limits and of the MCP sessions: an
 * rbtree of nodes plus an LRU queue, as limit_req keeps them, the zone of
 * the previous cycle kept across "nginx -s reload".  Each user's node
 * data starts with its ngx_queue_t, right after the ngx_rbtree_node_t it
 * hangs on (one allocation); the keys and their order are the user's.
 */


#include "ngx_http_sandbox_module.h"


/* The zone of a new ngx_shm_zone_t: shm_zone->init and ->data are set. */

ngx_http_sandbox_shm_t *
ngx_http_sandbox_shm_zone(ngx_conf_t *cf, ngx_shm_zone_t *shm_zone,
    ngx_rbtree_insert_pt insert, const char *what)
{
    ngx_http_sandbox_shm_t  *zone;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_sandbox_shm_t));
    if (zone == NULL) {
        return NULL;
    }

    zone->insert = insert;
    zone->what = what;

    shm_zone->init = ngx_http_sandbox_shm_init;
    shm_zone->data = zone;

    return zone;
}


ngx_int_t
ngx_http_sandbox_shm_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_sandbox_shm_t  *ozone = data;

    size_t                   len;
    ngx_http_sandbox_shm_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    zone->sh = ngx_slab_alloc(zone->shpool, sizeof(ngx_http_sandbox_shm_sh_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel, zone->insert);
    ngx_queue_init(&zone->sh->queue);

    len = sizeof(" in  \"\"") + ngx_strlen(zone->what)
          + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in %s \"%V\"%Z", zone->what,
                &shm_zone->shm.name);

    /* a full zone is expected: it evicts, it need not log each time */
    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


/* A node's data, made the most recently used. */

void
ngx_http_sandbox_shm_touch(ngx_http_sandbox_shm_t *zone, ngx_queue_t *q)
{
    ngx_queue_remove(q);
    ngx_queue_insert_head(&zone->sh->queue, q);
}


/* Frees the node whose data starts with q (the zone is locked). */

void
ngx_http_sandbox_shm_free(ngx_http_sandbox_shm_t *zone, ngx_queue_t *q)
{
    ngx_rbtree_node_t  *node;

    ngx_queue_remove(q);

    node = (ngx_rbtree_node_t *) q - 1;

    ngx_rbtree_delete(&zone->sh->rbtree, node);
    ngx_slab_free_locked(zone->shpool, node);
}
