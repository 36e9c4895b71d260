
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The task queue of this sandboxd and its workers.  A worker runs a
 * task's op through sbx_ops_handle(), exactly as if the module had sent
 * it (the same checks, log and audit lines), with the task's cancellation
 * in its ctx, and stores the outcome.  With Redis, a task cancelled
 * through another sandboxd is noticed by a watch that reads the status of
 * the running tasks once a second.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sbx_callback.h"
#include "sbx_confgen.h"
#include "sbx_log.h"
#include "sbx_ops.h"
#include "sbx_task.h"
#include "sbx_task_store.h"


#define SBX_TASK_WORKERS_MAX   64
#define SBX_TASK_WATCH_MS      1000


typedef struct sbx_task_job_s  sbx_task_job_t;

struct sbx_task_job_s {
    sbx_task_job_t  *next;
    sbx_task_job_t  *prev;          /* in the running list */
    char             id[SBX_TASK_ID_LEN + 1];
    char             kind[SBX_TASK_KIND_MAX + 1];
    char            *user;
    char            *header;        /* the op's request header */
    char            *body;
    size_t           body_len;
    int              callback;      /* a callback_url was given */
    sbx_cancel_t     cancel;
};


static pthread_mutex_t   sbx_task_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t    sbx_task_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t    sbx_task_watch_cond = PTHREAD_COND_INITIALIZER;
static sbx_task_job_t   *sbx_task_head;      /* queued, oldest first */
static sbx_task_job_t   *sbx_task_tail;
static sbx_task_job_t   *sbx_task_running;
static size_t            sbx_task_nqueued;
static size_t            sbx_task_nrunning;
static int               sbx_task_stopping;
static pthread_t         sbx_task_tids[SBX_TASK_WORKERS_MAX];
static unsigned          sbx_task_nworkers;
static pthread_t         sbx_task_watch_tid;
static int               sbx_task_watching;


void
sbx_task_rec_free(sbx_task_rec_t *rec)
{
    free(rec->result);
    free(rec->body);
    rec->result = NULL;
    rec->body = NULL;
    rec->body_len = 0;
}


static cJSON *
sbx_task_time(cJSON *to, const char *name, int64_t ms)
{
    return ms ? cJSON_AddNumberToObject(to, name, (double) ms)
              : cJSON_AddNullToObject(to, name);
}


/* The task's callback progress. */
static cJSON *
sbx_task_callback_json(cJSON *to, const sbx_task_rec_t *rec)
{
    cJSON  *cb;

    cb = cJSON_AddObjectToObject(to, "callback");

    if (cb == NULL
        || cJSON_AddStringToObject(cb, "url", rec->callback_url) == NULL
        || cJSON_AddStringToObject(cb, "status", rec->callback_status)
           == NULL
        || cJSON_AddNumberToObject(cb, "attempts",
                                   (double) rec->callback_attempts) == NULL
        || (rec->callback_error[0] != '\0'
            && cJSON_AddStringToObject(cb, "last_error", rec->callback_error)
               == NULL))
    {
        return NULL;
    }

    return cb;
}


cJSON *
sbx_task_json(const sbx_task_rec_t *rec, int with_callback)
{
    cJSON  *json, *result, *e;

    json = cJSON_CreateObject();

    if (json == NULL
        || cJSON_AddStringToObject(json, "task_id", rec->id) == NULL
        || cJSON_AddStringToObject(json, "kind", rec->kind) == NULL
        || cJSON_AddStringToObject(json, "status", rec->status) == NULL
        || sbx_task_time(json, "created_at", rec->created_at) == NULL
        || sbx_task_time(json, "started_at", rec->started_at) == NULL
        || sbx_task_time(json, "finished_at", rec->finished_at) == NULL
        || (rec->session_id[0] != '\0'
            && cJSON_AddStringToObject(json, "session_id", rec->session_id)
               == NULL))
    {
        goto failed;
    }

    if (rec->result != NULL) {
        result = cJSON_Parse(rec->result);

        if (!cJSON_IsObject(result)
            || !cJSON_AddItemToObject(json, "result", result))
        {
            cJSON_Delete(result);
            goto failed;
        }
    }

    if (rec->error_code[0] != '\0') {
        e = cJSON_AddObjectToObject(json, "error");

        if (e == NULL
            || cJSON_AddStringToObject(e, "code", rec->error_code) == NULL
            || cJSON_AddStringToObject(e, "message", rec->error_message)
               == NULL)
        {
            goto failed;
        }
    }

    if (with_callback && rec->callback_url[0] != '\0'
        && sbx_task_callback_json(json, rec) == NULL)
    {
        goto failed;
    }

    return json;

failed:

    cJSON_Delete(json);
    return NULL;
}


