
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Where tasks are kept (sbx_task.h).  In Redis, each change of state is
 * one Lua script, atomic, in Redis's clock:
 *
 *   <prefix>task:<id>                      HASH, TTL task_ttl: user, kind,
 *       status, instance, session_id, created_at, started_at,
 *       finished_at (ms), result, body, error_code, error_message,
 *       callback_url, callback_status, callback_attempts, callback_error
 *   <prefix>user:<len(user)>:<user>:tasks  ZSET id by expiry (ms): the
 *       user's queued and running tasks, for max_tasks_per_user
 *   <prefix>instance:<instance>:tasks      SET id: the queued and running
 *       tasks of that sandboxd, for the marking at its next start
 *
 * Without redis_host the same records live in this process
 * (sbx_task_store_mem.c), and die with it.  A task of another user is not
 * found.
 */


#ifndef SBX_TASK_STORE_H
#define SBX_TASK_STORE_H


#include "sbx_store.h"
#include "sbx_task.h"


/*
 * Stores rec (its id, kind, session_id and callback_url) as a new queued
 * task of user, created now (rec->created_at), unless the user has
 * max_active (0: no limit) queued and running: task_quota_exceeded.
 */
int sbx_task_store_create(sbx_store_t *st, const char *user,
    sbx_task_rec_t *rec, uint64_t max_active, sbx_error_t *err);

/*
 * Makes a queued task running: *started says whether it was queued (it
 * may have been cancelled meanwhile).
 */
int sbx_task_store_start(sbx_store_t *st, const char *user, const char *id,
    int *started, sbx_error_t *err);

/*
 * Records the outcome of a running task (rec's status, session_id,
 * result, body, error) and renews its TTL; *finished is 0 when it was no
 * longer running (cancelled), and then nothing changes.
 */
int sbx_task_store_finish(sbx_store_t *st, const char *user,
    const sbx_task_rec_t *rec, int *finished, sbx_error_t *err);

/* Reads the user's task into rec (freed with sbx_task_rec_free()). */
int sbx_task_store_get(sbx_store_t *st, const char *user, const char *id,
    sbx_task_rec_t *rec, int *found, sbx_error_t *err);

/*
 * Cancels a queued or running task; prev gets the status it had
 * (SBX_TASK_STATUS_MAX + 1 bytes), "" when there is no such task.
 */
int sbx_task_store_cancel(sbx_store_t *st, const char *user, const char *id,
    char *prev, sbx_error_t *err);

/* Records a callback's progress; a task that expired is left alone. */
int sbx_task_store_callback(sbx_store_t *st, const char *user,
    const char *id, const char *status, int64_t attempts, const char *error,
    sbx_error_t *err);

/*
 * Marks every queued or running task of this instance failed, with error
 * interrupted and message why; *n gets how many.
 */
int sbx_task_store_interrupt(sbx_store_t *st, const char *why, size_t *n,
    sbx_error_t *err);


/* The memory backend (sbx_task_store_mem.c), same contracts. */
int sbx_task_mem_create(const sbx_config_t *conf, const char *user,
    sbx_task_rec_t *rec, uint64_t max_active, sbx_error_t *err);
int sbx_task_mem_start(const char *user, const char *id, int *started);
int sbx_task_mem_finish(const sbx_config_t *conf, const char *user,
    const sbx_task_rec_t *rec, int *finished, sbx_error_t *err);
int sbx_task_mem_get(const char *user, const char *id, sbx_task_rec_t *rec,
    int *found, sbx_error_t *err);
void sbx_task_mem_cancel(const char *user, const char *id, char *prev);
void sbx_task_mem_callback(const char *user, const char *id,
    const char *status, int64_t attempts, const char *error);
void sbx_task_mem_free(void);


#endif /* SBX_TASK_STORE_H */
