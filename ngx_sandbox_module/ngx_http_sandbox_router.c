
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Routing: which API endpoint a request names, the content handler, and the
 * op arguments each endpoint builds from its request.
 */


#include "ngx_http_sandbox_module.h"


#define NGX_HTTP_SANDBOX_ALLOW_MAX  64


static ngx_int_t ngx_http_sandbox_route(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
static ngx_uint_t ngx_http_sandbox_path_match(ngx_str_t *pattern,
    ngx_str_t *path, ngx_str_t *id);
static void ngx_http_sandbox_relative_path(ngx_http_request_t *r,
    ngx_str_t *path);
static ngx_int_t ngx_http_sandbox_method_not_allowed(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_str_t *path);
static void ngx_http_sandbox_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_sandbox_dispatch(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);

static ngx_int_t ngx_http_sandbox_args_none(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
static ngx_int_t ngx_http_sandbox_args_session_create(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
static ngx_int_t ngx_http_sandbox_args_execute(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
static ngx_int_t ngx_http_sandbox_args_of_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_http_sandbox_body_args_pt parse,
    cJSON **args);
static ngx_int_t ngx_http_sandbox_refused(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, sbx_refusal_t *why);


static ngx_http_sandbox_route_t  ngx_http_sandbox_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD, ngx_string("/health"), NULL, 1,
      ngx_http_sandbox_args_none, ngx_http_sandbox_render_health, 0, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, ngx_string("/ready"), "ready", 1,
      ngx_http_sandbox_args_none, ngx_http_sandbox_render_ready, 0, 0 },

    { NGX_HTTP_POST, ngx_string("/sessions"), "session.create", 0,
      ngx_http_sandbox_args_session_create, ngx_http_sandbox_render_session,
      0, 0 },

    { NGX_HTTP_GET, ngx_string("/sessions"), "session.list", 0,
      ngx_http_sandbox_args_none, ngx_http_sandbox_render_sessions, 0, 0 },

    { NGX_HTTP_GET, ngx_string("/sessions/*"), "session.get", 0,
      ngx_http_sandbox_args_session_id, ngx_http_sandbox_render_session,
      0, 0 },

    { NGX_HTTP_DELETE, ngx_string("/sessions/*"), "session.delete", 0,
      ngx_http_sandbox_args_session_id, ngx_http_sandbox_render_deleted,
      0, 0 },

    { NGX_HTTP_POST, ngx_string("/execute"), "exec", 0,
      ngx_http_sandbox_args_execute, ngx_http_sandbox_render_exec, 0, 0 },

    { NGX_HTTP_POST, ngx_string("/sessions/*/install"), "install", 0,
      ngx_http_sandbox_args_install, ngx_http_sandbox_render_task_accepted,
      0, 0 },

    { NGX_HTTP_GET, ngx_string("/sessions/*/workspace"), "file.list", 0,
      ngx_http_sandbox_args_ws_list, ngx_http_sandbox_render_ws_list, 0, 0 },

    { NGX_HTTP_DELETE, ngx_string("/sessions/*/workspace"), "file.delete", 0,
      ngx_http_sandbox_args_ws_delete, ngx_http_sandbox_render_deleted,
      0, 0 },

    { NGX_HTTP_GET, ngx_string("/sessions/*/workspace/content"), "file.read",
      0, ngx_http_sandbox_args_ws_read, ngx_http_sandbox_render_ws_read,
      0, 0 },

    { NGX_HTTP_PUT, ngx_string("/sessions/*/workspace/content"),
      "file.write", 0, ngx_http_sandbox_args_ws_write,
      ngx_http_sandbox_render_ws_written, 0, 0 },

    { NGX_HTTP_POST, ngx_string("/sessions/*/workspace/upload"),
      "file.write", 0, ngx_http_sandbox_args_ws_upload,
      ngx_http_sandbox_render_ws_uploaded, 0, 0 },

    { NGX_HTTP_GET, ngx_string("/quota"), "quota", 0,
      ngx_http_sandbox_args_none, ngx_http_sandbox_render_quota, 0, 0 },

    { NGX_HTTP_POST, ngx_string("/run"), "run", 0,
      ngx_http_sandbox_args_run, ngx_http_sandbox_render_run, 0, 0 },

    { NGX_HTTP_GET, ngx_string("/runtimes"), "runtimes", 0,
      ngx_http_sandbox_args_none, ngx_http_sandbox_render_runtimes, 0, 0 },

    { NGX_HTTP_GET, ngx_string("/tasks/*"), "task.get", 0,
      ngx_http_sandbox_args_task_id, ngx_http_sandbox_render_task, 0, 0 },

    { NGX_HTTP_DELETE, ngx_string("/tasks/*"), "task.cancel", 0,
      ngx_http_sandbox_args_task_id, ngx_http_sandbox_render_task, 0, 0 },

    { NGX_HTTP_POST, ngx_string("/api/v2/execute"), "run", 0,
      ngx_http_sandbox_args_piston_execute,
      ngx_http_sandbox_render_piston_execute, 1, 0 },

    { NGX_HTTP_GET, ngx_string("/api/v2/runtimes"), "runtimes", 0,
      ngx_http_sandbox_args_none, ngx_http_sandbox_render_piston_runtimes,
      1, 0 },

    { NGX_HTTP_POST, ngx_string("/api/v2/piston/execute"), "run", 0,
      ngx_http_sandbox_args_piston_execute,
      ngx_http_sandbox_render_piston_execute, 1, 0 },

    { NGX_HTTP_GET, ngx_string("/api/v2/piston/runtimes"), "runtimes", 0,
      ngx_http_sandbox_args_none, ngx_http_sandbox_render_piston_runtimes,
      1, 0 },

    { NGX_HTTP_POST, ngx_string("/mcp"), "mcp", 0,
      ngx_http_sandbox_args_mcp, ngx_http_sandbox_render_mcp, 0, 1 },

    { NGX_HTTP_DELETE, ngx_string("/mcp"), NULL, 0,
      NULL, ngx_http_sandbox_mcp_delete, 0, 1 },

    { 0, ngx_null_string, NULL, 0, NULL, NULL, 0, 0 }
};


static ngx_str_t  ngx_http_sandbox_method_names[] = {
    ngx_string("GET"), ngx_string("HEAD"), ngx_string("POST"),
    ngx_string("PUT"), ngx_string("DELETE")
};

static ngx_uint_t  ngx_http_sandbox_method_bits[] = {
    NGX_HTTP_GET, NGX_HTTP_HEAD, NGX_HTTP_POST, NGX_HTTP_PUT, NGX_HTTP_DELETE
};


/*
 * The request's ctx, created and routed on first use: the access handler
 * and the content handler both need to know the route.
 */

ngx_http_sandbox_ctx_t *
ngx_http_sandbox_get_ctx(ngx_http_request_t *r)
{
    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sandbox_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_sandbox_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_sandbox_module);
    }

    if (!ctx->routed) {
        ctx->routed = 1;
        ngx_http_sandbox_route(r, ctx);
    }

    return ctx;
}


