
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The memory backend of the task store (sbx_task_store.h): a list behind
 * one mutex, newest first.  A task is dropped task_ttl after it was made
 * or finished; at most SBX_TASK_MEM_MAX are kept, the oldest finished
 * ones going first.
 */


#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_task_store.h"


#define SBX_TASK_MEM_MAX  10000


typedef struct sbx_task_mem_s  sbx_task_mem_t;

struct sbx_task_mem_s {
    sbx_task_mem_t  *next;
    char            *user;
    int64_t          expires;        /* monotonic ms */
    sbx_task_rec_t   rec;
};


static pthread_mutex_t   sbx_task_mem_mutex = PTHREAD_MUTEX_INITIALIZER;
static sbx_task_mem_t   *sbx_task_mem_list;
static size_t            sbx_task_mem_n;


static int64_t
sbx_task_mem_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int
sbx_task_mem_active(const sbx_task_rec_t *rec)
{
    return strcmp(rec->status, "queued") == 0
           || strcmp(rec->status, "running") == 0;
}


static void
sbx_task_mem_drop(sbx_task_mem_t **pp)
{
    sbx_task_mem_t  *t = *pp;

    *pp = t->next;
    sbx_task_rec_free(&t->rec);
    free(t->user);
    free(t);
    sbx_task_mem_n--;
}


/* Drops the expired tasks, then the oldest finished ones over the cap. */
static void
sbx_task_mem_sweep(void)
{
    int64_t           now;
    sbx_task_mem_t  **pp, **oldest;

    now = sbx_time_mono_ms();

    for (pp = &sbx_task_mem_list; *pp != NULL; /* void */) {
        if ((*pp)->expires <= now) {
            sbx_task_mem_drop(pp);
        } else {
            pp = &(*pp)->next;
        }
    }

    while (sbx_task_mem_n >= SBX_TASK_MEM_MAX) {
        oldest = NULL;

        for (pp = &sbx_task_mem_list; *pp != NULL; pp = &(*pp)->next) {
            if (!sbx_task_mem_active(&(*pp)->rec)) {
                oldest = pp;
            }
        }

        if (oldest == NULL) {
            break;
        }

        sbx_task_mem_drop(oldest);
    }
}


static sbx_task_mem_t *
sbx_task_mem_find(const char *user, const char *id)
{
    int64_t          now;
    sbx_task_mem_t  *t;

    now = sbx_time_mono_ms();

    for (t = sbx_task_mem_list; t != NULL; t = t->next) {
        if (strcmp(t->rec.id, id) == 0) {
            return (strcmp(t->user, user) == 0 && t->expires > now) ? t
                                                                     : NULL;
        }
    }

    return NULL;
}


