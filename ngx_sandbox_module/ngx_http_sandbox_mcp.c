
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The MCP server at <location>/mcp: JSON-RPC 2.0 over the Streamable HTTP
 * transport (protocol versions 2025-03-26, 2025-06-18 and 2025-11-25),
 * every answer one application/json body, no SSE stream (GET is 405).
 * initialize, ping and tools/list are answered here; tools/call becomes
 * the op of its tool (ngx_http_sandbox_mcp_tools.c), sent to sandboxd as
 * the REST endpoints send it, behind the same authentication and limits.
 */


#include "ngx_http_sandbox_module.h"
#include "sbx_json.h"


#define NGX_HTTP_SANDBOX_MCP_BAD_SESSION  -32000
#define NGX_HTTP_SANDBOX_MCP_NO_SESSION   -32001


static ngx_int_t ngx_http_sandbox_mcp_origin(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
static ngx_int_t ngx_http_sandbox_mcp_message(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *msg, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_note_id(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *id);
static ngx_int_t ngx_http_sandbox_mcp_initialize(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *params);
static ngx_int_t ngx_http_sandbox_mcp_session(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t close);
static ngx_int_t ngx_http_sandbox_mcp_accepted(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
static ngx_int_t ngx_http_sandbox_mcp_envelope(ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t with_id, cJSON *json);
static ngx_int_t ngx_http_sandbox_mcp_fill_error(ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t with_id, ngx_int_t code, const char *message, cJSON *json);


static const char  *ngx_http_sandbox_mcp_versions[] = {
    "2025-03-26", "2025-06-18", "2025-11-25", NULL
};

#define NGX_HTTP_SANDBOX_MCP_LATEST  2


static const char  ngx_http_sandbox_mcp_instructions[] =
    "Tools to run shell commands and programs in isolated Linux sandboxes "
    "(no network, a writable /workspace and /tmp). Create a session with "
    "create_session, run commands in it with execute and manage its files "
    "with the workspace_* tools; its files persist between calls until "
    "delete_session. run_code runs a program once in a fresh sandbox.";


/* POST <location>/mcp: one JSON-RPC message. */

ngx_int_t
ngx_http_sandbox_args_mcp(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    cJSON **args)
{
    cJSON      *msg;
    ngx_int_t   rc;
    ngx_str_t   body;

    ctx->mcp = 1;

    rc = ngx_http_sandbox_mcp_origin(r, ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_sandbox_body(r, &body);
    if (rc != NGX_OK) {
        return rc;
    }

    /* cJSON cuts a string at an escaped NUL: a file with one is refused */
    ctx->mcp_nul = sbx_json_has_nul((const char *) body.data, body.len);

    msg = cJSON_ParseWithLength((const char *) body.data, body.len);

    if (msg == NULL) {
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_BAD_REQUEST,
                                          NGX_HTTP_SANDBOX_MCP_PARSE_ERROR,
                                          "Parse error: the body is not "
                                          "JSON");
    }

    rc = ngx_http_sandbox_mcp_message(r, ctx, msg, args);

    cJSON_Delete(msg);

    return rc;
}


/* DELETE <location>/mcp: the end of a session. */

ngx_int_t
ngx_http_sandbox_mcp_delete(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    ngx_int_t  rc;

    ctx->mcp = 1;

    rc = ngx_http_sandbox_mcp_origin(r, ctx);

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_mcp_session(r, ctx, 1);
    }

    if (rc == NGX_DONE) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_set_out(r, ctx, NGX_HTTP_NO_CONTENT, NULL);
}


/*
 * A browser page of another site must not drive the server (DNS
 * rebinding): an Origin, when sent, is this host's or one of
 * sandbox_cors_origins.
 */

static ngx_int_t
ngx_http_sandbox_mcp_origin(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    u_char                       *p, *last;
    ngx_str_t                    *o, host;
    ngx_uint_t                    i;
    ngx_table_elt_t              *origin;
    ngx_http_sandbox_loc_conf_t  *slcf;

    origin = ngx_http_sandbox_find_header(r, "Origin", sizeof("Origin") - 1);

    if (origin == NULL) {
        return NGX_OK;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (slcf->cors.origins) {
        o = slcf->cors.origins->elts;

        for (i = 0; i < slcf->cors.origins->nelts; i++) {
            if (o[i].len == origin->value.len
                && ngx_strncasecmp(o[i].data, origin->value.data, o[i].len)
                   == 0)
            {
                return NGX_OK;
            }
        }
    }

    /* "http://host[:port]" or "https://..." naming the Host asked for */

    p = origin->value.data;
    last = p + origin->value.len;
    host = r->headers_in.server;

    if (r->headers_in.host) {
        host = r->headers_in.host->value;
    }

    if (last - p > 8 && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
        p += 8;

    } else if (last - p > 7
               && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0)
    {
        p += 7;

    } else {
        p = last;
    }

    if (host.len && (size_t) (last - p) == host.len
        && ngx_strncasecmp(p, host.data, host.len) == 0)
    {
        return NGX_OK;
    }

    return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_FORBIDDEN,
                                      NGX_HTTP_SANDBOX_MCP_INVALID_REQUEST,
                                      "Forbidden: the Origin is not "
                                      "allowed");
}


/*
 * One JSON-RPC message: a request is answered (NGX_DONE) or, for
 * tools/call, becomes its tool's op (NGX_OK, *args); a notification or a
 * response is taken with 202.
 */

static ngx_int_t
ngx_http_sandbox_mcp_message(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *msg, cJSON **args)
{
    cJSON      *jsonrpc, *method, *id, *params;
    ngx_int_t   rc;

    if (cJSON_IsArray(msg)) {
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_BAD_REQUEST,
                                          NGX_HTTP_SANDBOX_MCP_INVALID_REQUEST,
                                          "Invalid Request: batches are "
                                          "not supported");
    }

    jsonrpc = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
    method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    params = cJSON_GetObjectItemCaseSensitive(msg, "params");

    /* an id is a string or an integer, never null (MCP's own rule) */

    if (!cJSON_IsObject(msg)
        || !cJSON_IsString(jsonrpc)
        || ngx_strcmp(jsonrpc->valuestring, "2.0") != 0
        || (method != NULL && !cJSON_IsString(method))
        || (id != NULL && !cJSON_IsString(id)
            && !(cJSON_IsNumber(id)
                 && id->valuedouble == (double) (int64_t) id->valuedouble))
        || (method == NULL
            && (id == NULL
                || (cJSON_GetObjectItemCaseSensitive(msg, "result") == NULL
                    && cJSON_GetObjectItemCaseSensitive(msg, "error")
                       == NULL))))
    {
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_BAD_REQUEST,
                                          NGX_HTTP_SANDBOX_MCP_INVALID_REQUEST,
                                          "Invalid Request: not a JSON-RPC "
                                          "2.0 message");
    }

    if (id != NULL && method != NULL
        && ngx_http_sandbox_mcp_note_id(r, ctx, id) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (id != NULL && method != NULL
        && ngx_strcmp(method->valuestring, "initialize") == 0)
    {
        return ngx_http_sandbox_mcp_initialize(r, ctx, params);
    }

    rc = ngx_http_sandbox_mcp_session(r, ctx, 0);
    if (rc != NGX_OK) {
        return rc;
    }

    if (id == NULL || method == NULL) {
        /* a notification, or a response to a request we never make */
        return ngx_http_sandbox_mcp_accepted(r, ctx);
    }

    if (params != NULL && !cJSON_IsObject(params)) {
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_OK,
                                          NGX_HTTP_SANDBOX_MCP_INVALID_PARAMS,
                                          "Invalid params: \"params\" must "
                                          "be an object");
    }

    if (ngx_strcmp(method->valuestring, "ping") == 0) {
        return ngx_http_sandbox_mcp_result(r, ctx, cJSON_CreateObject());
    }

    if (ngx_strcmp(method->valuestring, "tools/list") == 0) {
        return ngx_http_sandbox_mcp_result(r, ctx,
                                           ngx_http_sandbox_mcp_tools_list());
    }

    if (ngx_strcmp(method->valuestring, "tools/call") == 0) {
        return ngx_http_sandbox_mcp_call(r, ctx, params, args);
    }

    return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_OK,
                                      NGX_HTTP_SANDBOX_MCP_NO_METHOD,
                                      "Method not found");
}