ngx_int_t
ngx_http_sandbox_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                path;
    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_sandbox_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_sandbox_cors_preflight(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ctx->route == NULL) {
        ngx_http_sandbox_relative_path(r, &path);

        /* Piston's clients get Piston's error shape for its paths too */

        ctx->piston = path.len >= sizeof("/api/v2/") - 1
                      && ngx_strncmp(path.data, "/api/v2/",
                                     sizeof("/api/v2/") - 1) == 0;

        rc = ngx_http_sandbox_method_not_allowed(r, ctx, &path);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_NOT_FOUND, "not_found",
                                     "no such endpoint");
    }

    if (!(r->method & (NGX_HTTP_POST|NGX_HTTP_PUT))) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_sandbox_dispatch(r, ctx);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_sandbox_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_sandbox_body_read(ngx_http_request_t *r)
{
    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sandbox_module);

    ngx_http_finalize_request(r, ngx_http_sandbox_dispatch(r, ctx));
}


/*
 * Answers a request whose route is known: locally for /health, otherwise
 * by sending the route's op to sandboxd.
 */

static ngx_int_t
ngx_http_sandbox_dispatch(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx)
{
    cJSON      *args;
    ngx_int_t   rc;
    ngx_msec_t  extra;

    if (ctx->op == NULL) {
        rc = ctx->route->render(r, ctx, NULL, NULL, 0);

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_sandbox_send_prepared(r, ctx);
    }

    args = NULL;

    rc = ctx->route->args(r, ctx, &args);

    if (rc == NGX_DONE) {
        /* answered by nginx after all (MCP's own methods) */
        return ngx_http_sandbox_send_prepared(r, ctx);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_sandbox_note_args(r, ctx, args) != NGX_OK) {
        cJSON_Delete(args);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ctx->mcp) {
        rc = ngx_http_sandbox_task_wrap(r, ctx, &args);

        if (rc != NGX_OK) {
            cJSON_Delete(args);
            return rc;
        }
    }

    extra = 0;

    if (ngx_strcmp(ctx->op, "exec") == 0) {
        extra = (ngx_msec_t) cJSON_GetNumberValue(
                    cJSON_GetObjectItemCaseSensitive(args, "timeout_ms"));
    }

    if (ngx_strcmp(ctx->op, "run") == 0) {
        extra = ngx_http_sandbox_run_extra_timeout(args);
    }

    rc = ngx_http_sandbox_upstream_start(r, ctx, args, extra);

    cJSON_Delete(args);

    return rc;
}


