
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The agent exec backend: one request frame on an idle connection to the
 * container's agent, one response frame back (docs/PROTOCOL.md, "The
 * in-container agent").  The agent is inside the sandbox, so everything
 * it sends is checked against the request: a broken frame or an agent
 * that outlives the command's deadline costs the session its container.
 */


#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sbx_agent.h"
#include "sbx_exec.h"
#include "sbx_frame.h"
#include "sbx_kv.h"
#include "sbx_log.h"


#define SBX_AGENT_WAIT_MS         1000  /* for an idle connection */
#define SBX_AGENT_GRACE_MS        3000  /* past the timeout: kill, answer */
#define SBX_AGENT_SEND_MS         5000
#define SBX_AGENT_TRIES           3
#define SBX_AGENT_REQUEST_MAX     (1024 * 1024)
#define SBX_AGENT_RESPONSE_MAX    4096


typedef enum {
    SBX_IO_OK = 0,
    SBX_IO_CLOSED,               /* the peer closed or reset */
    SBX_IO_TIMEOUT,
    SBX_IO_BROKEN,               /* the peer broke the protocol */
    SBX_IO_NOMEM
} sbx_io_rc_e;


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
    unsigned    seen;            /* bit per numeric field */
} sbx_agent_reply_t;


/* The numeric fields of a reply, in the order of their seen bits. */
static const struct {
    const char  *name;
    size_t       offset;
    uint64_t     max;
} sbx_agent_reply_numbers[] = {
    { "exit_code", offsetof(sbx_agent_reply_t, exit_code), 255 },
    { "signal", offsetof(sbx_agent_reply_t, signal), 64 },
    { "timed_out", offsetof(sbx_agent_reply_t, timed_out), 1 },
    { "stdout_len", offsetof(sbx_agent_reply_t, out_len), UINT32_MAX },
    { "stderr_len", offsetof(sbx_agent_reply_t, err_len), UINT32_MAX },
    { "stdout_truncated", offsetof(sbx_agent_reply_t, out_truncated), 1 },
    { "stderr_truncated", offsetof(sbx_agent_reply_t, err_truncated), 1 },
    { "wall_us", offsetof(sbx_agent_reply_t, wall_us), UINT64_MAX / 2 },
    { "cpu_us", offsetof(sbx_agent_reply_t, cpu_us), UINT64_MAX / 2 },
    { "max_rss_kb", offsetof(sbx_agent_reply_t, max_rss_kb),
      UINT64_MAX / 2 },
    { NULL, 0, 0 }
};

#define SBX_SEEN_EXIT    (1u << 0)
#define SBX_SEEN_SIGNAL  (1u << 1)
#define SBX_SEEN_RESULT  0x3fcu      /* all but exit_code and signal */


static int
sbx_io_wait(int fd, short events, int64_t until_ms)
{
    struct pollfd  p;
    int64_t        left;
    int            n;

    for ( ;; ) {
        left = until_ms - sbx_time_mono_ms();
        if (left <= 0) {
            return SBX_IO_TIMEOUT;
        }

        p.fd = fd;
        p.events = events;
        p.revents = 0;

        n = poll(&p, 1, left > 60000 ? 60000 : (int) left);
        if (n > 0) {
            return SBX_IO_OK;
        }

        if (n < 0 && errno != EINTR) {
            return SBX_IO_CLOSED;
        }
    }
}


static int
sbx_io_write(int fd, struct iovec *iov, int n, int64_t until_ms)
{
    ssize_t  w;
    int      rc;

    while (n > 0) {
        if (iov->iov_len == 0) {
            iov++;
            n--;
            continue;
        }

        w = writev(fd, iov, n);

        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                rc = sbx_io_wait(fd, POLLOUT, until_ms);
                if (rc != SBX_IO_OK) {
                    return rc;
                }
                continue;
            }
            return SBX_IO_CLOSED;
        }

        while (n > 0 && (size_t) w >= iov->iov_len) {
            w -= (ssize_t) iov->iov_len;
            iov++;
            n--;
        }

        if (n > 0) {
            iov->iov_base = (char *) iov->iov_base + w;
            iov->iov_len -= (size_t) w;
        }
    }

    return SBX_IO_OK;
}


static int
sbx_io_read(int fd, void *buf, size_t len, int64_t until_ms)
{
    ssize_t  r;
    size_t   got;
    int      rc;

    for (got = 0; got < len; got += (size_t) r) {
        r = read(fd, (char *) buf + got, len - got);

        if (r == 0) {
            return SBX_IO_CLOSED;
        }

        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                rc = sbx_io_wait(fd, POLLIN, until_ms);
                if (rc != SBX_IO_OK) {
                    return rc;
                }
                r = 0;
                continue;
            }
            return SBX_IO_CLOSED;
        }
    }

    return SBX_IO_OK;
}


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


