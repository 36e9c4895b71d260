
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The exec op, in the per-request process (sbx_agent_serve.c): runs the
 * command while it feeds its stdin and collects its stdout and stderr (up
 * to output_limit each, the rest read and dropped), kills everything at
 * the timeout and answers.  The command is over when its own process
 * exits: what its pipes hold then is read, and the background jobs it
 * left keep running without them.  sandboxd sends nothing more on the
 * connection once the request is in: when it becomes readable, sandboxd
 * has gone (killed, restarted, or it gave up on the request), nobody is
 * left to answer, and the command is killed at once as at its timeout.
 */


#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "sbx_agent_core.h"
#include "sbx_kv.h"


#define SBX_AGENT_CHUNK               65536


typedef struct {
    int     fd;
    char   *data;
    size_t  len;
    size_t  cap;
    size_t  limit;
    int     truncated;
} sbx_agent_stream_t;


typedef struct {
    const sbx_agent_req_t  *req;
    sbx_agent_child_t       child;
    sbx_agent_stream_t      out[2];     /* stdout, stderr */
    int                     in_fd;
    size_t                  in_off;
    int                     sig_fd;
    int                     conn_fd;    /* to sandboxd */
    int                     abandoned;  /* sandboxd left: no answer */
    int64_t                 start_us;
    int64_t                 deadline_us;
    int                     timed_out;
    int64_t                 oom_before;  /* the OOM-kill counter, or -1 */
} sbx_agent_run_t;


static int sbx_agent_run(sbx_agent_run_t *run, const sbx_agent_req_t *req,
    int conn_fd, sbx_agent_error_t *err);
static void sbx_agent_run_wait(sbx_agent_run_t *run);
static void sbx_agent_run_events(sbx_agent_run_t *run, struct pollfd *pfd,
    int n);
static void sbx_agent_run_stdin(sbx_agent_run_t *run);
static void sbx_agent_run_sigchld(sbx_agent_run_t *run);
static void sbx_agent_run_timeout(sbx_agent_run_t *run);
static void sbx_agent_run_abandon(sbx_agent_run_t *run);
static ssize_t sbx_agent_stream_read(sbx_agent_stream_t *s, size_t max);
static void sbx_agent_stream_drain(sbx_agent_stream_t *s);
static void sbx_agent_respond(int fd, const sbx_agent_run_t *run);


/*
 * Serves an exec request whose body (stdin) is read: runs the command and
 * answers.  An error means that it did not start, and err says why.
 */
int
sbx_agent_exec(sbx_agent_frame_t *frame, sbx_agent_error_t *err)
{
    sbx_agent_req_t  req;
    sbx_agent_run_t  run;

    if (sbx_agent_request_parse(&req, frame, err) != SBX_AGENT_OK
        || sbx_agent_run(&run, &req, frame->fd, err) != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    if (!run.abandoned) {
        sbx_agent_respond(frame->fd, &run);
    }

    return SBX_AGENT_OK;
}


/*
 * Runs req's command to its end or its timeout.  An error means that it
 * did not start (err says why); once it started, run holds the result.
 */
static int
sbx_agent_run(sbx_agent_run_t *run, const sbx_agent_req_t *req, int conn_fd,
    sbx_agent_error_t *err)
{
    int               i;
    sigset_t          mask;
    sbx_agent_proc_t  proc;

    memset(run, 0, sizeof(*run));
    run->req = req;
    run->conn_fd = conn_fd;

    for (i = 0; i < 2; i++) {
        run->out[i].fd = -1;
        run->out[i].limit = (size_t) req->output_limit;
    }

    /* before the fork: a SIGCHLD that comes first waits in it */
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);

    run->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (run->sig_fd == -1) {
        sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "signalfd: %s",
                            strerror(errno));
        return SBX_AGENT_ERR;
    }

    run->oom_before = sbx_agent_oom_kills();

    if (sbx_agent_spawn(req, &proc, err) != SBX_AGENT_OK) {
        return SBX_AGENT_ERR;
    }

    run->child.pid = proc.pid;
    run->in_fd = proc.in_fd;
    run->out[0].fd = proc.out_fd;
    run->out[1].fd = proc.err_fd;
    run->start_us = proc.start_us;
    run->deadline_us = proc.start_us + (int64_t) req->timeout_ms * 1000;

    sbx_agent_run_wait(run);

    if (run->in_fd != -1) {
        close(run->in_fd);
        run->in_fd = -1;
    }

    sbx_agent_stream_drain(&run->out[0]);
    sbx_agent_stream_drain(&run->out[1]);

    return SBX_AGENT_OK;
}


