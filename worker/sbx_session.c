
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sbx_agent.h"
#include "sbx_capacity.h"
#include "sbx_log.h"
#include "sbx_quota.h"
#include "sbx_session.h"
#include "sbx_store_gc.h"


#define SBX_SESSION_STRIPES  64


static pthread_mutex_t  sbx_session_stripes[SBX_SESSION_STRIPES] = {
#define SBX_M4  PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,        \
                PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
#define SBX_M16 SBX_M4, SBX_M4, SBX_M4, SBX_M4
    SBX_M16, SBX_M16, SBX_M16, SBX_M16
#undef SBX_M16
#undef SBX_M4
};


/* FNV-1a over user "\0" session. */
static pthread_mutex_t *
sbx_session_stripe(const char *user, const char *session_id)
{
    uint32_t     h = 2166136261u;
    const char  *p;

    for (p = user; *p; p++) {
        h = (h ^ (unsigned char) *p) * 16777619u;
    }

    h = (h ^ 0) * 16777619u;

    for (p = session_id; *p; p++) {
        h = (h ^ (unsigned char) *p) * 16777619u;
    }

    return &sbx_session_stripes[h % SBX_SESSION_STRIPES];
}


void
sbx_session_lock(const char *user, const char *session_id)
{
    pthread_mutex_lock(sbx_session_stripe(user, session_id));
}


void
sbx_session_unlock(const char *user, const char *session_id)
{
    pthread_mutex_unlock(sbx_session_stripe(user, session_id));
}


/*
 * Creates the container of a session, with its agent channel when the
 * agent is on: the channel listens before the container starts, and
 * accepts its PID 1 once the container is inspected.
 */
static int
sbx_session_create_container(sbx_ctx_t *ctx, const char *user,
    const char *session_id, int persist, sbx_session_rec_t *rec,
    sbx_error_t *err)
{
    char         run[4096];
    const char  *agent_run;
    long         pid;
    int          agent;
    sbx_error_t  rm_err;

    agent_run = NULL;

    if (sbx_agent_enabled()) {
        if (sbx_agent_run_dir(rec->container_name, run, sizeof(run))
            != SBX_OK)
        {
            sbx_error_set(err, SBX_E_INTERNAL, "agent_dir is too long");
            return SBX_ERR;
        }

        if (sbx_agent_prepare(rec->container_name, err) != SBX_OK) {
            return SBX_ERR;
        }

        agent_run = run;
    }

    if (sbx_docker_create_session(&ctx->docker, user, session_id,
                                  rec->container_name, agent_run,
                                  persist < 0
                                  ? (int) ctx->conf->workspace_persist_volumes
                                  : persist,
                                  rec->container_id, err)
        != SBX_OK)
    {
        sbx_agent_forget(rec->container_name);
        return SBX_ERR;
    }

    if (agent_run == NULL) {
        return SBX_OK;
    }

    if (sbx_docker_inspect_init(&ctx->docker, rec->container_id, &pid,
                                &agent, err)
        != SBX_OK)
    {
        if (sbx_docker_remove(&ctx->docker, rec->container_id, &rm_err)
            != SBX_OK)
        {
            sbx_log_error("cannot remove container %s: %s",
                          rec->container_name, rm_err.msg);
        }
        sbx_agent_forget(rec->container_name);
        return SBX_ERR;
    }

    /* a reused container may predate the agent: it has none then */
    sbx_agent_attach(rec->container_name, rec->container_id,
                     agent ? (pid_t) pid : 0);

    return SBX_OK;
}


