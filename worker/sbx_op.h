
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
} sbx_op_req_t;


typedef int (*sbx_op_handler_pt)(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);


/* Rejects any member of args not named in allowed (NULL-terminated). */
int sbx_ops_check_args(cJSON *args, const char **allowed, sbx_error_t *err);

/*
 * Reads args.session_id: *out is NULL when absent and optional.  Checks
 * the protocol's syntax.
 */
int sbx_ops_session_arg(sbx_op_req_t *req, int required, const char **out,
    sbx_error_t *err);

/* The workspace operations (sbx_ops_files.c). */
int sbx_op_file_list(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
int sbx_op_file_read(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
int sbx_op_file_write(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
int sbx_op_file_delete(sbx_ctx_t *ctx, sbx_op_req_t *req,
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
