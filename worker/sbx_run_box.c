
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_agent.h"
#include "sbx_capacity.h"
#include "sbx_confgen.h"
#include "sbx_log.h"
#include "sbx_pool.h"
#include "sbx_run_box.h"


/* the detached removals under way, which shutdown waits for */
static pthread_mutex_t  sbx_run_box_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t   sbx_run_box_cond = PTHREAD_COND_INITIALIZER;
static unsigned         sbx_run_box_removing;


typedef struct {
    char  id[SBX_CONTAINER_ID_MAX + 1];
    char  name[SBX_CONTAINER_NAME_LEN + 1];
} sbx_run_box_gone_t;


/* Creates the container with its agent channel; capacity is reserved. */
static int
sbx_run_box_make(sbx_ctx_t *ctx, const char *user, const char *pool,
    uint64_t memory, sbx_run_box_t *box, sbx_error_t *err)
{
    char         run[4096];
    long         pid;
    int          agent;
    sbx_error_t  rm_err;

    if (!sbx_agent_enabled()) {
        sbx_error_set(err, SBX_E_AGENT_UNAVAILABLE,
                      "runs need the sandbox agent, which is off");
        return SBX_ERR;
    }

    if (sbx_agent_run_dir(box->rec.container_name, run, sizeof(run))
        != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "agent_dir is too long");
        return SBX_ERR;
    }

    if (sbx_agent_prepare(box->rec.container_name, err) != SBX_OK) {
        return SBX_ERR;
    }

    if (sbx_docker_create_run(&ctx->docker, user,
                              user ? box->rec.session_id : pool,
                              box->rec.container_name, run, memory,
                              box->helper, box->rec.container_id, err)
        != SBX_OK)
    {
        sbx_agent_forget(box->rec.container_name);
        return SBX_ERR;
    }

    if (sbx_docker_inspect_init(&ctx->docker, box->rec.container_id, &pid,
                                &agent, err)
        != SBX_OK || !agent)
    {
        if (sbx_docker_remove(&ctx->docker, box->rec.container_id, &rm_err)
            != SBX_OK)
        {
            sbx_log_error("cannot remove run container %s: %s",
                          box->rec.container_name, rm_err.msg);
        }
        sbx_agent_forget(box->rec.container_name);
        sbx_error_set(err, SBX_E_SANDBOX_ERROR,
                      "the run's container did not start");
        return SBX_ERR;
    }

    sbx_agent_attach(box->rec.container_name, box->rec.container_id,
                     (pid_t) pid);

    return SBX_OK;
}


int
sbx_run_box_name(sbx_run_box_t *box, sbx_error_t *err)
{
    char  hex[33];

    memset(box, 0, sizeof(*box));

    if (sbx_random_hex(hex, 16) != SBX_OK) {
        sbx_error_set(err, SBX_E_INTERNAL, "no randomness");
        return SBX_ERR;
    }

    /* the same shape as a session's container name: "sbx-" + 24 hex */
    snprintf(box->rec.session_id, sizeof(box->rec.session_id), "run-%s",
             hex);
    snprintf(box->rec.container_name, sizeof(box->rec.container_name),
             "sbx-%.24s", hex);

    return SBX_OK;
}


int
sbx_run_box_start(sbx_ctx_t *ctx, const char *user, const char *pool,
    uint64_t memory, sbx_run_box_t *box, sbx_error_t *err)
{
    int  rc;

    if (sbx_capacity_reserve(ctx, box->rec.container_name, err) != SBX_OK) {
        return SBX_ERR;
    }

    rc = sbx_run_box_make(ctx, user, pool, memory, box, err);
    sbx_capacity_release(ctx, box->rec.container_name);

    box->made = rc == SBX_OK;

    return rc;
}


int
sbx_run_box_acquire(sbx_ctx_t *ctx, const char *user, uint64_t memory,
    sbx_run_box_t *box, sbx_error_t *err)
{
    if (sbx_run_box_name(box, err) != SBX_OK) {
        return SBX_ERR;
    }

    if (sbx_pool_take(ctx, memory, box) == SBX_OK) {
        return SBX_OK;
    }

    return sbx_run_box_start(ctx, user, NULL, memory, box, err);
}


static void
sbx_run_box_remove(sbx_docker_t *dk, const sbx_run_box_gone_t *gone)
{
    sbx_error_t  err;

    if (sbx_docker_remove(dk, gone->id, &err) != SBX_OK) {
        sbx_log_warn("cannot remove run container %s (%s); the cleanup "
                     "loop will", gone->name, err.msg);
    }

    sbx_agent_forget(gone->name);
}


static void *
sbx_run_box_remover(void *data)
{
    sbx_run_box_gone_t  *gone = data;
    const sbx_config_t  *conf;
    sbx_docker_t         dk;

    conf = sbx_confgen_acquire();
    sbx_docker_init(&dk, conf);

    sbx_run_box_remove(&dk, gone);

    sbx_docker_cleanup(&dk);
    sbx_confgen_release(conf);
    free(gone);

    pthread_mutex_lock(&sbx_run_box_mutex);
    sbx_run_box_removing--;
    pthread_cond_broadcast(&sbx_run_box_cond);
    pthread_mutex_unlock(&sbx_run_box_mutex);

    return NULL;
}


void
sbx_run_box_release(sbx_ctx_t *ctx, sbx_run_box_t *box)
{
    sbx_run_box_gone_t  *gone, local;
    pthread_attr_t       attr;
    pthread_t            tid;
    int                  rc;

    if (!box->made) {
        return;
    }

    if (box->pooled) {
        sbx_pool_returned();
    }

    box->made = 0;
    box->pooled = 0;

    gone = malloc(sizeof(*gone));
    if (gone == NULL) {
        gone = &local;
    }

    snprintf(gone->id, sizeof(gone->id), "%s", box->rec.container_id);
    snprintf(gone->name, sizeof(gone->name), "%s", box->rec.container_name);

    if (gone == &local) {
        sbx_run_box_remove(&ctx->docker, gone);
        return;
    }

    pthread_mutex_lock(&sbx_run_box_mutex);
    sbx_run_box_removing++;
    pthread_mutex_unlock(&sbx_run_box_mutex);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, sbx_run_box_remover, gone);
    pthread_attr_destroy(&attr);

    if (rc != 0) {
        pthread_mutex_lock(&sbx_run_box_mutex);
        sbx_run_box_removing--;
        pthread_mutex_unlock(&sbx_run_box_mutex);

        sbx_run_box_remove(&ctx->docker, gone);
        free(gone);
    }
}


int
sbx_run_box_join(const struct timespec *deadline)
{
    int  rc;

    rc = 0;

    pthread_mutex_lock(&sbx_run_box_mutex);

    while (sbx_run_box_removing != 0 && rc == 0) {
        rc = pthread_cond_timedwait(&sbx_run_box_cond, &sbx_run_box_mutex,
                                    deadline);
    }

    rc = sbx_run_box_removing == 0 ? SBX_OK : SBX_ERR;

    pthread_mutex_unlock(&sbx_run_box_mutex);

    return rc;
}
