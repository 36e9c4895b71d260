
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx_audit.h"
#include "sbx_json.h"
#include "sbx_log.h"
#include "sbx_util.h"


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
    int      failed;
} sbx_audit_buf_t;


static int                    sbx_audit_fd = -1;
static char                   sbx_audit_path[1024];
static volatile sig_atomic_t  sbx_audit_reopen_asked;
static pthread_mutex_t        sbx_audit_mutex = PTHREAD_MUTEX_INITIALIZER;


static char *
sbx_audit_room(sbx_audit_buf_t *b, size_t n)
{
    char    *p;
    size_t   cap;

    if (b->failed) {
        return NULL;
    }

    if (b->len + n > b->cap) {
        cap = b->cap ? b->cap : 512;
        while (cap < b->len + n) {
            cap *= 2;
        }

        p = realloc(b->data, cap);
        if (p == NULL) {
            b->failed = 1;
            return NULL;
        }

        b->data = p;
        b->cap = cap;
    }

    return b->data + b->len;
}


static void
sbx_audit_raw(sbx_audit_buf_t *b, const char *s, size_t n)
{
    char  *p;

    p = sbx_audit_room(b, n);
    if (p != NULL) {
        memcpy(p, s, n);
        b->len += n;
    }
}


/* ,"name": (the first member has no comma) */
static void
sbx_audit_name(sbx_audit_buf_t *b, const char *name)
{
    sbx_audit_raw(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
    sbx_audit_raw(b, name, strlen(name));
    sbx_audit_raw(b, "\":", 2);
}


/* A string member; NULL is null, bytes that are not UTF-8 are base64. */
static void
sbx_audit_str(sbx_audit_buf_t *b, const char *name, const char *s)
{
    const uint8_t  *u = (const uint8_t *) s;
    size_t          n;
    char           *p, enc[64];

    sbx_audit_name(b, name);

    if (s == NULL) {
        sbx_audit_raw(b, "null", 4);
        return;
    }

    n = strlen(s);

    if (sbx_utf8_valid(u, n)) {
        p = sbx_audit_room(b, sbx_json_escaped_len(u, n));
        if (p != NULL) {
            b->len = (char *) sbx_json_escape((uint8_t *) p, u, n) - b->data;
        }
        return;
    }

    p = sbx_audit_room(b, sbx_base64_len(n) + 2);
    if (p == NULL) {
        return;
    }

    *p++ = '"';
    p = (char *) sbx_base64_encode((uint8_t *) p, u, n);
    *p++ = '"';
    b->len = (size_t) (p - b->data);

    snprintf(enc, sizeof(enc), "%s_encoding", name);
    sbx_audit_name(b, enc);
    sbx_audit_raw(b, "\"base64\"", 8);
}


static void
sbx_audit_fmt(sbx_audit_buf_t *b, const char *name, const char *fmt,
    double v)
{
    char  num[64];
    int   n;

    sbx_audit_name(b, name);
    n = snprintf(num, sizeof(num), fmt, v);
    sbx_audit_raw(b, num, n > 0 ? (size_t) n : 0);
}


static void
sbx_audit_time(sbx_audit_buf_t *b, int64_t ms)
{
    char       t[64];
    time_t     sec;
    struct tm  tm;

    sec = (time_t) (ms / 1000);
    gmtime_r(&sec, &tm);

    snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));

    sbx_audit_str(b, "time", t);
}


/* The outcome of the command, null for an exec that did not run. */
static void
sbx_audit_exec(sbx_audit_buf_t *b, const sbx_audit_rec_t *rec)
{
    if (!rec->ran) {
        sbx_audit_name(b, "exit_code");
        sbx_audit_raw(b, "null", 4);
        sbx_audit_str(b, "signal", NULL);
        sbx_audit_name(b, "timed_out");
        sbx_audit_raw(b, "null", 4);
        sbx_audit_name(b, "duration_ms");
        sbx_audit_raw(b, "null", 4);
        return;
    }

    if (rec->signal != NULL) {
        sbx_audit_name(b, "exit_code");
        sbx_audit_raw(b, "null", 4);
    } else {
        sbx_audit_fmt(b, "exit_code", "%.0f", rec->exit_code);
    }

    sbx_audit_str(b, "signal", rec->signal);
    sbx_audit_name(b, "timed_out");
    sbx_audit_raw(b, rec->timed_out ? "true" : "false",
                  rec->timed_out ? 4 : 5);
    sbx_audit_fmt(b, "duration_ms", "%.3f", rec->duration_ms);
}