int
sbx_task_id_valid(const char *s)
{
    size_t  i;

    for (i = 0; i < SBX_TASK_ID_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
        {
            return 0;
        }
    }

    return s[i] == '\0';
}


void
sbx_cancel_watch(sbx_cancel_t *c, int fd)
{
    pthread_mutex_lock(&c->mutex);

    c->fd = fd;

    if (c->cancelled) {
        (void) shutdown(fd, SHUT_RDWR);
    }

    pthread_mutex_unlock(&c->mutex);
}


void
sbx_cancel_unwatch(sbx_cancel_t *c)
{
    pthread_mutex_lock(&c->mutex);
    c->fd = -1;
    pthread_mutex_unlock(&c->mutex);
}


int
sbx_cancelled(sbx_cancel_t *c)
{
    int  cancelled;

    pthread_mutex_lock(&c->mutex);
    cancelled = c->cancelled;
    pthread_mutex_unlock(&c->mutex);

    return cancelled;
}


/* Stops the job's work: the connection it waits on is shut down. */
static void
sbx_cancel_fire(sbx_cancel_t *c)
{
    pthread_mutex_lock(&c->mutex);

    c->cancelled = 1;

    if (c->fd != -1) {
        (void) shutdown(c->fd, SHUT_RDWR);
    }

    pthread_mutex_unlock(&c->mutex);
}


static void
sbx_task_job_free(sbx_task_job_t *job)
{
    pthread_mutex_destroy(&job->cancel.mutex);
    free(job->user);
    free(job->header);
    free(job->body);
    free(job);
}


/* The job of a queued op: its request header is made here. */
static sbx_task_job_t *
sbx_task_job(const char *user, const sbx_task_rec_t *rec, const char *op,
    cJSON *args, const char *body, size_t body_len)
{
    cJSON           *h;
    sbx_task_job_t  *job;
    char             id[sizeof("task:") + SBX_TASK_ID_LEN];

    job = calloc(1, sizeof(sbx_task_job_t));
    if (job == NULL) {
        return NULL;
    }

    job->cancel.fd = -1;
    pthread_mutex_init(&job->cancel.mutex, NULL);

    snprintf(id, sizeof(id), "task:%s", rec->id);

    h = cJSON_CreateObject();

    if (h != NULL
        && cJSON_AddStringToObject(h, "id", id) != NULL
        && cJSON_AddStringToObject(h, "op", op) != NULL
        && cJSON_AddStringToObject(h, "user", user) != NULL
        && cJSON_AddItemReferenceToObject(h, "args", args))
    {
        job->header = cJSON_PrintUnformatted(h);
    }

    cJSON_Delete(h);

    job->user = strdup(user);
    job->body = body_len ? malloc(body_len) : NULL;

    if (job->header == NULL || job->user == NULL
        || (body_len && job->body == NULL))
    {
        sbx_task_job_free(job);
        return NULL;
    }

    memcpy(job->id, rec->id, sizeof(job->id));
    snprintf(job->kind, sizeof(job->kind), "%s", rec->kind);

    if (body_len) {
        memcpy(job->body, body, body_len);
    }

    job->body_len = body_len;
    job->callback = rec->callback_url[0] != '\0';

    return job;
}


