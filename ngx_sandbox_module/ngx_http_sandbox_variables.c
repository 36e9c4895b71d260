
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Variables for log_format, add_header and the like: who asked, for what,
 * and how it ended.
 *
 *     $sandbox_user        the authenticated user
 *     $sandbox_session     the session the request named or was given
 *     $sandbox_op          the sandboxd operation ("exec", ...)
 *     $sandbox_exit_code   the command's exit code (not when it was killed)
 *     $sandbox_timed_out   "1" when the command ran out of time, else "0"
 *     $sandbox_error       the error code of a refused or failed request
 *     $sandbox_request_id  the id sandboxd gets (and logs): $request_id
 *
 * Each is "not found" (logged as "-") when the request has no such thing.
 */


#include "ngx_http_sandbox_module.h"


typedef enum {
    NGX_HTTP_SANDBOX_VAR_USER = 0,
    NGX_HTTP_SANDBOX_VAR_SESSION,
    NGX_HTTP_SANDBOX_VAR_OP,
    NGX_HTTP_SANDBOX_VAR_EXIT_CODE,
    NGX_HTTP_SANDBOX_VAR_TIMED_OUT,
    NGX_HTTP_SANDBOX_VAR_ERROR,
    NGX_HTTP_SANDBOX_VAR_REQUEST_ID
} ngx_http_sandbox_var_e;


static ngx_int_t ngx_http_sandbox_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_sandbox_variable_value(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, uintptr_t which, ngx_str_t *value);
static ngx_int_t ngx_http_sandbox_note_string(ngx_http_request_t *r,
    cJSON *json, const char *name, ngx_str_t *to);


static ngx_http_variable_t  ngx_http_sandbox_vars[] = {

    { ngx_string("sandbox_user"), NULL, ngx_http_sandbox_variable,
      NGX_HTTP_SANDBOX_VAR_USER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sandbox_session"), NULL, ngx_http_sandbox_variable,
      NGX_HTTP_SANDBOX_VAR_SESSION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sandbox_op"), NULL, ngx_http_sandbox_variable,
      NGX_HTTP_SANDBOX_VAR_OP, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sandbox_exit_code"), NULL, ngx_http_sandbox_variable,
      NGX_HTTP_SANDBOX_VAR_EXIT_CODE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sandbox_timed_out"), NULL, ngx_http_sandbox_variable,
      NGX_HTTP_SANDBOX_VAR_TIMED_OUT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sandbox_error"), NULL, ngx_http_sandbox_variable,
      NGX_HTTP_SANDBOX_VAR_ERROR, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sandbox_request_id"), NULL, ngx_http_sandbox_variable,
      NGX_HTTP_SANDBOX_VAR_REQUEST_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_sandbox_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_sandbox_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                value;
    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_sandbox_module);

    ngx_str_null(&value);

    if (ctx != NULL
        && ngx_http_sandbox_variable_value(r, ctx, data, &value) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (value.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = value.data;
    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_variable_value(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, uintptr_t which, ngx_str_t *value)
{
    u_char  *p;

    switch (which) {

    case NGX_HTTP_SANDBOX_VAR_USER:
        *value = ctx->user;
        break;

    case NGX_HTTP_SANDBOX_VAR_SESSION:
        *value = ctx->session.len ? ctx->session : ctx->path_id;
        break;

    case NGX_HTTP_SANDBOX_VAR_OP:
        if (ctx->op != NULL) {
            value->data = (u_char *) ctx->op;
            value->len = ngx_strlen(ctx->op);
        }
        break;

    case NGX_HTTP_SANDBOX_VAR_EXIT_CODE:
        if (!ctx->has_exit_code) {
            break;
        }

        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value->data = p;
        value->len = ngx_sprintf(p, "%i", ctx->exit_code) - p;
        break;

    case NGX_HTTP_SANDBOX_VAR_TIMED_OUT:
        if (ctx->ran) {
            value->data = (u_char *) (ctx->timed_out ? "1" : "0");
            value->len = 1;
        }
        break;

    case NGX_HTTP_SANDBOX_VAR_ERROR:
        *value = ctx->error_code;
        break;

    default: /* NGX_HTTP_SANDBOX_VAR_REQUEST_ID */
        if (ngx_http_sandbox_request_id(r, ctx) == NULL) {
            return NGX_ERROR;
        }

        value->data = (u_char *) ctx->request_id;
        value->len = ngx_strlen(ctx->request_id);
        break;
    }

    return NGX_OK;
}


/* The session an op's arguments name, before sandboxd answers. */

ngx_int_t
ngx_http_sandbox_note_args(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    cJSON *args)
{
    return ngx_http_sandbox_note_string(r, args, "session_id", &ctx->session);
}


/* What an op's result tells: the session (made up if none was named), and
 * for an execution its exit code and whether it timed out. */

ngx_int_t
ngx_http_sandbox_note_result(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result)
{
    cJSON  *item;

    if (ngx_http_sandbox_note_string(r, result, "session_id", &ctx->session)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    item = cJSON_GetObjectItemCaseSensitive(result, "exit_code");

    if (cJSON_IsNumber(item)) {
        ctx->exit_code = (ngx_int_t) item->valuedouble;
        ctx->has_exit_code = 1;
    }

    item = cJSON_GetObjectItemCaseSensitive(result, "timed_out");

    if (cJSON_IsBool(item)) {
        ctx->ran = 1;
        ctx->timed_out = cJSON_IsTrue(item);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_note_string(ngx_http_request_t *r, cJSON *json,
    const char *name, ngx_str_t *to)
{
    const char  *s;

    s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, name));

    if (s == NULL || *s == '\0') {
        return NGX_OK;
    }

    return ngx_http_sandbox_cstr(r->pool, to, s);
}
