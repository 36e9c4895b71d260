
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
static ngx_int_t ngx_http_sandbox_run_step(ngx_http_request_t *r,
    cJSON *json, cJSON *result, const char *name, u_char **body,
    size_t *left);
static cJSON *ngx_http_sandbox_run_scalars(cJSON *step);


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


ngx_int_t
ngx_http_sandbox_render_run(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    cJSON      *json, *status;
    ngx_int_t   rc;

    status = cJSON_GetObjectItemCaseSensitive(result, "status");

    if (!cJSON_IsString(status)) {
        goto invalid;
    }

    json = cJSON_CreateObject();
    if (json == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_sandbox_copy_member(json, result, "language",
                                      cJSON_IsString);

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_copy_member(json, result, "version",
                                          cJSON_IsString);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_copy_member(json, result, "run_id",
                                          cJSON_IsString);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_run_step(r, json, result, "compile", &body,
                                       &len);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_run_step(r, json, result, "run", &body, &len);
    }

    if (rc == NGX_OK && len != 0) {
        rc = NGX_DECLINED;
    }

    if (rc == NGX_OK
        && cJSON_AddStringToObject(json, "status", status->valuestring)
           == NULL)
    {
        rc = NGX_ERROR;
    }

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);
    }

    cJSON_Delete(json);

    if (rc != NGX_DECLINED) {
        return rc;
    }

invalid:

    return ngx_http_sandbox_invalid(r, "a malformed run result");
}


/*
 * A step's object, when the result has it, with its stdout and stderr
 * taken from the body.  NGX_DECLINED: malformed.
 */

static ngx_int_t
ngx_http_sandbox_run_step(ngx_http_request_t *r, cJSON *json, cJSON *result,
    const char *name, u_char **body, size_t *left)
{
    u_char                   *text;
    size_t                    len;
    cJSON                    *step, *out_len, *err_len, *scalars;
    ngx_buf_t                *b;
    ngx_http_sandbox_blob_t   streams[2];

    step = cJSON_GetObjectItemCaseSensitive(result, name);
    if (step == NULL) {
        return NGX_OK;
    }

    out_len = cJSON_GetObjectItemCaseSensitive(step, "stdout_len");
    err_len = cJSON_GetObjectItemCaseSensitive(step, "stderr_len");

    if (!cJSON_IsNumber(out_len) || !cJSON_IsNumber(err_len)
        || out_len->valuedouble < 0 || err_len->valuedouble < 0
        || out_len->valuedouble + err_len->valuedouble > (double) *left)
    {
        return NGX_DECLINED;
    }

    scalars = ngx_http_sandbox_run_scalars(step);
    if (scalars == NULL) {
        return NGX_DECLINED;
    }

    streams[0].encoding_key = "stdout_encoding";
    streams[0].key = "stdout";
    streams[0].data = *body;
    streams[0].len = (size_t) out_len->valuedouble;
    streams[1].encoding_key = "stderr_encoding";
    streams[1].key = "stderr";
    streams[1].data = *body + streams[0].len;
    streams[1].len = (size_t) err_len->valuedouble;

    *body += streams[0].len + streams[1].len;
    *left -= streams[0].len + streams[1].len;

    b = ngx_http_sandbox_splice_blobs(r, scalars, streams, 2);
    cJSON_Delete(scalars);

    if (b == NULL) {
        return NGX_ERROR;
    }

    len = b->last - b->pos;

    text = ngx_pnalloc(r->pool, len + 1);
    if (text == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(text, b->pos, len) = '\0';

    if (cJSON_AddRawToObject(json, name, (char *) text) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A step's members but its lengths; NULL when one is malformed. */

static cJSON *
ngx_http_sandbox_run_scalars(cJSON *step)
{
    cJSON  *s;

    s = cJSON_CreateObject();

    if (s == NULL
        || ngx_http_sandbox_copy_or_null(s, step, "exit_code",
                                         cJSON_IsNumber) != NGX_OK
        || ngx_http_sandbox_copy_or_null(s, step, "signal",
                                         cJSON_IsString) != NGX_OK
        || ngx_http_sandbox_copy_member(s, step, "timed_out",
                                        cJSON_IsBool) != NGX_OK
        || ngx_http_sandbox_copy_or_null(s, step, "oom_killed",
                                         cJSON_IsBool) != NGX_OK
        || ngx_http_sandbox_copy_member(s, step, "truncated",
                                        cJSON_IsBool) != NGX_OK
        || ngx_http_sandbox_copy_or_null(s, step, "cpu_ms",
                                         cJSON_IsNumber) != NGX_OK
        || ngx_http_sandbox_copy_member(s, step, "wall_ms",
                                        cJSON_IsNumber) != NGX_OK
        || ngx_http_sandbox_copy_or_null(s, step, "memory_peak_bytes",
                                         cJSON_IsNumber) != NGX_OK)
    {
        cJSON_Delete(s);
        return NULL;
    }

    return s;
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
        || ngx_http_sandbox_copy_member(json, result, "runtimes",
                                        cJSON_IsArray) != NGX_OK)
    {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);

    cJSON_Delete(json);

    return rc;
}
