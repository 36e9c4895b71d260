
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Starting the command: pipes for its stdin, stdout and stderr, a fork,
 * and in the child a new process group, default signals, the rlimits, the
 * working directory and an execve() with exactly the request's
 * environment, the program searched in the request's own PATH.  The child
 * reports a failure through a close-on-exec status pipe, so the parent
 * knows before it goes on whether the program runs.
 */


#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "sbx_agent_core.h"


/* what the child failed to do, as it reports it on the status pipe */
typedef enum {
    SBX_AGENT_STAGE_RLIMIT = 1,
    SBX_AGENT_STAGE_DUP,
    SBX_AGENT_STAGE_CHDIR,
    SBX_AGENT_STAGE_EXEC
} sbx_agent_stage_e;


typedef struct {
    int  stage;
    int  index;                 /* of the rlimit that failed */
    int  err;
} sbx_agent_status_t;


static int sbx_agent_spawn_pipes(const sbx_agent_req_t *req, int *in,
    int *out, int *err, int *status);
static void sbx_agent_spawn_close(int *fds, int n);
static int sbx_agent_spawn_result(const sbx_agent_req_t *req, int status_fd,
    pid_t pid, sbx_agent_error_t *err);
static _Noreturn void sbx_agent_spawn_child(const sbx_agent_req_t *req,
    int in, int out, int err, int status);
static int sbx_agent_spawn_rlimit(const sbx_agent_rlimit_t *rl);
static void sbx_agent_spawn_close_fds(int keep);
static int sbx_agent_spawn_exec(const sbx_agent_req_t *req);


/*
 * Starts req's command.  On success proc holds its pid and the parent's
 * ends of its pipes, non-blocking (in_fd is -1 when stdin is /dev/null).
 * On failure nothing is left behind: no fd, no child.
 */
int
sbx_agent_spawn(const sbx_agent_req_t *req, sbx_agent_proc_t *proc,
    sbx_agent_error_t *err)
{
    int    in[2], out[2], errp[2], st[2];
    pid_t  pid;

    if (sbx_agent_spawn_pipes(req, in, out, errp, st) != SBX_AGENT_OK) {
        sbx_agent_error_set(err, SBX_AGENT_E_SPAWN_FAILED, "pipe: %s",
                            strerror(errno));
        return SBX_AGENT_ERR;
    }

    proc->start_us = sbx_agent_now_us();

    pid = fork();

    if (pid == 0) {
        sbx_agent_spawn_child(req, in[0], out[1], errp[1], st[1]);
    }

    if (pid == -1) {
        sbx_agent_error_set(err, SBX_AGENT_E_SPAWN_FAILED, "fork: %s",
                            strerror(errno));
        sbx_agent_spawn_close(in, 2);
        sbx_agent_spawn_close(out, 2);
        sbx_agent_spawn_close(errp, 2);
        sbx_agent_spawn_close(st, 2);
        return SBX_AGENT_ERR;
    }

    /* as the child does: whichever runs first, kill(-pid) works after */
    (void) setpgid(pid, pid);

    close(in[0]);
    close(out[1]);
    close(errp[1]);
    close(st[1]);

    if (sbx_agent_spawn_result(req, st[0], pid, err) != SBX_AGENT_OK) {
        sbx_agent_spawn_close(&in[1], 1);
        close(out[0]);
        close(errp[0]);
        return SBX_AGENT_ERR;
    }

    if (in[1] != -1) {
        (void) fcntl(in[1], F_SETFL, O_NONBLOCK);
    }

    (void) fcntl(out[0], F_SETFL, O_NONBLOCK);
    (void) fcntl(errp[0], F_SETFL, O_NONBLOCK);

    proc->pid = pid;
    proc->in_fd = in[1];
    proc->out_fd = out[0];
    proc->err_fd = errp[0];

    return SBX_AGENT_OK;
}


/*
 * All close-on-exec.  An empty stdin is /dev/null (in[1] is then -1), so
 * that a reader sees EOF at once rather than a pipe nobody writes to.
 */
static int
sbx_agent_spawn_pipes(const sbx_agent_req_t *req, int *in, int *out,
    int *err, int *status)
{
    int  e;

    in[0] = in[1] = out[0] = out[1] = -1;
    err[0] = err[1] = status[0] = status[1] = -1;

    if (req->stdin_len > 0) {
        if (pipe2(in, O_CLOEXEC) == -1) {
            goto fail;
        }

    } else {
        in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in[0] == -1) {
            goto fail;
        }
    }

    if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1
        || pipe2(status, O_CLOEXEC) == -1)
    {
        goto fail;
    }

    return SBX_AGENT_OK;

fail:

    e = errno;

    sbx_agent_spawn_close(in, 2);
    sbx_agent_spawn_close(out, 2);
    sbx_agent_spawn_close(err, 2);
    sbx_agent_spawn_close(status, 2);

    errno = e;

    return SBX_AGENT_ERR;
}


static void
sbx_agent_spawn_close(int *fds, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (fds[i] != -1) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}


/*
 * Waits on the status pipe: EOF means that execve() succeeded (the pipe
 * closed on exec), a record means that the child failed and exits; it is
 * reaped here and its failure becomes err.
 */
