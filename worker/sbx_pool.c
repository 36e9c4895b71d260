
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sbx_agent.h"
#include "sbx_confgen.h"
#include "sbx_log.h"
#include "sbx_pool.h"
#include "sbx_util.h"


#define SBX_POOL_MAX        64       /* run_pool_size's upper bound */
#define SBX_POOL_FILLERS    2        /* containers made at a time */
#define SBX_POOL_AGENT_MS   10000    /* a new container's agent connects */
#define SBX_POOL_RETRY_S    5        /* after a failed make */
#define SBX_POOL_QUIET_MS   100      /* a refill waits for a run, at most */

#define SBX_POOL_SKIP       1        /* a popped container to remove */


typedef struct {
    sbx_run_box_t  box;
    uint64_t       memory;
} sbx_pool_entry_t;


static pthread_mutex_t   sbx_pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t    sbx_pool_cond = PTHREAD_COND_INITIALIZER;
static sbx_pool_entry_t  sbx_pool_ring[SBX_POOL_MAX];
static size_t            sbx_pool_head;
static size_t            sbx_pool_count;
static size_t            sbx_pool_making;
static size_t            sbx_pool_size;
static uint64_t          sbx_pool_hits;
static uint64_t          sbx_pool_misses;
static uint64_t          sbx_pool_dead;
static size_t            sbx_pool_lent;      /* taken, their runs going on */
static struct timespec   sbx_pool_quiet;     /* refills wait until then */
static int               sbx_pool_stopping;
static pthread_t         sbx_pool_tids[SBX_POOL_FILLERS];
static unsigned          sbx_pool_nfillers;
static char              sbx_pool_id[40];


const char *
sbx_pool_label(void)
{
    return sbx_pool_id;
}


/*
 * Pops the oldest ready container into e; 0 when none is ready.  The
 * mutex is held.
 */
static int
sbx_pool_pop(sbx_pool_entry_t *e)
{
    if (sbx_pool_count == 0) {
        return 0;
    }

    *e = sbx_pool_ring[sbx_pool_head];
    sbx_pool_head = (sbx_pool_head + 1) % SBX_POOL_MAX;
    sbx_pool_count--;

    pthread_cond_broadcast(&sbx_pool_cond);

    return 1;
}


/*
 * A container is handed to a run.  Making its replacement (Docker's
 * create and start, a few hundred ms of CPU in dockerd, containerd and
 * runc) would compete with that run for the CPUs, so the refill waits
 * until the runs that took containers are over, or SBX_POOL_QUIET_MS at
 * most.  The mutex is held.
 */
static void
sbx_pool_lend(void)
{
    sbx_pool_lent++;

    /* CLOCK_REALTIME: the clock sbx_pool_cond's timed waits use */
    sbx_time_after(CLOCK_REALTIME, SBX_POOL_QUIET_MS, &sbx_pool_quiet);
}


/*
 * Pops the oldest ready container if it suits a run of memory bytes:
 * SBX_OK, with e; SBX_POOL_SKIP when it is stale (made before a reload
 * changed container_memory), with e to be removed; SBX_ERR when none
 * suits.  The mutex is held.
 */
static int
sbx_pool_pop_for(sbx_ctx_t *ctx, uint64_t memory, sbx_pool_entry_t *e)
{
    uint64_t  made;

    if (sbx_pool_count == 0) {
        return SBX_ERR;
    }

    made = sbx_pool_ring[sbx_pool_head].memory;

    if (made == memory) {
        (void) sbx_pool_pop(e);
        return SBX_OK;
    }

    if (made != ctx->conf->container_memory) {
        (void) sbx_pool_pop(e);
        return SBX_POOL_SKIP;
    }

    return SBX_ERR;
}