int
sbx_task_mem_create(const sbx_config_t *conf, const char *user,
    sbx_task_rec_t *rec, uint64_t max_active, sbx_error_t *err)
{
    uint64_t         n;
    sbx_task_mem_t  *t;

    pthread_mutex_lock(&sbx_task_mem_mutex);

    sbx_task_mem_sweep();

    n = 0;

    for (t = sbx_task_mem_list; t != NULL; t = t->next) {
        n += strcmp(t->user, user) == 0 && sbx_task_mem_active(&t->rec);
    }

    if (max_active != 0 && n >= max_active) {
        pthread_mutex_unlock(&sbx_task_mem_mutex);
        sbx_error_set(err, SBX_E_TASK_QUOTA, "%llu tasks are queued or "
                      "running already (max_tasks_per_user)",
                      (unsigned long long) max_active);
        return SBX_ERR;
    }

    if (sbx_task_mem_n >= SBX_TASK_MEM_MAX) {
        pthread_mutex_unlock(&sbx_task_mem_mutex);
        sbx_error_set(err, SBX_E_TASK_QUOTA, "this sandboxd holds %d tasks "
                      "already", SBX_TASK_MEM_MAX);
        return SBX_ERR;
    }

    t = calloc(1, sizeof(sbx_task_mem_t));

    if (t == NULL || (t->user = strdup(user)) == NULL) {
        pthread_mutex_unlock(&sbx_task_mem_mutex);
        free(t);
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    snprintf(rec->status, sizeof(rec->status), "queued");
    rec->created_at = sbx_task_mem_now();

    if (rec->callback_url[0] != '\0') {
        snprintf(rec->callback_status, sizeof(rec->callback_status),
                 "pending");
    }

    t->rec = *rec;
    t->rec.result = NULL;
    t->rec.body = NULL;
    t->expires = sbx_time_mono_ms() + (int64_t) conf->task_ttl * 1000;
    t->next = sbx_task_mem_list;
    sbx_task_mem_list = t;
    sbx_task_mem_n++;

    pthread_mutex_unlock(&sbx_task_mem_mutex);

    return SBX_OK;
}


int
sbx_task_mem_start(const char *user, const char *id, int *started)
{
    sbx_task_mem_t  *t;

    pthread_mutex_lock(&sbx_task_mem_mutex);

    t = sbx_task_mem_find(user, id);
    *started = t != NULL && strcmp(t->rec.status, "queued") == 0;

    if (*started) {
        snprintf(t->rec.status, sizeof(t->rec.status), "running");
        t->rec.started_at = sbx_task_mem_now();
    }

    pthread_mutex_unlock(&sbx_task_mem_mutex);

    return SBX_OK;
}


/* Copies len bytes of src (NULL: none) into *dst, NUL-terminated. */
static int
sbx_task_mem_copy(char **dst, const char *src, size_t len)
{
    if (src == NULL) {
        *dst = NULL;
        return SBX_OK;
    }

    *dst = malloc(len + 1);
    if (*dst == NULL) {
        return SBX_ERR;
    }

    memcpy(*dst, src, len);
    (*dst)[len] = '\0';

    return SBX_OK;
}


int
sbx_task_mem_finish(const sbx_config_t *conf, const char *user,
    const sbx_task_rec_t *rec, int *finished, sbx_error_t *err)
{
    char            *result, *body;
    sbx_task_mem_t  *t;

    if (sbx_task_mem_copy(&result, rec->result,
                          rec->result ? strlen(rec->result) : 0) != SBX_OK
        || sbx_task_mem_copy(&body, rec->body, rec->body_len) != SBX_OK)
    {
        free(result);
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    pthread_mutex_lock(&sbx_task_mem_mutex);

    t = sbx_task_mem_find(user, rec->id);
    *finished = t != NULL && strcmp(t->rec.status, "running") == 0;

    if (*finished) {
        snprintf(t->rec.status, sizeof(t->rec.status), "%s", rec->status);
        snprintf(t->rec.session_id, sizeof(t->rec.session_id), "%s",
                 rec->session_id);
        snprintf(t->rec.error_code, sizeof(t->rec.error_code), "%s",
                 rec->error_code);
        snprintf(t->rec.error_message, sizeof(t->rec.error_message), "%s",
                 rec->error_message);
        t->rec.finished_at = sbx_task_mem_now();
        t->rec.result = result;
        t->rec.body = body;
        t->rec.body_len = rec->body_len;
        t->expires = sbx_time_mono_ms() + (int64_t) conf->task_ttl * 1000;
        result = NULL;
        body = NULL;
    }

    pthread_mutex_unlock(&sbx_task_mem_mutex);

    free(result);
    free(body);

    return SBX_OK;
}


int
sbx_task_mem_get(const char *user, const char *id, sbx_task_rec_t *rec,
    int *found, sbx_error_t *err)
{
    int              rc;
    sbx_task_mem_t  *t;

    rc = SBX_OK;

    pthread_mutex_lock(&sbx_task_mem_mutex);

    t = sbx_task_mem_find(user, id);
    *found = t != NULL;

    if (t != NULL) {
        *rec = t->rec;

        if (sbx_task_mem_copy(&rec->result, t->rec.result,
                              t->rec.result ? strlen(t->rec.result) : 0)
            != SBX_OK
            || sbx_task_mem_copy(&rec->body, t->rec.body, t->rec.body_len)
               != SBX_OK)
        {
            rc = SBX_ERR;
        }
    }

    pthread_mutex_unlock(&sbx_task_mem_mutex);

    if (rc != SBX_OK) {
        sbx_task_rec_free(rec);
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
    }

    return rc;
}


void
sbx_task_mem_cancel(const char *user, const char *id, char *prev)
{
    sbx_task_mem_t  *t;

    pthread_mutex_lock(&sbx_task_mem_mutex);

    t = sbx_task_mem_find(user, id);

    if (t != NULL) {
        snprintf(prev, SBX_TASK_STATUS_MAX + 1, "%s", t->rec.status);

        if (sbx_task_mem_active(&t->rec)) {
            snprintf(t->rec.status, sizeof(t->rec.status), "cancelled");
            t->rec.finished_at = sbx_task_mem_now();
        }
    }

    pthread_mutex_unlock(&sbx_task_mem_mutex);
}


void
sbx_task_mem_callback(const char *user, const char *id, const char *status,
    int64_t attempts, const char *error)
{
    sbx_task_mem_t  *t;

    pthread_mutex_lock(&sbx_task_mem_mutex);

    t = sbx_task_mem_find(user, id);

    if (t != NULL) {
        snprintf(t->rec.callback_status, sizeof(t->rec.callback_status),
                 "%s", status);
        snprintf(t->rec.callback_error, sizeof(t->rec.callback_error), "%s",
                 error);
        t->rec.callback_attempts = attempts;
    }

    pthread_mutex_unlock(&sbx_task_mem_mutex);
}


void
sbx_task_mem_free(void)
{
    pthread_mutex_lock(&sbx_task_mem_mutex);

    while (sbx_task_mem_list != NULL) {
        sbx_task_mem_drop(&sbx_task_mem_list);
    }

    pthread_mutex_unlock(&sbx_task_mem_mutex);
}