int
sbx_task_submit(sbx_ctx_t *ctx, const char *user, const char *kind,
    const char *op, cJSON *args, const char *body, size_t body_len,
    const char *callback_url, sbx_task_rec_t *rec, sbx_error_t *err)
{
    cJSON           *sid;
    sbx_task_job_t  *job;

    memset(rec, 0, sizeof(*rec));

    if (sbx_random_hex(rec->id, SBX_TASK_ID_LEN / 2) != SBX_OK) {
        sbx_error_set(err, SBX_E_INTERNAL, "no randomness for a task id");
        return SBX_ERR;
    }

    snprintf(rec->kind, sizeof(rec->kind), "%s", kind);
    snprintf(rec->callback_url, sizeof(rec->callback_url), "%s",
             callback_url ? callback_url : "");

    sid = cJSON_GetObjectItemCaseSensitive(args, "session_id");
    if (cJSON_IsString(sid)) {
        snprintf(rec->session_id, sizeof(rec->session_id), "%s",
                 sid->valuestring);
    }

    job = sbx_task_job(user, rec, op, args, body, body_len);
    if (job == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    pthread_mutex_lock(&sbx_task_mutex);

    if (sbx_task_stopping || sbx_task_nworkers == 0) {
        pthread_mutex_unlock(&sbx_task_mutex);
        sbx_task_job_free(job);
        sbx_error_set(err, SBX_E_BUSY, "sandboxd is shutting down");
        return SBX_ERR;
    }

    pthread_mutex_unlock(&sbx_task_mutex);

    if (sbx_task_store_create(&ctx->store, user, rec,
                              ctx->conf->max_tasks_per_user, err)
        != SBX_OK)
    {
        sbx_task_job_free(job);
        return SBX_ERR;
    }

    pthread_mutex_lock(&sbx_task_mutex);

    if (sbx_task_stopping) {
        /* too late to run: the stop marks the stored task interrupted */
        pthread_mutex_unlock(&sbx_task_mutex);
        sbx_task_job_free(job);
        return SBX_OK;
    }

    if (sbx_task_tail != NULL) {
        sbx_task_tail->next = job;
    } else {
        sbx_task_head = job;
    }

    sbx_task_tail = job;
    sbx_task_nqueued++;

    pthread_cond_signal(&sbx_task_cond);
    pthread_mutex_unlock(&sbx_task_mutex);

    return SBX_OK;
}


/* The job of id running here, or NULL; under sbx_task_mutex. */
static sbx_task_job_t *
sbx_task_running_job(const char *id)
{
    sbx_task_job_t  *job;

    for (job = sbx_task_running; job != NULL; job = job->next) {
        if (strcmp(job->id, id) == 0) {
            return job;
        }
    }

    return NULL;
}


/* Drops the job of id from the queue when it waits here. */
static void
sbx_task_unqueue(const char *id)
{
    sbx_task_job_t  *job, **pp, *last;

    pthread_mutex_lock(&sbx_task_mutex);

    last = NULL;

    for (pp = &sbx_task_head; *pp != NULL; pp = &(*pp)->next) {
        job = *pp;

        if (strcmp(job->id, id) == 0) {
            *pp = job->next;

            if (sbx_task_tail == job) {
                sbx_task_tail = last;
            }

            sbx_task_nqueued--;
            pthread_mutex_unlock(&sbx_task_mutex);

            sbx_task_job_free(job);
            return;
        }

        last = job;
    }

    pthread_mutex_unlock(&sbx_task_mutex);
}


/* Stops the job of id when it runs here. */
static void
sbx_task_stop_job(const char *id)
{
    sbx_task_job_t  *job;

    pthread_mutex_lock(&sbx_task_mutex);

    job = sbx_task_running_job(id);
    if (job != NULL) {
        sbx_cancel_fire(&job->cancel);
    }

    pthread_mutex_unlock(&sbx_task_mutex);
}


int
sbx_task_cancel(sbx_ctx_t *ctx, const char *user, const char *id,
    sbx_task_rec_t *rec, sbx_error_t *err)
{
    int   found;
    char  prev[SBX_TASK_STATUS_MAX + 1];

    if (sbx_task_store_cancel(&ctx->store, user, id, prev, err) != SBX_OK) {
        return SBX_ERR;
    }

    if (prev[0] == '\0') {
        sbx_error_set(err, SBX_E_NOT_FOUND, "no such task");
        return SBX_ERR;
    }

    if (strcmp(prev, "running") == 0) {
        sbx_task_stop_job(id);

    } else if (strcmp(prev, "queued") == 0) {
        sbx_task_unqueue(id);
    }

    if (sbx_task_store_get(&ctx->store, user, id, rec, &found, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (!found) {
        sbx_error_set(err, SBX_E_NOT_FOUND, "no such task");
        return SBX_ERR;
    }

    if (strcmp(rec->status, "cancelled") != 0) {
        sbx_task_rec_free(rec);
        sbx_error_set(err, SBX_E_CONFLICT, "the task has %s already",
                      strcmp(rec->status, "failed") == 0 ? "failed"
                                                          : "finished");
        return SBX_ERR;
    }

    return SBX_OK;
}


/* Whether a finished op's result is a success of its kind. */
static int
sbx_task_succeeded(const char *kind, cJSON *result)
{
    cJSON  *v;

    if (strcmp(kind, "run") == 0) {
        v = cJSON_GetObjectItemCaseSensitive(result, "status");
        return cJSON_IsString(v) && strcmp(v->valuestring, "ok") == 0;
    }

    v = cJSON_GetObjectItemCaseSensitive(result, "exit_code");

    return cJSON_IsNumber(v) && v->valuedouble == 0
           && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(result, "signal"))
           && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(result,
                                                              "timed_out"));
}


/* Copies the response's body (its iovecs) into rec. */
static int
sbx_task_body(const sbx_response_t *resp, sbx_task_rec_t *rec)
{
    size_t  i, len;

    for (i = 0, len = 0; i < resp->nbody; i++) {
        len += resp->body[i].iov_len;
    }

    if (len == 0) {
        return SBX_OK;
    }

    rec->body = malloc(len);
    if (rec->body == NULL) {
        return SBX_ERR;
    }

    for (i = 0; i < resp->nbody; i++) {
        if (resp->body[i].iov_len != 0) {
            memcpy(rec->body + rec->body_len, resp->body[i].iov_base,
                   resp->body[i].iov_len);
            rec->body_len += resp->body[i].iov_len;
        }
    }

    return SBX_OK;
}


static void
sbx_task_error(sbx_task_rec_t *rec, const char *code, const char *message)
{
    snprintf(rec->status, sizeof(rec->status), "failed");
    snprintf(rec->error_code, sizeof(rec->error_code), "%s", code);
    snprintf(rec->error_message, sizeof(rec->error_message), "%s", message);
}


/* The outcome of the job's op, from its response, into rec. */
static void
sbx_task_outcome(sbx_task_job_t *job, sbx_response_t *resp,
    sbx_task_rec_t *rec)
{
    cJSON  *result, *e, *sid;

    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp->header, "ok")))
    {
        e = cJSON_GetObjectItemCaseSensitive(resp->header, "error");
        sbx_task_error(rec,
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "code")),
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e,
                                                                  "message")));
        return;
    }

    result = cJSON_GetObjectItemCaseSensitive(resp->header, "result");
    rec->result = cJSON_PrintUnformatted(result);

    if (rec->result == NULL || sbx_task_body(resp, rec) != SBX_OK) {
        sbx_task_rec_free(rec);
        sbx_task_error(rec, SBX_E_INTERNAL, "out of memory");
        return;
    }

    sid = cJSON_GetObjectItemCaseSensitive(result, "session_id");
    if (cJSON_IsString(sid)) {
        snprintf(rec->session_id, sizeof(rec->session_id), "%s",
                 sid->valuestring);
    }

    snprintf(rec->status, sizeof(rec->status), "%s",
             sbx_task_succeeded(job->kind, result) ? "succeeded" : "failed");
}


