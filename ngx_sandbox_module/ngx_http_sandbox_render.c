
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Rendering: every HTTP response body of the API is made here, from the
 * result of an op (or, for errors, in ngx_http_sandbox_filter.c).
 */


#include "ngx_http_sandbox_module.h"
#include "sbx_json.h"


#define NGX_HTTP_SANDBOX_ISO_LEN  sizeof("1970-01-01T00:00:00Z")


typedef struct {
    const char  *code;
    ngx_uint_t   status;
} ngx_http_sandbox_status_t;


static ngx_int_t ngx_http_sandbox_render_error(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *error);
static ngx_uint_t ngx_http_sandbox_error_status(const char *code);
static cJSON *ngx_http_sandbox_session_json(cJSON *session);
static ngx_int_t ngx_http_sandbox_add_ready_check(cJSON *checks,
    cJSON *from, const char *name, cJSON **failed);


static ngx_http_sandbox_status_t  ngx_http_sandbox_statuses[] = {
    { "invalid_argument", NGX_HTTP_BAD_REQUEST },
    { "not_found", NGX_HTTP_NOT_FOUND },
    { "conflict", NGX_HTTP_CONFLICT },
    { "session_lost", 410 },
    { "agent_failed", NGX_HTTP_BAD_GATEWAY },
    { "agent_unavailable", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "too_large", NGX_HTTP_REQUEST_ENTITY_TOO_LARGE },
    { "no_space", 507 },
    { "limit_exceeded", NGX_HTTP_TOO_MANY_REQUESTS },
    { "session_quota_exceeded", NGX_HTTP_TOO_MANY_REQUESTS },
    { "exec_quota_exceeded", NGX_HTTP_TOO_MANY_REQUESTS },
    { "task_quota_exceeded", NGX_HTTP_TOO_MANY_REQUESTS },
    { "capacity_exhausted", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "busy", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "store_unavailable", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "docker_unavailable", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "sandbox_error", NGX_HTTP_INTERNAL_SERVER_ERROR },
    { "internal", NGX_HTTP_INTERNAL_SERVER_ERROR },
    { NULL, NGX_HTTP_BAD_GATEWAY }
};


/*
 * Turns the gathered response frame into the HTTP response: sets the
 * status and headers and ctx->out.  A frame that breaks the protocol is
 * NGX_HTTP_UPSTREAM_INVALID_HEADER (502).
 */

ngx_int_t
ngx_http_sandbox_render_frame(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    char       *id;
    cJSON      *hdr, *ok, *result;
    ngx_int_t   rc;

    hdr = cJSON_ParseWithLength((const char *) ctx->payload,
                                ctx->frame.header_len);

    if (hdr == NULL || !cJSON_IsObject(hdr)) {
        cJSON_Delete(hdr);
        return ngx_http_sandbox_invalid(r, "a header that is not an object");
    }

    ok = cJSON_GetObjectItemCaseSensitive(hdr, "ok");
    result = cJSON_GetObjectItemCaseSensitive(hdr, "result");
    id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hdr, "id"));

    /*
     * An error sandboxd could not tie to a request (busy, a frame it could
     * not read) carries an empty id; any other answer must be to this one.
     */

    if (id == NULL
        || (ngx_strcmp(id, ctx->request_id) != 0
            && !(id[0] == '\0' && cJSON_IsFalse(ok))))
    {
        rc = ngx_http_sandbox_invalid(r, "an answer to another request");

    } else if (cJSON_IsFalse(ok)) {
        rc = ngx_http_sandbox_render_error(r, ctx,
                 cJSON_GetObjectItemCaseSensitive(hdr, "error"));

    } else if (cJSON_IsTrue(ok) && cJSON_IsObject(result)) {
        rc = ngx_http_sandbox_note_result(r, ctx, result);

        if (rc == NGX_OK) {
            rc = ctx->render(r, ctx, result,
                             ctx->payload + ctx->frame.header_len,
                             ctx->frame.body_len);
        }

    } else {
        rc = ngx_http_sandbox_invalid(r, "a header without \"ok\"");
    }

    cJSON_Delete(hdr);

    return rc;
}


