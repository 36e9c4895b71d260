
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The agent's small helpers: a monotonic clock, the error a caller owns,
 * and frames on a connection: a request's header read under a deadline
 * (the prefix checked by sbx_frame.c), its body read whole or streamed, a
 * response written in full.
 */


#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx_agent_core.h"
#include "sbx_frame.h"


#define SBX_AGENT_REQUEST_HEADER_MAX  (1024 * 1024)
#define SBX_AGENT_BODY_IDLE_US        (10 * 1000000)


static ssize_t sbx_agent_read_some(int fd, void *buf, size_t len,
    int64_t deadline_us);
static int sbx_agent_read_full(int fd, void *buf, size_t len,
    int64_t deadline_us);
static int sbx_agent_writev_all(int fd, struct iovec *v, int niov);


int64_t
sbx_agent_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


void
sbx_agent_sleep_us(int64_t us)
{
    struct timespec  ts;

    ts.tv_sec = (time_t) (us / 1000000);
    ts.tv_nsec = (long) (us % 1000000) * 1000;

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        /* sleep the rest */
    }
}


/* A poll() timeout that does not wake up before deadline_us. */
int
sbx_agent_poll_ms(int64_t deadline_us, int64_t now_us)
{
    int64_t  ms;

    if (deadline_us <= now_us) {
        return 0;
    }

    ms = (deadline_us - now_us + 999) / 1000;

    return ms > INT_MAX ? INT_MAX : (int) ms;
}


void
sbx_agent_error_set(sbx_agent_error_t *err, const char *code,
    const char *fmt, ...)
{
    va_list  ap;

    err->code = code;

    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}


/*
 * Reads the prefix and the header of a request before deadline_us, its
 * body bounded by body_max (the largest any op takes; the op checks its
 * own bound).  A prefix that breaks the protocol is a bad_request error;
 * a peer that closes or stays silent leaves err->code NULL (nobody to
 * answer).  The body stays on the connection, f->body_left bytes of it.
 * The caller owns f->data.
 */
int
sbx_agent_read_header(int fd, int64_t deadline_us, uint32_t body_max,
    sbx_agent_frame_t *f, sbx_agent_error_t *err)
{
    uint8_t             prefix[SBX_FRAME_PREFIX_LEN];
    sbx_frame_rc_e      rc;
    sbx_frame_prefix_t  p;

    err->code = NULL;
    memset(f, 0, sizeof(*f));
    f->fd = fd;

    if (sbx_agent_read_full(fd, prefix, sizeof(prefix), deadline_us)
        != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    rc = sbx_frame_decode_prefix(prefix, SBX_FRAME_REQUEST,
                                 SBX_AGENT_REQUEST_HEADER_MAX, body_max, &p);
    if (rc != SBX_FRAME_OK) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST, "%s",
                            sbx_frame_strerror(rc));
        return SBX_AGENT_ERR;
    }

    f->data = malloc(p.header_len);
    if (f->data == NULL) {
        sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "out of memory");
        return SBX_AGENT_ERR;
    }

    if (sbx_agent_read_full(fd, f->data, p.header_len, deadline_us)
        != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    f->header_len = p.header_len;
    f->body_len = p.body_len;
    f->body_left = p.body_len;

    return SBX_AGENT_OK;
}


/* The whole body, before deadline_us, into f->data after the header. */
int
sbx_agent_read_body(sbx_agent_frame_t *f, int64_t deadline_us,
    sbx_agent_error_t *err)
{
    uint8_t  *p;

    err->code = NULL;

    if (f->body_left == 0) {
        return SBX_AGENT_OK;
    }

    p = realloc(f->data, (size_t) f->header_len + f->body_len);
    if (p == NULL) {
        sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "out of memory");
        return SBX_AGENT_ERR;
    }

    f->data = p;

    if (sbx_agent_read_full(f->fd, p + f->header_len, f->body_len,
                            deadline_us)
        != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    f->body_left = 0;

    return SBX_AGENT_OK;
}


/*
 * Reads what comes next of a streamed body, at most len bytes: the count,
 * 0 once the body is over, -1 when the peer closed or was silent for
 * SBX_AGENT_BODY_IDLE_US (a deadline per read, not for the whole body: a
 * big body on a slow disk takes what it takes).
 */
ssize_t
sbx_agent_body_next(sbx_agent_frame_t *f, void *buf, size_t len)
{
    ssize_t  n;

    if (f->body_left == 0) {
        return 0;
    }

    if (len > f->body_left) {
        len = f->body_left;
    }

    n = sbx_agent_read_some(f->fd, buf, len,
                            sbx_agent_now_us() + SBX_AGENT_BODY_IDLE_US);
    if (n > 0) {
        f->body_left -= (uint32_t) n;
    }

    return n;
}


/*
 * Reads and drops the rest of the body, so that a peer that writes its
 * whole request before reading sees the error response rather than a
 * reset connection.
 */