/* Runs a job that the store let start, and stores how it ended. */
static void
sbx_task_run(sbx_ctx_t *ctx, sbx_task_job_t *job)
{
    int              finished;
    sbx_error_t      err;
    sbx_task_rec_t   rec;
    sbx_response_t   resp;

    memset(&rec, 0, sizeof(rec));
    memcpy(rec.id, job->id, sizeof(rec.id));

    ctx->cancel = &job->cancel;

    sbx_ops_handle(ctx, job->header, strlen(job->header), job->body,
                   job->body_len, &resp);

    ctx->cancel = NULL;

    sbx_task_outcome(job, &resp, &rec);
    sbx_response_free(&resp);

    pthread_mutex_lock(&sbx_task_mutex);

    if (sbx_task_stopping && sbx_cancelled(&job->cancel)) {
        sbx_task_rec_free(&rec);
        sbx_task_error(&rec, SBX_E_INTERRUPTED, "sandboxd stopped while the "
                       "task ran; its outcome is unknown");
    }

    pthread_mutex_unlock(&sbx_task_mutex);

    if (sbx_task_store_finish(&ctx->store, job->user, &rec, &finished, &err)
        != SBX_OK)
    {
        sbx_log_error("task %s: its outcome is lost: %s", job->id, err.msg);

    } else if (finished && job->callback) {
        sbx_callback_queue(job->user, job->id);
    }

    sbx_task_rec_free(&rec);
}


