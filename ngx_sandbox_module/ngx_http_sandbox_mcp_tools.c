
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The MCP tools: one table entry each, naming the op it becomes and the
 * REST endpoint whose arguments and answer it shares.  A tool's
 * structuredContent is exactly that endpoint's JSON, so its outputSchema
 * documents the REST shape too.  Arguments are checked against the
 * inputSchema (names, required, types; -32602), then by the endpoint's own
 * validation; errors from sandboxd are results with isError.
 */


#include "ngx_http_sandbox_module.h"


typedef ngx_int_t (*ngx_http_sandbox_mcp_args_pt)(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);


struct ngx_http_sandbox_mcp_tool_s {
    const char                    *name;
    const char                    *title;
    const char                    *description;
    const char                    *input;      /* JSON Schema */
    const char                    *output;     /* JSON Schema */
    const char                    *op;
    ngx_http_sandbox_mcp_args_pt   args;
    ngx_http_sandbox_render_pt     render;     /* NULL: {"deleted": true} */
    ngx_uint_t                   (*failed)(cJSON *structured);
};


static ngx_int_t ngx_http_sandbox_mcp_args_create(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_args_delete(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_args_execute(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_args_ws_list(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_args_ws_read(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_args_ws_write(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_args_ws_delete(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_args_run(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_as_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments,
    ngx_http_sandbox_body_args_pt parse, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_session_arg(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_ws_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, ngx_uint_t allow_root,
    cJSON **args);
static ngx_int_t ngx_http_sandbox_mcp_echo(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *key, cJSON *arguments);
static ngx_uint_t ngx_http_sandbox_mcp_exec_failed(cJSON *structured);
static ngx_uint_t ngx_http_sandbox_mcp_run_failed(cJSON *structured);
static const char *ngx_http_sandbox_mcp_check(cJSON *arguments,
    const char *schema, char *buf, size_t len);
static ngx_int_t ngx_http_sandbox_mcp_refused(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_int_t status);
static cJSON *ngx_http_sandbox_mcp_content(const char *text,
    cJSON *structured, ngx_uint_t is_error);


#define SESSION_ID                                                           \
    "\"session_id\":{\"type\":\"string\",\"description\":\"the session: "    \
    "1-64 letters, digits, '_' or '-'\"}"

#define WS_PATH                                                              \
    "\"path\":{\"type\":\"string\",\"description\":\"a path relative to "    \
    "/workspace (no '..', not absolute)\"}"

#define OUT_EXEC                                                             \
    "{\"type\":\"object\",\"properties\":{"                                  \
    "\"session_id\":{\"type\":\"string\"},"                                  \
    "\"exit_code\":{\"type\":[\"integer\",\"null\"]},"                       \
    "\"signal\":{\"type\":[\"string\",\"null\"]},"                           \
    "\"timed_out\":{\"type\":\"boolean\"},"                                  \
    "\"oom_killed\":{\"type\":[\"boolean\",\"null\"]},"                      \
    "\"truncated\":{\"type\":\"boolean\"},"                                  \
    "\"duration_ms\":{\"type\":\"number\"},"                                 \
    "\"stdout\":{\"type\":\"string\"},"                                      \
    "\"stdout_encoding\":{\"type\":\"string\",\"enum\":[\"utf8\","           \
    "\"base64\"]},"                                                          \
    "\"stderr\":{\"type\":\"string\"},"                                      \
    "\"stderr_encoding\":{\"type\":\"string\",\"enum\":[\"utf8\","           \
    "\"base64\"]}},"                                                         \
    "\"required\":[\"exit_code\",\"timed_out\",\"stdout\",\"stderr\"]}"

#define OUT_DELETED(key)                                                     \
    "{\"type\":\"object\",\"properties\":{"                                  \
    "\"" key "\":{\"type\":\"string\"},"                                     \
    "\"deleted\":{\"type\":\"boolean\"}},"                                   \
    "\"required\":[\"" key "\",\"deleted\"]}"


static ngx_http_sandbox_mcp_tool_t  ngx_http_sandbox_mcp_tools[] = {

    { "create_session", "Create a sandbox session",
      "Creates an isolated Linux sandbox (no network; /workspace and /tmp "
      "writable) and returns its session_id. Pass that id to execute and "
      "the workspace tools: files and installed state persist between "
      "calls until delete_session or the session's idle timeout. Give "
      "session_id to choose the id yourself; creating an existing one "
      "just returns it.",
      "{\"type\":\"object\",\"properties\":{" SESSION_ID "},"
      "\"required\":[],\"additionalProperties\":false}",
      "{\"type\":\"object\",\"properties\":{"
      "\"session_id\":{\"type\":\"string\"},"
      "\"created\":{\"type\":\"boolean\"},"
      "\"created_at\":{\"type\":\"string\"},"
      "\"expires_at\":{\"type\":\"string\"}},"
      "\"required\":[\"session_id\"]}",
      "session.create", ngx_http_sandbox_mcp_args_create,
      ngx_http_sandbox_render_session, NULL },

    { "delete_session", "Delete a sandbox session",
      "Deletes a session made with create_session: stops its sandbox and "
      "discards its files.",
      "{\"type\":\"object\",\"properties\":{" SESSION_ID "},"
      "\"required\":[\"session_id\"],\"additionalProperties\":false}",
      OUT_DELETED("session_id"),
      "session.delete", ngx_http_sandbox_mcp_args_delete, NULL, NULL },

    { "execute", "Run a shell command",
      "Runs a shell command (sh -c) in the session's sandbox, in "
      "/workspace unless working_dir says otherwise, and returns its "
      "stdout, stderr and exit_code. A non-zero exit code or a timeout is "
      "reported with isError. Without session_id a new session is made "
      "for it (its session_id is in the answer).",
      "{\"type\":\"object\",\"properties\":{"
      "\"command\":{\"type\":\"string\",\"description\":\"the shell "
      "command, e.g. \\\"python3 main.py\\\"\"}," SESSION_ID ","
      "\"timeout\":{\"type\":\"number\",\"description\":\"seconds (the "
      "server's default when absent)\"},"
      "\"stdin\":{\"type\":\"string\",\"description\":\"text given on "
      "standard input\"},"
      "\"working_dir\":{\"type\":\"string\",\"description\":\"the "
      "directory to run in (default /workspace)\"},"
      "\"env\":{\"type\":\"object\",\"description\":\"extra environment "
      "variables, name to string value\","
      "\"additionalProperties\":{\"type\":\"string\"}}},"
      "\"required\":[\"command\"],\"additionalProperties\":false}",
      OUT_EXEC,
      "exec", ngx_http_sandbox_mcp_args_execute,
      ngx_http_sandbox_render_exec, ngx_http_sandbox_mcp_exec_failed },

    { "workspace_list", "List workspace files",
      "Lists the files and directories of a session's /workspace, or of a "
      "directory below it.",
      "{\"type\":\"object\",\"properties\":{" SESSION_ID "," WS_PATH "},"
      "\"required\":[\"session_id\"],\"additionalProperties\":false}",
      "{\"type\":\"object\",\"properties\":{"
      "\"path\":{\"type\":\"string\"},"
      "\"entries\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
      "\"properties\":{\"name\":{\"type\":\"string\"},"
      "\"type\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"},"
      "\"mtime\":{\"type\":\"string\"}}}},"
      "\"truncated\":{\"type\":\"boolean\"}},"
      "\"required\":[\"entries\"]}",
      "file.list", ngx_http_sandbox_mcp_args_ws_list,
      ngx_http_sandbox_render_ws_list, NULL },

    { "workspace_read", "Read a workspace file",
      "Reads a file of a session's /workspace. Text comes back as it is "
      "(encoding utf8); other bytes as base64 (encoding base64).",
      "{\"type\":\"object\",\"properties\":{" SESSION_ID "," WS_PATH "},"
      "\"required\":[\"session_id\",\"path\"],"
      "\"additionalProperties\":false}",
      "{\"type\":\"object\",\"properties\":{"
      "\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"},"
      "\"encoding\":{\"type\":\"string\",\"enum\":[\"utf8\",\"base64\"]},"
      "\"content\":{\"type\":\"string\"}},"
      "\"required\":[\"path\",\"size\",\"encoding\",\"content\"]}",
      "file.read", ngx_http_sandbox_mcp_args_ws_read,
      ngx_http_sandbox_render_ws_read, NULL },

    { "workspace_write", "Write a workspace file",
      "Writes (creates or replaces) a file in a session's /workspace, "
      "making its directories. content is text, or base64 when encoding "
      "is \"base64\".",
      "{\"type\":\"object\",\"properties\":{" SESSION_ID "," WS_PATH ","
      "\"content\":{\"type\":\"string\"},"
      "\"encoding\":{\"type\":\"string\",\"enum\":[\"utf8\",\"base64\"],"
      "\"description\":\"how content is given (default utf8)\"}},"
      "\"required\":[\"session_id\",\"path\",\"content\"],"
      "\"additionalProperties\":false}",
      "{\"type\":\"object\",\"properties\":{"
      "\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"}},"
      "\"required\":[\"path\",\"size\"]}",
      "file.write", ngx_http_sandbox_mcp_args_ws_write,
      ngx_http_sandbox_render_ws_written, NULL },

    { "workspace_delete", "Delete a workspace file",
      "Deletes a file, or a directory with everything in it, from a "
      "session's /workspace.",
      "{\"type\":\"object\",\"properties\":{" SESSION_ID "," WS_PATH "},"
      "\"required\":[\"session_id\",\"path\"],"
      "\"additionalProperties\":false}",
      OUT_DELETED("path"),
      "file.delete", ngx_http_sandbox_mcp_args_ws_delete, NULL, NULL },

    { "run_code", "Run a program once",
      "Runs a program in a fresh sandbox that is discarded afterwards "
      "(nothing persists; no session needed) and returns its output and "
      "status. Languages: see language; compiled ones are compiled first "
      "(a compile error is status compile_error). Any status but ok is "
      "reported with isError.",
      "{\"type\":\"object\",\"properties\":{"
      "\"code\":{\"type\":\"string\",\"description\":\"the program's "
      "source\"},"
      "\"language\":{\"type\":\"string\",\"description\":\"python "
      "(default), javascript, typescript, rust, c, c++ or bash\"},"
      "\"stdin\":{\"type\":\"string\"},"
      "\"args\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
      "\"timeout\":{\"type\":\"number\",\"description\":\"seconds\"}},"
      "\"required\":[\"code\"],\"additionalProperties\":false}",
      "{\"type\":\"object\",\"properties\":{"
      "\"language\":{\"type\":\"string\"},"
      "\"version\":{\"type\":\"string\"},"
      "\"status\":{\"type\":\"string\",\"enum\":[\"ok\",\"runtime_error\","
      "\"timeout\",\"oom\",\"output_limit\",\"compile_error\","
      "\"internal_error\"]},"
      "\"compile\":{\"type\":\"object\"},"
      "\"run\":{\"type\":\"object\"}},"
      "\"required\":[\"language\",\"version\",\"status\"]}",
      "run", ngx_http_sandbox_mcp_args_run, ngx_http_sandbox_render_run,
      ngx_http_sandbox_mcp_run_failed },

    { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }
};


/* {"tools": [{name, title, description, inputSchema, outputSchema}]} */

cJSON *
ngx_http_sandbox_mcp_tools_list(void)
{
    cJSON                        *json, *list, *t;
    ngx_http_sandbox_mcp_tool_t  *tool;

    json = cJSON_CreateObject();
    list = json ? cJSON_AddArrayToObject(json, "tools") : NULL;

    if (list == NULL) {
        cJSON_Delete(json);
        return NULL;
    }

    for (tool = ngx_http_sandbox_mcp_tools; tool->name; tool++) {
        t = cJSON_CreateObject();

        if (t == NULL
            || !cJSON_AddItemToArray(list, t)
            || cJSON_AddStringToObject(t, "name", tool->name) == NULL
            || cJSON_AddStringToObject(t, "title", tool->title) == NULL
            || cJSON_AddStringToObject(t, "description", tool->description)
               == NULL
            || !cJSON_AddItemToObject(t, "inputSchema",
                                      cJSON_Parse(tool->input))
            || !cJSON_AddItemToObject(t, "outputSchema",
                                      cJSON_Parse(tool->output)))
        {
            cJSON_Delete(json);
            return NULL;
        }
    }

    return json;
}


/*
 * tools/call: the tool's op and *args (NGX_OK), or an answer (NGX_DONE):
 * -32602 for an unknown tool or arguments its schema or its endpoint
 * refuses, a result with isError for a refusal of another kind.
 */

ngx_int_t
ngx_http_sandbox_mcp_call(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    cJSON *params, cJSON **args)
{
    char                          msg[160];
    cJSON                        *name, *arguments, *empty;
    ngx_int_t                     rc;
    const char                   *why;
    ngx_http_sandbox_mcp_tool_t  *tool;

    name = cJSON_GetObjectItemCaseSensitive(params, "name");

    if (!cJSON_IsString(name)) {
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_OK,
                                          NGX_HTTP_SANDBOX_MCP_INVALID_PARAMS,
                                          "Invalid params: \"name\" is "
                                          "required");
    }

    for (tool = ngx_http_sandbox_mcp_tools; tool->name; tool++) {
        if (ngx_strcmp(tool->name, name->valuestring) == 0) {
            break;
        }
    }

    if (tool->name == NULL) {
        ngx_snprintf((u_char *) msg, sizeof(msg) - 1, "Unknown tool: %s%Z",
                     name->valuestring);
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_OK,
                                          NGX_HTTP_SANDBOX_MCP_INVALID_PARAMS,
                                          msg);
    }

    arguments = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    empty = NULL;

    if (arguments == NULL || cJSON_IsNull(arguments)) {
        arguments = empty = cJSON_CreateObject();
        if (empty == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    why = ngx_http_sandbox_mcp_check(arguments, tool->input, msg,
                                     sizeof(msg));

    if (why != NULL) {
        cJSON_Delete(empty);
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_OK,
                                          NGX_HTTP_SANDBOX_MCP_INVALID_PARAMS,
                                          why);
    }

    *args = NULL;

    rc = tool->args(r, ctx, arguments, args);

    cJSON_Delete(empty);

    if (rc != NGX_OK) {
        cJSON_Delete(*args);
        *args = NULL;
        return ngx_http_sandbox_mcp_refused(r, ctx, rc);
    }

    ctx->op = tool->op;
    ctx->mcp_tool = tool;

    return NGX_OK;
}


/*
 * The endpoint's validation refused (ngx_http_sandbox_fail() stored why):
 * a 400 or 413 is the arguments' fault, -32602; another 4xx (a command
 * sandbox_allowed_commands forbids) is the tool's failure, isError.
 */

static ngx_int_t
ngx_http_sandbox_mcp_refused(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_int_t status)
{
    u_char     msg[256];
    ngx_str_t  code, message;

    if (status < NGX_HTTP_BAD_REQUEST
        || status >= NGX_HTTP_INTERNAL_SERVER_ERROR
        || ctx->error_code.len == 0)
    {
        return status;
    }

    code = ctx->error_code;
    message = ctx->error_message;

    /* answered in JSON-RPC: the error filter must not use them */
    ngx_str_null(&ctx->error_code);
    ngx_str_null(&ctx->error_message);

    if (status == NGX_HTTP_BAD_REQUEST
        || status == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE)
    {
        *ngx_snprintf(msg, sizeof(msg) - 1, "Invalid params: %V", &message)
            = '\0';
        return ngx_http_sandbox_mcp_error(r, ctx, NGX_HTTP_OK,
                                          NGX_HTTP_SANDBOX_MCP_INVALID_PARAMS,
                                          (char *) msg);
    }

    return ngx_http_sandbox_mcp_tool_error(r, ctx, (char *) code.data,
                                           (char *) message.data)
           == NGX_OK ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* A tool's op answered: its endpoint's JSON is the structuredContent. */

ngx_int_t
ngx_http_sandbox_render_mcp(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    char                         *text;
    cJSON                        *structured, *content;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_http_sandbox_mcp_tool_t  *tool;

    tool = ctx->mcp_tool;

    if (tool->render != NULL) {
        rc = tool->render(r, ctx, result, body, len);
        if (rc != NGX_OK) {
            return rc;
        }

        b = ctx->out ? ctx->out->buf : NULL;
        structured = b ? cJSON_ParseWithLength((const char *) b->pos,
                                               b->last - b->pos)
                       : cJSON_CreateObject();

    } else {
        structured = cJSON_ParseWithLength((const char *) ctx->mcp_echo.data,
                                           ctx->mcp_echo.len);
        if (structured != NULL) {
            cJSON_AddBoolToObject(structured, "deleted", 1);
        }
    }

    if (structured == NULL) {
        return NGX_ERROR;
    }

    text = cJSON_PrintUnformatted(structured);

    if (text == NULL) {
        cJSON_Delete(structured);
        return NGX_ERROR;
    }

    /* structured is the content's now, or freed with it */
    content = ngx_http_sandbox_mcp_content(text, structured,
                                           tool->failed
                                           && tool->failed(structured));
    cJSON_free(text);

    if (content == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_mcp_result(r, ctx, content) == NGX_DONE
           ? NGX_OK : NGX_ERROR;
}


/* An error sandboxd answered a tool's op with: a result with isError. */

ngx_int_t
ngx_http_sandbox_mcp_tool_error(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *code, const char *message)
{
    u_char  text[512];
    cJSON  *content;

    *ngx_snprintf(text, sizeof(text) - 1, "%s: %s", code, message) = '\0';

    content = ngx_http_sandbox_mcp_content((char *) text, NULL, 1);
    if (content == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_mcp_result(r, ctx, content) == NGX_DONE
           ? NGX_OK : NGX_ERROR;
}


/*
 * {"content": [{"type": "text", "text"}], "structuredContent"?, "isError"};
 * structured (may be NULL) is taken over, freed on failure too.
 */

static cJSON *
ngx_http_sandbox_mcp_content(const char *text, cJSON *structured,
    ngx_uint_t is_error)
{
    cJSON  *json, *list, *block, *s;

    json = cJSON_CreateObject();

    if (json == NULL
        || (structured
            && !cJSON_AddItemToObject(json, "structuredContent", structured)))
    {
        cJSON_Delete(json);
        cJSON_Delete(structured);
        return NULL;
    }

    /* structured is json's from here on */

    list = cJSON_AddArrayToObject(json, "content");
    block = cJSON_CreateObject();

    if (list == NULL || block == NULL || !cJSON_AddItemToArray(list, block)) {
        cJSON_Delete(block);
        cJSON_Delete(json);
        return NULL;
    }

    s = cJSON_CreateString(text);

    if (s == NULL) {
        cJSON_Delete(json);
        return NULL;
    }

    if (!cJSON_AddItemToObject(block, "text", s)
        || cJSON_AddStringToObject(block, "type", "text") == NULL
        || cJSON_AddBoolToObject(json, "isError", is_error != 0) == NULL)
    {
        cJSON_Delete(json);
        return NULL;
    }

    return json;
}


static ngx_uint_t
ngx_http_sandbox_mcp_exec_failed(cJSON *structured)
{
    cJSON  *code;

    code = cJSON_GetObjectItemCaseSensitive(structured, "exit_code");

    return !cJSON_IsNumber(code) || code->valuedouble != 0
           || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(structured,
                                                            "timed_out"));
}


static ngx_uint_t
ngx_http_sandbox_mcp_run_failed(cJSON *structured)
{
    char  *status;

    status = cJSON_GetStringValue(
                 cJSON_GetObjectItemCaseSensitive(structured, "status"));

    return status == NULL || ngx_strcmp(status, "ok") != 0;
}


/*
 * The arguments against the tool's inputSchema: an object, no property
 * it does not name, the required ones there, each of its type.  NULL when
 * they pass, else why (in buf).
 */

static const char *
ngx_http_sandbox_mcp_check(cJSON *arguments, const char *schema, char *buf,
    size_t len)
{
    cJSON       *s, *props, *p, *type, *req, *a;
    const char  *why, *t;

    if (!cJSON_IsObject(arguments)) {
        return "Invalid params: \"arguments\" must be an object";
    }

    s = cJSON_Parse(schema);
    props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    req = cJSON_GetObjectItemCaseSensitive(s, "required");
    why = NULL;

    cJSON_ArrayForEach(a, arguments) {
        p = cJSON_GetObjectItemCaseSensitive(props, a->string);
        type = cJSON_GetObjectItemCaseSensitive(p, "type");
        t = cJSON_GetStringValue(type);

        if (p == NULL) {
            why = "Invalid params: unknown argument \"%s\"";

        } else if (t != NULL
                   && !((ngx_strcmp(t, "string") == 0 && cJSON_IsString(a))
                        || (ngx_strcmp(t, "number") == 0
                            && cJSON_IsNumber(a))
                        || (ngx_strcmp(t, "object") == 0
                            && cJSON_IsObject(a))
                        || (ngx_strcmp(t, "array") == 0
                            && cJSON_IsArray(a))))
        {
            why = "Invalid params: \"%s\" is of the wrong type";
        }

        if (why) {
            *ngx_snprintf((u_char *) buf, len - 1, why, a->string) = '\0';
            break;
        }
    }

    cJSON_ArrayForEach(a, req) {
        if (why == NULL
            && cJSON_GetObjectItemCaseSensitive(arguments, a->valuestring)
               == NULL)
        {
            why = "Invalid params: \"%s\" is required";
            *ngx_snprintf((u_char *) buf, len - 1, why, a->valuestring)
                = '\0';
        }
    }

    cJSON_Delete(s);

    return why ? buf : NULL;
}


/* Tools that take what their REST endpoint's JSON body takes. */

static ngx_int_t
ngx_http_sandbox_mcp_as_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments,
    ngx_http_sandbox_body_args_pt parse, cJSON **args)
{
    char       *text;
    ngx_int_t   rc;

    text = cJSON_PrintUnformatted(arguments);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = parse(r, ctx, text, ngx_strlen(text), args);

    cJSON_free(text);

    return rc;
}


static ngx_int_t
ngx_http_sandbox_mcp_args_create(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    return ngx_http_sandbox_mcp_as_body(r, ctx, arguments,
                                        ngx_http_sandbox_session_create_args,
                                        args);
}


static ngx_int_t
ngx_http_sandbox_mcp_args_execute(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    return ngx_http_sandbox_mcp_as_body(r, ctx, arguments,
                                        ngx_http_sandbox_execute_args, args);
}


static ngx_int_t
ngx_http_sandbox_mcp_args_run(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    return ngx_http_sandbox_mcp_as_body(r, ctx, arguments,
                                        ngx_http_sandbox_run_args, args);
}


static ngx_int_t
ngx_http_sandbox_mcp_args_delete(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    ngx_int_t  rc;

    rc = ngx_http_sandbox_mcp_session_arg(r, ctx, arguments, args);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_sandbox_mcp_echo(r, ctx, "session_id", arguments);
}


/* {"session_id"}, checked as the REST paths' ids are. */

static ngx_int_t
ngx_http_sandbox_mcp_session_arg(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    cJSON  *sid;

    sid = cJSON_GetObjectItemCaseSensitive(arguments, "session_id");

    if (!sbx_session_id_valid(sid->valuestring,
                              ngx_strlen(sid->valuestring)))
    {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request",
                                     "\"session_id\" is not valid");
    }

    *args = cJSON_CreateObject();

    if (*args == NULL
        || cJSON_AddStringToObject(*args, "session_id", sid->valuestring)
           == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/* The workspace tools: {session_id, path} checked as the REST paths are. */

static ngx_int_t
ngx_http_sandbox_mcp_ws_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, ngx_uint_t allow_root,
    cJSON **args)
{
    u_char       msg[96];
    cJSON       *path;
    ngx_int_t    rc;
    const char  *why;

    rc = ngx_http_sandbox_mcp_session_arg(r, ctx, arguments, args);
    if (rc != NGX_OK) {
        return rc;
    }

    path = cJSON_GetObjectItemCaseSensitive(arguments, "path");

    if (path == NULL) {
        return NGX_OK;
    }

    why = sbx_ws_path_check(path->valuestring, ngx_strlen(path->valuestring),
                            allow_root);

    if (why != NULL) {
        *ngx_snprintf(msg, sizeof(msg) - 1, "\"path\" %s", why) = '\0';
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", (char *) msg);
    }

    if (cJSON_AddStringToObject(*args, "path", path->valuestring) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_mcp_args_ws_list(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    return ngx_http_sandbox_mcp_ws_args(r, ctx, arguments, 1, args);
}


static ngx_int_t
ngx_http_sandbox_mcp_args_ws_delete(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    ngx_int_t  rc;

    rc = ngx_http_sandbox_mcp_ws_args(r, ctx, arguments, 0, args);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_sandbox_mcp_echo(r, ctx, "path", arguments);
}


static ngx_int_t
ngx_http_sandbox_mcp_args_ws_read(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    ngx_int_t  rc;

    rc = ngx_http_sandbox_mcp_ws_args(r, ctx, arguments, 0, args);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_sandbox_ws_max_size(r, *args);
}


/* The content, decoded, goes in the frame's body as a PUT's would. */

static ngx_int_t
ngx_http_sandbox_mcp_args_ws_write(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *arguments, cJSON **args)
{
    ngx_int_t                     rc;
    ngx_http_sandbox_loc_conf_t  *slcf;

    rc = ngx_http_sandbox_mcp_ws_args(r, ctx, arguments, 0, args);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_sandbox_ws_decode(r, ctx,
             cJSON_GetObjectItemCaseSensitive(arguments, "content"),
             cJSON_GetObjectItemCaseSensitive(arguments, "encoding"),
             ctx->mcp_nul);
    if (rc != NGX_OK) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (slcf->max_file_size && ctx->req_body_len > slcf->max_file_size) {
        return ngx_http_sandbox_ws_too_large(r, ctx);
    }

    return NGX_OK;
}


/* What a deleting tool answers with: {key: its argument, "deleted": true}. */

static ngx_int_t
ngx_http_sandbox_mcp_echo(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    const char *key, cJSON *arguments)
{
    char       *s;
    cJSON      *echo;
    ngx_int_t   rc;

    echo = cJSON_CreateObject();

    if (echo == NULL
        || !cJSON_AddItemToObject(echo, key, cJSON_Duplicate(
               cJSON_GetObjectItemCaseSensitive(arguments, key), 1)))
    {
        cJSON_Delete(echo);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s = cJSON_PrintUnformatted(echo);
    cJSON_Delete(echo);

    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_sandbox_cstr(r->pool, &ctx->mcp_echo, s);

    cJSON_free(s);

    return rc == NGX_OK ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
}
