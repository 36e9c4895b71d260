
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


int  sbx_log_level = SBX_LOG_INFO;

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
 */
void
sbx_log_write(int level, const char *fmt, ...)
{
    char             line[2048];
    int              n, m;
    va_list          ap;
    struct tm        tm;
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    n = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 sbx_log_names[level]);

    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
    va_end(ap);

    if (m < 0) {
        m = 0;
    }

    n += m;
    if (n > (int) sizeof(line) - 2) {
        n = (int) sizeof(line) - 2;
    }

    line[n++] = '\n';

    if (write(sbx_log_fd, line, (size_t) n) < 0) {
        /* nowhere left to report it */
    }
}
