
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "sbx_agent.h"
#include "sbx_cleanup.h"
#include "sbx_cleanup_steps.h"
#include "sbx_confgen.h"
#include "sbx_log.h"
#include "sbx_pool.h"
#include "sbx_session.h"
#include "sbx_store_gc.h"


static pthread_mutex_t  sbx_cleanup_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t   sbx_cleanup_cond = PTHREAD_COND_INITIALIZER;
static int              sbx_cleanup_stopping;
static int              sbx_cleanup_running;
static pthread_t        sbx_cleanup_tid;


int
sbx_cleanup_stopped(void)
{
    int  stop;

    pthread_mutex_lock(&sbx_cleanup_mutex);
    stop = sbx_cleanup_stopping;
    pthread_mutex_unlock(&sbx_cleanup_mutex);

    return stop;
}


const char *
sbx_cleanup_label(cJSON *obj, const char *name)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(obj, "Labels"), name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


int
sbx_cleanup_listed(cJSON *list, const char *id, const char *name)
{
    cJSON  *c, *v;

    cJSON_ArrayForEach(c, list) {
        if (id != NULL) {
            v = cJSON_GetObjectItemCaseSensitive(c, "Id");
            if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0) {
                return 1;
            }
        }

        if (name != NULL) {
            v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c,
                                                                    "Names"),
                                   0);
            if (cJSON_IsString(v) && v->valuestring[0] == '/'
                && strcmp(v->valuestring + 1, name) == 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * Removes a container (the stripe is held): one with no record, or one
 * past cleanup_max_container_age, whose record goes with it and leaves a
 * "lost" mark.  1 when removed, 0 when not, -1 when Redis failed.
 */
static int
sbx_cleanup_remove(sbx_ctx_t *ctx, const char *user, const char *sid,
    const char *id, int aged)
{
    char         name[SBX_CONTAINER_NAME_LEN + 1];
    int          dropped;
    sbx_error_t  err;

    if (sbx_docker_remove(&ctx->docker, id, &err) != SBX_OK) {
        sbx_log_warn("cleanup: cannot remove container %.12s: %s", id,
                     err.msg);
        return 0;
    }

    if (sbx_container_name(ctx->conf->instance, user, sid, name)
        == SBX_OK)
    {
        sbx_agent_forget(name);
    }

    if (!aged) {
        sbx_log_info("cleanup: removed container %.12s of session \"%s\" "
                     "(no record)", id, sid);
        return 1;
    }

    sbx_log_info("cleanup: removed container %.12s of session \"%s\" "
                 "(older than cleanup_max_container_age)", id, sid);

    if (sbx_store_drop_lost(&ctx->store, user, sid, id, SBX_LOST_MAX_AGE,
                            &dropped, &err)
        != SBX_OK)
    {
        /* the records step drops it at the next pass */
        sbx_log_warn("cleanup: redis failed (%s), pass skipped", err.msg);
        return -1;
    }

    return 1;
}


/*
 * A run's container (sbx_run_box.c) outlives its run only when sandboxd
 * stopped mid-run or could not remove it: removed once no run can still
 * be using it (twice exec_timeout_max, for a compile step and a run).
 */
static int
sbx_cleanup_run(sbx_ctx_t *ctx, cJSON *c, const char *id, int64_t created,
    int64_t now)
{
    cJSON        *names;
    sbx_error_t   err;

    if (created + (int64_t) (2 * ctx->conf->exec_timeout_max
                             + ctx->conf->cleanup_grace + 60) > now)
    {
        return 0;
    }

    if (sbx_docker_remove(&ctx->docker, id, &err) != SBX_OK) {
        sbx_log_warn("cleanup: cannot remove run container %.12s: %s", id,
                     err.msg);
        return 0;
    }

    names = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "Names"),
                               0);
    if (cJSON_IsString(names) && names->valuestring[0] == '/') {
        sbx_agent_forget(names->valuestring + 1);
    }

    sbx_log_info("cleanup: removed container %.12s of an old run", id);

    return 1;
}


/*
 * Looks at one container: 1 when removed, 0 when kept, -1 when Redis
 * failed (the pass stops).
 */