/* The next queued job, moved to the running list; NULL to stop. */
static sbx_task_job_t *
sbx_task_next(void)
{
    sbx_task_job_t  *job;

    pthread_mutex_lock(&sbx_task_mutex);

    while (sbx_task_head == NULL && !sbx_task_stopping) {
        pthread_cond_wait(&sbx_task_cond, &sbx_task_mutex);
    }

    job = sbx_task_stopping ? NULL : sbx_task_head;

    if (job != NULL) {
        sbx_task_head = job->next;

        if (sbx_task_head == NULL) {
            sbx_task_tail = NULL;
        }

        sbx_task_nqueued--;

        job->prev = NULL;
        job->next = sbx_task_running;

        if (sbx_task_running != NULL) {
            sbx_task_running->prev = job;
        }

        sbx_task_running = job;
        sbx_task_nrunning++;
    }

    pthread_mutex_unlock(&sbx_task_mutex);

    return job;
}


static void
sbx_task_done(sbx_task_job_t *job)
{
    pthread_mutex_lock(&sbx_task_mutex);

    if (job->prev != NULL) {
        job->prev->next = job->next;
    } else {
        sbx_task_running = job->next;
    }

    if (job->next != NULL) {
        job->next->prev = job->prev;
    }

    sbx_task_nrunning--;

    pthread_mutex_unlock(&sbx_task_mutex);

    sbx_task_job_free(job);
}


static void *
sbx_task_worker(void *data)
{
    const sbx_config_t  *boot = data, *conf;
    sbx_task_job_t      *job;
    sbx_error_t          err;
    sbx_ctx_t            ctx;
    int                  started;

    sbx_ctx_init(&ctx, boot);

    while ((job = sbx_task_next()) != NULL) {
        conf = sbx_confgen_acquire();
        sbx_ctx_use(&ctx, conf);

        if (sbx_task_store_start(&ctx.store, job->user, job->id, &started,
                                 &err)
            != SBX_OK)
        {
            sbx_log_error("task %s: cannot start: %s", job->id, err.msg);

        } else if (started) {
            sbx_task_run(&ctx, job);
        }

        sbx_ctx_use(&ctx, boot);
        sbx_confgen_release(conf);

        sbx_task_done(job);
    }

    sbx_docker_cleanup(&ctx.docker);
    sbx_store_cleanup(&ctx.store);

    return NULL;
}


/*
 * With Redis, a task may be cancelled through another sandboxd: the
 * status of each task running here is read once a second.
 */
static void *
sbx_task_watch(void *data)
{
    const sbx_config_t  *boot = data;
    sbx_task_job_t      *job;
    sbx_task_rec_t       rec;
    sbx_error_t          err;
    struct timespec      ts;
    sbx_ctx_t            ctx;
    size_t               i, n;
    int                  found;
    char               (*ids)[SBX_TASK_ID_LEN + 1];
    char               **users;

    sbx_ctx_init(&ctx, boot);

    pthread_mutex_lock(&sbx_task_mutex);

    while (!sbx_task_stopping) {
        sbx_time_after(CLOCK_REALTIME, SBX_TASK_WATCH_MS, &ts);
        (void) pthread_cond_timedwait(&sbx_task_watch_cond, &sbx_task_mutex,
                                      &ts);

        n = sbx_task_nrunning;
        ids = calloc(n + 1, sizeof(*ids));
        users = calloc(n + 1, sizeof(char *));

        for (job = sbx_task_running, i = 0;
             job != NULL && i < n && ids && users;
             job = job->next, i++)
        {
            memcpy(ids[i], job->id, sizeof(ids[i]));
            users[i] = strdup(job->user);
        }

        pthread_mutex_unlock(&sbx_task_mutex);

        for (i = 0; i < n && ids && users; i++) {
            if (users[i] != NULL
                && sbx_task_store_get(&ctx.store, users[i], ids[i], &rec,
                                      &found, &err) == SBX_OK)
            {
                if (found && strcmp(rec.status, "cancelled") == 0) {
                    sbx_task_stop_job(ids[i]);
                }

                sbx_task_rec_free(&rec);
            }

            free(users[i]);
        }

        free(ids);
        free(users);

        pthread_mutex_lock(&sbx_task_mutex);
    }

    pthread_mutex_unlock(&sbx_task_mutex);

    sbx_store_cleanup(&ctx.store);
    sbx_docker_cleanup(&ctx.docker);

    return NULL;
}