/* The request's id, kept as JSON text for the answer. */

static ngx_int_t
ngx_http_sandbox_mcp_note_id(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *id)
{
    char  *s;

    s = cJSON_PrintUnformatted(id);
    if (s == NULL) {
        return NGX_ERROR;
    }

    ctx->mcp_id.len = ngx_strlen(s);
    ctx->mcp_id.data = ngx_pnalloc(r->pool, ctx->mcp_id.len + 1);

    if (ctx->mcp_id.data != NULL) {
        ngx_memcpy(ctx->mcp_id.data, s, ctx->mcp_id.len + 1);
    }

    cJSON_free(s);

    return ctx->mcp_id.data ? NGX_OK : NGX_ERROR;
}


/*
 * A new session, at the version asked for when it is one of ours, else
 * at our latest; its id in Mcp-Session-Id.
 */

static ngx_int_t
ngx_http_sandbox_mcp_initialize(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *params)
{
    u_char      *hex;
    cJSON       *asked, *result, *info, *caps;
    ngx_int_t    rc;
    ngx_str_t    id;
    ngx_uint_t   v;

    asked = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");

    if (!cJSON_IsString(asked)) {
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_OK,
                                          NGX_HTTP_SANDBOX_MCP_INVALID_PARAMS,
                                          "Invalid params: "
                                          "\"protocolVersion\" is required");
    }

    for (v = 0; ngx_http_sandbox_mcp_versions[v]; v++) {
        if (ngx_strcmp(ngx_http_sandbox_mcp_versions[v], asked->valuestring)
            == 0)
        {
            break;
        }
    }

    if (ngx_http_sandbox_mcp_versions[v] == NULL) {
        v = NGX_HTTP_SANDBOX_MCP_LATEST;
    }

    /* the header's value: it must outlive this function */
    hex = ngx_pnalloc(r->pool, 2 * NGX_HTTP_SANDBOX_MCP_ID_LEN);
    if (hex == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_sandbox_mcp_session_open(r, &ctx->user, v, hex);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_sandbox_mcp_error(r, ctx,
                                          NGX_HTTP_SERVICE_UNAVAILABLE,
                                          NGX_HTTP_SANDBOX_MCP_INTERNAL,
                                          "no room for another MCP session");
    }

    id.data = hex;
    id.len = 2 * NGX_HTTP_SANDBOX_MCP_ID_LEN;

    if (ngx_http_sandbox_add_header(r, "Mcp-Session-Id", &id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    result = cJSON_CreateObject();
    caps = cJSON_AddObjectToObject(result, "capabilities");
    info = cJSON_AddObjectToObject(result, "serverInfo");

    if (result == NULL || caps == NULL || info == NULL
        || cJSON_AddStringToObject(result, "protocolVersion",
                                   ngx_http_sandbox_mcp_versions[v]) == NULL
        || cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "tools"),
                                 "listChanged", 0) == NULL
        || cJSON_AddStringToObject(info, "name", "ngx_sandbox") == NULL
        || cJSON_AddStringToObject(info, "title", "ngx_sandbox") == NULL
        || cJSON_AddStringToObject(info, "version", SBX_VERSION) == NULL
        || cJSON_AddStringToObject(result, "instructions",
                                   ngx_http_sandbox_mcp_instructions)
           == NULL)
    {
        cJSON_Delete(result);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_sandbox_mcp_result(r, ctx, result);
}