int
sbx_agent_body_drain(sbx_agent_frame_t *f)
{
    static uint8_t  sink[65536];

    while (f->body_left > 0) {
        if (sbx_agent_body_next(f, sink, sizeof(sink)) <= 0) {
            return SBX_AGENT_ERR;
        }
    }

    return SBX_AGENT_OK;
}


/*
 * Writes the prefix of a response whose body is body_len bytes, its
 * header, and the nbody (at most 2) pieces of the body given here, in one
 * writev, blocking until all is written.
 */
static int
sbx_agent_write_response(int fd, const void *header, size_t header_len,
    uint64_t body_len, const struct iovec *body, int nbody)
{
    uint8_t       prefix[SBX_FRAME_PREFIX_LEN];
    struct iovec  iov[4];
    int           i;

    if (nbody > 2 || header_len > UINT32_MAX || body_len > UINT32_MAX) {
        return SBX_AGENT_ERR;
    }

    sbx_frame_encode_prefix(prefix, SBX_FRAME_RESPONSE, (uint32_t) header_len,
                            (uint32_t) body_len);

    iov[0].iov_base = prefix;
    iov[0].iov_len = sizeof(prefix);
    iov[1].iov_base = (void *) header;
    iov[1].iov_len = header_len;

    for (i = 0; i < nbody; i++) {
        iov[2 + i] = body[i];
    }

    return sbx_agent_writev_all(fd, iov, 2 + nbody);
}


/* Writes a whole response frame: its header and its body's pieces. */
int
sbx_agent_write_frame(int fd, const void *header, size_t header_len,
    const struct iovec *body, int nbody)
{
    uint64_t  body_len;
    int       i;

    body_len = 0;
    for (i = 0; i < nbody && i < 2; i++) {
        body_len += body[i].iov_len;
    }

    return sbx_agent_write_response(fd, header, header_len, body_len, body,
                                    nbody);
}


/*
 * Writes the prefix and the header of a response whose body_len bytes of
 * body the caller then writes itself (sbx_agent_write_all()).
 */
int
sbx_agent_write_head(int fd, const void *header, size_t header_len,
    uint64_t body_len)
{
    return sbx_agent_write_response(fd, header, header_len, body_len, NULL,
                                    0);
}


/* Writes len bytes of buf, blocking until all is written. */
int
sbx_agent_write_all(int fd, const void *buf, size_t len)
{
    struct iovec  iov;

    iov.iov_base = (void *) buf;
    iov.iov_len = len;

    return sbx_agent_writev_all(fd, &iov, 1);
}


static int
sbx_agent_writev_all(int fd, struct iovec *v, int niov)
{
    ssize_t  n;
    size_t   done;

    while (niov > 0) {
        n = writev(fd, v, niov);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            return SBX_AGENT_ERR;
        }

        for (done = (size_t) n; niov > 0 && done >= v->iov_len; niov--) {
            done -= v->iov_len;
            v++;
        }

        if (niov > 0) {
            v->iov_base = (uint8_t *) v->iov_base + done;
            v->iov_len -= done;
        }
    }

    return SBX_AGENT_OK;
}


/*
 * Reads what is there, at most len bytes, waiting until deadline_us for
 * the first: the count, or -1 on EOF, error or time out.
 */
static ssize_t
sbx_agent_read_some(int fd, void *buf, size_t len, int64_t deadline_us)
{
    ssize_t        n;
    struct pollfd  pfd;
    int64_t        now;

    for ( ;; ) {
        now = sbx_agent_now_us();
        if (now >= deadline_us) {
            return -1;
        }

        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        n = poll(&pfd, 1, sbx_agent_poll_ms(deadline_us, now));
        if (n == 0 || (n == -1 && errno == EINTR)) {
            continue;
        }

        if (n == -1) {
            return -1;
        }

        n = read(fd, buf, len);

        if (n > 0) {
            return n;
        }

        if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            return -1;
        }
    }
}


/* Reads exactly len bytes before deadline_us; EOF, error or time out fail. */
static int
sbx_agent_read_full(int fd, void *buf, size_t len, int64_t deadline_us)
{
    uint8_t  *p;
    ssize_t   n;

    for (p = buf; len > 0; p += n, len -= (size_t) n) {
        n = sbx_agent_read_some(fd, p, len, deadline_us);
        if (n == -1) {
            return SBX_AGENT_ERR;
        }
    }

    return SBX_AGENT_OK;
}


/* An error response: status, error and message, no body. */
void
sbx_agent_respond_error(int fd, const sbx_agent_error_t *err)
{
    sbx_kv_buf_t  h;

    sbx_kv_buf_init(&h, SBX_AGENT_RESPONSE_HEADER_MAX);
    sbx_kv_add_str(&h, "status", "error");
    sbx_kv_add_str(&h, "error", err->code);
    sbx_kv_add_str(&h, "message", err->msg);

    if (!h.failed) {
        (void) sbx_agent_write_frame(fd, h.data, h.len, NULL, 0);
    }

    sbx_kv_buf_free(&h);
}
