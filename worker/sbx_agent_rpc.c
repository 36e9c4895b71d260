
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sbx_agent.h"
#include "sbx_agent_rpc.h"
#include "sbx_frame.h"
#include "sbx_log.h"
#include "sbx_task.h"


#define SBX_AGENT_WAIT_MS   1000    /* for an idle connection */
#define SBX_AGENT_SEND_MS   5000
#define SBX_AGENT_TRIES     3


typedef enum {
    SBX_IO_OK = 0,
    SBX_IO_CLOSED,                  /* the peer closed or reset */
    SBX_IO_TIMEOUT,
    SBX_IO_BROKEN,                  /* the peer broke the protocol */
    SBX_IO_NOMEM
} sbx_io_rc_e;


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


/* Writes the request frame on an idle connection. */
static int
sbx_agent_send(int fd, const sbx_kv_buf_t *req, const void *body,
    size_t body_len)
{
    uint8_t       prefix[SBX_FRAME_PREFIX_LEN];
    struct iovec  iov[3];

    sbx_frame_encode_prefix(prefix, SBX_FRAME_REQUEST, (uint32_t) req->len,
                            (uint32_t) body_len);

    iov[0].iov_base = prefix;
    iov[0].iov_len = sizeof(prefix);
    iov[1].iov_base = req->data;
    iov[1].iov_len = req->len;
    iov[2].iov_base = (void *) body;
    iov[2].iov_len = body_len;

    return sbx_io_write(fd, iov, 3, sbx_time_mono_ms() + SBX_AGENT_SEND_MS);
}


/*
 * Takes idle connections until one accepts the whole request: one the
 * agent closed meanwhile got nothing, so another is tried.  Returns the
 * connection, or -1 when there is none.
 */
static int
sbx_agent_deliver(sbx_ctx_t *ctx, const sbx_session_rec_t *rec,
    const sbx_kv_buf_t *req, const void *body, size_t body_len)
{
    int  fd, tries;

    for (tries = 0; tries < SBX_AGENT_TRIES; tries++) {
        fd = sbx_agent_take(ctx, rec, SBX_AGENT_WAIT_MS);
        if (fd < 0) {
            return -1;
        }

        if (sbx_agent_send(fd, req, body, body_len) == SBX_IO_OK) {
            return fd;
        }

        close(fd);
    }

    return -1;
}


static int
sbx_agent_recv(int fd, size_t body_max, int64_t until_ms,
    sbx_agent_reply_t *reply, const char **why)
{
    uint8_t             prefix[SBX_FRAME_PREFIX_LEN];
    sbx_frame_prefix_t  p;
    sbx_frame_rc_e      frc;
    int                 rc;

    rc = sbx_io_read(fd, prefix, sizeof(prefix), until_ms);
    if (rc != SBX_IO_OK) {
        return rc;
    }

    frc = sbx_frame_decode_prefix(prefix, SBX_FRAME_RESPONSE,
                                  SBX_AGENT_RESPONSE_MAX,
                                  body_max < SBX_FRAME_BODY_MAX
                                  ? (uint32_t) body_max : SBX_FRAME_BODY_MAX,
                                  &p);
    if (frc != SBX_FRAME_OK) {
        *why = sbx_frame_strerror(frc);
        return SBX_IO_BROKEN;
    }

    rc = sbx_io_read(fd, reply->header, p.header_len, until_ms);
    if (rc != SBX_IO_OK) {
        return rc;
    }

    reply->header_len = p.header_len;

    if (p.body_len == 0) {
        return SBX_IO_OK;
    }

    reply->body = malloc(p.body_len);
    if (reply->body == NULL) {
        return SBX_IO_NOMEM;
    }

    reply->body_len = p.body_len;

    return sbx_io_read(fd, reply->body, p.body_len, until_ms);
}


/*
 * The connection closed before the answer: the agent's process was
 * killed (by the sandboxed code, say), or the whole container is gone.
 */
static int
sbx_agent_closed(sbx_ctx_t *ctx, const sbx_session_rec_t *rec,
    sbx_error_t *err)
{
    long  pid;
    int   agent, rc;

    rc = sbx_docker_inspect_init(&ctx->docker, rec->container_id, &pid,
                                 &agent, err);

    if (rc == SBX_OK && pid == 0) {
        sbx_error_set(err, SBX_E_SESSION_LOST, "container is not running");
        return SBX_ERR;
    }

    /*
     * Docker does not answer: it is stopping (a dockerd restart stops
     * every container, and this one's agent with it), or it is down.
     */
    if (rc != SBX_OK
        && (strcmp(err->code, SBX_E_SESSION_LOST) == 0
            || strcmp(err->code, SBX_E_DOCKER_UNAVAILABLE) == 0))
    {
        return SBX_ERR;
    }

    sbx_log_warn("session \"%s\": the agent closed the connection before "
                 "answering", rec->session_id);
    sbx_error_set(err, SBX_E_AGENT_FAILED, "the sandbox's agent stopped "
                  "before the operation finished (was it killed?); its "
                  "outcome is unknown");

    return SBX_ERR;
}


int
sbx_agent_call(sbx_ctx_t *ctx, const sbx_session_rec_t *rec,
    const sbx_kv_buf_t *req, const void *body, size_t body_len,
    long answer_ms, size_t body_max, sbx_agent_reply_t *reply,
    sbx_error_t *err)
{
    const char  *why;
    int          fd, rc;

    memset(reply, 0, sizeof(*reply));

    fd = sbx_agent_deliver(ctx, rec, req, body, body_len);
    if (fd < 0) {
        return SBX_DECLINED;
    }

    /* a task's cancellation shuts the connection: the agent kills */
    if (ctx->cancel != NULL) {
        sbx_cancel_watch(ctx->cancel, fd);
    }

    why = "";
    rc = sbx_agent_recv(fd, body_max, sbx_time_mono_ms() + answer_ms, reply,
                        &why);

    if (ctx->cancel != NULL) {
        sbx_cancel_unwatch(ctx->cancel);
    }

    close(fd);

    if (rc == SBX_IO_OK) {
        return SBX_OK;
    }

    sbx_agent_reply_free(reply);

    if (ctx->cancel != NULL && sbx_cancelled(ctx->cancel)) {
        sbx_error_set(err, SBX_E_CANCELLED, "the task was cancelled");
        return SBX_ERR;
    }

    switch (rc) {

    case SBX_IO_CLOSED:
        return sbx_agent_closed(ctx, rec, err);

    case SBX_IO_NOMEM:
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;

    case SBX_IO_TIMEOUT:
        return sbx_agent_broken(rec, "no answer in time", err);

    default:
        return sbx_agent_broken(rec, why, err);
    }
}


void
sbx_agent_reply_free(sbx_agent_reply_t *reply)
{
    free(reply->body);
    reply->body = NULL;
    reply->body_len = 0;
}


int
sbx_agent_broken(const sbx_session_rec_t *rec, const char *why,
    sbx_error_t *err)
{
    sbx_log_warn("session \"%s\": the agent failed (%s); removing its "
                 "container", rec->session_id, why);
    sbx_error_set(err, SBX_E_SESSION_LOST, "the sandbox's agent failed");

    return SBX_ERR;
}


void
sbx_agent_copy_value(char *dst, size_t size, const sbx_kv_t *kv)
{
    size_t  i, n;

    n = kv->value_len < size - 1 ? kv->value_len : size - 1;

    for (i = 0; i < n; i++) {
        dst[i] = kv->value[i] >= 0x20 && kv->value[i] < 0x7f ? kv->value[i]
                                                             : '?';
    }

    dst[n] = '\0';
}