static int
sbx_agent_spawn_result(const sbx_agent_req_t *req, int status_fd, pid_t pid,
    sbx_agent_error_t *err)
{
    ssize_t             n;
    sbx_agent_status_t  s;

    do {
        n = read(status_fd, &s, sizeof(s));
    } while (n == -1 && errno == EINTR);

    close(status_fd);

    if (n != (ssize_t) sizeof(s)) {
        return SBX_AGENT_OK;
    }

    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR) {
        /* the child _exit()s right after its report */
    }

    switch (s.stage) {

    case SBX_AGENT_STAGE_CHDIR:
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_WORKING_DIR,
                            "working_dir %.512s: %s", req->cwd,
                            strerror(s.err));
        break;

    case SBX_AGENT_STAGE_RLIMIT:
        sbx_agent_error_set(err, SBX_AGENT_E_SPAWN_FAILED, "rlimit %s: %s",
                            (s.index >= 0 && (size_t) s.index < req->nrlimit)
                            ? req->rlimit[s.index].name : "?",
                            strerror(s.err));
        break;

    case SBX_AGENT_STAGE_DUP:
        sbx_agent_error_set(err, SBX_AGENT_E_SPAWN_FAILED, "dup2: %s",
                            strerror(s.err));
        break;

    default:
        sbx_agent_error_set(err, SBX_AGENT_E_SPAWN_FAILED, "%.512s: %s",
                            req->argv[0], strerror(s.err));
        break;
    }

    return SBX_AGENT_ERR;
}


/* The command's side of the fork; it never returns. */
static _Noreturn void
sbx_agent_spawn_child(const sbx_agent_req_t *req, int in, int out, int err,
    int status)
{
    int                 sig;
    size_t              i;
    sigset_t            none;
    struct sigaction    sa;
    sbx_agent_status_t  s;

    (void) setpgid(0, 0);

    /* nothing of the agent's signal handling reaches the command */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);

    for (sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            (void) sigaction(sig, &sa, NULL);
        }
    }

    sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);

    memset(&s, 0, sizeof(s));

    for (i = 0; i < req->nrlimit; i++) {
        if (sbx_agent_spawn_rlimit(&req->rlimit[i]) == -1) {
            s.stage = SBX_AGENT_STAGE_RLIMIT;
            s.index = (int) i;
            goto fail;
        }
    }

    if (chdir(req->cwd) == -1) {
        s.stage = SBX_AGENT_STAGE_CHDIR;
        goto fail;
    }

    /* 0, 1 and 2 are always open in the agent: no pipe end is among them */
    if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1) {
        s.stage = SBX_AGENT_STAGE_DUP;
        goto fail;
    }

    sbx_agent_spawn_close_fds(status);

    errno = sbx_agent_spawn_exec(req);
    s.stage = SBX_AGENT_STAGE_EXEC;

fail:

    s.err = errno;

    while (write(status, &s, sizeof(s)) == -1 && errno == EINTR) {
        /* retry */
    }

    _exit(127);
}


/* Soft and hard limit to the value, clamped to the current hard limit. */
static int
sbx_agent_spawn_rlimit(const sbx_agent_rlimit_t *rl)
{
    struct rlimit  cur, lim;

    if (getrlimit(rl->resource, &cur) == -1) {
        return -1;
    }

    lim.rlim_max = rl->value;

    if (cur.rlim_max != RLIM_INFINITY && lim.rlim_max > cur.rlim_max) {
        lim.rlim_max = cur.rlim_max;
    }

    lim.rlim_cur = lim.rlim_max;

    return setrlimit(rl->resource, &lim);
}


/*
 * Every fd is close-on-exec already; closing all but 0..2 and the status
 * pipe is the second line, against a library or a future change that
 * opens one without the flag.  close_range() needs Linux 5.9: ENOSYS is
 * fine.
 */
static void
sbx_agent_spawn_close_fds(int keep)
{
#ifdef SYS_close_range
    if (keep > 3) {
        (void) syscall(SYS_close_range, 3U, (unsigned) keep - 1, 0U);
    }

    (void) syscall(SYS_close_range, (unsigned) keep + 1, ~0U, 0U);
#else
    (void) keep;
#endif
}


/*
 * execve() of argv[0], searched in the request's PATH when it has no '/'
 * (not the agent's own, so no execvpe()).  As execvp() does, a directory
 * where the file is missing or not executable is skipped, EACCES is
 * reported when no directory had it, and an empty PATH entry is the
 * working directory.  Returns the errno to report.
 */
static int
sbx_agent_spawn_exec(const sbx_agent_req_t *req)
{
    char         buf[PATH_MAX];
    size_t       dlen, flen;
    const char  *file, *p, *end;
    int          denied;

    file = req->argv[0];

    if (strchr(file, '/') != NULL) {
        execve(file, req->argv, req->envp);
        return errno;
    }

    flen = strlen(file);

    if (flen == 0) {
        return ENOENT;
    }

    if (flen > NAME_MAX) {
        return ENAMETOOLONG;
    }

    denied = 0;

    for (p = req->path; ; p = end + 1) {
        end = strchrnul(p, ':');
        dlen = (size_t) (end - p);

        if (dlen + 1 + flen < sizeof(buf)) {
            memcpy(buf, p, dlen);
            buf[dlen] = '/';
            memcpy(buf + dlen + 1, file, flen + 1);

            execve(dlen ? buf : file, req->argv, req->envp);

            switch (errno) {
            case EACCES:
                denied = 1;
                break;
            case ENOENT:
            case ENOTDIR:
            case ELOOP:
            case ENAMETOOLONG:
            case ESTALE:
            case ENODEV:
            case ETIMEDOUT:
                break;
            default:
                return errno;
            }
        }

        if (*end == '\0') {
            break;
        }
    }

    return denied ? EACCES : ENOENT;
}
