
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * sbx-agent SOCKET: the in-container agent's PID 1.  It keeps
 * SBX_AGENT_SPARES idle connections open to sandboxd's unix socket, forks
 * a process that serves a connection (sbx_agent_serve.c) as soon as
 * sandboxd writes a request on it, and opens a fresh one at once.  Every
 * connection is opened here, by PID 1 itself: sandboxd accepts a peer only
 * when SO_PEERCRED names the container's PID 1.  As the container's init
 * it reaps every child and orphan, and on SIGTERM kills everything and
 * exits.  It runs as well outside a container (not as PID 1), for tests.
 */


#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "sbx_agent_core.h"


#define SBX_AGENT_SPARES     4
#define SBX_AGENT_RETRY_US   100000


typedef struct {
    struct sockaddr_un  addr;
    socklen_t           addr_len;
    int                 spare[SBX_AGENT_SPARES];
    int                 sig_fd;
    int64_t             retry_at;    /* no connect() before, monotonic */
    int                 reachable;   /* the last connect() succeeded */
} sbx_agent_t;


static int sbx_agent_init(sbx_agent_t *a, const char *path);
static void sbx_agent_std_fds(void);
static int sbx_agent_signals_init(sbx_agent_t *a);
static void sbx_agent_noop(int signo);
static _Noreturn void sbx_agent_loop(sbx_agent_t *a);
static void sbx_agent_fill(sbx_agent_t *a);
static int sbx_agent_connect(sbx_agent_t *a);
static void sbx_agent_signals(sbx_agent_t *a);
static void sbx_agent_spare_ready(sbx_agent_t *a, int i);
static void sbx_agent_dispatch(sbx_agent_t *a, int i);


int
main(int argc, char **argv)
{
    sbx_agent_t  a;

    /* first: inherited by every fork, reset by the command's execve() */
    (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    sbx_agent_std_fds();

    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argc > 0 ? argv[0] : "agent");
        return 2;
    }

    if (sbx_agent_init(&a, argv[1]) != SBX_AGENT_OK) {
        return 1;
    }

    /* once, inherited by every request */
    sbx_agent_path_init();

    sbx_agent_loop(&a);
}


static int
sbx_agent_init(sbx_agent_t *a, const char *path)
{
    size_t  len, i;

    memset(a, 0, sizeof(*a));

    len = strlen(path);

    if (len == 0 || len >= sizeof(a->addr.sun_path)) {
        fprintf(stderr, "sbx-agent: bad socket path \"%s\"\n", path);
        return SBX_AGENT_ERR;
    }

    a->addr.sun_family = AF_UNIX;
    memcpy(a->addr.sun_path, path, len + 1);
    a->addr_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path)
                               + len + 1);

    for (i = 0; i < SBX_AGENT_SPARES; i++) {
        a->spare[i] = -1;
    }

    a->reachable = 1;

    return sbx_agent_signals_init(a);
}


/*
 * 0, 1 and 2 open on /dev/null when the agent was started without them,
 * so that no socket or pipe of ours ever takes their numbers.
 */
static void
sbx_agent_std_fds(void)
{
    int  fd;

    for (fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            (void) open("/dev/null", O_RDWR);
        }
    }
}


/*
 * SIGCHLD, SIGTERM and SIGINT are blocked and read from a signalfd.  The
 * handlers never run (the signals stay blocked), but they make sure of
 * delivery: the kernel drops a signal that the init of a pid namespace
 * left at SIG_DFL.
 */
static int
sbx_agent_signals_init(sbx_agent_t *a)
{
    sigset_t          mask;
    struct sigaction  sa;

    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sbx_agent_noop;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);

    if (sigaction(SIGCHLD, &sa, NULL) == -1
        || sigaction(SIGTERM, &sa, NULL) == -1
        || sigaction(SIGINT, &sa, NULL) == -1
        || sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
    {
        fprintf(stderr, "sbx-agent: signals: %s\n", strerror(errno));
        return SBX_AGENT_ERR;
    }

    a->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    if (a->sig_fd == -1) {
        fprintf(stderr, "sbx-agent: signalfd: %s\n", strerror(errno));
        return SBX_AGENT_ERR;
    }

    return SBX_AGENT_OK;
}


static void
sbx_agent_noop(int signo)
{
    (void) signo;
}


