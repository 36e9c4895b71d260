
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Piston v2 compatibility: POST /api/v2/execute and GET /api/v2/runtimes
 * (also under /api/v2/piston/) in Piston's request and response shapes,
 * on the "run" and "runtimes" ops.  Their errors are Piston's
 * {"message": "..."} (ngx_http_sandbox_filter.c), not {"error": {...}}.
 */


#include "ngx_http_sandbox_module.h"
#include "sbx_json.h"
#include "sbx_piston.h"


#define NGX_HTTP_SANDBOX_PISTON_ERR_LEN  256


static ngx_int_t ngx_http_sandbox_piston_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_str_t *body, cJSON **run);
static ngx_int_t ngx_http_sandbox_piston_step(ngx_http_request_t *r,
    cJSON *json, cJSON *result, const char *name, u_char **body,
    size_t *left);
static ngx_int_t ngx_http_sandbox_piston_outcome(cJSON *o, cJSON *step);
static ngx_int_t ngx_http_sandbox_piston_number(cJSON *o, cJSON *step,
    const char *from, const char *to);
static char *ngx_http_sandbox_piston_text(ngx_http_request_t *r,
    u_char *data, size_t len);


ngx_int_t
ngx_http_sandbox_args_piston_execute(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    char       *s;
    cJSON      *run;
    ngx_int_t   rc;
    ngx_str_t   body;

    rc = ngx_http_sandbox_body(r, &body);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_sandbox_piston_args(r, ctx, &body, &run);
    if (rc != NGX_OK) {
        return rc;
    }

    s = cJSON_PrintUnformatted(run);
    cJSON_Delete(run);

    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_sandbox_run_args(r, ctx, s, ngx_strlen(s), args);
    cJSON_free(s);

    return rc;
}


/* The Piston body as a /run body; sandboxd resolves its version range. */

