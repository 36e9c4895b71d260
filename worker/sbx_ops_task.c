
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The task ops (docs/PROTOCOL.md): task.submit checks an op's arguments
 * as the op itself would and queues it (sbx_task.c); task.get and
 * task.cancel answer with the task, and its op's body once it has one.
 */


#include <stdlib.h>
#include <string.h>

#include "sbx_callback.h"
#include "sbx_op.h"
#include "sbx_task.h"
#include "sbx_task_store.h"


typedef struct {
    const char       *kind;
    const char       *op;
    sbx_op_check_pt   check;
} sbx_task_kind_t;


static const sbx_task_kind_t  sbx_task_kinds[] = {
    { "execute", "exec", sbx_op_exec_check },
    { "run", "run", sbx_op_run_check },
    { "install", "install", sbx_op_install_check },
    { NULL, NULL, NULL }
};


/* args.task_id, checked. */
static int
sbx_ops_task_id(sbx_op_req_t *req, const char **id, sbx_error_t *err)
{
    static const char  *allowed[] = { "task_id", NULL };
    cJSON              *v;

    v = cJSON_GetObjectItemCaseSensitive(req->args, "task_id");

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK) {
        return SBX_ERR;
    }

    if (!cJSON_IsString(v) || !sbx_task_id_valid(v->valuestring)) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"task_id\" must be %d "
                      "lowercase hex digits", SBX_TASK_ID_LEN);
        return SBX_ERR;
    }

    *id = v->valuestring;

    return SBX_OK;
}


/* Answers with the task; its op's body becomes the frame's. */
static int
sbx_ops_task_answer(sbx_op_req_t *req, sbx_task_rec_t *rec,
    sbx_response_t *resp, sbx_error_t *err)
{
    cJSON  *json;

    json = sbx_task_json(rec, 1);
    if (json == NULL) {
        sbx_task_rec_free(rec);
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    cJSON_Delete(req->result);
    req->result = json;

    if (rec->session_id[0] != '\0') {
        req->session_id = cJSON_GetStringValue(
                              cJSON_GetObjectItemCaseSensitive(json,
                                                               "session_id"));
    }

    free(rec->result);
    rec->result = NULL;

    resp->owned = rec->body;
    resp->body[0].iov_base = rec->body;
    resp->body[0].iov_len = rec->body_len;
    resp->nbody = rec->body ? 1 : 0;
    rec->body = NULL;

    return SBX_OK;
}


int
sbx_op_task_submit(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char      *allowed[] = {
        "kind", "args", "callback_url", NULL
    };
    cJSON                  *kind, *args, *url;
    sbx_op_req_t            op;
    sbx_task_rec_t          rec;
    const sbx_task_kind_t  *k;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK) {
        return SBX_ERR;
    }

    kind = cJSON_GetObjectItemCaseSensitive(req->args, "kind");
    args = cJSON_GetObjectItemCaseSensitive(req->args, "args");
    url = cJSON_GetObjectItemCaseSensitive(req->args, "callback_url");

    for (k = sbx_task_kinds; k->kind != NULL; k++) {
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, k->kind) == 0)
        {
            break;
        }
    }

    if (k->kind == NULL || !cJSON_IsObject(args)) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "a task needs a \"kind\" "
                      "(execute, run or install) and its \"args\"");
        return SBX_ERR;
    }

    if (url != NULL
        && (!cJSON_IsString(url)
            || sbx_callback_allowed(ctx->conf, url->valuestring, err)
               != SBX_OK))
    {
        if (!cJSON_IsString(url)) {
            sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"callback_url\" "
                          "must be a string");
        }
        return SBX_ERR;
    }

    /* the op's own checks, on the op's own request */
    op = *req;
    op.args = args;
    op.result = NULL;

    if (k->check(ctx, &op, err) != SBX_OK) {
        return SBX_ERR;
    }

    if (sbx_task_submit(ctx, req->user, k->kind, k->op, args, req->body,
                        req->body_len, url ? url->valuestring : NULL, &rec,
                        err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    return sbx_ops_task_answer(req, &rec, resp, err);
}


int
sbx_op_task_get(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    int              found;
    const char      *id;
    sbx_task_rec_t   rec;

    if (sbx_ops_task_id(req, &id, err) != SBX_OK
        || sbx_task_store_get(&ctx->store, req->user, id, &rec, &found, err)
           != SBX_OK)
    {
        return SBX_ERR;
    }

    if (!found) {
        sbx_task_rec_free(&rec);
        sbx_error_set(err, SBX_E_NOT_FOUND, "no such task");
        return SBX_ERR;
    }

    return sbx_ops_task_answer(req, &rec, resp, err);
}


int
sbx_op_task_cancel(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    const char      *id;
    sbx_task_rec_t   rec;

    if (sbx_ops_task_id(req, &id, err) != SBX_OK
        || sbx_task_cancel(ctx, req->user, id, &rec, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    return sbx_ops_task_answer(req, &rec, resp, err);
}
