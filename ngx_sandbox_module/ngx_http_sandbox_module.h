
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Types shared by the files of ngx_http_sandbox_module, and the entry points
 * each file exports to the others.
 */


#ifndef NGX_HTTP_SANDBOX_MODULE_H
#define NGX_HTTP_SANDBOX_MODULE_H


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "sbx_frame.h"
#include "sbx_jwt.h"
#include "sbx_render.h"
#include "sbx_validate.h"


#define NGX_HTTP_SANDBOX_KEY_DIGEST_LEN  32     /* SHA-256 */

#define NGX_HTTP_SANDBOX_MCP_ID_LEN      16     /* random bytes */
#define NGX_HTTP_SANDBOX_TASK_ID_LEN     32     /* hex digits */

/* JSON-RPC 2.0's error codes */
#define NGX_HTTP_SANDBOX_MCP_PARSE_ERROR      -32700
#define NGX_HTTP_SANDBOX_MCP_INVALID_REQUEST  -32600
#define NGX_HTTP_SANDBOX_MCP_NO_METHOD        -32601
#define NGX_HTTP_SANDBOX_MCP_INVALID_PARAMS   -32602
#define NGX_HTTP_SANDBOX_MCP_INTERNAL         -32603


typedef struct ngx_http_sandbox_ctx_s  ngx_http_sandbox_ctx_t;


/* A shared memory zone of keyed nodes (ngx_http_sandbox_shm.c). */
typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;          /* most recent first */
} ngx_http_sandbox_shm_sh_t;

typedef struct {
    ngx_http_sandbox_shm_sh_t  *sh;
    ngx_slab_pool_t            *shpool;
    ngx_rbtree_insert_pt        insert;
    const char                 *what;           /* for nginx's log */
} ngx_http_sandbox_shm_t;


typedef struct {
    ngx_http_upstream_srv_conf_t  *default_upstream;
    ngx_int_t                      request_id_index;

    ngx_http_sandbox_shm_t        *mcp_zone;   /* MCP sessions */
    ssize_t                        mcp_size;
    time_t                         mcp_idle;
} ngx_http_sandbox_main_conf_t;


/* An API key is kept as its SHA-256 digest only. */
typedef struct {
    u_char                      digest[NGX_HTTP_SANDBOX_KEY_DIGEST_LEN];
    ngx_str_t                   user;
} ngx_http_sandbox_api_key_t;


/* A key that verifies tokens: an HMAC secret, or a public key. */
typedef struct {
    sbx_jwt_key_type_t          type;
    ngx_str_t                   kid;            /* empty: none */
    ngx_str_t                   key;            /* the secret */
    EVP_PKEY                   *pkey;           /* the public key */
} ngx_http_sandbox_jwt_key_t;


typedef struct {
    ngx_array_t                *keys;           /* ngx_http_sandbox_jwt_key_t */
    ngx_uint_t                  algorithms;     /* configured; 0: none */
    ngx_uint_t                  accepted;       /* those, or the keys' */
    time_t                      leeway;
    ngx_flag_t                  require_exp;
    ngx_array_t                *issuers;        /* sbx_str_t */
    ngx_array_t                *audiences;      /* sbx_str_t */
    ngx_str_t                   user_claim;
    ngx_str_t                   scope;
} ngx_http_sandbox_jwt_conf_t;


typedef struct {
    ngx_array_t                *origins;        /* sbx_str_t; NULL: off */
    ngx_array_t                *methods;        /* sbx_str_t */
    ngx_array_t                *headers;        /* sbx_str_t */
    ngx_str_t                   methods_joined;
    ngx_str_t                   headers_joined;
    time_t                      max_age;
} ngx_http_sandbox_cors_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_http_upstream_conf_t    upstream;

    ngx_array_t                *api_keys;       /* ngx_http_sandbox_api_key_t */
    ngx_http_sandbox_jwt_conf_t jwt;
    ngx_str_t                   anonymous;      /* empty: off */
    ngx_http_sandbox_cors_conf_t cors;

    ngx_array_t                *allowed;        /* sbx_str_t; NULL: any */
    ngx_msec_t                  exec_timeout;
    ngx_msec_t                  exec_timeout_max;
    size_t                      max_response_body;
    off_t                       max_file_size;  /* 0: no limit */
    ngx_flag_t                  persist;        /* unset: sandboxd says */
    ngx_flag_t                  mcp;            /* serve <location>/mcp */

    sbx_exec_policy_t           policy;
} ngx_http_sandbox_loc_conf_t;


