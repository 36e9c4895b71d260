
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Async tasks: "async": true turns POST /execute and /run into a
 * "task.submit" of their op (202 and the task's URL), and POST
 * /sessions/{id}/install is always one; GET and DELETE /tasks/{id} read
 * and cancel it.  A task's body is rendered by
 * sbx_render.c, as sandboxd renders the one it posts to a callback.
 */


#include "ngx_http_sandbox_module.h"


/* The public name of the kind of task an op becomes. */
static const char *
ngx_http_sandbox_task_kind(const char *op)
{
    if (ngx_strcmp(op, "exec") == 0) {
        return "execute";
    }

    if (ngx_strcmp(op, "run") == 0) {
        return "run";
    }

    if (ngx_strcmp(op, "install") == 0) {
        return "install";
    }

    return NULL;
}


/*
 * With "async": true in args, the op is queued as a task: args become
 * {"kind", "args", "callback_url"?} of a "task.submit", answered 202.
 * Without, the member is dropped and the op runs as it came.
 */

ngx_int_t
ngx_http_sandbox_task_wrap(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    cJSON       *async, *url, *task;
    const char  *kind;

    async = cJSON_DetachItemFromObjectCaseSensitive(*args, "async");

    if (!cJSON_IsTrue(async)) {
        cJSON_Delete(async);
        return NGX_OK;
    }

    cJSON_Delete(async);

    kind = ngx_http_sandbox_task_kind(ctx->op);
    if (kind == NULL) {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", "this endpoint "
                                     "does not run as a task");
    }

    url = cJSON_DetachItemFromObjectCaseSensitive(*args, "callback_url");
    task = cJSON_CreateObject();

    if (task == NULL
        || cJSON_AddStringToObject(task, "kind", kind) == NULL
        || !cJSON_AddItemToObject(task, "args", *args))
    {
        cJSON_Delete(url);
        cJSON_Delete(task);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *args = task;

    if (url != NULL) {
        cJSON_AddItemToObject(task, "callback_url", url);
    }

    ctx->op = "task.submit";
    ctx->render = ngx_http_sandbox_render_task_accepted;

    return NGX_OK;
}


/* The arguments of GET and DELETE /tasks/{id}. */

ngx_int_t
ngx_http_sandbox_args_task_id(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    ngx_uint_t  i;
    u_char      c, *id;

    for (i = 0; i < ctx->path_id.len; i++) {
        c = ctx->path_id.data[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            break;
        }
    }

    if (ctx->path_id.len != NGX_HTTP_SANDBOX_TASK_ID_LEN
        || i != ctx->path_id.len)
    {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", "a task id is 32 "
                                     "lowercase hex digits");
    }

    id = (u_char *) ngx_http_sandbox_pstrz(r->pool, &ctx->path_id);
    *args = cJSON_CreateObject();

    if (id == NULL || *args == NULL
        || cJSON_AddStringToObject(*args, "task_id", (char *) id) == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_sandbox_render_task(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    sbx_text_t  text;

    return ngx_http_sandbox_set_text(r, ctx, NGX_HTTP_OK,
                                     sbx_render_task(result, body, len,
                                                     &text),
                                     &text, "task");
}


/* 202, the task and its URL (in "status_url" and Location). */

ngx_int_t
ngx_http_sandbox_render_task_accepted(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    u_char            *p;
    ngx_str_t          prefix;
    sbx_text_t         text;
    ngx_table_elt_t   *h;
    const char        *id;

    id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result,
                                                               "task_id"));
    if (id == NULL || ngx_strlen(id) != NGX_HTTP_SANDBOX_TASK_ID_LEN) {
        return ngx_http_sandbox_invalid(r, "a task without its id");
    }

    ngx_http_sandbox_location_prefix(r, &prefix);

    p = ngx_pnalloc(r->pool, prefix.len + sizeof("/tasks/")
                             + NGX_HTTP_SANDBOX_TASK_ID_LEN);
    h = ngx_list_push(&r->headers_out.headers);

    if (p == NULL || h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = p;
    p = ngx_sprintf(p, "%V/tasks/%s", &prefix, id);
    h->value.len = p - h->value.data;
    *p = '\0';

    r->headers_out.location = h;

    if (cJSON_AddStringToObject(result, "status_url",
                                (char *) h->value.data) == NULL)
    {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_set_text(r, ctx, NGX_HTTP_ACCEPTED,
                                     sbx_render_task(result, body, len,
                                                     &text),
                                     &text, "task");
}
