
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The agent exec backend: one request frame on an idle connection to the
 * container's agent, one response frame back (docs/PROTOCOL.md, "The
 * in-container agent").  The agent is inside the sandbox, so everything
 * it sends is checked against the request: a broken frame or an agent
 * that outlives the command's deadline costs the session its container.
 */


#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_agent_rpc.h"
#include "sbx_exec.h"
#include "sbx_log.h"


#define SBX_AGENT_GRACE_MS        3000  /* past the timeout: kill, answer */


/* What an agent's response header says. */
typedef struct {
    int         ok;
    char        error[32];
    char        message[160];
    uint64_t    exit_code;
    uint64_t    signal;
    uint64_t    timed_out;
    uint64_t    out_len;
    uint64_t    err_len;
    uint64_t    out_truncated;
    uint64_t    err_truncated;
    uint64_t    wall_us;
    uint64_t    cpu_us;
    uint64_t    max_rss_kb;
    uint64_t    oom_killed;
    unsigned    seen;            /* bit per numeric field */
} sbx_exec_reply_t;


/* The numeric fields of a reply, in the order of their seen bits. */
static const struct {
    const char  *name;
    size_t       offset;
    uint64_t     max;
} sbx_exec_reply_numbers[] = {
    { "exit_code", offsetof(sbx_exec_reply_t, exit_code), 255 },
    { "signal", offsetof(sbx_exec_reply_t, signal), 64 },
    { "timed_out", offsetof(sbx_exec_reply_t, timed_out), 1 },
    { "stdout_len", offsetof(sbx_exec_reply_t, out_len), UINT32_MAX },
    { "stderr_len", offsetof(sbx_exec_reply_t, err_len), UINT32_MAX },
    { "stdout_truncated", offsetof(sbx_exec_reply_t, out_truncated), 1 },
    { "stderr_truncated", offsetof(sbx_exec_reply_t, err_truncated), 1 },
    { "wall_us", offsetof(sbx_exec_reply_t, wall_us), UINT64_MAX / 2 },
    { "cpu_us", offsetof(sbx_exec_reply_t, cpu_us), UINT64_MAX / 2 },
    { "max_rss_kb", offsetof(sbx_exec_reply_t, max_rss_kb),
      UINT64_MAX / 2 },
    { "oom_killed", offsetof(sbx_exec_reply_t, oom_killed), 1 },
    { NULL, 0, 0 }
};

#define SBX_SEEN_EXIT    (1u << 0)
#define SBX_SEEN_SIGNAL  (1u << 1)
#define SBX_SEEN_RESULT  0x3fcu      /* all but exit_code and signal */
#define SBX_SEEN_OOM     (1u << 10)  /* optional: no cgroup file to read */


