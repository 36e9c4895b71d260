
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Async tasks: an op ("exec", "run" or "install") accepted now and run
 * later by one of task_workers threads, its outcome kept with the task
 * for task_ttl seconds.  The record lives in the store (sbx_task_store.c:
 * Redis, or this process's memory); the queue and the running tasks'
 * cancellation live in the sandboxd that accepted them (sbx_task.c).  A
 * sandboxd that starts marks the tasks its instance left queued or
 * running as failed ("interrupted"): nobody will finish them.
 */


#ifndef SBX_TASK_H
#define SBX_TASK_H


#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sbx_ctx.h"


#define SBX_TASK_ID_LEN       32        /* hex digits: 128 random bits */
#define SBX_TASK_URL_MAX      2048
#define SBX_TASK_KIND_MAX     15
#define SBX_TASK_STATUS_MAX   15

#define SBX_E_TASK_QUOTA      "task_quota_exceeded"
#define SBX_E_INTERRUPTED     "interrupted"


/* A task as the store keeps it. */
typedef struct {
    char      id[SBX_TASK_ID_LEN + 1];
    char      kind[SBX_TASK_KIND_MAX + 1];     /* execute, run, install */
    char      status[SBX_TASK_STATUS_MAX + 1];
    char      session_id[SBX_SESSION_ID_MAX + 1];   /* "" when none */
    int64_t   created_at;                      /* ms; 0: not yet */
    int64_t   started_at;
    int64_t   finished_at;
    char     *result;                          /* the op result's JSON */
    char     *body;                            /* and its body */
    size_t    body_len;
    char      error_code[32];                  /* "" when none */
    char      error_message[256];
    char      callback_url[SBX_TASK_URL_MAX + 1];   /* "" when none */
    char      callback_status[SBX_TASK_STATUS_MAX + 1];
    int64_t   callback_attempts;
    char      callback_error[160];
} sbx_task_rec_t;


/*
 * What stops a running task's work at once (ctx->cancel while a task
 * runs): the connection it waits on is shut down, so that the agent at
 * the other end kills the command.
 */
typedef struct sbx_cancel_s {
    pthread_mutex_t  mutex;
    int              cancelled;
    int              fd;                       /* -1: none */
} sbx_cancel_t;


/* Frees what rec owns (not rec). */
void sbx_task_rec_free(sbx_task_rec_t *rec);

/*
 * The task as task.get answers it (docs/PROTOCOL.md): times in ms, the
 * op's result parsed; its "callback" progress with with_callback.
 */
cJSON *sbx_task_json(const sbx_task_rec_t *rec, int with_callback);

/* Whether s is a task id: SBX_TASK_ID_LEN lowercase hex digits. */
int sbx_task_id_valid(const char *s);

/* The callers of blocking waits (sbx_agent_rpc.c). */
void sbx_cancel_watch(sbx_cancel_t *c, int fd);
void sbx_cancel_unwatch(sbx_cancel_t *c);
int sbx_cancelled(sbx_cancel_t *c);

/* Starts task_workers threads and marks what the last run left behind. */
int sbx_tasks_start(const sbx_config_t *conf);

/*
 * At shutdown: the tasks still queued are marked interrupted, the running
 * ones are cancelled and waited for until the deadline (CLOCK_REALTIME).
 */
int sbx_tasks_stop(const struct timespec *deadline);

/*
 * Queues an op of user (its "args" header member, and its body) as a new
 * task of kind, which rec describes once stored (status queued).  The
 * op's arguments are checked by the caller.  task_quota_exceeded past
 * max_tasks_per_user queued and running.
 */
int sbx_task_submit(sbx_ctx_t *ctx, const char *user, const char *kind,
    const char *op, cJSON *args, const char *body, size_t body_len,
    const char *callback_url, sbx_task_rec_t *rec, sbx_error_t *err);

/*
 * Cancels the task: a queued one never runs, a running one is stopped
 * (here, or by the sandboxd that runs it, within a second).  rec gets the
 * task as it is then; conflict when it had finished already.
 */
int sbx_task_cancel(sbx_ctx_t *ctx, const char *user, const char *id,
    sbx_task_rec_t *rec, sbx_error_t *err);

/* The queued and running tasks of this sandboxd, for /ready. */
void sbx_tasks_report(cJSON *to);


#endif /* SBX_TASK_H */
