
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>

#include "sbx_log.h"
#include "sbx_util.h"


_Atomic int  sbx_log_level = SBX_LOG_INFO;

static int  sbx_log_fd = STDERR_FILENO;

static const char  *sbx_log_names[] = { "error", "warn", "info", "debug" };


int
sbx_log_level_parse(const char *s)
{
    int  i;

    for (i = 0; i <= SBX_LOG_DEBUG; i++) {
        if (strcmp(s, sbx_log_names[i]) == 0) {
            return i;
        }
    }

    return -1;
}


int
sbx_log_open(const char *path)
{
    int  fd;

    if (path == NULL || path[0] == '\0') {
        sbx_log_fd = STDERR_FILENO;
        return SBX_OK;
    }

    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1) {
        return SBX_ERR;
    }

    sbx_log_fd = fd;

    return SBX_OK;
}


/*
 * Formats the whole line first and writes it with one write(2) on an
 * O_APPEND descriptor, so lines of concurrent threads never interleave.
 * Control characters of the message (a command, Docker's answers) are
 * written as \xNN, so that no message can forge a line of its own.
 */
void
sbx_log_write(int level, const char *fmt, ...)
{
    static const char  hex[] = "0123456789abcdef";
    char               msg[2048], line[2048 + 64];
    unsigned char      c;
    size_t             n, i, end;
    va_list            ap;
    struct tm          tm;
    struct timespec    ts;
    int                m;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    va_start(ap, fmt);
    m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (m < 0) {
        msg[0] = '\0';
    }

    m = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 sbx_log_names[level]);

    n = m > 0 ? (size_t) m : 0;

    /* room for one escape and the newline */
    end = sizeof(line) - 5;

    for (i = 0; msg[i] != '\0' && n < end; i++) {
        c = (unsigned char) msg[i];

        if (c < 0x20 || c == 0x7f) {
            line[n++] = '\\';
            line[n++] = 'x';
            line[n++] = hex[c >> 4];
            line[n++] = hex[c & 0xf];

        } else {
            line[n++] = (char) c;
        }
    }

    line[n++] = '\n';

    if (write(sbx_log_fd, line, n) < 0) {
        /* nowhere left to report it */
    }
}