/* Whether name=... is in env ("NAME=value" strings). */
static int
sbx_exec_agent_overridden(const sbx_exec_req_t *req, const char *var)
{
    size_t  i, len;

    len = strcspn(var, "=") + 1;

    for (i = 0; i < req->nenv; i++) {
        if (strncmp(req->env[i], var, len) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
sbx_exec_agent_fields(const sbx_config_t *conf, const sbx_exec_req_t *req,
    sbx_kv_buf_t *h)
{
    char     lim[48];
    size_t   i;

    sbx_kv_add_str(h, "op", "exec");
    sbx_kv_add_str(h, "arg", "/bin/sh");
    sbx_kv_add_str(h, "arg", "-c");
    sbx_kv_add_str(h, "arg", req->command);

    /* the container's environment, under the request's own */
    for (i = 0; sbx_container_env[i] != NULL; i++) {
        if (!sbx_exec_agent_overridden(req, sbx_container_env[i])) {
            sbx_kv_add_str(h, "env", sbx_container_env[i]);
        }
    }

    for (i = 0; i < req->nenv; i++) {
        sbx_kv_add_str(h, "env", req->env[i]);
    }

    sbx_kv_add_str(h, "cwd", req->working_dir);
    sbx_kv_add_number(h, "timeout_ms", (uint64_t) req->timeout_ms);
    sbx_kv_add_number(h, "output_limit", conf->output_limit);

    /* no core files; CPU time is a backstop behind the timeout */
    sbx_kv_add_str(h, "rlimit", "core:0");
    snprintf(lim, sizeof(lim), "cpu:%ld", req->timeout_ms / 1000 + 2);
    sbx_kv_add_str(h, "rlimit", lim);
}


/* One field of a reply; SBX_ERR names the fault in why. */
static int
sbx_exec_agent_field(sbx_exec_reply_t *r, const sbx_kv_t *kv,
    const char **why)
{
    unsigned  i;

    if (sbx_kv_is(kv, "status")) {
        r->ok = kv->value_len == 2 && memcmp(kv->value, "ok", 2) == 0;
        return r->ok || (kv->value_len == 5
                         && memcmp(kv->value, "error", 5) == 0)
               ? SBX_OK : (*why = "bad status", SBX_ERR);
    }

    if (sbx_kv_is(kv, "error")) {
        sbx_agent_copy_value(r->error, sizeof(r->error), kv);
        return SBX_OK;
    }

    if (sbx_kv_is(kv, "message")) {
        sbx_agent_copy_value(r->message, sizeof(r->message), kv);
        return SBX_OK;
    }

    for (i = 0; sbx_exec_reply_numbers[i].name != NULL; i++) {
        if (!sbx_kv_is(kv, sbx_exec_reply_numbers[i].name)) {
            continue;
        }

        if ((r->seen & (1u << i))
            || sbx_kv_number(kv, sbx_exec_reply_numbers[i].max,
                             (uint64_t *) ((char *) r
                                 + sbx_exec_reply_numbers[i].offset))
               != 0)
        {
            *why = "a repeated or malformed number";
            return SBX_ERR;
        }

        r->seen |= 1u << i;
        return SBX_OK;
    }

    *why = "an unknown field";

    return SBX_ERR;
}


/* Parses and checks a reply header against the frame and the limits. */
static int
sbx_exec_agent_parse(const char *hdr, size_t len, uint32_t body_len,
    uint64_t limit, sbx_exec_reply_t *r, const char **why)
{
    sbx_kv_iter_t  it;
    sbx_kv_t       kv;
    int            n, status;

    memset(r, 0, sizeof(*r));
    sbx_kv_iter_init(&it, hdr, len);
    status = 0;

    while ((n = sbx_kv_next(&it, &kv)) == 1) {
        status |= sbx_kv_is(&kv, "status");

        if (sbx_exec_agent_field(r, &kv, why) != SBX_OK) {
            return SBX_ERR;
        }
    }

    if (n < 0 || !status) {
        *why = n < 0 ? "a malformed header" : "no status";
        return SBX_ERR;
    }

    if (!r->ok) {
        *why = "an error with a body";
        return body_len == 0 && r->error[0] != '\0' ? SBX_OK : SBX_ERR;
    }

    *why = "an incomplete result";

    if ((r->seen & SBX_SEEN_RESULT) != SBX_SEEN_RESULT
        || !(r->seen & SBX_SEEN_EXIT) == !(r->seen & SBX_SEEN_SIGNAL)
        || ((r->seen & SBX_SEEN_SIGNAL) && r->signal == 0))
    {
        return SBX_ERR;
    }

    *why = "output lengths that do not match the body or the limit";

    return r->out_len <= limit && r->err_len <= limit
           && r->out_len + r->err_len == body_len ? SBX_OK : SBX_ERR;
}


static void
sbx_exec_agent_result(const sbx_exec_reply_t *r, sbx_exec_result_t *res)
{
    res->exit_code = (int) r->exit_code;
    res->signal = (int) r->signal;
    res->timed_out = (int) r->timed_out;
    res->duration_us = (int64_t) r->wall_us;
    res->has_usage = 1;
    res->cpu_us = (int64_t) r->cpu_us;
    res->max_rss_kb = (int64_t) r->max_rss_kb;
    res->oom_killed = (r->seen & SBX_SEEN_OOM) ? (int) r->oom_killed : -1;
}


/* The agent refused or could not start the command. */
static int
sbx_exec_agent_refused(const sbx_exec_req_t *req, const sbx_exec_reply_t *r,
    sbx_error_t *err)
{
    if (strcmp(r->error, "bad_working_dir") == 0) {
        sbx_log_debug("session \"%s\": %s", req->session->session_id,
                      r->message);
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"working_dir\" %.200s "
                      "is not a directory in the sandbox", req->working_dir);

        return SBX_ERR;
    }

    sbx_log_warn("session \"%s\": the agent did not run the command: %s: %s",
                 req->session->session_id, r->error, r->message);

    if (strcmp(r->error, "spawn_failed") == 0) {
        sbx_error_set(err, SBX_E_SANDBOX_ERROR, "the sandbox could not "
                      "start the command (out of processes or memory?)");

    } else {
        sbx_error_set(err, SBX_E_INTERNAL, "the sandbox's agent refused "
                      "the command");
    }

    return SBX_ERR;
}


/*
 * Hands the reply's body to res: stdout keeps the buffer, stderr gets a
 * copy of its part.
 */
static int
sbx_exec_agent_output(sbx_agent_reply_t *reply, const sbx_exec_reply_t *r,
    sbx_exec_result_t *res)
{
    if (r->err_len > 0) {
        res->err.data = malloc((size_t) r->err_len);
        if (res->err.data == NULL) {
            return SBX_ERR;
        }
        memcpy(res->err.data, reply->body + r->out_len, (size_t) r->err_len);
    }

    res->err.len = (size_t) r->err_len;
    res->err.cap = res->err.len;
    res->err.truncated = (int) r->err_truncated;

    res->out.data = r->out_len > 0 ? reply->body : NULL;
    res->out.len = (size_t) r->out_len;
    res->out.cap = res->out.len;
    res->out.truncated = (int) r->out_truncated;

    if (r->out_len > 0) {
        reply->body = NULL;
    }

    return SBX_OK;
}


static int
sbx_exec_agent_run(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
    sbx_exec_result_t *res, sbx_error_t *err)
{
    sbx_kv_buf_t        h;
    sbx_agent_reply_t   reply;
    sbx_exec_reply_t    r;
    const char         *why;
    uint64_t            limit;
    int                 rc;

    memset(res, 0, sizeof(*res));
    res->via = sbx_exec_agent_backend.name;
    limit = ctx->conf->output_limit;

    sbx_kv_buf_init(&h, SBX_AGENT_REQUEST_MAX);
    sbx_exec_agent_fields(ctx->conf, req, &h);

    if (h.failed) {
        sbx_kv_buf_free(&h);
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "the command and its "
                      "environment are too large");
        return SBX_ERR;
    }

    rc = sbx_agent_call(ctx, req->session, &h, req->stdin_data,
                        req->stdin_len, req->timeout_ms + SBX_AGENT_GRACE_MS,
                        (size_t) (2 * limit), &reply, err);
    sbx_kv_buf_free(&h);

    if (rc != SBX_OK) {
        return rc;
    }

    why = "";

    if (sbx_exec_agent_parse(reply.header, reply.header_len, reply.body_len,
                             limit, &r, &why)
        != SBX_OK)
    {
        sbx_agent_reply_free(&reply);
        return sbx_agent_broken(req->session, why, err);
    }

    if (!r.ok) {
        sbx_agent_reply_free(&reply);
        return sbx_exec_agent_refused(req, &r, err);
    }

    rc = sbx_exec_agent_output(&reply, &r, res);
    sbx_agent_reply_free(&reply);

    if (rc != SBX_OK) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    sbx_exec_agent_result(&r, res);

    return SBX_OK;
}


const sbx_exec_backend_t  sbx_exec_agent_backend = {
    "agent",
    sbx_exec_agent_run
};
