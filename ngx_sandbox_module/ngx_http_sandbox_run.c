
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * One-shot runs: POST /run (the "run" op) and GET /runtimes (the
 * "runtimes" op).  The run's output comes in the frame body: the compile
 * step's stdout and stderr, then the run's, each rendered inside its
 * step's object.
 */


#include "ngx_http_sandbox_module.h"


static ngx_int_t ngx_http_sandbox_run_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *args);
static ngx_int_t ngx_http_sandbox_run_bytes(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *content, cJSON *encoding,
    ngx_buf_t *b, cJSON *list, const char *name);


ngx_int_t
ngx_http_sandbox_args_run(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    cJSON **args)
{
    ngx_int_t  rc;
    ngx_str_t  body;

    rc = ngx_http_sandbox_body(r, &body);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_sandbox_run_args(r, ctx, (const char *) body.data,
                                     body.len, args);
}


/*
 * The "run" op's arguments from a POST /run body (or one made from
 * another API's request), its bytes moved to the frame's body.
 */

ngx_int_t
ngx_http_sandbox_run_args(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    const char *body, size_t len, cJSON **args)
{
    ngx_int_t                     rc;
    sbx_refusal_t                 why;
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    *args = sbx_parse_run(body, len, &slcf->policy, &why);

    if (*args == NULL) {
        return ngx_http_sandbox_fail(r, ctx, why.status, why.code,
                                     why.message);
    }

    rc = ngx_http_sandbox_run_body(r, ctx, *args);

    if (rc != NGX_OK) {
        cJSON_Delete(*args);
        *args = NULL;
    }

    return rc;
}


/*
 * Moves the bytes of code (or files) and stdin to the frame's body, so
 * that they cross to sandboxd raw (base64 decoded here), leaving their
 * sizes in args: "files": [{"name"?, "size"}], "stdin_size".
 */

static ngx_int_t
ngx_http_sandbox_run_body(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    cJSON *args)
{
    size_t        max;
    cJSON        *code, *files, *in, *f, *list, *name;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    code = cJSON_GetObjectItemCaseSensitive(args, "code");
    files = cJSON_GetObjectItemCaseSensitive(args, "files");
    in = cJSON_GetObjectItemCaseSensitive(args, "stdin");

    max = 1 + (code ? ngx_strlen(code->valuestring) : 0)
          + (in ? ngx_strlen(in->valuestring) : 0);

    cJSON_ArrayForEach(f, files) {
        max += ngx_strlen(cJSON_GetStringValue(
                   cJSON_GetObjectItemCaseSensitive(f, "content")));
    }

    b = ngx_create_temp_buf(r->pool, max);
    cl = ngx_alloc_chain_link(r->pool);
    list = cJSON_CreateArray();

    if (b == NULL || cl == NULL || list == NULL) {
        cJSON_Delete(list);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = NGX_OK;

    if (code != NULL) {
        rc = ngx_http_sandbox_run_bytes(r, ctx, code, NULL, b, list, NULL);
    }

    cJSON_ArrayForEach(f, files) {
        if (rc != NGX_OK) {
            break;
        }

        name = cJSON_GetObjectItemCaseSensitive(f, "name");
        rc = ngx_http_sandbox_run_bytes(
                 r, ctx, cJSON_GetObjectItemCaseSensitive(f, "content"),
                 cJSON_GetObjectItemCaseSensitive(f, "encoding"), b, list,
                 cJSON_GetStringValue(name));
    }

    if (rc == NGX_OK && in != NULL
        && cJSON_AddNumberToObject(args, "stdin_size",
                                   (double) ngx_strlen(in->valuestring))
           == NULL)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK && in != NULL) {
        b->last = ngx_cpymem(b->last, in->valuestring,
                             ngx_strlen(in->valuestring));
    }

    if (rc != NGX_OK) {
        cJSON_Delete(list);
        return rc;
    }

    cJSON_DeleteItemFromObjectCaseSensitive(args, "code");
    cJSON_DeleteItemFromObjectCaseSensitive(args, "stdin");
    cJSON_ReplaceItemInObjectCaseSensitive(args, "files", list);

    if (files == NULL && !cJSON_AddItemToObject(args, "files", list)) {
        cJSON_Delete(list);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    ctx->req_body = b->last > b->pos ? cl : NULL;
    ctx->req_body_len = b->last - b->pos;

    return NGX_OK;
}


/* Appends a file's bytes to b and {"name"?, "size"} to list. */

static ngx_int_t
ngx_http_sandbox_run_bytes(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *content, cJSON *encoding,
    ngx_buf_t *b, cJSON *list, const char *name)
{
    cJSON      *entry;
    ngx_str_t   src, dst;

    src.data = (u_char *) content->valuestring;
    src.len = ngx_strlen(content->valuestring);

    dst.data = b->last;
    dst.len = src.len;

    if (cJSON_IsString(encoding)
        && ngx_strcmp(encoding->valuestring, "base64") == 0)
    {
        if (ngx_decode_base64(&dst, &src) != NGX_OK) {
            return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request", "a file's "
                                         "\"content\" is not valid base64");
        }

    } else {
        ngx_memcpy(dst.data, src.data, src.len);
    }

    b->last += dst.len;

    entry = cJSON_CreateObject();

    if (entry == NULL
        || (name != NULL && cJSON_AddStringToObject(entry, "name", name)
                            == NULL)
        || cJSON_AddNumberToObject(entry, "size", (double) dst.len) == NULL
        || !cJSON_AddItemToArray(list, entry))
    {
        cJSON_Delete(entry);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/* How long sandboxd may take on top of the upstream's read timeout. */

ngx_msec_t
ngx_http_sandbox_run_extra_timeout(cJSON *args)
{
    return (ngx_msec_t) (cJSON_GetNumberValue(
                             cJSON_GetObjectItemCaseSensitive(args,
                                                              "timeout_ms"))
                         + cJSON_GetNumberValue(
                               cJSON_GetObjectItemCaseSensitive(
                                   args, "compile_timeout_ms")));
}


/* POST /run's body (sbx_render.c makes it). */

ngx_int_t
ngx_http_sandbox_render_run(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    sbx_text_t  text;

    return ngx_http_sandbox_set_text(r, ctx, NGX_HTTP_OK,
                                     sbx_render_run(result, body, len, &text),
                                     &text, "run");
}


ngx_int_t
ngx_http_sandbox_render_runtimes(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    cJSON      *json, *list;
    ngx_int_t   rc;

    list = cJSON_GetObjectItemCaseSensitive(result, "runtimes");

    if (!cJSON_IsArray(list)) {
        return ngx_http_sandbox_invalid(r, "a malformed runtimes result");
    }

    json = cJSON_CreateObject();

    if (json == NULL
        || sbx_json_copy(json, result, "runtimes", cJSON_IsArray) != NGX_OK)
    {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);

    cJSON_Delete(json);

    return rc;
}
