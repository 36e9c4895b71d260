
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The JSON error filter: in a "sandbox on" location every error response,
 * whether the module's own or one nginx made (413 for a large body, 502
 * when sandboxd is down, 504 when it is slow), is sent as
 * {"error": {"code", "message"}} instead of nginx's HTML page.
 */


#include "ngx_http_sandbox_module.h"


typedef struct {
    ngx_uint_t   status;
    const char  *code;
    const char  *message;
} ngx_http_sandbox_default_error_t;


static ngx_int_t ngx_http_sandbox_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_sandbox_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_sandbox_request_id_header(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
static ngx_uint_t ngx_http_sandbox_ready_failed(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, cJSON *json);
static ngx_int_t ngx_http_sandbox_add_error(ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t status, cJSON *json);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static ngx_http_sandbox_default_error_t  ngx_http_sandbox_default_errors[] = {
    { 400, "bad_request", "the request is malformed" },
    { 401, "unauthorized", "credentials are required" },
    { 403, "forbidden", "access is forbidden" },
    { 404, "not_found", "no such endpoint" },
    { 405, "method_not_allowed", "the method is not allowed here" },
    { 408, "request_timeout", "the request took too long to arrive" },
    { 411, "length_required", "a Content-Length is required" },
    { 413, "payload_too_large", "the request body is too large" },
    { 414, "uri_too_long", "the request URI is too long" },
    { 415, "unsupported_media_type", "the media type is not supported" },
    { 429, "too_many_requests", "too many requests" },
    { 494, "header_too_large", "a request header is too large" },
    { 500, "internal", "an internal error occurred" },
    { 502, "worker_unavailable",
      "sandboxd is unreachable or sent an invalid response" },
    { 503, "unavailable", "the service is unavailable" },
    { 504, "worker_timeout", "sandboxd did not answer in time" },
    { 0, "http_error", "the request failed" }
};


ngx_int_t
ngx_http_sandbox_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_sandbox_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_sandbox_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_header_filter(ngx_http_request_t *r)
{
    ngx_buf_t                    *b;
    ngx_uint_t                    status;
    ngx_http_sandbox_ctx_t       *ctx;
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (!slcf->enable || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_sandbox_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (!ctx->headers_added) {
        ctx->headers_added = 1;

        if (ngx_http_sandbox_request_id_header(r, ctx) != NGX_OK
            || ngx_http_sandbox_cors_headers(r) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    status = r->err_status ? r->err_status : r->headers_out.status;

    if (status < NGX_HTTP_BAD_REQUEST) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx->rendered) {
        return ngx_http_next_header_filter(r);
    }

    b = ngx_http_sandbox_error_body(r, ctx, status);
    if (b == NULL) {
        return NGX_ERROR;
    }

    ctx->out = ngx_alloc_chain_link(r->pool);
    if (ctx->out == NULL) {
        return NGX_ERROR;
    }

    ctx->out->buf = b;
    ctx->out->next = NULL;
    ctx->rewrite_error = 1;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;
    r->headers_out.content_length_n = b->last - b->pos;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    return ngx_http_next_header_filter(r);
}


/* Drops the HTML page nginx sends and sends the JSON body instead. */

static ngx_int_t
ngx_http_sandbox_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t             *cl;
    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sandbox_module);

    if (ctx == NULL || !ctx->rewrite_error) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    if (ctx->error_body_sent) {
        return NGX_OK;
    }

    ctx->error_body_sent = 1;

    ctx->out->buf->last_buf = 1;
    ctx->out->buf->last_in_chain = 1;

    return ngx_http_next_body_filter(r, ctx->out);
}


/*
 * The body of an error response: the error the module stored in the ctx,
 * or the default for the status.  A /ready request that could not reach
 * sandboxd also says so in the readiness shape, with status 503.
 */

ngx_buf_t *
ngx_http_sandbox_error_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status)
{
    char       *s;
    size_t      len;
    cJSON      *json;
    ngx_buf_t  *b;

    json = cJSON_CreateObject();
    if (json == NULL) {
        return NULL;
    }

    status = ngx_http_sandbox_ready_failed(r, ctx, status, json);

    if (ngx_http_sandbox_add_error(ctx, status, json) != NGX_OK) {
        cJSON_Delete(json);
        return NULL;
    }

    s = cJSON_PrintUnformatted(json);

    cJSON_Delete(json);

    if (s == NULL) {
        return NULL;
    }

    len = ngx_strlen(s);

    b = ngx_create_temp_buf(r->pool, len);

    if (b != NULL) {
        b->last = ngx_cpymem(b->pos, s, len);
    }

    cJSON_free(s);

    return b;
}


static ngx_uint_t
ngx_http_sandbox_ready_failed(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, cJSON *json)
{
    cJSON  *check;

    if (ctx->op == NULL || ngx_strcmp(ctx->op, "ready") != 0
        || (status != NGX_HTTP_BAD_GATEWAY
            && status != NGX_HTTP_GATEWAY_TIME_OUT))
    {
        return status;
    }

    check = cJSON_AddObjectToObject(cJSON_AddObjectToObject(json, "checks"),
                                    "sandboxd");

    cJSON_AddStringToObject(json, "status", "unavailable");
    cJSON_AddBoolToObject(check, "ok", 0);
    cJSON_AddStringToObject(check, "error",
                            status == NGX_HTTP_BAD_GATEWAY ? "unreachable"
                                                           : "timed out");

    ngx_str_set(&ctx->error_code, "not_ready");
    ngx_str_set(&ctx->error_message, "sandboxd is unreachable");

    r->err_status = NGX_HTTP_SERVICE_UNAVAILABLE;
    r->headers_out.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    r->headers_out.status_line.len = 0;

    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


static ngx_int_t
ngx_http_sandbox_add_error(ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status,
    cJSON *json)
{
    char                              *code, *message;
    cJSON                             *error;
    ngx_http_sandbox_default_error_t  *e;

    for (e = ngx_http_sandbox_default_errors; e->status; e++) {
        if (e->status == status) {
            break;
        }
    }

    code = (char *) e->code;
    message = (char *) e->message;

    if (ctx->error_code.len) {
        code = (char *) ctx->error_code.data;
        message = (char *) ctx->error_message.data;
    }

    /* an MCP client reads a JSON-RPC error */

    if (ctx->mcp) {
        return ngx_http_sandbox_mcp_filter_error(ctx, status, message, json);
    }

    /* Piston's clients read {"message": "..."} */

    if (ctx->piston) {
        return cJSON_AddStringToObject(json, "message", message) ? NGX_OK
                                                                 : NGX_ERROR;
    }

    error = cJSON_AddObjectToObject(json, "error");
    if (error == NULL) {
        return NGX_ERROR;
    }

    if (cJSON_AddStringToObject(error, "code", code) == NULL
        || cJSON_AddStringToObject(error, "message", message) == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * X-Request-Id: the id in nginx's log and sandboxd's, for support, on
 * every answer that involved sandboxd.  What nginx refuses by itself (bad
 * credentials, rate limit, invalid bodies) gets none: making one costs a
 * third of the rate at which nginx refuses floods.
 */

static ngx_int_t
ngx_http_sandbox_request_id_header(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    ngx_str_t  id;

    if (ctx->request_id == NULL) {
        return NGX_OK;
    }

    id.data = (u_char *) ctx->request_id;
    id.len = ngx_strlen(ctx->request_id);

    return ngx_http_sandbox_add_header(r, "X-Request-Id", &id);
}
