
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * What an operation's handler sees (sbx_ops.c dispatches, the handlers
 * live in sbx_ops.c and sbx_ops_files.c), and the argument checks they
 * share.
 */


#ifndef SBX_OP_H
#define SBX_OP_H


#include "sbx_ops.h"


typedef struct {
    const char  *user;
    const char  *session_id;    /* for the log line */
    cJSON       *args;
    const char  *body;          /* the request's body, when it has one */
    size_t       body_len;
    cJSON       *result;        /* the op fills it */
    int64_t      started_ms;
    char         made_id[SBX_SESSION_ID_MAX + 1];  /* an id the op made,
                                                      for session_id */
} sbx_op_req_t;


typedef int (*sbx_op_handler_pt)(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);

/* Checks an op's arguments (and body) without running it. */
typedef int (*sbx_op_check_pt)(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_error_t *err);


/* Rejects any member of args not named in allowed (NULL-terminated). */
int sbx_ops_check_args(cJSON *args, const char **allowed, sbx_error_t *err);

/*
 * Reads args.session_id: *out is NULL when absent and optional.  Checks
 * the protocol's syntax.
 */
int sbx_ops_session_arg(sbx_op_req_t *req, int required, const char **out,
    sbx_error_t *err);

/* "SIGKILL" for 9; buf (len bytes) holds the name of an unknown one. */
const char *sbx_ops_signal_name(int sig, char *buf, size_t len);

/* The workspace operations (sbx_ops_files.c). */
int sbx_op_file_list(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
int sbx_op_file_read(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
int sbx_op_file_write(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
int sbx_op_file_delete(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);

/*
 * Writes a file of len bytes at path (relative to /workspace) through the
 * agent of rec's container: the run op's files.  Errors as file.write's;
 * nothing is dropped, the caller owns the container.
 */
int sbx_files_write_box(sbx_ctx_t *ctx, const sbx_session_rec_t *rec,
    const char *path, const void *data, size_t len, sbx_error_t *err);

/*
 * The result of an exec that ran in session sid (created: made for it)
 * into req->result and resp, which takes res over (sbx_ops.c).
 */
void sbx_ops_exec_result(sbx_op_req_t *req, const char *sid, int created,
    sbx_exec_result_t *res, sbx_response_t *resp);

/* An exec's checks (sbx_ops.c), for a task to refuse bad input at once. */
int sbx_op_exec_check(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_error_t *err);

/* A one-shot run in a fresh container (sbx_ops_run.c). */
int sbx_op_run(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err);
int sbx_op_run_check(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_error_t *err);
int sbx_op_runtimes(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);

/*
 * A package install into a session's workspace, in a helper container
 * (sbx_ops_install.c); only ever run as a task.
 */
int sbx_op_install(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err);
int sbx_op_install_check(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_error_t *err);

/* Async tasks (sbx_ops_task.c). */
int sbx_op_task_submit(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
int sbx_op_task_get(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
int sbx_op_task_cancel(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);

/* The caller's quotas and usage (sbx_ops_quota.c). */
int sbx_op_quota(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err);

/*
 * Writes the audit line of an op that changes or runs something
 * (sbx_ops_audit.c): code is NULL for success; req->result, when there is
 * one, gives the session and the command's outcome.
 */
void sbx_ops_audit(sbx_ctx_t *ctx, const char *op, const char *id,
    sbx_op_req_t *req, const char *code, int64_t started_ms);


#endif /* SBX_OP_H */
