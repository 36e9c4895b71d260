
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The audit log: one JSON line per operation that changes or runs
 * something (audit_log = a file, "stderr" or "off").  Each line is made
 * whole, then written with one write(2) on an O_APPEND descriptor, so the
 * lines of concurrent operations never interleave.  SIGUSR1 asks for the
 * file to be opened again (after logrotate moved it); the next line does
 * it.
 */


#ifndef SBX_AUDIT_H
#define SBX_AUDIT_H


#include <stddef.h>
#include <stdint.h>


typedef struct {
    int64_t      time_ms;       /* Unix milliseconds, when the op ended */
    const char  *instance;
    const char  *request_id;
    const char  *user;
    const char  *op;
    const char  *session;       /* NULL: null */
    const char  *command;       /* exec; NULL: left out */
    const char  *path;          /* file ops; NULL: left out */
    const char  *outcome;       /* "ok" or the error code */
    int          ran;           /* exec: the command ran (exit, signal) */
    int          exit_code;
    const char  *signal;        /* NULL: null */
    int          timed_out;
    double       duration_ms;   /* the command's wall time, when it ran */
    double       op_ms;         /* the whole operation in sandboxd */
} sbx_audit_rec_t;


/*
 * Opens the audit log: an absolute path (appended to, created 0640),
 * "stderr" or "off".  SBX_ERR with errno when the file cannot be opened.
 */
int sbx_audit_open(const char *spec);

/* Whether lines are written at all. */
int sbx_audit_enabled(void);

/* Async-signal-safe: the next line reopens the file first. */
void sbx_audit_reopen(void);

/* Writes one line; a failure is logged, never fatal. */
void sbx_audit_write(const sbx_audit_rec_t *rec);

/*
 * The line of rec, "\n" included, NUL-terminated and malloc'ed; *len
 * gets its length (without the NUL).  Strings
 * that are not UTF-8 are written in base64 with "<name>_encoding":
 * "base64" beside them.  NULL without memory.
 */
char *sbx_audit_format(const sbx_audit_rec_t *rec, size_t *len);


#endif /* SBX_AUDIT_H */