int
sbx_tasks_start(const sbx_config_t *conf)
{
    size_t       n;
    unsigned     i;
    sbx_error_t  err;
    sbx_ctx_t    ctx;

    sbx_ctx_init(&ctx, conf);

    if (sbx_task_store_interrupt(&ctx.store, "sandboxd restarted while the "
                                 "task was queued or running; its outcome "
                                 "is unknown", &n, &err)
        != SBX_OK)
    {
        sbx_log_warn("tasks left by the last run are not marked: %s",
                     err.msg);

    } else if (n != 0) {
        sbx_log_warn("%zu task(s) left queued or running by the last run "
                     "marked failed (interrupted)", n);
    }

    sbx_store_cleanup(&ctx.store);
    sbx_docker_cleanup(&ctx.docker);

    for (i = 0; i < conf->task_workers && i < SBX_TASK_WORKERS_MAX; i++) {
        if (pthread_create(&sbx_task_tids[i], NULL, sbx_task_worker,
                           (void *) conf) != 0)
        {
            sbx_log_error("cannot start a task worker: %s", strerror(errno));
            break;
        }
    }

    pthread_mutex_lock(&sbx_task_mutex);
    sbx_task_nworkers = i;
    pthread_mutex_unlock(&sbx_task_mutex);

    if (!ctx.store.memory && i != 0
        && pthread_create(&sbx_task_watch_tid, NULL, sbx_task_watch,
                          (void *) conf) == 0)
    {
        sbx_task_watching = 1;
    }

    return i != 0 || conf->task_workers == 0 ? SBX_OK : SBX_ERR;
}


/* Drops the queued jobs: they are marked interrupted in the store. */
static void
sbx_task_drop_queued(void)
{
    sbx_task_job_t  *job;

    pthread_mutex_lock(&sbx_task_mutex);

    while ((job = sbx_task_head) != NULL) {
        sbx_task_head = job->next;
        sbx_task_job_free(job);
    }

    sbx_task_tail = NULL;
    sbx_task_nqueued = 0;

    pthread_mutex_unlock(&sbx_task_mutex);
}


int
sbx_tasks_stop(const struct timespec *deadline)
{
    int              rc;
    size_t           n;
    unsigned         i;
    sbx_task_job_t  *job;
    sbx_error_t      err;
    sbx_ctx_t        ctx;
    struct timespec  cut;

    pthread_mutex_lock(&sbx_task_mutex);
    sbx_task_stopping = 1;
    pthread_cond_broadcast(&sbx_task_cond);
    pthread_cond_broadcast(&sbx_task_watch_cond);
    pthread_mutex_unlock(&sbx_task_mutex);

    sbx_task_drop_queued();

    rc = SBX_OK;

    for (i = 0; i < sbx_task_nworkers; i++) {
        if (pthread_timedjoin_np(sbx_task_tids[i], NULL, deadline) == 0) {
            continue;
        }

        /* past the grace: the running tasks are cut short */

        pthread_mutex_lock(&sbx_task_mutex);

        for (job = sbx_task_running; job != NULL; job = job->next) {
            sbx_cancel_fire(&job->cancel);
        }

        pthread_mutex_unlock(&sbx_task_mutex);

        sbx_time_after(CLOCK_REALTIME, 2000, &cut);

        if (pthread_timedjoin_np(sbx_task_tids[i], NULL, &cut) != 0) {
            sbx_log_warn("a task worker is still running");
            rc = SBX_ERR;
        }
    }

    if (sbx_task_watching) {
        (void) pthread_join(sbx_task_watch_tid, NULL);
    }

    sbx_ctx_init(&ctx, sbx_confgen_acquire());

    if (sbx_task_store_interrupt(&ctx.store, "sandboxd stopped before the "
                                 "task finished", &n, &err)
        != SBX_OK)
    {
        sbx_log_warn("the queued tasks are not marked: %s", err.msg);
    }

    sbx_store_cleanup(&ctx.store);
    sbx_confgen_release(ctx.conf);

    sbx_task_mem_free();

    return rc;
}


void
sbx_tasks_report(cJSON *to)
{
    cJSON  *t;

    t = cJSON_AddObjectToObject(to, "tasks");
    if (t == NULL) {
        return;
    }

    pthread_mutex_lock(&sbx_task_mutex);

    cJSON_AddNumberToObject(t, "queued", (double) sbx_task_nqueued);
    cJSON_AddNumberToObject(t, "running", (double) sbx_task_nrunning);
    cJSON_AddNumberToObject(t, "workers", (double) sbx_task_nworkers);

    pthread_mutex_unlock(&sbx_task_mutex);
}