static int
sbx_cleanup_one(sbx_ctx_t *ctx, cJSON *c, int64_t now)
{
    cJSON        *idv;
    const char   *user, *sid, *created, *pool;
    uint64_t      t, max_age;
    int           exists, aged, rc;
    sbx_error_t   err;

    idv = cJSON_GetObjectItemCaseSensitive(c, "Id");
    pool = sbx_cleanup_label(c, SBX_LABEL_POOL);

    if (pool != NULL && cJSON_IsString(idv)
        && sbx_valid_docker_id(idv->valuestring))
    {
        /* this sandboxd's pool is its own; --cleanup-once ages them */
        if (strcmp(pool, sbx_pool_label()) == 0) {
            return 0;
        }

        if (sbx_pool_label()[0] != '\0') {
            return sbx_cleanup_run(ctx, c, idv->valuestring, 0, now);
        }
    }

    user = sbx_cleanup_label(c, SBX_LABEL_USER);
    sid = sbx_cleanup_label(c, SBX_LABEL_SESSION);
    created = sbx_cleanup_label(c, SBX_LABEL_CREATED);

    if (sid == NULL && sbx_cleanup_label(c, SBX_LABEL_RUN) != NULL
        && cJSON_IsString(idv) && sbx_valid_docker_id(idv->valuestring)
        && created != NULL && sbx_parse_uint(created, &t) == SBX_OK)
    {
        return sbx_cleanup_run(ctx, c, idv->valuestring, (int64_t) t, now);
    }

    if (!cJSON_IsString(idv) || !sbx_valid_docker_id(idv->valuestring)
        || user == NULL || sid == NULL || created == NULL
        || sbx_parse_uint(created, &t) != SBX_OK)
    {
        return 0;
    }

    if ((int64_t) t + (int64_t) ctx->conf->cleanup_grace > now) {
        return 0;
    }

    max_age = ctx->conf->cleanup_max_container_age;
    aged = max_age != 0 && (int64_t) (t + max_age) <= now;

    /* a concurrent get-or-create of this session waits for the verdict */
    sbx_session_lock(user, sid);

    rc = sbx_store_exists(&ctx->store, user, sid, &exists, &err);

    if (rc != SBX_OK) {
        sbx_log_warn("cleanup: redis failed (%s), pass skipped", err.msg);
        rc = -1;

    } else if (exists && !aged) {
        rc = 0;

    } else {
        rc = sbx_cleanup_remove(ctx, user, sid, idv->valuestring,
                                exists && aged);
    }

    sbx_session_unlock(user, sid);

    return rc;
}


/*
 * Removes the agent directories of containers that no longer exist (a
 * sandboxd that stopped abruptly leaves them): those not named in list.
 */
static void
sbx_cleanup_agent_dirs(cJSON *list)
{
    const char  **keep;
    cJSON        *c, *names;
    int           n;

    keep = calloc((size_t) cJSON_GetArraySize(list) + 1, sizeof(char *));
    if (keep == NULL) {
        return;
    }

    n = 0;

    cJSON_ArrayForEach(c, list) {
        names = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c,
                                                                    "Names"),
                                   0);
        if (cJSON_IsString(names) && names->valuestring[0] == '/') {
            keep[n++] = names->valuestring + 1;
        }
    }

    sbx_agent_sweep(keep);
    free(keep);
}


/* The containers step: how many were removed, or -1. */
static int
sbx_cleanup_containers(sbx_ctx_t *ctx, cJSON *list, int64_t now)
{
    cJSON  *c;
    int     removed, rc;

    removed = 0;

    cJSON_ArrayForEach(c, list) {
        if (sbx_cleanup_stopped()) {
            break;
        }

        rc = sbx_cleanup_one(ctx, c, now);
        if (rc < 0) {
            return -1;
        }
        removed += rc;
    }

    return removed;
}


