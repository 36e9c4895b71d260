
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The agent's small helpers: a monotonic clock, the error a caller owns,
 * and whole frames on a connection: a request read under a deadline (the
 * prefix checked by sbx_frame.c), a response written in full.
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
#define SBX_AGENT_REQUEST_BODY_MAX    (1024 * 1024)


static int sbx_agent_read_full(int fd, void *buf, size_t len,
    int64_t deadline_us);


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
 * Reads one request frame, header and body, before deadline_us.  A prefix
 * that breaks the protocol is a bad_request error; a peer that closes or
 * stays silent leaves err->code NULL (nobody to answer).  The caller owns
 * f->data.
 */
int
sbx_agent_read_frame(int fd, int64_t deadline_us, sbx_agent_frame_t *f,
    sbx_agent_error_t *err)
{
    uint8_t             prefix[SBX_FRAME_PREFIX_LEN];
    size_t              len;
    sbx_frame_rc_e      rc;
    sbx_frame_prefix_t  p;

    err->code = NULL;
    f->data = NULL;

    if (sbx_agent_read_full(fd, prefix, sizeof(prefix), deadline_us)
        != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    rc = sbx_frame_decode_prefix(prefix, SBX_FRAME_REQUEST,
                                 SBX_AGENT_REQUEST_HEADER_MAX,
                                 SBX_AGENT_REQUEST_BODY_MAX, &p);
    if (rc != SBX_FRAME_OK) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST, "%s",
                            sbx_frame_strerror(rc));
        return SBX_AGENT_ERR;
    }

    len = (size_t) p.header_len + p.body_len;

    f->data = malloc(len);
    if (f->data == NULL) {
        sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "out of memory");
        return SBX_AGENT_ERR;
    }

    if (sbx_agent_read_full(fd, f->data, len, deadline_us) != SBX_AGENT_OK) {
        free(f->data);
        f->data = NULL;
        return SBX_AGENT_ERR;
    }

    f->header_len = p.header_len;
    f->body_len = p.body_len;

    return SBX_AGENT_OK;
}


/*
 * Writes a response frame: the prefix, header_len bytes of header, then
 * the nbody (at most 2) pieces of the body, blocking until all is written.
 */
int
sbx_agent_write_frame(int fd, const void *header, size_t header_len,
    const struct iovec *body, int nbody)
{
    uint8_t       prefix[SBX_FRAME_PREFIX_LEN];
    struct iovec  iov[4], *v;
    uint64_t      body_len;
    ssize_t       n;
    size_t        done;
    int           i, niov;

    if (nbody > 2) {
        return SBX_AGENT_ERR;
    }

    body_len = 0;
    for (i = 0; i < nbody; i++) {
        body_len += body[i].iov_len;
    }

    if (header_len > UINT32_MAX || body_len > UINT32_MAX) {
        return SBX_AGENT_ERR;
    }

    sbx_frame_encode_prefix(prefix, SBX_FRAME_RESPONSE, (uint32_t) header_len,
                            (uint32_t) body_len);

    iov[0].iov_base = prefix;
    iov[0].iov_len = sizeof(prefix);
    iov[1].iov_base = (void *) header;
    iov[1].iov_len = header_len;
    niov = 2;

    for (i = 0; i < nbody; i++) {
        iov[niov++] = body[i];
    }

    v = iov;

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


/* Reads exactly len bytes before deadline_us; EOF, error or time out fail. */
static int
sbx_agent_read_full(int fd, void *buf, size_t len, int64_t deadline_us)
{
    uint8_t       *p;
    ssize_t        n;
    struct pollfd  pfd;
    int64_t        now;

    p = buf;

    while (len > 0) {
        now = sbx_agent_now_us();
        if (now >= deadline_us) {
            return SBX_AGENT_ERR;
        }

        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        n = poll(&pfd, 1, sbx_agent_poll_ms(deadline_us, now));
        if (n == 0 || (n == -1 && errno == EINTR)) {
            continue;
        }

        if (n == -1) {
            return SBX_AGENT_ERR;
        }

        n = read(fd, p, len);

        if (n > 0) {
            p += n;
            len -= (size_t) n;
            continue;
        }

        if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            return SBX_AGENT_ERR;
        }
    }

    return SBX_AGENT_OK;
}