static ngx_int_t
ngx_http_sandbox_render_error(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *error)
{
    ngx_buf_t   *b;
    ngx_uint_t   status;
    const char  *code, *message;

    code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error,
                                                                 "code"));
    message = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error,
                                                                    "message"));

    if (code == NULL || message == NULL) {
        return ngx_http_sandbox_invalid(r, "an error without code or message");
    }

    if (ctx->mcp_tool != NULL) {
        /* to an MCP client, the tool failed: a result with isError */
        return ngx_http_sandbox_mcp_tool_error(r, ctx, code, message);
    }

    status = ngx_http_sandbox_error_status(code);

    if (ngx_http_sandbox_fail(r, ctx, status, code, message)
        == NGX_HTTP_INTERNAL_SERVER_ERROR && status != 500)
    {
        return NGX_ERROR;
    }

    b = ngx_http_sandbox_error_body(r, ctx, status);
    if (b == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_set_out(r, ctx, status, b);
}


static ngx_uint_t
ngx_http_sandbox_error_status(const char *code)
{
    ngx_http_sandbox_status_t  *s;

    for (s = ngx_http_sandbox_statuses; s->code; s++) {
        if (ngx_strcmp(s->code, code) == 0) {
            break;
        }
    }

    return s->status;
}


/*
 * Stores an error for the JSON error filter to render and returns the
 * status, so that handlers fail with "return ngx_http_sandbox_fail(...)".
 */

ngx_int_t
ngx_http_sandbox_fail(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t status, const char *code, const char *message)
{
    if (ngx_http_sandbox_cstr(r->pool, &ctx->error_code, code) != NGX_OK
        || ngx_http_sandbox_cstr(r->pool, &ctx->error_message, message)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return status;
}


ngx_int_t
ngx_http_sandbox_prepare_json(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, cJSON *json)
{
    char       *s;
    size_t      len;
    ngx_buf_t  *b;

    s = cJSON_PrintUnformatted(json);
    if (s == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(s);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        cJSON_free(s);
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->pos, s, len);

    cJSON_free(s);

    return ngx_http_sandbox_set_out(r, ctx, status, b);
}


ngx_int_t
ngx_http_sandbox_set_out(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t status, ngx_buf_t *b)
{
    r->headers_out.status = status;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = b ? b->last - b->pos : 0;

    ctx->rendered = 1;
    ctx->out = NULL;

    if (b == NULL) {
        return NGX_OK;
    }

    b->tag = (ngx_buf_tag_t) &ngx_http_sandbox_module;

    ctx->out = ngx_alloc_chain_link(r->pool);
    if (ctx->out == NULL) {
        return NGX_ERROR;
    }

    ctx->out->buf = b;
    ctx->out->next = NULL;

    return NGX_OK;
}


ngx_int_t
ngx_http_sandbox_send_prepared(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (ctx->out == NULL) {
        /* an empty body (MCP's 202) still ends */
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    ctx->out->buf->last_buf = (r == r->main) ? 1 : 0;
    ctx->out->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, ctx->out);
}


ngx_int_t
ngx_http_sandbox_render_health(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    cJSON      *json;
    ngx_int_t   rc;

    json = cJSON_CreateObject();

    if (json == NULL || cJSON_AddStringToObject(json, "status", "ok") == NULL)
    {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);

    cJSON_Delete(json);

    return rc;
}


/*
 * 200 when sandboxd, Docker and Redis all answer; 503 naming the first
 * that does not otherwise.  "store" says where sandboxd keeps the
 * sessions: "redis", or "memory" (no Redis, so no redis check).
 */

ngx_int_t
ngx_http_sandbox_render_ready(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    u_char       message[256] = "sandboxd is not ready";
    cJSON       *json, *checks, *sandboxd, *failed, *from, *error, *pool;
    ngx_int_t    rc;
    ngx_uint_t   ready, memory;
    const char  *detail, *store;

    from = cJSON_GetObjectItemCaseSensitive(result, "checks");

    /* "memory": no Redis, so no redis check; absent from older workers */
    store = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(result, "store"));
    memory = store != NULL && ngx_strcmp(store, "memory") == 0;

    if (!cJSON_IsObject(from)
        || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(result, "ready")))
    {
        return ngx_http_sandbox_invalid(r, "a ready result without checks");
    }

    json = cJSON_CreateObject();
    checks = cJSON_AddObjectToObject(json, "checks");
    sandboxd = cJSON_AddObjectToObject(checks, "sandboxd");
    failed = NULL;

    if (sandboxd == NULL
        || cJSON_AddBoolToObject(sandboxd, "ok", 1) == NULL
        || ngx_http_sandbox_add_ready_check(checks, from, "docker", &failed)
           != NGX_OK
        || (!memory
            && ngx_http_sandbox_add_ready_check(checks, from, "redis",
                                                &failed)
               != NGX_OK))
    {
        cJSON_Delete(json);
        return ngx_http_sandbox_invalid(r, "a malformed ready check");
    }

    if (store != NULL
        && (ngx_strcmp(store, "redis") == 0 || memory)
        && cJSON_AddStringToObject(json, "store", store) == NULL)
    {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    /* the warm pool's and the task queue's counters, as sandboxd gives */
    pool = cJSON_GetObjectItemCaseSensitive(result, "run_pool");

    if ((cJSON_IsObject(pool)
         && !cJSON_AddItemToObject(json, "run_pool",
                                   cJSON_Duplicate(pool, 1)))
        || sbx_json_copy(json, result, "tasks", cJSON_IsObject) != NGX_OK)
    {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    ready = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "ready"))
            && failed == NULL;

    if (cJSON_AddStringToObject(json, "status",
                                ready ? "ready" : "unavailable")
        == NULL)
    {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    if (!ready) {
        error = cJSON_AddObjectToObject(json, "error");

        if (failed != NULL) {
            detail = cJSON_GetStringValue(
                         cJSON_GetObjectItemCaseSensitive(failed, "error"));

            *ngx_snprintf(message, sizeof(message) - 1, "%s: %s",
                          failed->string, detail ? detail : "not ready")
                = '\0';
        }

        if (error == NULL
            || cJSON_AddStringToObject(error, "code", "not_ready") == NULL
            || cJSON_AddStringToObject(error, "message", (char *) message)
               == NULL)
        {
            cJSON_Delete(json);
            return NGX_ERROR;
        }
    }

    rc = ngx_http_sandbox_prepare_json(r, ctx,
                                       ready ? NGX_HTTP_OK
                                             : NGX_HTTP_SERVICE_UNAVAILABLE,
                                       json);

    cJSON_Delete(json);

    return rc;
}