static ngx_int_t
ngx_http_sandbox_route(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx)
{
    ngx_str_t                     path, id;
    ngx_http_sandbox_route_t     *route;
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    ngx_http_sandbox_relative_path(r, &path);

    for (route = ngx_http_sandbox_routes; route->path.len; route++) {

        if (!(route->method & r->method) || (route->mcp && !slcf->mcp)) {
            continue;
        }

        if (ngx_http_sandbox_path_match(&route->path, &path, &id)) {
            ctx->route = route;
            ctx->op = route->op;
            ctx->render = route->render;
            ctx->path_id = id;
            ctx->piston = route->piston;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * The URI below the location's prefix: "location /api/" serves
 * "/api/sessions" as "/sessions".  One trailing slash is ignored.
 */

static void
ngx_http_sandbox_relative_path(ngx_http_request_t *r, ngx_str_t *path)
{
    ngx_str_t  prefix;

    ngx_http_sandbox_location_prefix(r, &prefix);

    *path = r->uri;

    if (prefix.len != 0 && path->len > prefix.len
        && ngx_strncmp(path->data, prefix.data, prefix.len) == 0
        && path->data[prefix.len] == '/')
    {
        path->data += prefix.len;
        path->len -= prefix.len;
    }

    if (path->len > 1 && path->data[path->len - 1] == '/') {
        path->len--;
    }
}


/*
 * What the API's paths sit under: "/api" for "location /api/", empty for
 * "location /", an exact or a regular expression location.
 */

void
ngx_http_sandbox_location_prefix(ngx_http_request_t *r, ngx_str_t *prefix)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    prefix->len = 0;
    prefix->data = clcf->name.data;

#if (NGX_PCRE)
    if (clcf->regex != NULL) {
        return;
    }
#endif

    if (!clcf->exact_match && clcf->name.len > 1
        && clcf->name.data[clcf->name.len - 1] == '/')
    {
        prefix->len = clcf->name.len - 1;
    }
}


/*
 * A route path matches literally, but for its '*': one non-empty path
 * segment, the id.
 */

static ngx_uint_t
ngx_http_sandbox_path_match(ngx_str_t *pattern, ngx_str_t *path,
    ngx_str_t *id)
{
    u_char  *star;
    size_t   prefix, suffix;

    id->len = 0;
    id->data = NULL;

    star = ngx_strlchr(pattern->data, pattern->data + pattern->len, '*');

    if (star == NULL) {
        return pattern->len == path->len
               && ngx_strncmp(pattern->data, path->data, path->len) == 0;
    }

    prefix = star - pattern->data;
    suffix = pattern->len - prefix - 1;

    if (path->len <= prefix + suffix
        || ngx_strncmp(pattern->data, path->data, prefix) != 0
        || ngx_strncmp(star + 1, path->data + path->len - suffix, suffix)
           != 0)
    {
        return 0;
    }

    id->data = path->data + prefix;
    id->len = path->len - prefix - suffix;

    return ngx_strlchr(id->data, id->data + id->len, '/') == NULL;
}


/*
 * A path that exists with other methods gets 405 and an Allow header that
 * lists them; a path that does not exist is declined (404).
 */

static ngx_int_t
ngx_http_sandbox_method_not_allowed(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_str_t *path)
{
    u_char                       *p;
    ngx_str_t                     id;
    ngx_uint_t                    i, allowed;
    ngx_table_elt_t              *h;
    ngx_http_sandbox_route_t     *route;
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    allowed = 0;

    for (route = ngx_http_sandbox_routes; route->path.len; route++) {
        if ((!route->mcp || slcf->mcp)
            && ngx_http_sandbox_path_match(&route->path, path, &id))
        {
            allowed |= route->method;
            ctx->piston = route->piston;
        }
    }

    if (allowed == 0) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_SANDBOX_ALLOW_MAX);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = p;

    for (i = 0; i < sizeof(ngx_http_sandbox_method_bits)
                    / sizeof(ngx_http_sandbox_method_bits[0]); i++)
    {
        if (allowed & ngx_http_sandbox_method_bits[i]) {
            p = ngx_sprintf(p, "%s%V", p == h->value.data ? "" : ", ",
                            &ngx_http_sandbox_method_names[i]);
        }
    }

    h->value.len = p - h->value.data;

    return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_NOT_ALLOWED,
                                 "method_not_allowed",
                                 "this endpoint does not accept the method");
}