/* Sends the request on an idle connection: SBX_IO_OK or why not. */
static int
sbx_exec_agent_send(int fd, const sbx_kv_buf_t *h, const sbx_exec_req_t *req)
{
    uint8_t       prefix[SBX_FRAME_PREFIX_LEN];
    struct iovec  iov[3];

    sbx_frame_encode_prefix(prefix, SBX_FRAME_REQUEST, (uint32_t) h->len,
                            (uint32_t) req->stdin_len);

    iov[0].iov_base = prefix;
    iov[0].iov_len = sizeof(prefix);
    iov[1].iov_base = h->data;
    iov[1].iov_len = h->len;
    iov[2].iov_base = (void *) req->stdin_data;
    iov[2].iov_len = req->stdin_len;

    return sbx_io_write(fd, iov, 3, sbx_time_mono_ms() + SBX_AGENT_SEND_MS);
}


/* Copies a value an agent sent, for a log line: printable ASCII only. */
static void
sbx_exec_agent_copy(char *dst, size_t size, const sbx_kv_t *kv)
{
    size_t  i, n;

    n = kv->value_len < size - 1 ? kv->value_len : size - 1;

    for (i = 0; i < n; i++) {
        dst[i] = kv->value[i] >= 0x20 && kv->value[i] < 0x7f ? kv->value[i]
                                                             : '?';
    }

    dst[n] = '\0';
}