int
sbx_pool_take(sbx_ctx_t *ctx, uint64_t memory, sbx_run_box_t *box)
{
    sbx_pool_entry_t  e;
    int               rc;

    if (sbx_pool_size == 0) {
        return SBX_ERR;
    }

    /*
     * A container that died while it waited (dockerd restarted, someone
     * killed it) is removed and the next one tried; the stale ones too.
     */
    for ( ;; ) {
        pthread_mutex_lock(&sbx_pool_mutex);

        rc = sbx_pool_pop_for(ctx, memory, &e);

        if (rc == SBX_OK && !sbx_agent_ready(e.box.rec.container_name)) {
            sbx_pool_dead++;
            rc = SBX_POOL_SKIP;
        }

        if (rc == SBX_OK) {
            sbx_pool_hits++;
            sbx_pool_lend();
        } else if (rc == SBX_ERR) {
            sbx_pool_misses++;
        }

        pthread_mutex_unlock(&sbx_pool_mutex);

        if (rc != SBX_POOL_SKIP) {
            break;
        }

        sbx_run_box_release(ctx, &e.box);
    }

    if (rc == SBX_OK) {
        memcpy(box->rec.container_id, e.box.rec.container_id,
               sizeof(box->rec.container_id));
        memcpy(box->rec.container_name, e.box.rec.container_name,
               sizeof(box->rec.container_name));
        box->made = 1;
        box->pooled = 1;
    }

    return rc;
}


void
sbx_pool_returned(void)
{
    pthread_mutex_lock(&sbx_pool_mutex);

    if (sbx_pool_lent != 0 && --sbx_pool_lent == 0) {
        pthread_cond_broadcast(&sbx_pool_cond);
    }

    pthread_mutex_unlock(&sbx_pool_mutex);
}


void
sbx_pool_report(cJSON *obj)
{
    cJSON  *p;

    p = cJSON_AddObjectToObject(obj, "run_pool");
    if (p == NULL) {
        return;
    }

    pthread_mutex_lock(&sbx_pool_mutex);

    cJSON_AddNumberToObject(p, "size", (double) sbx_pool_size);
    cJSON_AddNumberToObject(p, "ready", (double) sbx_pool_count);
    cJSON_AddNumberToObject(p, "hits", (double) sbx_pool_hits);
    cJSON_AddNumberToObject(p, "misses", (double) sbx_pool_misses);
    cJSON_AddNumberToObject(p, "dead", (double) sbx_pool_dead);

    pthread_mutex_unlock(&sbx_pool_mutex);
}


/* Whether the refills wait for runs still going on (the mutex is held). */
static int
sbx_pool_quiet_now(void)
{
    struct timespec  now;

    if (sbx_pool_lent == 0) {
        return 0;
    }

    clock_gettime(CLOCK_REALTIME, &now);

    return now.tv_sec < sbx_pool_quiet.tv_sec
           || (now.tv_sec == sbx_pool_quiet.tv_sec
               && now.tv_nsec < sbx_pool_quiet.tv_nsec);
}


/*
 * Waits until the pool lacks a container nobody is making and no run
 * that took one keeps the refill waiting: 0 to stop.
 */
static int
sbx_pool_wait_need(void)
{
    int  go;

    pthread_mutex_lock(&sbx_pool_mutex);

    for ( ;; ) {
        if (sbx_pool_stopping) {
            break;
        }

        if (sbx_pool_count + sbx_pool_making >= sbx_pool_size) {
            pthread_cond_wait(&sbx_pool_cond, &sbx_pool_mutex);
            continue;
        }

        if (!sbx_pool_quiet_now()) {
            break;
        }

        (void) pthread_cond_timedwait(&sbx_pool_cond, &sbx_pool_mutex,
                                      &sbx_pool_quiet);
    }

    go = !sbx_pool_stopping;

    if (go) {
        sbx_pool_making++;
    }

    pthread_mutex_unlock(&sbx_pool_mutex);

    return go;
}


/* Adds a made container (box NULL: the make failed). */
static void
sbx_pool_put(const sbx_run_box_t *box, uint64_t memory)
{
    sbx_pool_entry_t  *e;

    pthread_mutex_lock(&sbx_pool_mutex);

    sbx_pool_making--;

    if (box != NULL) {
        e = &sbx_pool_ring[(sbx_pool_head + sbx_pool_count) % SBX_POOL_MAX];
        e->box = *box;
        e->memory = memory;
        sbx_pool_count++;
    }

    pthread_cond_broadcast(&sbx_pool_cond);
    pthread_mutex_unlock(&sbx_pool_mutex);
}


/* Sleeps after a failed make, or until stopped. */
static void
sbx_pool_back_off(void)
{
    struct timespec  t;

    sbx_time_after(CLOCK_REALTIME, SBX_POOL_RETRY_S * 1000L, &t);

    pthread_mutex_lock(&sbx_pool_mutex);

    while (!sbx_pool_stopping
           && pthread_cond_timedwait(&sbx_pool_cond, &sbx_pool_mutex, &t)
              != ETIMEDOUT)
    {
        /* woken by a take or a put: keep waiting */
    }

    pthread_mutex_unlock(&sbx_pool_mutex);
}


