
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The serving process's children: reaping them, and killing them all at
 * the timeout.  The serving process is a child subreaper, so every
 * descendant of the command that loses its parent (a double fork, a
 * setsid()'d daemon) becomes its child: killing its children until none
 * is left kills the whole tree, wherever its members moved.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "sbx_agent_core.h"


#define SBX_AGENT_KILL_ROUNDS    100
#define SBX_AGENT_KILL_PAUSE_US  1000
#define SBX_AGENT_KILL_PAUSE_MAX 20000
#define SBX_AGENT_CHILDREN_MAX   1024


static int sbx_agent_children(pid_t *pids, int max);
static int sbx_agent_children_scan(pid_t *pids, int max);
static int sbx_agent_read_file(const char *path, char *buf, size_t size);


/*
 * Reaps every child that has exited; the main command's status and rusage
 * go to *main.  Returns 1 while children (running or stopped) remain, 0
 * when there is none.
 */
int
sbx_agent_reap(sbx_agent_child_t *main)
{
    int            status;
    pid_t          pid;
    struct rusage  ru;

    for ( ;; ) {
        pid = wait4(-1, &status, WNOHANG, &ru);

        if (pid > 0) {
            if (pid == main->pid && !main->exited) {
                main->exited = 1;
                main->status = status;
                main->ru = ru;
                main->end_us = sbx_agent_now_us();
            }
            continue;
        }

        if (pid == 0) {
            return 1;
        }

        if (errno != EINTR) {
            return 0;
        }
    }
}


/*
 * Kills the command's process group, then every child of this process,
 * round after round, until none is left: each death hands the orphans of
 * the dead to us, to be killed in the next round.  Children are listed
 * only after the exited ones are reaped, and killed before the next reap,
 * so a pid killed is never a recycled one.  The rounds are bounded: a
 * process stuck in the kernel does not hold the answer forever.
 */
void
sbx_agent_kill_all(sbx_agent_child_t *main)
{
    int      round, i, n;
    pid_t    pids[SBX_AGENT_CHILDREN_MAX];
    int64_t  pause_us;

    if (!main->exited) {
        (void) kill(-main->pid, SIGKILL);
        (void) kill(main->pid, SIGKILL);
    }

    pause_us = SBX_AGENT_KILL_PAUSE_US;

    for (round = 0; round < SBX_AGENT_KILL_ROUNDS; round++) {
        if (!sbx_agent_reap(main)) {
            return;
        }

        n = sbx_agent_children(pids, SBX_AGENT_CHILDREN_MAX);

        for (i = 0; i < n; i++) {
            (void) kill(pids[i], SIGKILL);
        }

        sbx_agent_sleep_us(pause_us);

        if (pause_us < SBX_AGENT_KILL_PAUSE_MAX) {
            pause_us *= 2;
        }
    }
}


/*
 * Lists up to max children of this (single-threaded) process from
 * /proc/self/task/<pid>/children (CONFIG_PROC_CHILDREN), or else from a
 * scan of every /proc/<pid>/stat.  More children than max are found in
 * a later round.
 */
static int
sbx_agent_children(pid_t *pids, int max)
{
    char    path[64], buf[8192], *p, *end;
    int     n;
    long    pid;
    size_t  len;

    snprintf(path, sizeof(path), "/proc/self/task/%ld/children",
             (long) getpid());

    n = sbx_agent_read_file(path, buf, sizeof(buf));
    if (n < 0) {
        return sbx_agent_children_scan(pids, max);
    }

    len = (size_t) n;

    /* a full buffer may end in the middle of a pid: drop that one */
    if (len == sizeof(buf) - 1) {
        while (len > 0 && buf[len - 1] != ' ') {
            len--;
        }
    }

    buf[len] = '\0';
    n = 0;

    for (p = buf; n < max; p = end) {
        pid = strtol(p, &end, 10);
        if (end == p) {
            break;
        }

        if (pid > 0) {
            pids[n++] = (pid_t) pid;
        }
    }

    return n;
}


static int
sbx_agent_children_scan(pid_t *pids, int max)
{
    DIR            *dir;
    char            path[64], buf[512], *p;
    long            pid, ppid;
    pid_t           self;
    int             n;
    struct dirent  *de;

    dir = opendir("/proc");
    if (dir == NULL) {
        return 0;
    }

    self = getpid();
    n = 0;

    while (n < max && (de = readdir(dir)) != NULL) {
        pid = strtol(de->d_name, &p, 10);
        if (pid <= 0 || *p != '\0') {
            continue;
        }

        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);

        if (sbx_agent_read_file(path, buf, sizeof(buf)) < 0) {
            continue;
        }

        /* "pid (comm) state ppid ...": comm may hold spaces and ')' */
        p = strrchr(buf, ')');

        if (p != NULL && sscanf(p + 1, " %*c %ld", &ppid) == 1
            && ppid == (long) self)
        {
            pids[n++] = (pid_t) pid;
        }
    }

    closedir(dir);

    return n;
}


/* Reads up to size - 1 bytes of a file, NUL-terminated: the length, or -1 */
static int
sbx_agent_read_file(const char *path, char *buf, size_t size)
{
    int      fd;
    size_t   len;
    ssize_t  n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    len = 0;

    while (len < size - 1) {
        n = read(fd, buf + len, size - 1 - len);

        if (n > 0) {
            len += (size_t) n;
            continue;
        }

        if (n == -1 && errno == EINTR) {
            continue;
        }

        break;
    }

    close(fd);
    buf[len] = '\0';

    return (int) len;
}
