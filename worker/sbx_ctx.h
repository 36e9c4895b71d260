
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * What an operation runs with: the configuration and the calling thread's
 * own Docker and Redis clients (each connected lazily, kept alive).
 */


#ifndef SBX_CTX_H
#define SBX_CTX_H


#include "sbx_config.h"
#include "sbx_docker.h"
#include "sbx_store.h"


typedef struct {
    const sbx_config_t  *conf;
    sbx_docker_t         docker;
    sbx_store_t          store;
    struct sbx_cancel_s *cancel;     /* a task's (sbx_task.h), or NULL */
} sbx_ctx_t;


/* A context of conf with clients not connected yet, no task's. */
static inline void
sbx_ctx_init(sbx_ctx_t *ctx, const sbx_config_t *conf)
{
    ctx->conf = conf;
    ctx->cancel = NULL;
    sbx_docker_init(&ctx->docker, conf);
    sbx_store_init(&ctx->store, conf);
}


/*
 * Points the operation and its clients at conf (a generation of
 * sbx_confgen.h); the clients' connections depend only on keys that a
 * reload never changes, so they survive the switch.
 */
static inline void
sbx_ctx_use(sbx_ctx_t *ctx, const sbx_config_t *conf)
{
    ctx->conf = conf;
    ctx->docker.conf = conf;
    ctx->store.conf = conf;
}


#endif /* SBX_CTX_H */
