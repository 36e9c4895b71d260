
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The container's OOM-kill counter, read before and after a command so
 * that its answer can say whether the kernel's OOM killer ended a process
 * of the container meanwhile (docs/PROTOCOL.md, "exec response").  The
 * container's own memory cgroup is what /sys/fs/cgroup shows inside it:
 * cgroup v2 counts in memory.events, v1 in memory/memory.oom_control
 * (kernel 4.13 and later), both as an "oom_kill N" line.  The kernel
 * counts a kill before it sends the SIGKILL, so a command that died of it
 * finds the counter raised when its exit is seen.
 */


#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sbx_agent_core.h"


#define SBX_AGENT_OOM_FILE_MAX  1024


static const char  *sbx_agent_oom_files[] = {
    "/sys/fs/cgroup/memory.events",
    "/sys/fs/cgroup/memory/memory.oom_control",
    NULL
};


static int64_t sbx_agent_oom_read(const char *path);
static int64_t sbx_agent_oom_parse(const char *p);


/* The counter, or -1 when no cgroup file tells it. */
int64_t
sbx_agent_oom_kills(void)
{
    int64_t  n;
    size_t   i;

    for (i = 0; sbx_agent_oom_files[i] != NULL; i++) {
        n = sbx_agent_oom_read(sbx_agent_oom_files[i]);
        if (n >= 0) {
            return n;
        }
    }

    return -1;
}


/* 1 when the counter rose since before, 0 when not, -1 when unknown. */
int
sbx_agent_oom_killed(int64_t before)
{
    int64_t  after;

    if (before < 0) {
        return -1;
    }

    after = sbx_agent_oom_kills();

    if (after < 0) {
        return -1;
    }

    return after > before;
}


static int64_t
sbx_agent_oom_read(const char *path)
{
    char     buf[SBX_AGENT_OOM_FILE_MAX + 1];
    size_t   len;
    ssize_t  n;
    int      fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1) {
        return -1;
    }

    len = 0;

    while (len < SBX_AGENT_OOM_FILE_MAX) {
        n = read(fd, buf + len, SBX_AGENT_OOM_FILE_MAX - len);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            break;
        }

        len += (size_t) n;
    }

    close(fd);
    buf[len] = '\0';

    return sbx_agent_oom_parse(buf);
}


/* The value of the "oom_kill N" line of p, or -1. */
static int64_t
sbx_agent_oom_parse(const char *p)
{
    static const char  key[] = "oom_kill ";
    int64_t            v;
    int                digits;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, sizeof(key) - 1) == 0) {
            p += sizeof(key) - 1;
            v = 0;

            for (digits = 0; *p >= '0' && *p <= '9' && digits < 18;
                 p++, digits++)
            {
                v = v * 10 + (*p - '0');
            }

            return digits > 0 && (*p == '\n' || *p == '\0') ? v : -1;
        }

        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }

    return -1;
}
