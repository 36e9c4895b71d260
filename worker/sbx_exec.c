
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The Docker exec backend: create an exec of
 * "timeout -s KILL <secs> sh -c <command>" (timeout runs the command in its
 * own process group and kills the whole group), read the multiplexed
 * stream under a hard deadline, inspect the exit code.  A timed-out exec
 * is followed by a reap exec that kills every process carrying the exec's
 * SBX_EXEC_ID, so that setsid'd escapees die too.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_exec.h"
#include "sbx_log.h"


#define SBX_EXEC_STREAM_SLACK_MS   300
#define SBX_EXEC_INSPECT_SLACK_MS  500
#define SBX_EXEC_CALL_MS           10000
#define SBX_EXEC_REAP_MS           2000
#define SBX_EXEC_ERRBUF            1024


typedef struct {
    CURL         *curl;
    long          status;
    sbx_demux_t   demux;
    char          errbuf[SBX_EXEC_ERRBUF];
    size_t        errlen;
    int           oom;
} sbx_exec_stream_t;


static const char  sbx_exec_reap_script[] =
    "for p in /proc/[0-9]*; do "
    "grep -qxz \"SBX_EXEC_ID=$0\" \"$p/environ\" 2>/dev/null "
    "&& kill -9 \"${p#/proc/}\"; done";


static int sbx_exec_docker_run(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
    sbx_exec_result_t *res, sbx_error_t *err);


int
sbx_exec_run(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
    sbx_exec_result_t *res, sbx_error_t *err)
{
    int  rc;

    rc = sbx_exec_agent_backend.run(ctx, req, res, err);

    if (rc != SBX_DECLINED) {
        return rc;
    }

    if (req->stdin_data != NULL) {
        sbx_error_set(err, SBX_E_AGENT_UNAVAILABLE, "\"stdin\" needs the "
                      "sandbox's agent, which does not answer in this "
                      "session");
        return SBX_ERR;
    }

    sbx_log_debug("session \"%s\": no agent, running through docker exec",
                  req->session->session_id);

    return sbx_exec_docker_backend.run(ctx, req, res, err);
}


void
sbx_exec_result_free(sbx_exec_result_t *res)
{
    free(res->out.data);
    free(res->err.data);
    res->out.data = NULL;
    res->err.data = NULL;
}


/* The curl sink of POST /exec/{id}/start: demultiplexes a 200 answer. */
static size_t
sbx_exec_stream_sink(char *p, size_t size, size_t n, void *data)
{
    sbx_exec_stream_t  *s = data;
    size_t              len, take;

    len = size * n;

    if (s->status == 0) {
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    }

    if (s->status == 200) {
        if (sbx_demux_feed(&s->demux, (const uint8_t *) p, len) != SBX_OK) {
            s->oom = 1;
            return 0;
        }
        return len;
    }

    take = SBX_EXEC_ERRBUF - 1 - s->errlen;
    take = take < len ? take : len;
    memcpy(s->errbuf + s->errlen, p, take);
    s->errlen += take;
    s->errbuf[s->errlen] = '\0';

    return len;
}