/* One field of a reply; SBX_ERR names the fault in why. */
static int
sbx_exec_agent_field(sbx_agent_reply_t *r, const sbx_kv_t *kv,
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
        sbx_exec_agent_copy(r->error, sizeof(r->error), kv);
        return SBX_OK;
    }

    if (sbx_kv_is(kv, "message")) {
        sbx_exec_agent_copy(r->message, sizeof(r->message), kv);
        return SBX_OK;
    }

    for (i = 0; sbx_agent_reply_numbers[i].name != NULL; i++) {
        if (!sbx_kv_is(kv, sbx_agent_reply_numbers[i].name)) {
            continue;
        }

        if ((r->seen & (1u << i))
            || sbx_kv_number(kv, sbx_agent_reply_numbers[i].max,
                             (uint64_t *) ((char *) r
                                 + sbx_agent_reply_numbers[i].offset))
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
    uint64_t limit, sbx_agent_reply_t *r, const char **why)
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


static int
sbx_exec_agent_capture(int fd, sbx_capture_t *c, uint64_t len,
    int truncated, int64_t until_ms)
{
    int  rc;

    c->truncated = truncated;

    if (len == 0) {
        return SBX_IO_OK;
    }

    c->data = malloc((size_t) len);
    if (c->data == NULL) {
        return SBX_IO_NOMEM;
    }

    rc = sbx_io_read(fd, c->data, (size_t) len, until_ms);
    c->len = (size_t) len;
    c->cap = (size_t) len;

    return rc;
}


/*
 * Reads the response frame into r and res's captures; *why names a
 * protocol fault.
 */
static int
sbx_exec_agent_recv(int fd, uint64_t limit, int64_t until_ms,
    sbx_agent_reply_t *r, sbx_exec_result_t *res, const char **why)
{
    uint8_t             prefix[SBX_FRAME_PREFIX_LEN];
    char                hdr[SBX_AGENT_RESPONSE_MAX];
    sbx_frame_prefix_t  p;
    sbx_frame_rc_e      frc;
    int                 rc;

    rc = sbx_io_read(fd, prefix, sizeof(prefix), until_ms);
    if (rc != SBX_IO_OK) {
        return rc;
    }

    frc = sbx_frame_decode_prefix(prefix, SBX_FRAME_RESPONSE,
                                  SBX_AGENT_RESPONSE_MAX,
                                  (uint32_t) (limit * 2 < UINT32_MAX
                                              ? limit * 2 : UINT32_MAX),
                                  &p);
    if (frc != SBX_FRAME_OK) {
        *why = sbx_frame_strerror(frc);
        return SBX_IO_BROKEN;
    }

    rc = sbx_io_read(fd, hdr, p.header_len, until_ms);
    if (rc != SBX_IO_OK) {
        return rc;
    }

    if (sbx_exec_agent_parse(hdr, p.header_len, p.body_len, limit, r, why)
        != SBX_OK)
    {
        return SBX_IO_BROKEN;
    }

    if (!r->ok) {
        return SBX_IO_OK;
    }

    rc = sbx_exec_agent_capture(fd, &res->out, r->out_len,
                                (int) r->out_truncated, until_ms);
    if (rc == SBX_IO_OK) {
        rc = sbx_exec_agent_capture(fd, &res->err, r->err_len,
                                    (int) r->err_truncated, until_ms);
    }

    return rc;
}


static void
sbx_exec_agent_result(const sbx_agent_reply_t *r, sbx_exec_result_t *res)
{
    res->exit_code = (int) r->exit_code;
    res->signal = (int) r->signal;
    res->timed_out = (int) r->timed_out;
    res->duration_us = (int64_t) r->wall_us;
    res->has_usage = 1;
    res->cpu_us = (int64_t) r->cpu_us;
    res->max_rss_kb = (int64_t) r->max_rss_kb;
}


/* The agent refused or could not start the command. */
static int
sbx_exec_agent_refused(const sbx_exec_req_t *req, const sbx_agent_reply_t *r,
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
 * The connection closed before the answer: the agent's process was
 * killed (by the sandboxed code, say), or the whole container is gone.
 */
static int
sbx_exec_agent_closed(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
    sbx_error_t *err)
{
    long  pid;
    int   agent;

    if (sbx_docker_inspect_init(&ctx->docker, req->session->container_id,
                                &pid, &agent, err)
        == SBX_OK && pid == 0)
    {
        sbx_error_set(err, SBX_E_SESSION_LOST, "container is not running");
    }

    if (strcmp(err->code, SBX_E_SESSION_LOST) == 0) {
        return SBX_ERR;
    }

    sbx_log_warn("session \"%s\": the agent closed the connection before "
                 "answering", req->session->session_id);
    sbx_error_set(err, SBX_E_AGENT_FAILED, "the sandbox's agent stopped "
                  "before the command finished (was it killed?); the "
                  "command's outcome is unknown");

    return SBX_ERR;
}


static int
sbx_exec_agent_run(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
    sbx_exec_result_t *res, sbx_error_t *err)
{
    sbx_kv_buf_t        h;
    sbx_agent_reply_t   r;
    const char         *why;
    int64_t             until;
    int                 fd, rc, tries;

    memset(res, 0, sizeof(*res));
    res->via = sbx_exec_agent_backend.name;

    sbx_kv_buf_init(&h, SBX_AGENT_REQUEST_MAX);
    sbx_exec_agent_fields(ctx->conf, req, &h);

    if (h.failed) {
        sbx_kv_buf_free(&h);
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "the command and its "
                      "environment are too large");
        return SBX_ERR;
    }

    /* an idle connection the agent closed meanwhile ran nothing: retry */
    for (tries = 0, rc = SBX_IO_CLOSED, fd = -1;
         tries < SBX_AGENT_TRIES && rc != SBX_IO_OK;
         tries++)
    {
        if (fd >= 0) {
            close(fd);
        }

        fd = sbx_agent_take(ctx, req->session, SBX_AGENT_WAIT_MS);
        if (fd < 0) {
            break;
        }

        rc = sbx_exec_agent_send(fd, &h, req);
    }

    sbx_kv_buf_free(&h);

    if (rc != SBX_IO_OK) {
        if (fd >= 0) {
            close(fd);
        }
        return SBX_DECLINED;
    }

    until = sbx_time_mono_ms() + req->timeout_ms + SBX_AGENT_GRACE_MS;
    why = "";

    rc = sbx_exec_agent_recv(fd, ctx->conf->output_limit, until, &r, res,
                             &why);
    close(fd);

    switch (rc) {

    case SBX_IO_OK:
        if (!r.ok) {
            return sbx_exec_agent_refused(req, &r, err);
        }
        sbx_exec_agent_result(&r, res);
        return SBX_OK;

    case SBX_IO_CLOSED:
        return sbx_exec_agent_closed(ctx, req, err);

    case SBX_IO_NOMEM:
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;

    case SBX_IO_TIMEOUT:
        sbx_log_warn("session \"%s\": the agent did not answer within the "
                     "timeout and %d ms; removing its container",
                     req->session->session_id, SBX_AGENT_GRACE_MS);
        break;

    default:
        sbx_log_warn("session \"%s\": the agent broke the protocol (%s); "
                     "removing its container", req->session->session_id,
                     why);
        break;
    }

    sbx_error_set(err, SBX_E_SESSION_LOST, "the sandbox's agent failed");

    return SBX_ERR;
}


const sbx_exec_backend_t  sbx_exec_agent_backend = {
    "agent",
    sbx_exec_agent_run
};
