
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
#include "sbx_confgen.h"
#include "sbx_log.h"
#include "sbx_session.h"


static pthread_mutex_t  sbx_cleanup_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t   sbx_cleanup_cond = PTHREAD_COND_INITIALIZER;
static int              sbx_cleanup_stopping;
static int              sbx_cleanup_running;
static pthread_t        sbx_cleanup_tid;


/* Whether sbx_cleanup_stop() was called: a pass stops between containers. */
static int
sbx_cleanup_stopped(void)
{
    int  stop;

    pthread_mutex_lock(&sbx_cleanup_mutex);
    stop = sbx_cleanup_stopping;
    pthread_mutex_unlock(&sbx_cleanup_mutex);

    return stop;
}


static const char *
sbx_cleanup_label(cJSON *labels, const char *name)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(labels, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


/*
 * Looks at one container: 1 when removed, 0 when kept, -1 when Redis
 * failed (the pass stops).
 */
static int
sbx_cleanup_one(sbx_ctx_t *ctx, cJSON *c, int64_t now)
{
    cJSON        *labels, *idv;
    const char   *user, *sid, *created, *id;
    char          name[SBX_CONTAINER_NAME_LEN + 1];
    uint64_t      t;
    int           exists, rc;
    sbx_error_t   err;

    labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
    idv = cJSON_GetObjectItemCaseSensitive(c, "Id");
    user = sbx_cleanup_label(labels, SBX_LABEL_USER);
    sid = sbx_cleanup_label(labels, SBX_LABEL_SESSION);
    created = sbx_cleanup_label(labels, SBX_LABEL_CREATED);

    if (!cJSON_IsString(idv) || !sbx_valid_docker_id(idv->valuestring)
        || user == NULL || sid == NULL || created == NULL
        || sbx_parse_uint(created, &t) != SBX_OK)
    {
        return 0;
    }

    id = idv->valuestring;

    if ((int64_t) t + (int64_t) ctx->conf->cleanup_grace > now) {
        return 0;
    }

    /* a concurrent get-or-create of this session waits for the verdict */
    sbx_session_lock(user, sid);

    rc = sbx_store_exists(&ctx->store, user, sid, &exists, &err);

    if (rc != SBX_OK) {
        sbx_log_warn("cleanup: redis failed (%s), pass skipped", err.msg);
        rc = -1;

    } else if (exists) {
        rc = 0;

    } else if (sbx_docker_remove(&ctx->docker, id, &err) != SBX_OK) {
        sbx_log_warn("cleanup: cannot remove container %.12s: %s", id,
                     err.msg);
        rc = 0;

    } else {
        sbx_log_info("cleanup: removed container %.12s of session \"%s\" "
                     "(no record)", id, sid);
        if (sbx_container_name(ctx->conf->instance, user, sid, name)
            == SBX_OK)
        {
            sbx_agent_forget(name);
        }
        rc = 1;
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


int
sbx_cleanup_pass(sbx_ctx_t *ctx)
{
    cJSON        *list, *c;
    sbx_error_t   err;
    int64_t       now;
    int           removed, rc;

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
    removed = 0;

    cJSON_ArrayForEach(c, list) {
        if (sbx_cleanup_stopped()) {
            sbx_log_debug("cleanup: stopping, pass cut short");
            break;
        }

        rc = sbx_cleanup_one(ctx, c, now);
        if (rc < 0) {
            break;
        }
        removed += rc;
    }

    if (!sbx_cleanup_stopped()) {
        sbx_cleanup_agent_dirs(list);
    }

    cJSON_Delete(list);

    sbx_log_debug("cleanup: pass done, %d removed", removed);

    return removed;
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

    ctx.conf = boot;
    sbx_docker_init(&ctx.docker, boot);
    sbx_store_init(&ctx.store, boot);

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