/*
 * Builds the "args" of a route's op from the request, or answers with an
 * HTTP status (the error is stored in the ctx).
 */
typedef ngx_int_t (*ngx_http_sandbox_args_pt)(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);

/* Builds the "args" of an op from a REST endpoint's JSON body. */
typedef ngx_int_t (*ngx_http_sandbox_body_args_pt)(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *body, size_t len,
    cJSON **args);

/* Renders a successful op result as the route's HTTP response. */
typedef ngx_int_t (*ngx_http_sandbox_render_pt)(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);


typedef struct {
    ngx_uint_t                  method;
    ngx_str_t                   path;       /* its '*' is the id */
    const char                 *op;         /* NULL: answered by nginx */
    ngx_uint_t                  public;     /* no credentials needed */
    ngx_http_sandbox_args_pt    args;
    ngx_http_sandbox_render_pt  render;
    ngx_uint_t                  piston;     /* errors as {"message"} */
    ngx_uint_t                  mcp;        /* off with "sandbox_mcp off" */
} ngx_http_sandbox_route_t;


typedef struct ngx_http_sandbox_mcp_tool_s  ngx_http_sandbox_mcp_tool_t;


struct ngx_http_sandbox_ctx_s {
    ngx_http_sandbox_route_t   *route;
    const char                 *op;         /* the route's, or a tool's */
    ngx_http_sandbox_render_pt  render;     /* the route's, or a task's */
    ngx_http_sandbox_mcp_tool_t *mcp_tool;  /* the tools/call in flight */
    ngx_str_t                   mcp_id;     /* its JSON-RPC id, as JSON */
    ngx_str_t                   mcp_echo;   /* a deleting tool's answer */
    ngx_str_t                   path_id;    /* the '*' of the route path */
    ngx_str_t                   user;
    ngx_str_t                   session;    /* named in args or result */
    ngx_int_t                   exit_code;  /* when has_exit_code */

    ngx_str_t                   error_code;
    ngx_str_t                   error_message;

    ngx_chain_t                *request;    /* the op frame */
    ngx_chain_t                *req_body;   /* the frame's body, or NULL */
    off_t                       req_body_len;
    char                       *request_id;

    u_char                      prefix[SBX_FRAME_PREFIX_LEN];
    size_t                      prefix_len;
    sbx_frame_prefix_t          frame;
    u_char                     *payload;    /* frame header + body */
    size_t                      payload_len;

    ngx_chain_t                *out;        /* the rendered response body */

    unsigned                    routed:1;
    unsigned                    last_byte_seen:1;
    unsigned                    rendered:1;
    unsigned                    error_body_sent:1;
    unsigned                    rewrite_error:1;
    unsigned                    headers_added:1;
    unsigned                    has_exit_code:1;
    unsigned                    ran:1;          /* a command's result */
    unsigned                    timed_out:1;
    unsigned                    piston:1;       /* errors as {"message"} */
    unsigned                    mcp:1;          /* errors as JSON-RPC */
    unsigned                    mcp_nul:1;      /* the body has a \u0000 */
};


extern ngx_module_t  ngx_http_sandbox_module;
extern ngx_module_t  ngx_http_sandbox_limit_module;


/* ngx_http_sandbox_router.c */
ngx_http_sandbox_ctx_t *ngx_http_sandbox_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_sandbox_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_sandbox_args_session_id(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_body(ngx_http_request_t *r, ngx_str_t *body);
void ngx_http_sandbox_location_prefix(ngx_http_request_t *r,
    ngx_str_t *prefix);
ngx_int_t ngx_http_sandbox_persist_arg(ngx_http_request_t *r, cJSON *args);
ngx_int_t ngx_http_sandbox_session_create_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *body, size_t len, cJSON **args);
ngx_int_t ngx_http_sandbox_execute_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *body, size_t len, cJSON **args);