char *
sbx_audit_format(const sbx_audit_rec_t *rec, size_t *len)
{
    sbx_audit_buf_t  b;

    memset(&b, 0, sizeof(b));

    sbx_audit_raw(&b, "{", 1);
    sbx_audit_time(&b, rec->time_ms);
    sbx_audit_str(&b, "instance", rec->instance);
    sbx_audit_str(&b, "request_id", rec->request_id);
    sbx_audit_str(&b, "user", rec->user);
    sbx_audit_str(&b, "op", rec->op);
    sbx_audit_str(&b, "session", rec->session);

    if (rec->command != NULL) {
        sbx_audit_str(&b, "command", rec->command);
    }

    if (rec->path != NULL) {
        sbx_audit_str(&b, "path", rec->path);
    }

    sbx_audit_str(&b, "outcome", rec->outcome);
    sbx_audit_exec(&b, rec);
    sbx_audit_fmt(&b, "op_ms", "%.3f", rec->op_ms);
    sbx_audit_raw(&b, "}\n", 3);

    if (b.failed) {
        free(b.data);
        return NULL;
    }

    /* the NUL is not part of the line */
    *len = b.len - 1;

    return b.data;
}


int
sbx_audit_open(const char *spec)
{
    int  fd;

    if (strcmp(spec, "off") == 0) {
        sbx_audit_fd = -1;
        return SBX_OK;
    }

    if (strcmp(spec, "stderr") == 0) {
        sbx_audit_fd = STDERR_FILENO;
        return SBX_OK;
    }

    fd = open(spec, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1) {
        return SBX_ERR;
    }

    snprintf(sbx_audit_path, sizeof(sbx_audit_path), "%s", spec);
    sbx_audit_fd = fd;

    return SBX_OK;
}


int
sbx_audit_enabled(void)
{
    return sbx_audit_fd != -1;
}


void
sbx_audit_reopen(void)
{
    sbx_audit_reopen_asked = 1;
}


/*
 * Opens the file again and puts it in place of the old descriptor with
 * dup2(), which is atomic: a concurrent write goes to one file or the
 * other, never to a closed descriptor.
 */
static void
sbx_audit_do_reopen(void)
{
    int  fd;

    pthread_mutex_lock(&sbx_audit_mutex);

    if (sbx_audit_reopen_asked) {
        sbx_audit_reopen_asked = 0;

        fd = open(sbx_audit_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                  0640);

        if (fd == -1) {
            sbx_log_error("audit_log %s: cannot reopen it: %s",
                          sbx_audit_path, strerror(errno));

        } else {
            if (dup3(fd, sbx_audit_fd, O_CLOEXEC) == -1) {
                sbx_log_error("audit_log %s: dup3(): %s", sbx_audit_path,
                              strerror(errno));
            }
            close(fd);
            sbx_log_info("audit_log %s reopened", sbx_audit_path);
        }
    }

    pthread_mutex_unlock(&sbx_audit_mutex);
}


void
sbx_audit_write(const sbx_audit_rec_t *rec)
{
    char     *line;
    size_t    len, done;
    ssize_t   n;

    if (sbx_audit_fd == -1) {
        return;
    }

    if (sbx_audit_reopen_asked && sbx_audit_path[0] != '\0') {
        sbx_audit_do_reopen();
    }

    line = sbx_audit_format(rec, &len);
    if (line == NULL) {
        sbx_log_error("audit: out of memory, a line is lost (op %s, "
                      "request %s)", rec->op, rec->request_id);
        return;
    }

    /*
     * One write(2) on an O_APPEND file is one line; a pipe or a full disk
     * may take less, and the rest follows before any other audit line.
     */

    pthread_mutex_lock(&sbx_audit_mutex);

    for (done = 0; done < len; done += (size_t) n) {
        n = write(sbx_audit_fd, line + done, len - done);

        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            sbx_log_error("audit: write(): %s (op %s, request %s)",
                          n < 0 ? strerror(errno) : "nothing written",
                          rec->op, rec->request_id);
            break;
        }
    }

    pthread_mutex_unlock(&sbx_audit_mutex);

    free(line);
}