/* Creates the container and writes the record; the stripe is held. */
static int
sbx_session_create_admitted(sbx_ctx_t *ctx, const char *user,
    const char *session_id, int persist, sbx_session_rec_t *rec,
    sbx_error_t *err)
{
    sbx_error_t  rm_err;

    if (sbx_session_create_container(ctx, user, session_id, persist, rec,
                                     err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    rec->created_at = sbx_time_now();
    rec->last_used_at = rec->created_at;

    if (sbx_store_put(&ctx->store, user, rec, err) != SBX_OK) {
        sbx_log_error("session \"%s\": cannot write its record (%s), "
                      "removing container %s", session_id, err->msg,
                      rec->container_name);

        if (sbx_docker_remove(&ctx->docker, rec->container_id, &rm_err)
            != SBX_OK)
        {
            sbx_log_error("cannot remove container %s: %s",
                          rec->container_name, rm_err.msg);
        }

        sbx_agent_forget(rec->container_name);
        err->code = SBX_E_STORE_UNAVAILABLE;
        return SBX_ERR;
    }

    sbx_log_info("session \"%s\": container %s created", session_id,
                 rec->container_name);

    return SBX_OK;
}


/*
 * The user's session quota, then the host's container cap, admit the new
 * session before anything of it is made; a refusal or a failure gives
 * both places back.
 */
static int
sbx_session_create_locked(sbx_ctx_t *ctx, const char *user,
    const char *session_id, int persist, sbx_session_rec_t *rec,
    sbx_error_t *err)
{
    int  rc, reserved;

    memset(rec, 0, sizeof(*rec));
    snprintf(rec->session_id, sizeof(rec->session_id), "%s", session_id);

    if (sbx_container_name(ctx->conf->instance, user, session_id,
                           rec->container_name)
        != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "cannot hash the session name");
        return SBX_ERR;
    }

    if (sbx_quota_session_reserve(ctx, user, session_id, &reserved, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    rc = sbx_capacity_reserve(ctx, rec->container_name, err);

    if (rc == SBX_OK) {
        rc = sbx_session_create_admitted(ctx, user, session_id, persist, rec,
                                         err);
        sbx_capacity_release(ctx, rec->container_name);
    }

    if (rc != SBX_OK && reserved) {
        sbx_quota_session_release(ctx, user, session_id);
    }

    return rc;
}


/*
 * A session with no record: session_lost when the cleanup loop removed it
 * while it was live (too old, or its container gone), once; the next call
 * makes it anew.
 */
static int
sbx_session_not_lost(sbx_ctx_t *ctx, const char *user,
    const char *session_id, sbx_error_t *err)
{
    char  reason[SBX_LOST_REASON_MAX + 1];

    if (sbx_store_take_lost(&ctx->store, user, session_id, reason, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (reason[0] == '\0') {
        return SBX_OK;
    }

    sbx_error_set(err, SBX_E_SESSION_LOST, "the session's sandbox was "
                  "removed (%s); create the session again",
                  strcmp(reason, SBX_LOST_MAX_AGE) == 0
                  ? "it reached the maximum container age"
                  : "its container was gone");

    return SBX_ERR;
}


int
sbx_session_acquire(sbx_ctx_t *ctx, const char *user, const char *session_id,
    int persist, sbx_session_rec_t *rec, int *created, sbx_error_t *err)
{
    char     gen[33];
    int      found, rc;
    int64_t  now;

    if (session_id == NULL) {
        if (sbx_random_hex(gen, 16) != SBX_OK) {
            sbx_error_set(err, SBX_E_INTERNAL, "no randomness");
            return SBX_ERR;
        }
        session_id = gen;
    }

    *created = 0;

    sbx_session_lock(user, session_id);

    rc = sbx_store_get(&ctx->store, user, session_id, rec, &found, err);

    if (rc == SBX_OK && found) {
        now = sbx_time_now();
        rc = sbx_store_touch(&ctx->store, user, session_id, now, &found,
                             err);
        rec->last_used_at = now;
    }

    if (rc == SBX_OK && !found) {
        rc = sbx_session_not_lost(ctx, user, session_id, err);
    }

    if (rc == SBX_OK && !found) {
        rc = sbx_session_create_locked(ctx, user, session_id, persist, rec,
                                       err);
        *created = rc == SBX_OK;
    }

    sbx_session_unlock(user, session_id);

    return rc;
}


int
sbx_session_get(sbx_ctx_t *ctx, const char *user, const char *session_id,
    sbx_session_rec_t *rec, sbx_error_t *err)
{
    int      found;
    int64_t  now;

    if (sbx_store_get(&ctx->store, user, session_id, rec, &found, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (found) {
        now = sbx_time_now();
        if (sbx_store_touch(&ctx->store, user, session_id, now, &found, err)
            != SBX_OK)
        {
            return SBX_ERR;
        }
        rec->last_used_at = now;
    }

    if (!found) {
        if (sbx_session_not_lost(ctx, user, session_id, err) == SBX_OK) {
            sbx_error_set(err, SBX_E_NOT_FOUND, "session not found");
        }
        return SBX_ERR;
    }

    return SBX_OK;
}


void
sbx_session_touch(sbx_ctx_t *ctx, const char *user, const char *session_id)
{
    sbx_error_t  err;
    int          found;

    if (sbx_store_touch(&ctx->store, user, session_id, sbx_time_now(),
                        &found, &err)
        != SBX_OK)
    {
        sbx_log_warn("session \"%s\": cannot refresh its record after "
                     "use: %s", session_id, err.msg);
    }
}


/*
 * A persistent session's volume goes with it; a session with no record
 * may still have one (its container expired): deleting it removes that.
 */
static int
sbx_session_delete_volume(sbx_ctx_t *ctx, const char *user,
    const char *session_id, int *removed, sbx_error_t *err)
{
    char  name[SBX_CONTAINER_NAME_LEN + 1];

    *removed = 0;

    if (sbx_container_name(ctx->conf->instance, user, session_id, name)
        != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INTERNAL, "cannot hash the session name");
        return SBX_ERR;
    }

    return sbx_docker_remove_volume(&ctx->docker, name, removed, err);
}


int
sbx_session_delete(sbx_ctx_t *ctx, const char *user, const char *session_id,
    sbx_error_t *err)
{
    sbx_session_rec_t  rec;
    char               lost[SBX_LOST_REASON_MAX + 1];
    int                found, rc, removed;

    sbx_session_lock(user, session_id);

    rc = sbx_store_get(&ctx->store, user, session_id, &rec, &found, err);

    /* the record goes only once the container (and volume) is gone */
    if (rc == SBX_OK && found) {
        rc = sbx_docker_remove(&ctx->docker, rec.container_id, err);

        if (rc == SBX_OK) {
            sbx_agent_forget(rec.container_name);
        }
    }

    if (rc == SBX_OK) {
        rc = sbx_session_delete_volume(ctx, user, session_id, &removed, err);
    }

    /* a session the cleanup loop removed is deleted for good */
    if (rc == SBX_OK && !found) {
        rc = sbx_store_take_lost(&ctx->store, user, session_id, lost, err);
        removed |= lost[0] != '\0';
    }

    if (rc == SBX_OK && !found && !removed) {
        sbx_error_set(err, SBX_E_NOT_FOUND, "session not found");
        rc = SBX_ERR;
    }

    if (rc == SBX_OK && found) {
        rc = sbx_store_delete(&ctx->store, user, session_id, err);
    }

    sbx_session_unlock(user, session_id);

    if (rc == SBX_OK) {
        sbx_log_info("session \"%s\": %s removed", session_id,
                     found ? rec.container_name : "workspace volume");
    }

    return rc;
}


void
sbx_session_lost(sbx_ctx_t *ctx, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err)
{
    sbx_session_rec_t  cur;
    sbx_error_t        e;
    char               reason[SBX_LOST_REASON_MAX + 1];
    int                found, same, removed;

    sbx_log_warn("session \"%s\": container %s is gone, dropping the "
                 "session", rec->session_id, rec->container_name);

    sbx_session_lock(user, rec->session_id);

    removed = sbx_docker_remove(&ctx->docker, rec->container_id, &e)
              == SBX_OK;

    if (sbx_store_get(&ctx->store, user, rec->session_id, &cur, &found, &e)
        == SBX_OK)
    {
        same = found && strcmp(cur.container_id, rec->container_id) == 0;

        if (same) {
            (void) sbx_store_delete(&ctx->store, user, rec->session_id, &e);
        }

        /* a session made again meanwhile has its own channel by that name */
        if (removed && (same || !found)) {
            sbx_agent_forget(rec->container_name);
        }

        /* the cleanup loop got there first: this answer tells the client */
        if (!found) {
            (void) sbx_store_take_lost(&ctx->store, user, rec->session_id,
                                       reason, &e);
        }
    }

    sbx_session_unlock(user, rec->session_id);

    sbx_error_set(err, SBX_E_SESSION_LOST,
                  "the session's sandbox is gone; create the session again");
}


int
sbx_session_check(sbx_ctx_t *ctx, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err)
{
    long  pid;
    int   agent;

    if (sbx_docker_inspect_init(&ctx->docker, rec->container_id, &pid,
                                &agent, err)
        == SBX_OK)
    {
        if (pid != 0) {
            return SBX_OK;
        }

        sbx_error_set(err, SBX_E_SESSION_LOST, "container is not running");
    }

    if (strcmp(err->code, SBX_E_SESSION_LOST) == 0) {
        sbx_session_lost(ctx, user, rec, err);
    }

    return SBX_ERR;
}