/* ngx_http_sandbox_workspace.c */
ngx_int_t ngx_http_sandbox_ws_max_size(ngx_http_request_t *r, cJSON *args);
ngx_int_t ngx_http_sandbox_args_ws_list(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_args_ws_read(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_args_ws_write(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_args_ws_delete(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_args_ws_upload(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_render_ws_list(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_ws_read(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_ws_written(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_ws_uploaded(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_ws_decode(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *content, cJSON *encoding,
    ngx_uint_t nul);
ngx_int_t ngx_http_sandbox_ws_too_large(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);

/* ngx_http_sandbox_piston.c */
ngx_int_t ngx_http_sandbox_args_piston_execute(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_render_piston_execute(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_piston_runtimes(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);

/* ngx_http_sandbox_run.c */
ngx_int_t ngx_http_sandbox_args_run(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_run_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *body, size_t len,
    cJSON **args);
ngx_msec_t ngx_http_sandbox_run_extra_timeout(cJSON *args);
ngx_int_t ngx_http_sandbox_render_run(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_runtimes(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);

/* ngx_http_sandbox_mcp.c */
ngx_int_t ngx_http_sandbox_args_mcp(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_mcp_delete(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_mcp_result(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result);
ngx_int_t ngx_http_sandbox_mcp_error(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, ngx_int_t code,
    const char *message);
ngx_int_t ngx_http_sandbox_mcp_filter_error(ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t status, const char *message, cJSON *json);

/* ngx_http_sandbox_mcp_tools.c */
cJSON *ngx_http_sandbox_mcp_tools_list(void);
ngx_int_t ngx_http_sandbox_mcp_call(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *params, cJSON **args);
ngx_int_t ngx_http_sandbox_render_mcp(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_mcp_tool_error(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *code, const char *message);

/* ngx_http_sandbox_mcp_sessions.c */
char *ngx_http_sandbox_mcp_sessions(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_sandbox_mcp_zone(ngx_conf_t *cf);
ngx_int_t ngx_http_sandbox_mcp_session_open(ngx_http_request_t *r,
    ngx_str_t *user, ngx_uint_t version, u_char *hex);
ngx_int_t ngx_http_sandbox_mcp_session_use(ngx_http_request_t *r,
    ngx_str_t *hex, ngx_str_t *user, ngx_uint_t close, ngx_uint_t *version);

/* ngx_http_sandbox_tasks.c */
ngx_int_t ngx_http_sandbox_task_wrap(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_args_install(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_args_task_id(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args);
ngx_int_t ngx_http_sandbox_render_task(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_task_accepted(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);

/* ngx_http_sandbox_quota.c */
ngx_int_t ngx_http_sandbox_render_quota(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);

/* ngx_http_sandbox_auth.c */
ngx_int_t ngx_http_sandbox_access_handler(ngx_http_request_t *r);
char *ngx_http_sandbox_load_key_file(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_str_t *path);
ngx_int_t ngx_http_sandbox_add_api_key(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_str_t *key, ngx_str_t *user);

/* ngx_http_sandbox_jwt.c */
sbx_jwt_error_t ngx_http_sandbox_jwt_verify(ngx_http_request_t *r,
    ngx_http_sandbox_jwt_conf_t *jcf, ngx_str_t *token, ngx_str_t *user);

/* ngx_http_sandbox_jws.c */
ngx_uint_t ngx_http_sandbox_jws_verify(ngx_http_sandbox_jwt_key_t *k,
    sbx_jwt_alg_t alg, ngx_str_t *input, ngx_str_t *sig);

/* ngx_http_sandbox_jwt_conf.c */
void ngx_http_sandbox_jwt_create_conf(ngx_http_sandbox_jwt_conf_t *jcf);
char *ngx_http_sandbox_jwt_merge_conf(ngx_conf_t *cf,
    ngx_http_sandbox_jwt_conf_t *prev, ngx_http_sandbox_jwt_conf_t *conf);
char *ngx_http_sandbox_jwt_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_sandbox_jwt_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_sandbox_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_sandbox_jwt_algorithms(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_sandbox_cors.c */
void ngx_http_sandbox_cors_create_conf(ngx_http_sandbox_cors_conf_t *ccf);
char *ngx_http_sandbox_cors_merge_conf(ngx_conf_t *cf,
    ngx_http_sandbox_cors_conf_t *prev, ngx_http_sandbox_cors_conf_t *conf);
char *ngx_http_sandbox_cors_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_sandbox_cors_preflight(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
ngx_int_t ngx_http_sandbox_cors_headers(ngx_http_request_t *r);

/* ngx_http_sandbox_variables.c */
ngx_int_t ngx_http_sandbox_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_sandbox_note_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *args);
ngx_int_t ngx_http_sandbox_note_result(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result);

/* ngx_http_sandbox_limit.c */
ngx_int_t ngx_http_sandbox_limit_check(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);

/* ngx_http_sandbox_util.c */
char *ngx_http_sandbox_pstrz(ngx_pool_t *pool, ngx_str_t *s);
ngx_int_t ngx_http_sandbox_cstr(ngx_pool_t *pool, ngx_str_t *to,
    const char *s);
char *ngx_http_sandbox_read_conf_file(ngx_conf_t *cf, ngx_str_t *name,
    size_t max, ngx_str_t *path, ngx_str_t *content);
ngx_table_elt_t *ngx_http_sandbox_find_header(ngx_http_request_t *r,
    const char *name, size_t len);
ngx_int_t ngx_http_sandbox_add_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
char *ngx_http_sandbox_conf_set_strs(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_sandbox_conf_strs(ngx_conf_t *cf, ngx_array_t **a);

/* ngx_http_sandbox_shm.c */
ngx_http_sandbox_shm_t *ngx_http_sandbox_shm_zone(ngx_conf_t *cf,
    ngx_shm_zone_t *shm_zone, ngx_rbtree_insert_pt insert, const char *what);
ngx_int_t ngx_http_sandbox_shm_init(ngx_shm_zone_t *shm_zone, void *data);
void ngx_http_sandbox_shm_touch(ngx_http_sandbox_shm_t *zone,
    ngx_queue_t *q);
void ngx_http_sandbox_shm_free(ngx_http_sandbox_shm_t *zone, ngx_queue_t *q);

/* ngx_http_sandbox_upstream.c */
ngx_int_t ngx_http_sandbox_upstream_start(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *args, ngx_msec_t extra_timeout);
char *ngx_http_sandbox_request_id(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);

/* ngx_http_sandbox_render.c */
ngx_int_t ngx_http_sandbox_invalid(ngx_http_request_t *r, const char *what);
ngx_int_t ngx_http_sandbox_render_frame(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
ngx_int_t ngx_http_sandbox_fail(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, const char *code,
    const char *message);
ngx_int_t ngx_http_sandbox_prepare_json(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, cJSON *json);
ngx_int_t ngx_http_sandbox_send_prepared(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
ngx_int_t ngx_http_sandbox_set_out(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, ngx_buf_t *b);
ngx_int_t ngx_http_sandbox_set_text(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, int rc, sbx_text_t *text,
    const char *what);
ngx_buf_t *ngx_http_sandbox_splice_blobs(ngx_http_request_t *r,
    cJSON *scalars, sbx_blob_t *blobs, ngx_uint_t n);
ngx_int_t ngx_http_sandbox_add_time(cJSON *to, cJSON *from,
    const char *name);
ngx_int_t ngx_http_sandbox_render_health(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_ready(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_session(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_sessions(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_deleted(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);
ngx_int_t ngx_http_sandbox_render_exec(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len);

/* ngx_http_sandbox_filter.c */
ngx_int_t ngx_http_sandbox_filter_init(ngx_conf_t *cf);
ngx_buf_t *ngx_http_sandbox_error_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status);


#endif /* NGX_HTTP_SANDBOX_MODULE_H */