/* Until the command's process exits or its time is up. */
static void
sbx_agent_run_wait(sbx_agent_run_t *run)
{
    int            i, n;
    int64_t        now;
    struct pollfd  pfd[5];

    for ( ;; ) {
        now = sbx_agent_now_us();

        if (now >= run->deadline_us) {
            sbx_agent_run_timeout(run);
            return;
        }

        n = 0;

        for (i = 0; i < 2; i++) {
            if (run->out[i].fd != -1) {
                pfd[n].fd = run->out[i].fd;
                pfd[n++].events = POLLIN;
            }
        }

        if (run->in_fd != -1) {
            pfd[n].fd = run->in_fd;
            pfd[n++].events = POLLOUT;
        }

        pfd[n].fd = run->conn_fd;
        pfd[n++].events = POLLIN;

        pfd[n].fd = run->sig_fd;
        pfd[n++].events = POLLIN;

        if (poll(pfd, (nfds_t) n, sbx_agent_poll_ms(run->deadline_us, now))
            <= 0)
        {
            continue;
        }

        sbx_agent_run_events(run, pfd, n);

        if (run->child.exited || run->abandoned) {
            return;
        }
    }
}


/* The signalfd comes last in pfd: output is read before the exit is seen */
static void
sbx_agent_run_events(sbx_agent_run_t *run, struct pollfd *pfd, int n)
{
    int  i, k;

    for (i = 0; i < n; i++) {
        if (pfd[i].revents == 0) {
            continue;
        }

        if (pfd[i].fd == run->sig_fd) {
            sbx_agent_run_sigchld(run);
            continue;
        }

        if (pfd[i].fd == run->conn_fd) {
            sbx_agent_run_abandon(run);
            return;
        }

        if (pfd[i].fd == run->in_fd) {
            sbx_agent_run_stdin(run);
            continue;
        }

        for (k = 0; k < 2; k++) {
            if (pfd[i].fd == run->out[k].fd
                && sbx_agent_stream_read(&run->out[k], SBX_AGENT_CHUNK) == 0)
            {
                close(run->out[k].fd);
                run->out[k].fd = -1;
            }
        }
    }
}


/* Feeds the body to the command; a reader that went away ends it (EPIPE) */
static void
sbx_agent_run_stdin(sbx_agent_run_t *run)
{
    ssize_t  n;

    n = write(run->in_fd, run->req->stdin_data + run->in_off,
              run->req->stdin_len - run->in_off);

    if (n > 0) {
        run->in_off += (size_t) n;
        if (run->in_off < run->req->stdin_len) {
            return;
        }

    } else if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }

    close(run->in_fd);
    run->in_fd = -1;
}


static void
sbx_agent_run_sigchld(sbx_agent_run_t *run)
{
    struct signalfd_siginfo  si;

    while (read(run->sig_fd, &si, sizeof(si)) > 0) {
        /* SIGCHLDs merge: one reap loop answers them all */
    }

    (void) sbx_agent_reap(&run->child);
}


/*
 * Unless the command exited just now, everything goes: its process group,
 * then every process that ends up as our child.
 */
static void
sbx_agent_run_timeout(sbx_agent_run_t *run)
{
    (void) sbx_agent_reap(&run->child);

    if (run->child.exited) {
        return;
    }

    run->timed_out = 1;

    sbx_agent_kill_all(&run->child);
}


/*
 * sandboxd closed the connection (or broke the protocol by writing more):
 * whatever the command started is killed, and no answer is written.
 */
static void
sbx_agent_run_abandon(sbx_agent_run_t *run)
{
    run->abandoned = 1;

    (void) sbx_agent_reap(&run->child);

    if (!run->child.exited) {
        sbx_agent_kill_all(&run->child);
    }
}


/*
 * Reads at most max bytes from s: kept while under the limit, dropped
 * (and s->truncated set) past it.  Returns the count read, 0 at EOF or on
 * an error, -1 when nothing is there (EAGAIN).
 */