static ngx_int_t
ngx_http_sandbox_args_none(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    cJSON **args)
{
    *args = cJSON_CreateObject();

    return *args ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


ngx_int_t
ngx_http_sandbox_args_session_id(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    char  *id;

    if (!sbx_session_id_valid((const char *) ctx->path_id.data,
                              ctx->path_id.len))
    {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request",
                                     "the session id in the path is not "
                                     "valid");
    }

    id = ngx_http_sandbox_pstrz(r->pool, &ctx->path_id);
    if (id == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *args = cJSON_CreateObject();

    if (*args == NULL
        || cJSON_AddStringToObject(*args, "session_id", id) == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_args_session_create(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    return ngx_http_sandbox_args_of_body(r, ctx,
                                         ngx_http_sandbox_session_create_args,
                                         args);
}


static ngx_int_t
ngx_http_sandbox_args_execute(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    return ngx_http_sandbox_args_of_body(r, ctx,
                                         ngx_http_sandbox_execute_args, args);
}


/* The arguments of POST /sessions/{id}/install: the body's, and the id. */

ngx_int_t
ngx_http_sandbox_args_install(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    cJSON          *session;
    ngx_int_t       rc;
    ngx_str_t       body;
    sbx_refusal_t   why;

    rc = ngx_http_sandbox_args_session_id(r, ctx, &session);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_sandbox_body(r, &body);
    if (rc != NGX_OK) {
        cJSON_Delete(session);
        return rc;
    }

    *args = sbx_parse_install((const char *) body.data, body.len, &why);

    if (*args == NULL) {
        cJSON_Delete(session);
        return ngx_http_sandbox_refused(r, ctx, &why);
    }

    cJSON_AddItemToObject(*args, "session_id",
                          cJSON_DetachItemFromObjectCaseSensitive(
                              session, "session_id"));
    cJSON_Delete(session);

    return NGX_OK;
}


/* The request body, read whole, as the op's arguments. */

static ngx_int_t
ngx_http_sandbox_args_of_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_http_sandbox_body_args_pt parse,
    cJSON **args)
{
    ngx_int_t  rc;
    ngx_str_t  body;

    rc = ngx_http_sandbox_body(r, &body);
    if (rc != NGX_OK) {
        return rc;
    }

    return parse(r, ctx, (const char *) body.data, body.len, args);
}


/* The op arguments of a POST /sessions body (MCP's create_session too). */

ngx_int_t
ngx_http_sandbox_session_create_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *body, size_t len, cJSON **args)
{
    sbx_refusal_t  why;

    *args = sbx_parse_session_create(body, len, &why);

    if (*args == NULL) {
        return ngx_http_sandbox_refused(r, ctx, &why);
    }

    return ngx_http_sandbox_persist_arg(r, *args);
}


/* The op arguments of a POST /execute body (MCP's execute too). */

ngx_int_t
ngx_http_sandbox_execute_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *body, size_t len, cJSON **args)
{
    sbx_refusal_t                 why;
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    *args = sbx_parse_execute(body, len, &slcf->policy, &why);

    if (*args == NULL) {
        return ngx_http_sandbox_refused(r, ctx, &why);
    }

    return ngx_http_sandbox_persist_arg(r, *args);
}


/*
 * sandbox_workspace_persist, when the location sets it: whether a session
 * made here keeps /workspace in a volume (else sandboxd's setting says).
 */

ngx_int_t
ngx_http_sandbox_persist_arg(ngx_http_request_t *r, cJSON *args)
{
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (slcf->persist == NGX_CONF_UNSET) {
        return NGX_OK;
    }

    return cJSON_AddBoolToObject(args, "persist", slcf->persist) ? NGX_OK
                                              : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static ngx_int_t
ngx_http_sandbox_refused(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    sbx_refusal_t *why)
{
    return ngx_http_sandbox_fail(r, ctx, why->status, why->code,
                                 why->message);
}


/*
 * The whole request body as one string, from memory or from the temporary
 * file nginx wrote it to.
 */

ngx_int_t
ngx_http_sandbox_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = NULL;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}