static ngx_int_t
ngx_http_sandbox_piston_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_str_t *body, cJSON **run)
{
    char    err[NGX_HTTP_SANDBOX_PISTON_ERR_LEN];
    cJSON  *piston;

    piston = cJSON_ParseWithLength((const char *) body->data, body->len);

    if (piston == NULL) {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request",
                                     "the request body is not valid JSON");
    }

    *run = sbx_piston_to_run(piston, err, sizeof(err));

    cJSON_Delete(piston);

    if (*run == NULL) {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", err);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_sandbox_render_piston_execute(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    char       *language, *version;
    cJSON      *json;
    ngx_int_t   rc;

    language = cJSON_GetStringValue(
                   cJSON_GetObjectItemCaseSensitive(result, "language"));
    version = cJSON_GetStringValue(
                  cJSON_GetObjectItemCaseSensitive(result, "version"));

    if (language == NULL || version == NULL) {
        goto invalid;
    }

    json = cJSON_CreateObject();

    if (json == NULL
        || cJSON_AddStringToObject(json, "language", language) == NULL
        || cJSON_AddStringToObject(json, "version", version) == NULL)
    {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    rc = ngx_http_sandbox_piston_step(r, json, result, "compile", &body,
                                      &len);

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_piston_step(r, json, result, "run", &body,
                                          &len);
    }

    if (rc == NGX_OK && len != 0) {
        rc = NGX_DECLINED;
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
 * A step in Piston's shape: {stdout, stderr, output, code, signal,
 * message, status, cpu_time, wall_time, memory}.  "output" is stdout
 * then stderr: sandboxd keeps the two streams apart, not their order.
 * NGX_DECLINED: malformed.
 */

static ngx_int_t
ngx_http_sandbox_piston_step(ngx_http_request_t *r, cJSON *json,
    cJSON *result, const char *name, u_char **body, size_t *left)
{
    char    *out, *err, *all;
    size_t   out_len, err_len;
    cJSON   *step, *o, *n_out, *n_err;

    step = cJSON_GetObjectItemCaseSensitive(result, name);
    if (step == NULL) {
        return NGX_OK;
    }

    n_out = cJSON_GetObjectItemCaseSensitive(step, "stdout_len");
    n_err = cJSON_GetObjectItemCaseSensitive(step, "stderr_len");

    if (!cJSON_IsNumber(n_out) || !cJSON_IsNumber(n_err)
        || n_out->valuedouble < 0 || n_err->valuedouble < 0
        || n_out->valuedouble + n_err->valuedouble > (double) *left)
    {
        return NGX_DECLINED;
    }

    out_len = (size_t) n_out->valuedouble;
    err_len = (size_t) n_err->valuedouble;

    out = ngx_http_sandbox_piston_text(r, *body, out_len);
    err = ngx_http_sandbox_piston_text(r, *body + out_len, err_len);
    all = ngx_http_sandbox_piston_text(r, *body, out_len + err_len);

    *body += out_len + err_len;
    *left -= out_len + err_len;

    if (out == NULL || err == NULL || all == NULL) {
        return NGX_ERROR;
    }

    o = cJSON_AddObjectToObject(json, name);

    if (o == NULL
        || cJSON_AddStringToObject(o, "stdout", out) == NULL
        || cJSON_AddStringToObject(o, "stderr", err) == NULL
        || cJSON_AddStringToObject(o, "output", all) == NULL)
    {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_piston_outcome(o, step);
}


/* code, signal, status, message and the resources used, from a step. */

static ngx_int_t
ngx_http_sandbox_piston_outcome(cJSON *o, cJSON *step)
{
    char        *signal, status[3];
    cJSON       *code;
    const char  *message;

    code = cJSON_GetObjectItemCaseSensitive(step, "exit_code");
    signal = cJSON_GetStringValue(
                 cJSON_GetObjectItemCaseSensitive(step, "signal"));

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(step, "timed_out"))) {
        signal = signal ? signal : "SIGKILL";
        ngx_memcpy(status, "TO", 3);
        message = "Timed out";

    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(step,
                                                             "oom_killed")))
    {
        signal = signal ? signal : "SIGKILL";
        ngx_memcpy(status, "SG", 3);
        message = "Out of memory";

    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(step,
                                                             "truncated")))
    {
        ngx_memcpy(status, "OL", 3);
        message = "Output length exceeded";

    } else if (signal != NULL) {
        ngx_memcpy(status, "SG", 3);
        message = "Killed by a signal";

    } else if (cJSON_IsNumber(code) && code->valuedouble != 0) {
        ngx_memcpy(status, "RE", 3);
        message = "Exited with a non-zero status";

    } else {
        status[0] = '\0';
        message = NULL;
    }

    if ((signal == NULL && cJSON_IsNumber(code)
         ? cJSON_AddNumberToObject(o, "code", code->valuedouble)
         : cJSON_AddNullToObject(o, "code")) == NULL
        || (signal ? cJSON_AddStringToObject(o, "signal", signal)
                   : cJSON_AddNullToObject(o, "signal")) == NULL
        || (message ? cJSON_AddStringToObject(o, "message", message)
                    : cJSON_AddNullToObject(o, "message")) == NULL
        || (status[0] ? cJSON_AddStringToObject(o, "status", status)
                      : cJSON_AddNullToObject(o, "status")) == NULL)
    {
        return NGX_ERROR;
    }

    if (ngx_http_sandbox_piston_number(o, step, "cpu_ms", "cpu_time")
        != NGX_OK
        || ngx_http_sandbox_piston_number(o, step, "wall_ms", "wall_time")
           != NGX_OK
        || ngx_http_sandbox_piston_number(o, step, "memory_peak_bytes",
                                          "memory") != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A number of the step under Piston's name, or null. */

static ngx_int_t
ngx_http_sandbox_piston_number(cJSON *o, cJSON *step, const char *from,
    const char *to)
{
    cJSON  *n;

    n = cJSON_GetObjectItemCaseSensitive(step, from);

    if ((cJSON_IsNumber(n) ? cJSON_AddNumberToObject(o, to, n->valuedouble)
                           : cJSON_AddNullToObject(o, to)) == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Output as a NUL-terminated string for cJSON.  Piston's clients expect
 * text: output that is not UTF-8 has its non-ASCII bytes as '?', and a NUL
 * byte ends the string.
 */

static char *
ngx_http_sandbox_piston_text(ngx_http_request_t *r, u_char *data,
    size_t len)
{
    u_char  *s, *p;

    s = ngx_pnalloc(r->pool, len + 1);
    if (s == NULL) {
        return NULL;
    }

    *ngx_cpymem(s, data, len) = '\0';

    if (!sbx_utf8_valid(s, len)) {
        for (p = s; p < s + len; p++) {
            if (*p >= 0x80) {
                *p = '?';
            }
        }
    }

    return (char *) s;
}


/* [{language, version, aliases, runtime?}], as Piston lists them. */

ngx_int_t
ngx_http_sandbox_render_piston_runtimes(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    cJSON      *list, *json, *rt, *o;
    ngx_int_t   rc;

    list = cJSON_GetObjectItemCaseSensitive(result, "runtimes");

    if (!cJSON_IsArray(list)) {
        return ngx_http_sandbox_invalid(r, "a malformed runtimes result");
    }

    json = cJSON_CreateArray();
    if (json == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    cJSON_ArrayForEach(rt, list) {
        o = cJSON_CreateObject();

        if (o == NULL || !cJSON_AddItemToArray(json, o)
            || sbx_json_copy(o, rt, "language", cJSON_IsString) != NGX_OK
            || sbx_json_copy(o, rt, "version", cJSON_IsString) != NGX_OK
            || sbx_json_copy(o, rt, "aliases", cJSON_IsArray) != NGX_OK)
        {
            rc = NGX_ERROR;
            break;
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);
    }

    cJSON_Delete(json);

    return rc;
}