/*
 * Copies one dependency's check ({"ok", "error"?}) and remembers the first
 * failed one in *failed.
 */

static ngx_int_t
ngx_http_sandbox_add_ready_check(cJSON *checks, cJSON *from,
    const char *name, cJSON **failed)
{
    cJSON  *check, *to;

    check = cJSON_GetObjectItemCaseSensitive(from, name);

    if (!cJSON_IsObject(check)
        || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(check, "ok")))
    {
        return NGX_ERROR;
    }

    to = cJSON_AddObjectToObject(checks, name);

    if (to == NULL
        || sbx_json_copy(to, check, "ok", cJSON_IsBool) != NGX_OK
        || sbx_json_copy(to, check, "error", cJSON_IsString) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (*failed == NULL
        && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(check, "ok")))
    {
        *failed = to;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_sandbox_render_session(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    cJSON       *json, *created;
    ngx_int_t    rc;
    ngx_uint_t   status;

    json = ngx_http_sandbox_session_json(result);
    if (json == NULL) {
        return ngx_http_sandbox_invalid(r, "a malformed session");
    }

    created = cJSON_GetObjectItemCaseSensitive(result, "created");
    status = cJSON_IsTrue(created) ? NGX_HTTP_CREATED : NGX_HTTP_OK;

    if (sbx_json_copy(json, result, "created", cJSON_IsBool) != NGX_OK) {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    rc = ngx_http_sandbox_prepare_json(r, ctx, status, json);

    cJSON_Delete(json);

    return rc;
}


ngx_int_t
ngx_http_sandbox_render_sessions(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    cJSON      *json, *list, *from, *session, *item;
    ngx_int_t   rc;

    from = cJSON_GetObjectItemCaseSensitive(result, "sessions");

    if (!cJSON_IsArray(from)) {
        return ngx_http_sandbox_invalid(r, "a session list without sessions");
    }

    json = cJSON_CreateObject();
    list = cJSON_AddArrayToObject(json, "sessions");

    if (list == NULL) {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    cJSON_ArrayForEach(session, from) {
        item = ngx_http_sandbox_session_json(session);

        if (item == NULL) {
            cJSON_Delete(json);
            return ngx_http_sandbox_invalid(r, "a malformed session");
        }

        cJSON_AddItemToArray(list, item);
    }

    rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);

    cJSON_Delete(json);

    return rc;
}


ngx_int_t
ngx_http_sandbox_render_deleted(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    return ngx_http_sandbox_set_out(r, ctx, NGX_HTTP_NO_CONTENT, NULL);
}


/* POST /execute's body (sbx_render.c makes it). */

ngx_int_t
ngx_http_sandbox_render_exec(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    sbx_text_t  text;

    return ngx_http_sandbox_set_text(r, ctx, NGX_HTTP_OK,
                                     sbx_render_exec(result, body, len,
                                                     &text),
                                     &text, "exec");
}


/*
 * Answers with a body sbx_render.c made (rc is its return code): the
 * text is freed with the request.  A malformed op result is a 502.
 */

ngx_int_t
ngx_http_sandbox_set_text(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t status, int rc, sbx_text_t *text, const char *what)
{
    ngx_buf_t           *b;
    ngx_pool_cleanup_t  *cln;

    if (rc == SBX_RENDER_MALFORMED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sandboxd sent a malformed %s result", what);
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    if (rc != SBX_RENDER_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    b = ngx_calloc_buf(r->pool);

    if (cln == NULL || b == NULL) {
        free(text->data);
        return NGX_ERROR;
    }

    cln->handler = free;
    cln->data = text->data;

    b->pos = (u_char *) text->data;
    b->last = b->pos + text->len;
    b->memory = 1;

    return ngx_http_sandbox_set_out(r, ctx, status, b);
}


/*
 * The scalar members' JSON with the blobs spliced in (sbx_render.h), in
 * the request's pool.
 */

ngx_buf_t *
ngx_http_sandbox_splice_blobs(ngx_http_request_t *r, cJSON *scalars,
    sbx_blob_t *blobs, ngx_uint_t n)
{
    char       *s;
    ngx_buf_t  *b;

    s = cJSON_PrintUnformatted(scalars);
    if (s == NULL) {
        return NULL;
    }

    b = ngx_create_temp_buf(r->pool, sbx_render_splice_len(s, blobs, n));

    if (b != NULL) {
        b->last = sbx_render_splice(b->last, s, blobs, n);
    }

    cJSON_free(s);

    return b;
}


/*
 * A session as the API shows it: its id and its times in ISO 8601 UTC.
 */

static cJSON *
ngx_http_sandbox_session_json(cJSON *session)
{
    cJSON  *json, *id;

    id = cJSON_GetObjectItemCaseSensitive(session, "session_id");

    if (!cJSON_IsString(id)
        || !sbx_session_id_valid(id->valuestring, strlen(id->valuestring)))
    {
        return NULL;
    }

    json = cJSON_CreateObject();

    if (json == NULL
        || cJSON_AddStringToObject(json, "session_id", id->valuestring) == NULL
        || ngx_http_sandbox_add_time(json, session, "created_at") != NGX_OK
        || ngx_http_sandbox_add_time(json, session, "last_used_at") != NGX_OK
        || ngx_http_sandbox_add_time(json, session, "expires_at") != NGX_OK)
    {
        cJSON_Delete(json);
        return NULL;
    }

    return json;
}


ngx_int_t
ngx_http_sandbox_add_time(cJSON *to, cJSON *from, const char *name)
{
    cJSON     *t;
    ngx_tm_t   tm;
    u_char     iso[NGX_HTTP_SANDBOX_ISO_LEN];

    t = cJSON_GetObjectItemCaseSensitive(from, name);

    if (!cJSON_IsNumber(t) || t->valuedouble < 0
        || t->valuedouble > 253402300799.0)
    {
        return NGX_ERROR;
    }

    ngx_gmtime((time_t) t->valuedouble, &tm);

    *ngx_sprintf(iso, "%4d-%02d-%02dT%02d:%02d:%02dZ", tm.ngx_tm_year,
                 tm.ngx_tm_mon, tm.ngx_tm_mday, tm.ngx_tm_hour,
                 tm.ngx_tm_min, tm.ngx_tm_sec) = '\0';

    return cJSON_AddStringToObject(to, name, (char *) iso) ? NGX_OK
                                                           : NGX_ERROR;
}


ngx_int_t
ngx_http_sandbox_invalid(ngx_http_request_t *r, const char *what)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "sandboxd sent %s", what);

    return NGX_HTTP_UPSTREAM_INVALID_HEADER;
}