int
sbx_cleanup_pass(sbx_ctx_t *ctx)
{
    cJSON        *list;
    sbx_error_t   err;
    int64_t       now;
    int           containers, records, volumes;

    if (sbx_store_ping(&ctx->store, 2000, &err) != SBX_OK) {
        sbx_log_warn("cleanup: redis unreachable (%s), pass skipped",
                     err.msg);
        return -1;
    }

    if (sbx_docker_list_managed(&ctx->docker, &list, &err) != SBX_OK) {
        sbx_log_warn("cleanup: cannot list containers: %s", err.msg);
        return -1;
    }

    now = sbx_time_now();
    records = 0;
    volumes = 0;

    containers = sbx_cleanup_containers(ctx, list, now);

    if (containers >= 0 && !sbx_cleanup_stopped()) {
        records = sbx_cleanup_records(ctx, list);
    }

    if (records >= 0 && !sbx_cleanup_stopped()) {
        volumes = sbx_cleanup_volumes(ctx, list, now);
    }

    if (!sbx_cleanup_stopped()) {
        sbx_cleanup_agent_dirs(list);
    } else {
        sbx_log_debug("cleanup: stopping, pass cut short");
    }

    cJSON_Delete(list);

    if (containers < 0 || records < 0 || volumes < 0) {
        return -1;
    }

    if (containers + records + volumes > 0) {
        sbx_log_info("cleanup: pass done, removed %d container(s), "
                     "%d record(s), %d volume(s)", containers, records,
                     volumes);
    } else {
        sbx_log_debug("cleanup: pass done, nothing removed");
    }

    return containers + records + volumes;
}


/*
 * Each pass, and the wait before it, with the configuration in force then:
 * SIGHUP may change cleanup_interval and cleanup_grace.  An interval of 0
 * pauses the loop (checked again every second).
 */
static void *
sbx_cleanup_thread(void *data)
{
    const sbx_config_t  *boot = data, *conf;
    sbx_ctx_t            ctx;
    struct timespec      until;
    uint64_t             interval;
    int                  stop;

    sbx_ctx_init(&ctx, boot);

    for ( ;; ) {
        conf = sbx_confgen_acquire();
        interval = conf->cleanup_interval;
        sbx_confgen_release(conf);

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t) (interval ? interval : 1);

        pthread_mutex_lock(&sbx_cleanup_mutex);
        while (!sbx_cleanup_stopping
               && pthread_cond_timedwait(&sbx_cleanup_cond,
                                         &sbx_cleanup_mutex, &until)
                  != ETIMEDOUT)
        {
            /* spurious wake-up */
        }
        stop = sbx_cleanup_stopping;
        pthread_mutex_unlock(&sbx_cleanup_mutex);

        if (stop) {
            break;
        }

        conf = sbx_confgen_acquire();

        if (conf->cleanup_interval != 0) {
            sbx_ctx_use(&ctx, conf);
            (void) sbx_cleanup_pass(&ctx);
            sbx_ctx_use(&ctx, boot);
        }

        sbx_confgen_release(conf);
    }

    sbx_docker_cleanup(&ctx.docker);
    sbx_store_cleanup(&ctx.store);

    return NULL;
}


int
sbx_cleanup_start(const sbx_config_t *conf)
{
    /* started anyway, idle: SIGHUP may set an interval */
    if (conf->cleanup_interval == 0) {
        sbx_log_info("cleanup loop disabled: only \"sandboxd "
                     "--cleanup-once\" removes expired sessions' "
                     "containers");
    }

    if (pthread_create(&sbx_cleanup_tid, NULL, sbx_cleanup_thread,
                       (void *) conf)
        != 0)
    {
        return SBX_ERR;
    }

    sbx_cleanup_running = 1;

    return SBX_OK;
}


void
sbx_cleanup_stop(void)
{
    pthread_mutex_lock(&sbx_cleanup_mutex);
    sbx_cleanup_stopping = 1;
    pthread_cond_broadcast(&sbx_cleanup_cond);
    pthread_mutex_unlock(&sbx_cleanup_mutex);
}


int
sbx_cleanup_join(const struct timespec *deadline)
{
    int  rc;

    if (!sbx_cleanup_running) {
        return SBX_OK;
    }

    rc = pthread_timedjoin_np(sbx_cleanup_tid, NULL, deadline);
    if (rc != 0) {
        sbx_log_warn("the cleanup thread is still running: %s",
                     strerror(rc));
        return SBX_ERR;
    }

    sbx_cleanup_running = 0;

    return SBX_OK;
}