/* Makes a container and waits until its agent has connected. */
static int
sbx_pool_make(sbx_ctx_t *ctx, sbx_run_box_t *box, sbx_error_t *err)
{
    int  fd;

    if (sbx_run_box_name(box, err) != SBX_OK
        || sbx_run_box_start(ctx, NULL, sbx_pool_id,
                             ctx->conf->container_memory, box, err)
           != SBX_OK)
    {
        return SBX_ERR;
    }

    fd = sbx_agent_take(ctx, &box->rec, SBX_POOL_AGENT_MS);
    if (fd < 0) {
        sbx_run_box_release(ctx, box);
        sbx_error_set(err, SBX_E_SANDBOX_ERROR, "its agent did not connect");
        return SBX_ERR;
    }

    /* the agent keeps a few connections ready: one less for a moment */
    close(fd);

    return SBX_OK;
}


static void *
sbx_pool_filler(void *data)
{
    const sbx_config_t  *boot = data, *conf;
    sbx_run_box_t        box;
    sbx_error_t          err;
    sbx_ctx_t            ctx;
    uint64_t             memory;
    int                  rc;

    memset(&ctx, 0, sizeof(ctx));
    sbx_docker_init(&ctx.docker, boot);
    sbx_ctx_use(&ctx, boot);

    while (sbx_pool_wait_need()) {
        conf = sbx_confgen_acquire();
        sbx_ctx_use(&ctx, conf);

        memory = conf->container_memory;
        rc = sbx_pool_make(&ctx, &box, &err);

        sbx_ctx_use(&ctx, boot);
        sbx_confgen_release(conf);

        sbx_pool_put(rc == SBX_OK ? &box : NULL, memory);

        if (rc != SBX_OK) {
            sbx_log_warn("run pool: cannot make a container (%s); again "
                         "in %ds", err.msg, SBX_POOL_RETRY_S);
            sbx_pool_back_off();
        }
    }

    sbx_docker_cleanup(&ctx.docker);

    return NULL;
}


int
sbx_pool_start(const sbx_config_t *conf)
{
    char  hex[17];

    if (sbx_random_hex(hex, 8) != SBX_OK) {
        return SBX_ERR;
    }

    snprintf(sbx_pool_id, sizeof(sbx_pool_id), "pool-%s", hex);

    sbx_pool_size = conf->run_pool_size;

    if (sbx_pool_size == 0) {
        sbx_log_info("run pool off: every run starts a container");
        return SBX_OK;
    }

    while (sbx_pool_nfillers < SBX_POOL_FILLERS) {
        if (pthread_create(&sbx_pool_tids[sbx_pool_nfillers], NULL,
                           sbx_pool_filler, (void *) conf)
            != 0)
        {
            return SBX_ERR;
        }

        sbx_pool_nfillers++;
    }

    sbx_log_info("run pool of %zu container(s) (%s)", sbx_pool_size,
                 sbx_pool_id);

    return SBX_OK;
}


int
sbx_pool_stop(const struct timespec *deadline)
{
    sbx_pool_entry_t  e;
    sbx_ctx_t         ctx;
    unsigned          i;
    int               rc;

    rc = SBX_OK;

    pthread_mutex_lock(&sbx_pool_mutex);
    sbx_pool_stopping = 1;
    pthread_cond_broadcast(&sbx_pool_cond);
    pthread_mutex_unlock(&sbx_pool_mutex);

    for (i = 0; i < sbx_pool_nfillers; i++) {
        if (pthread_timedjoin_np(sbx_pool_tids[i], NULL, deadline) != 0) {
            sbx_log_warn("a run pool filler is still running");
            rc = SBX_ERR;
        }
    }

    sbx_ctx_init(&ctx, sbx_confgen_acquire());

    /* removed in detached threads, as a run's are */
    for ( ;; ) {
        pthread_mutex_lock(&sbx_pool_mutex);

        if (sbx_pool_count == 0) {
            pthread_mutex_unlock(&sbx_pool_mutex);
            break;
        }

        (void) sbx_pool_pop(&e);

        pthread_mutex_unlock(&sbx_pool_mutex);

        sbx_run_box_release(&ctx, &e.box);
    }

    sbx_docker_cleanup(&ctx.docker);
    sbx_confgen_release(ctx.conf);

    return rc;
}