/*
 * The Mcp-Session-Id every message but initialize carries: 400 without,
 * 404 for one that is not (or no longer, or not this user's) a session;
 * an MCP-Protocol-Version we do not speak is 400.  With close, the
 * session ends.  NGX_DONE: answered.
 */

static ngx_int_t
ngx_http_sandbox_mcp_session(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t close)
{
    ngx_uint_t        v;
    ngx_table_elt_t  *sid, *version;

    sid = ngx_http_sandbox_find_header(r, "Mcp-Session-Id",
                                       sizeof("Mcp-Session-Id") - 1);

    if (sid == NULL) {
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_BAD_REQUEST,
                                          NGX_HTTP_SANDBOX_MCP_BAD_SESSION,
                                          "Bad Request: the Mcp-Session-Id "
                                          "header is required");
    }

    version = ngx_http_sandbox_find_header(r, "MCP-Protocol-Version",
                                           sizeof("MCP-Protocol-Version")
                                           - 1);

    if (version != NULL) {
        for (v = 0; ngx_http_sandbox_mcp_versions[v]; v++) {
            if (ngx_strlen(ngx_http_sandbox_mcp_versions[v])
                    == version->value.len
                && ngx_strncmp(ngx_http_sandbox_mcp_versions[v],
                               version->value.data, version->value.len)
                   == 0)
            {
                break;
            }
        }

        if (ngx_http_sandbox_mcp_versions[v] == NULL) {
            return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_BAD_REQUEST,
                                              NGX_HTTP_SANDBOX_MCP_BAD_SESSION,
                                              "Bad Request: unsupported "
                                              "MCP-Protocol-Version");
        }
    }

    if (ngx_http_sandbox_mcp_session_use(r, &sid->value, &ctx->user, close,
                                         NULL)
        != NGX_OK)
    {
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_NOT_FOUND,
                                          NGX_HTTP_SANDBOX_MCP_NO_SESSION,
                                          "Session not found");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_mcp_accepted(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    if (ngx_http_sandbox_set_out(r, ctx, NGX_HTTP_ACCEPTED, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.content_type.len = 0;
    r->headers_out.content_type_len = 0;

    return NGX_DONE;
}


/*
 * Adds "jsonrpc": "2.0" and "id" to json: the request's, or null without
 * with_id or when none was read.
 */

static ngx_int_t
ngx_http_sandbox_mcp_envelope(ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t with_id, cJSON *json)
{
    cJSON  *id;

    id = (with_id && ctx->mcp_id.len) ? cJSON_ParseWithLength((const char *)
                                                 ctx->mcp_id.data,
                                                 ctx->mcp_id.len)
                         : cJSON_CreateNull();

    if (id == NULL
        || cJSON_AddStringToObject(json, "jsonrpc", "2.0") == NULL
        || !cJSON_AddItemToObject(json, "id", id))
    {
        cJSON_Delete(id);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* Answers the request with result (taken over): 200, NGX_DONE. */

ngx_int_t
ngx_http_sandbox_mcp_result(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result)
{
    cJSON      *json;
    ngx_int_t   rc;

    json = cJSON_CreateObject();

    if (json == NULL || result == NULL
        || ngx_http_sandbox_mcp_envelope(ctx, 1, json) != NGX_OK
        || !cJSON_AddItemToObject(json, "result", result))
    {
        cJSON_Delete(json);
        cJSON_Delete(result);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);

    cJSON_Delete(json);

    return rc == NGX_OK ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * Answers with a JSON-RPC error: HTTP 200 for an error of a request we
 * read; a 4xx when the message itself or its transport is at fault, which
 * answers no request (its id is null); a 5xx.  NGX_DONE.
 */

ngx_int_t
ngx_http_sandbox_mcp_error(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, ngx_int_t code,
    const char *message)
{
    cJSON       *json;
    ngx_int_t    rc;
    ngx_uint_t   with_id;

    with_id = status < NGX_HTTP_BAD_REQUEST
              || status >= NGX_HTTP_INTERNAL_SERVER_ERROR;

    json = cJSON_CreateObject();

    if (json == NULL
        || ngx_http_sandbox_mcp_fill_error(ctx, with_id, code, message, json)
           != NGX_OK)
    {
        cJSON_Delete(json);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_sandbox_prepare_json(r, ctx, status, json);

    cJSON_Delete(json);

    return rc == NGX_OK ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * The error filter's body for a status nginx or the upstream made (502
 * when sandboxd is down, 413, ...): a JSON-RPC error with the request's
 * id, -32603 for a server's fault, -32600 for the request's.
 */

ngx_int_t
ngx_http_sandbox_mcp_filter_error(ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t status, const char *message, cJSON *json)
{
    return ngx_http_sandbox_mcp_fill_error(ctx, 1,
               status >= NGX_HTTP_INTERNAL_SERVER_ERROR
               ? NGX_HTTP_SANDBOX_MCP_INTERNAL
               : NGX_HTTP_SANDBOX_MCP_INVALID_REQUEST,
               message, json);
}


/* {"jsonrpc", "id", "error": {"code", "message"}} into json. */

static ngx_int_t
ngx_http_sandbox_mcp_fill_error(ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t with_id, ngx_int_t code, const char *message, cJSON *json)
{
    cJSON  *error;

    if (ngx_http_sandbox_mcp_envelope(ctx, with_id, json) != NGX_OK) {
        return NGX_ERROR;
    }

    error = cJSON_AddObjectToObject(json, "error");

    if (error == NULL
        || cJSON_AddNumberToObject(error, "code", (double) code) == NULL
        || cJSON_AddStringToObject(error, "message", message) == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