static ssize_t
sbx_agent_stream_read(sbx_agent_stream_t *s, size_t max)
{
    static char  sink[SBX_AGENT_CHUNK];
    char        *p;
    size_t       want, cap;
    ssize_t      n;

    if (s->len < s->limit && s->len == s->cap) {
        cap = s->cap ? s->cap * 2 : SBX_AGENT_CHUNK;
        cap = cap < s->limit ? cap : s->limit;

        p = realloc(s->data, cap);

        if (p != NULL) {
            s->data = p;
            s->cap = cap;

        } else {
            /* out of memory: keep what we have, as if at the limit */
            s->limit = s->len;
        }
    }

    if (s->len < s->limit) {
        want = s->cap - s->len;
        want = want < max ? want : max;

        n = read(s->fd, s->data + s->len, want);
        if (n > 0) {
            s->len += (size_t) n;
        }

    } else {
        want = sizeof(sink) < max ? sizeof(sink) : max;

        n = read(s->fd, sink, want);
        if (n > 0) {
            s->truncated = 1;
        }
    }

    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        return -1;
    }

    return n > 0 ? n : 0;
}


/*
 * Reads what the pipe holds now, and not a byte more: a background job
 * still writing to it cannot hold the answer back.
 */
static void
sbx_agent_stream_drain(sbx_agent_stream_t *s)
{
    int      avail;
    ssize_t  n;

    if (s->fd == -1) {
        return;
    }

    if (ioctl(s->fd, FIONREAD, &avail) == -1) {
        avail = 0;
    }

    while (avail > 0) {
        n = sbx_agent_stream_read(s, (size_t) avail);
        if (n <= 0) {
            break;
        }

        avail -= (int) n;
    }

    close(s->fd);
    s->fd = -1;
}


static void
sbx_agent_respond(int fd, const sbx_agent_run_t *run)
{
    int                   status, oom;
    int64_t               end_us;
    struct iovec          body[2];
    sbx_kv_buf_t          h;
    const struct rusage  *ru;

    status = run->child.status;
    ru = &run->child.ru;
    end_us = run->child.exited ? run->child.end_us : sbx_agent_now_us();

    sbx_kv_buf_init(&h, SBX_AGENT_RESPONSE_HEADER_MAX);
    sbx_kv_add_str(&h, "status", "ok");

    if (run->timed_out || !run->child.exited) {
        sbx_kv_add_number(&h, "signal", SIGKILL);

    } else if (WIFSIGNALED(status)) {
        sbx_kv_add_number(&h, "signal", (uint64_t) WTERMSIG(status));

    } else {
        sbx_kv_add_number(&h, "exit_code", (uint64_t) WEXITSTATUS(status));
    }

    sbx_kv_add_number(&h, "timed_out", run->timed_out ? 1 : 0);
    sbx_kv_add_number(&h, "stdout_len", run->out[0].len);
    sbx_kv_add_number(&h, "stderr_len", run->out[1].len);
    sbx_kv_add_number(&h, "stdout_truncated", run->out[0].truncated ? 1 : 0);
    sbx_kv_add_number(&h, "stderr_truncated", run->out[1].truncated ? 1 : 0);
    sbx_kv_add_number(&h, "wall_us", (uint64_t) (end_us - run->start_us));
    sbx_kv_add_number(&h, "cpu_us",
                      (uint64_t) (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec)
                      * 1000000
                      + (uint64_t) (ru->ru_utime.tv_usec
                                    + ru->ru_stime.tv_usec));
    sbx_kv_add_number(&h, "max_rss_kb", (uint64_t) ru->ru_maxrss);

    /* left out when no cgroup file tells */
    oom = sbx_agent_oom_killed(run->oom_before);
    if (oom >= 0) {
        sbx_kv_add_number(&h, "oom_killed", (uint64_t) oom);
    }

    if (h.failed) {
        return;
    }

    body[0].iov_base = run->out[0].data;
    body[0].iov_len = run->out[0].len;
    body[1].iov_base = run->out[1].data;
    body[1].iov_len = run->out[1].len;

    (void) sbx_agent_write_frame(fd, h.data, h.len, body, 2);
}