static cJSON *
sbx_exec_create_body(const sbx_exec_req_t *req, const char *exec_id)
{
    cJSON   *b, *env, *cmd;
    char     secs[32], var[64];
    size_t   i;

    b = cJSON_CreateObject();
    if (b == NULL) {
        return NULL;
    }

    cJSON_AddBoolToObject(b, "AttachStdout", 1);
    cJSON_AddBoolToObject(b, "AttachStderr", 1);
    cJSON_AddBoolToObject(b, "AttachStdin", 0);
    cJSON_AddBoolToObject(b, "Tty", 0);
    cJSON_AddStringToObject(b, "User", "1000:1000");
    cJSON_AddStringToObject(b, "WorkingDir", req->working_dir);

    env = cJSON_AddArrayToObject(b, "Env");
    for (i = 0; i < req->nenv; i++) {
        cJSON_AddItemToArray(env, cJSON_CreateString(req->env[i]));
    }

    snprintf(var, sizeof(var), "SBX_EXEC_ID=%s", exec_id);
    cJSON_AddItemToArray(env, cJSON_CreateString(var));

    snprintf(secs, sizeof(secs), "%ld.%03ld", req->timeout_ms / 1000,
             req->timeout_ms % 1000);

    cmd = cJSON_AddArrayToObject(b, "Cmd");
    cJSON_AddItemToArray(cmd, cJSON_CreateString("timeout"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("-s"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("KILL"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString(secs));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("sh"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString(req->command));

    if (cJSON_GetArraySize(cmd) != 7 || cJSON_GetArraySize(env)
                                        != (int) req->nenv + 1)
    {
        cJSON_Delete(b);
        return NULL;
    }

    return b;
}


/*
 * POST /containers/{id}/exec; writes the exec's id.  A 404 or 409 (no such
 * container, or not running) is session_lost.
 */
static int
sbx_exec_create(sbx_ctx_t *ctx, const char *container_id, cJSON *body,
    char *id, sbx_error_t *err)
{
    char    path[256];
    cJSON  *res, *v;
    int     rc;

    if (sbx_docker_path(path, sizeof(path), err, "/containers/%s/exec",
                        container_id)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    rc = sbx_docker_call(&ctx->docker, "POST", path, body, SBX_EXEC_CALL_MS,
                         &res, err);

    if (rc != SBX_OK) {
        if (ctx->docker.status == 404 || ctx->docker.status == 409) {
            sbx_error_set(err, SBX_E_SESSION_LOST, "container is gone");

        } else {
            sbx_docker_public_error(err, "the command could not be started");
        }
        return SBX_ERR;
    }

    v = cJSON_GetObjectItemCaseSensitive(res, "Id");
    rc = SBX_ERR;

    if (cJSON_IsString(v) && sbx_valid_docker_id(v->valuestring)) {
        strcpy(id, v->valuestring);
        rc = SBX_OK;
    } else {
        sbx_log_warn("docker returned no exec id");
        sbx_error_set(err, SBX_E_SANDBOX_ERROR,
                      "the command could not be started");
    }

    cJSON_Delete(res);

    return rc;
}


/*
 * POST /exec/{id}/start, attached: reads the stream into s until the
 * command's pipes close or timeout_ms passes (*deadline_hit).
 */
static int
sbx_exec_stream(sbx_ctx_t *ctx, const char *id, sbx_exec_stream_t *s,
    long timeout_ms, int *deadline_hit, sbx_error_t *err)
{
    static const char  body[] = "{\"Detach\":false,\"Tty\":false}";
    char               path[256];
    int                rc;

    *deadline_hit = 0;

    if (sbx_docker_path(path, sizeof(path), err, "/exec/%s/start", id)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    rc = sbx_docker_request(&ctx->docker, "POST", path, body, timeout_ms,
                            sbx_exec_stream_sink, s, err);

    if (rc != SBX_OK) {
        if (s->oom) {
            sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
            return SBX_ERR;
        }

        if (ctx->docker.timed_out
            && (s->status == 200 || ctx->docker.status == 200))
        {
            *deadline_hit = 1;
            return SBX_OK;
        }

        return SBX_ERR;
    }

    if (ctx->docker.status == 404 || ctx->docker.status == 409) {
        sbx_error_set(err, SBX_E_SESSION_LOST, "container is gone");
        return SBX_ERR;
    }

    if (ctx->docker.status != 200) {
        /* Docker's answer may name host paths: for the log only */
        sbx_log_warn("docker: POST %s: HTTP %ld: %s (request %s)", path,
                     ctx->docker.status, s->errbuf,
                     ctx->docker.req_id ? ctx->docker.req_id : "-");
        sbx_error_set(err, SBX_E_SANDBOX_ERROR,
                      "the command could not be started");
        return SBX_ERR;
    }

    return SBX_OK;
}


/*
 * GET /exec/{id}/json until the exec stops running (or until_ms, the
 * monotonic deadline, passes: *running stays 1).
 */
static int
sbx_exec_inspect(sbx_ctx_t *ctx, const char *id, int64_t until_ms,
    int *running, int *exit_code, sbx_error_t *err)
{
    char    path[256];
    cJSON  *res, *v;
    long    pause_ms;

    if (sbx_docker_path(path, sizeof(path), err, "/exec/%s/json", id)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    pause_ms = 2;

    for ( ;; ) {
        if (sbx_docker_call(&ctx->docker, "GET", path, NULL,
                            SBX_EXEC_CALL_MS, &res, err)
            != SBX_OK)
        {
            /* the exec goes with its container (a concurrent delete) */
            if (ctx->docker.status == 404) {
                sbx_error_set(err, SBX_E_SESSION_LOST, "container is gone");

            } else {
                sbx_docker_public_error(err,
                                        "the command's result could not be "
                                        "read");
            }
            return SBX_ERR;
        }

        *running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res,
                                                                 "Running"));
        v = cJSON_GetObjectItemCaseSensitive(res, "ExitCode");
        *exit_code = cJSON_IsNumber(v) ? v->valueint : -1;
        cJSON_Delete(res);

        if (!*running || sbx_time_mono_ms() + pause_ms >= until_ms) {
            return SBX_OK;
        }

        sbx_sleep_ms(pause_ms);
        pause_ms = pause_ms < 20 ? pause_ms * 2 : 20;
    }
}


/* Kills what is left of a timed-out exec, waiting for the reaper. */
static void
sbx_exec_reap(sbx_ctx_t *ctx, const char *container_id, const char *exec_id)
{
    static const char  start[] = "{\"Detach\":false,\"Tty\":false}";
    char               id[SBX_CONTAINER_ID_MAX + 1], path[256];
    cJSON             *b, *cmd;
    sbx_error_t        err;
    sbx_exec_stream_t  s;

    b = cJSON_CreateObject();
    cJSON_AddBoolToObject(b, "AttachStdout", 0);
    cJSON_AddBoolToObject(b, "AttachStderr", 0);
    cJSON_AddStringToObject(b, "User", "1000:1000");
    cmd = cJSON_AddArrayToObject(b, "Cmd");
    cJSON_AddItemToArray(cmd, cJSON_CreateString("sh"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString(sbx_exec_reap_script));
    cJSON_AddItemToArray(cmd, cJSON_CreateString(exec_id));

    if (sbx_exec_create(ctx, container_id, b, id, &err) != SBX_OK) {
        cJSON_Delete(b);
        sbx_log_warn("reap of exec %s failed: %s", exec_id, err.msg);
        return;
    }

    cJSON_Delete(b);

    memset(&s, 0, sizeof(s));
    s.curl = ctx->docker.curl;
    sbx_demux_init(&s.demux, 0);

    if (sbx_docker_path(path, sizeof(path), &err, "/exec/%s/start", id)
        != SBX_OK
        || sbx_docker_request(&ctx->docker, "POST", path, start,
                              SBX_EXEC_REAP_MS, sbx_exec_stream_sink, &s,
                              &err)
           != SBX_OK)
    {
        sbx_log_warn("reap of exec %s failed: %s", exec_id, err.msg);
    }

    sbx_demux_free(&s.demux);
}


static int
sbx_exec_docker_run(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
    sbx_exec_result_t *res, sbx_error_t *err)
{
    char               exec_id[17], id[SBX_CONTAINER_ID_MAX + 1];
    cJSON             *body;
    sbx_exec_stream_t  s;
    int64_t            t_start, elapsed;
    int                rc, deadline_hit, running, code;

    memset(res, 0, sizeof(*res));
    memset(&s, 0, sizeof(s));
    res->via = sbx_exec_docker_backend.name;
    res->oom_killed = -1;

    if (sbx_random_hex(exec_id, 8) != SBX_OK) {
        sbx_error_set(err, SBX_E_INTERNAL, "no randomness");
        return SBX_ERR;
    }

    body = sbx_exec_create_body(req, exec_id);
    if (body == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    rc = sbx_exec_create(ctx, req->session->container_id, body, id, err);
    cJSON_Delete(body);

    if (rc != SBX_OK) {
        return SBX_ERR;
    }

    s.curl = ctx->docker.curl;
    sbx_demux_init(&s.demux, (size_t) ctx->conf->output_limit);
    t_start = sbx_time_mono_ms();

    rc = sbx_exec_stream(ctx, id, &s, req->timeout_ms
                                      + SBX_EXEC_STREAM_SLACK_MS,
                         &deadline_hit, err);

    res->out = s.demux.out[0];
    res->err = s.demux.out[1];

    if (rc != SBX_OK) {
        return SBX_ERR;
    }

    running = 0;
    code = -1;

    /*
     * At the stream deadline the exec is inspected once: a command that
     * ended before its timeout (exit code other than timeout's 137) but
     * left a background child holding its stdout did not time out.  That
     * child is the user's job and is left running; only a timed-out exec is
     * reaped.  Such a command still answers at the stream deadline: the
     * stream only ends when every holder of the pipes is gone.
     */
    rc = sbx_exec_inspect(ctx, id, deadline_hit ? 0
                                   : t_start + req->timeout_ms
                                     + SBX_EXEC_INSPECT_SLACK_MS,
                          &running, &code, err);

    if (rc != SBX_OK) {
        if (!deadline_hit || strcmp(err->code, SBX_E_SESSION_LOST) == 0) {
            return SBX_ERR;
        }

        sbx_log_warn("exec %s: cannot inspect it at its deadline (%s), "
                     "taken as timed out", exec_id, err->msg);
        running = 1;
    }

    elapsed = sbx_time_mono_ms() - t_start;

    res->timed_out = running
                     || (code == 137 && elapsed >= req->timeout_ms);

    if (res->timed_out) {
        res->signal = 9;
        sbx_exec_reap(ctx, req->session->container_id, exec_id);

    } else {
        res->exit_code = code;
    }

    res->duration_us = elapsed * 1000;

    return SBX_OK;
}


const sbx_exec_backend_t  sbx_exec_docker_backend = {
    "docker",
    sbx_exec_docker_run
};