static _Noreturn void
sbx_agent_loop(sbx_agent_t *a)
{
    int            i, n, timeout, slot[1 + SBX_AGENT_SPARES];
    struct pollfd  pfd[1 + SBX_AGENT_SPARES];

    for ( ;; ) {
        sbx_agent_fill(a);

        pfd[0].fd = a->sig_fd;
        pfd[0].events = POLLIN;
        n = 1;
        timeout = -1;

        for (i = 0; i < SBX_AGENT_SPARES; i++) {
            if (a->spare[i] == -1) {
                timeout = sbx_agent_poll_ms(a->retry_at, sbx_agent_now_us());
                continue;
            }

            pfd[n].fd = a->spare[i];
            pfd[n].events = POLLIN;
            slot[n++] = i;
        }

        if (poll(pfd, (nfds_t) n, timeout) == -1) {
            if (errno != EINTR) {
                sbx_agent_sleep_us(SBX_AGENT_RETRY_US);
            }
            continue;
        }

        if (pfd[0].revents) {
            sbx_agent_signals(a);
        }

        for (i = 1; i < n; i++) {
            if (pfd[i].revents) {
                sbx_agent_spare_ready(a, slot[i]);
            }
        }
    }
}


/*
 * Opens a connection in every empty slot, unless sandboxd refused one less
 * than SBX_AGENT_RETRY_US ago (it restarts, or is gone): never a hot loop.
 */
static void
sbx_agent_fill(sbx_agent_t *a)
{
    int      i, fd;
    int64_t  now;

    now = sbx_agent_now_us();

    for (i = 0; i < SBX_AGENT_SPARES; i++) {
        if (a->spare[i] != -1) {
            continue;
        }

        if (now < a->retry_at) {
            return;
        }

        fd = sbx_agent_connect(a);

        if (fd == -1) {
            if (a->reachable) {
                fprintf(stderr, "sbx-agent: connect to %s: %s, retrying "
                        "every %d ms\n", a->addr.sun_path, strerror(errno),
                        SBX_AGENT_RETRY_US / 1000);
                a->reachable = 0;
            }

            a->retry_at = now + SBX_AGENT_RETRY_US;
            return;
        }

        if (!a->reachable) {
            fprintf(stderr, "sbx-agent: connected to %s\n", a->addr.sun_path);
            a->reachable = 1;
        }

        a->spare[i] = fd;
    }
}


/*
 * A non-blocking connect(), so that a full listen backlog fails at once
 * (EAGAIN) rather than stalling PID 1; the connection itself is blocking.
 */
static int
sbx_agent_connect(sbx_agent_t *a)
{
    int  fd, e;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1) {
        return -1;
    }

    if (connect(fd, (struct sockaddr *) &a->addr, a->addr_len) == -1
        || fcntl(fd, F_SETFL, 0) == -1)
    {
        e = errno;
        close(fd);
        errno = e;
        return -1;
    }

    return fd;
}


static void
sbx_agent_signals(sbx_agent_t *a)
{
    struct signalfd_siginfo  si;

    while (read(a->sig_fd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
        if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT) {
            continue;
        }

        if (getpid() != 1) {
            /* not a container: kill(-1) would reach all the user's processes */
            exit(0);
        }

        /*
         * docker stop comes from outside the pid namespace, so its sender
         * has no pid here (0).  The sandboxed code runs as our uid and can
         * signal us too: from it, the signal is ignored, as the kernel
         * ignores its SIGKILL.  Only kill() sends SI_USER: sigqueue()
         * could forge a pid of 0, never that code.
         */
        if (si.ssi_pid == 0 && si.ssi_code == SI_USER) {
            (void) kill(-1, SIGKILL);
            exit(0);
        }
    }

    /* SIGCHLDs merge: reap every child and orphan that is done */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
        /* next */
    }
}


/*
 * Readable: sandboxd wrote a request, or closed the idle connection (it
 * restarts or has enough of them); then it is replaced after the back-off,
 * so that a sandboxd that closes at once is not reconnected in a loop.
 */
static void
sbx_agent_spare_ready(sbx_agent_t *a, int i)
{
    char     c;
    ssize_t  n;

    n = recv(a->spare[i], &c, 1, MSG_PEEK | MSG_DONTWAIT);

    if (n > 0) {
        sbx_agent_dispatch(a, i);
        return;
    }

    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }

    close(a->spare[i]);
    a->spare[i] = -1;
    a->retry_at = sbx_agent_now_us() + SBX_AGENT_RETRY_US;
}


/*
 * The serving process gets the connection and nothing else of ours; when
 * it cannot be forked, closing the connection tells sandboxd.
 */
static void
sbx_agent_dispatch(sbx_agent_t *a, int i)
{
    int    fd, k;
    pid_t  pid;

    fd = a->spare[i];
    a->spare[i] = -1;

    pid = fork();

    if (pid == 0) {
        for (k = 0; k < SBX_AGENT_SPARES; k++) {
            if (a->spare[k] != -1) {
                close(a->spare[k]);
            }
        }

        close(a->sig_fd);

        sbx_agent_serve(fd);
    }

    if (pid == -1) {
        fprintf(stderr, "sbx-agent: fork: %s\n", strerror(errno));
    }

    close(fd);
}
