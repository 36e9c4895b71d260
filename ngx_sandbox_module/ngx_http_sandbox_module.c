
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Directives, configuration and module definition of the sandbox API.
 */


#include "ngx_http_sandbox_module.h"


#define NGX_HTTP_SANDBOX_DEFAULT_PASS  "unix:/run/sandboxd/sandboxd.sock"


static void *ngx_http_sandbox_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_sandbox_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_sandbox_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_sandbox_merge_upstream(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *prev, ngx_http_sandbox_loc_conf_t *conf);
static char *ngx_http_sandbox_merge_policy(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *prev, ngx_http_sandbox_loc_conf_t *conf);
static ngx_int_t ngx_http_sandbox_init(ngx_conf_t *cf);

static char *ngx_http_sandbox(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_sandbox_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sandbox_api_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sandbox_api_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sandbox_anonymous(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sandbox_merge_auth(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *prev, ngx_http_sandbox_loc_conf_t *conf);
static char *ngx_http_sandbox_allowed_commands(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_array_t *ngx_http_sandbox_default_allowed(ngx_conf_t *cf);
static ngx_uint_t ngx_http_sandbox_command_name_valid(ngx_str_t *name);


static ngx_conf_bitmask_t  ngx_http_sandbox_next_upstream_masks[] = {
    { ngx_string("error"), NGX_HTTP_UPSTREAM_FT_ERROR },
    { ngx_string("timeout"), NGX_HTTP_UPSTREAM_FT_TIMEOUT },
    { ngx_string("invalid_response"), NGX_HTTP_UPSTREAM_FT_INVALID_HEADER },
    { ngx_string("off"), NGX_HTTP_UPSTREAM_FT_OFF },
    { ngx_null_string, 0 }
};


/*
 * The commands an API user may start with when the operator sets no list:
 * those of the seed APIs ngx_sandbox replaces.
 */
static const char  *ngx_http_sandbox_default_commands[] = {
    "ls", "cat", "echo", "pwd", "id", "whoami", "sh", "bash", "python",
    "python3", "pip", "pip3", "git", "curl", "wget", "mkdir", "cp", "mv",
    "rm", "grep", "find", "head", "tail", "sort", "uniq", "xargs", "env",
    "basename", "dirname", "test", "diff", "patch", "tar", "true",
    NULL
};


static ngx_command_t  ngx_http_sandbox_commands[] = {

    { ngx_string("sandbox"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_sandbox,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, enable),
      NULL },

    { ngx_string("sandbox_pass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_sandbox_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_api_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_sandbox_api_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_api_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_sandbox_api_key_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_anonymous"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_sandbox_anonymous,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_jwt_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_sandbox_jwt_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_jwt_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_sandbox_jwt_secret_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_jwt_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_sandbox_jwt_key_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_jwt_algorithms"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_sandbox_jwt_algorithms,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, jwt.leeway),
      NULL },

    { ngx_string("sandbox_jwt_require_exp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, jwt.require_exp),
      NULL },

    { ngx_string("sandbox_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_sandbox_conf_set_strs,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, jwt.issuers),
      NULL },

    { ngx_string("sandbox_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_sandbox_conf_set_strs,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, jwt.audiences),
      NULL },

    { ngx_string("sandbox_jwt_user_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, jwt.user_claim),
      NULL },

    { ngx_string("sandbox_jwt_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, jwt.scope),
      NULL },

    { ngx_string("sandbox_cors_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_sandbox_cors_origins,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_cors_methods"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_sandbox_conf_set_strs,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, cors.methods),
      NULL },

    { ngx_string("sandbox_cors_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_sandbox_conf_set_strs,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, cors.headers),
      NULL },

    { ngx_string("sandbox_cors_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, cors.max_age),
      NULL },

    { ngx_string("sandbox_allowed_commands"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_sandbox_allowed_commands,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_exec_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, exec_timeout),
      NULL },

    { ngx_string("sandbox_exec_timeout_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, exec_timeout_max),
      NULL },

    { ngx_string("sandbox_max_response_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, max_response_body),
      NULL },

    { ngx_string("sandbox_workspace_max_file_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, max_file_size),
      NULL },

    { ngx_string("sandbox_workspace_persist"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, persist),
      NULL },

    { ngx_string("sandbox_mcp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, mcp),
      NULL },

    { ngx_string("sandbox_mcp_sessions"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_sandbox_mcp_sessions,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sandbox_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, upstream.connect_timeout),
      NULL },

    { ngx_string("sandbox_send_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, upstream.send_timeout),
      NULL },

    { ngx_string("sandbox_read_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, upstream.read_timeout),
      NULL },

    { ngx_string("sandbox_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, upstream.buffer_size),
      NULL },

    { ngx_string("sandbox_next_upstream"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_conf_set_bitmask_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, upstream.next_upstream),
      &ngx_http_sandbox_next_upstream_masks },

    { ngx_string("sandbox_next_upstream_tries"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, upstream.next_upstream_tries),
      NULL },

    { ngx_string("sandbox_next_upstream_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sandbox_loc_conf_t, upstream.next_upstream_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_sandbox_module_ctx = {
    ngx_http_sandbox_add_variables,        /* preconfiguration */
    ngx_http_sandbox_init,                 /* postconfiguration */

    ngx_http_sandbox_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_sandbox_create_loc_conf,      /* create location configuration */
    ngx_http_sandbox_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_sandbox_module = {
    NGX_MODULE_V1,
    &ngx_http_sandbox_module_ctx,          /* module context */
    ngx_http_sandbox_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_sandbox_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_sandbox_main_conf_t));
}


static void *
ngx_http_sandbox_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_sandbox_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sandbox_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->upstream.upstream = NULL;
     *     conf->upstream.bufs.num = 0;
     *     conf->upstream.next_upstream = 0;
     *     conf->upstream.temp_path = NULL;
     *     conf->jwt.user_claim = { 0, NULL };
     *     conf->jwt.scope = { 0, NULL };
     *     conf->anonymous = { 0, NULL };
     *     conf->policy = { NULL, 0, 0, 0 };
     */

    conf->enable = NGX_CONF_UNSET;

    conf->upstream.local = NGX_CONF_UNSET_PTR;
    conf->upstream.socket_keepalive = NGX_CONF_UNSET;
    conf->upstream.next_upstream_tries = NGX_CONF_UNSET_UINT;
    conf->upstream.connect_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.send_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.read_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.next_upstream_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.buffer_size = NGX_CONF_UNSET_SIZE;

    /* the hardcoded values: a whole frame is rendered, never streamed */

    conf->upstream.cyclic_temp_file = 0;
    conf->upstream.buffering = 0;
    conf->upstream.ignore_client_abort = 0;
    conf->upstream.send_lowat = 0;
    conf->upstream.busy_buffers_size = 0;
    conf->upstream.max_temp_file_size = 0;
    conf->upstream.temp_file_write_size = 0;
    conf->upstream.intercept_errors = 0;
    conf->upstream.intercept_404 = 0;
    conf->upstream.pass_request_headers = 0;
    conf->upstream.pass_request_body = 0;
    conf->upstream.force_ranges = 0;

    conf->api_keys = NGX_CONF_UNSET_PTR;
    ngx_http_sandbox_jwt_create_conf(&conf->jwt);
    ngx_http_sandbox_cors_create_conf(&conf->cors);
    conf->allowed = NGX_CONF_UNSET_PTR;
    conf->exec_timeout = NGX_CONF_UNSET_MSEC;
    conf->exec_timeout_max = NGX_CONF_UNSET_MSEC;
    conf->max_response_body = NGX_CONF_UNSET_SIZE;
    conf->max_file_size = NGX_CONF_UNSET;
    conf->persist = NGX_CONF_UNSET;
    conf->mcp = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_sandbox_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_sandbox_loc_conf_t *prev = parent;
    ngx_http_sandbox_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    if (ngx_http_sandbox_merge_auth(cf, prev, conf) != NGX_CONF_OK
        || ngx_http_sandbox_cors_merge_conf(cf, &prev->cors, &conf->cors)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_size_value(conf->max_response_body,
                              prev->max_response_body, 64 * 1024 * 1024);

    ngx_conf_merge_off_value(conf->max_file_size, prev->max_file_size,
                             1024 * 1024);

    ngx_conf_merge_value(conf->mcp, prev->mcp, 1);

    if (conf->enable && conf->mcp && ngx_http_sandbox_mcp_zone(cf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* unset stays unset: sandboxd's workspace_persist_volumes decides */
    if (conf->persist == NGX_CONF_UNSET) {
        conf->persist = prev->persist;
    }

    if (conf->max_file_size > SBX_FRAME_BODY_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sandbox_workspace_max_file_size\" must be at "
                           "most %d", SBX_FRAME_BODY_MAX);
        return NGX_CONF_ERROR;
    }

    if (conf->max_response_body > SBX_FRAME_BODY_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sandbox_max_response_size\" must be at most %d",
                           SBX_FRAME_BODY_MAX);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_sandbox_merge_upstream(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_sandbox_merge_policy(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->enable && conf->api_keys == NULL && conf->jwt.keys == NULL
        && conf->anonymous.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sandbox on\" needs credentials: "
                           "\"sandbox_api_key\", \"sandbox_api_key_file\", "
                           "\"sandbox_jwt_secret\", "
                           "\"sandbox_jwt_secret_file\", "
                           "\"sandbox_jwt_key_file\" or "
                           "\"sandbox_anonymous\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The anonymous user must not be one an API key names: a request without
 * credentials would otherwise act as, and see the sessions of, that key's
 * owner.  (A JWT's user cannot be known before the token arrives.)
 */

static char *
ngx_http_sandbox_merge_auth(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *prev, ngx_http_sandbox_loc_conf_t *conf)
{
    ngx_uint_t                   i;
    ngx_http_sandbox_api_key_t  *k;

    ngx_conf_merge_ptr_value(conf->api_keys, prev->api_keys, NULL);
    ngx_conf_merge_str_value(conf->anonymous, prev->anonymous, "");

    if (ngx_http_sandbox_jwt_merge_conf(cf, &prev->jwt, &conf->jwt)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->anonymous.len == 0 || conf->api_keys == NULL) {
        return NGX_CONF_OK;
    }

    k = conf->api_keys->elts;

    for (i = 0; i < conf->api_keys->nelts; i++) {
        if (k[i].user.len == conf->anonymous.len
            && ngx_strncmp(k[i].user.data, conf->anonymous.data,
                           conf->anonymous.len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the anonymous user \"%V\" is also the user "
                               "of an API key", &conf->anonymous);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_sandbox_merge_upstream(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *prev, ngx_http_sandbox_loc_conf_t *conf)
{
    ngx_http_sandbox_main_conf_t  *smcf;

    ngx_conf_merge_ptr_value(conf->upstream.local, prev->upstream.local, NULL);

    ngx_conf_merge_value(conf->upstream.socket_keepalive,
                         prev->upstream.socket_keepalive, 0);

    ngx_conf_merge_uint_value(conf->upstream.next_upstream_tries,
                              prev->upstream.next_upstream_tries, 0);

    ngx_conf_merge_msec_value(conf->upstream.connect_timeout,
                              prev->upstream.connect_timeout, 5000);

    ngx_conf_merge_msec_value(conf->upstream.send_timeout,
                              prev->upstream.send_timeout, 60000);

    ngx_conf_merge_msec_value(conf->upstream.read_timeout,
                              prev->upstream.read_timeout, 60000);

    ngx_conf_merge_msec_value(conf->upstream.next_upstream_timeout,
                              prev->upstream.next_upstream_timeout, 0);

    ngx_conf_merge_size_value(conf->upstream.buffer_size,
                              prev->upstream.buffer_size,
                              (size_t) ngx_pagesize);

    ngx_conf_merge_bitmask_value(conf->upstream.next_upstream,
                                 prev->upstream.next_upstream,
                                 (NGX_CONF_BITMASK_SET
                                  |NGX_HTTP_UPSTREAM_FT_ERROR
                                  |NGX_HTTP_UPSTREAM_FT_TIMEOUT));

    if (conf->upstream.next_upstream & NGX_HTTP_UPSTREAM_FT_OFF) {
        conf->upstream.next_upstream = NGX_CONF_BITMASK_SET
                                       |NGX_HTTP_UPSTREAM_FT_OFF;
    }

    if (conf->upstream.upstream == NULL) {
        conf->upstream.upstream = prev->upstream.upstream;
    }

    if (conf->upstream.upstream == NULL && conf->enable) {
        smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sandbox_module);
        conf->upstream.upstream = smcf->default_upstream;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_sandbox_merge_policy(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *prev, ngx_http_sandbox_loc_conf_t *conf)
{
    ngx_conf_merge_msec_value(conf->exec_timeout, prev->exec_timeout, 30000);
    ngx_conf_merge_msec_value(conf->exec_timeout_max, prev->exec_timeout_max,
                              300000);

    if (conf->exec_timeout_max > 3600000 || conf->exec_timeout_max == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sandbox_exec_timeout_max\" must be between "
                           "1ms and 1h");
        return NGX_CONF_ERROR;
    }

    if (conf->exec_timeout == 0
        || conf->exec_timeout > conf->exec_timeout_max)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sandbox_exec_timeout\" must be more than 0 "
                           "and at most \"sandbox_exec_timeout_max\"");
        return NGX_CONF_ERROR;
    }

    if (conf->allowed == NGX_CONF_UNSET_PTR) {
        conf->allowed = prev->allowed;
    }

    if (conf->allowed == NGX_CONF_UNSET_PTR) {
        conf->allowed = ngx_http_sandbox_default_allowed(cf);

        if (conf->allowed == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    conf->policy.timeout_default_ms = (uint32_t) conf->exec_timeout;
    conf->policy.timeout_max_ms = (uint32_t) conf->exec_timeout_max;

    if (conf->allowed == NULL) {
        conf->policy.allowed = NULL;
        conf->policy.nallowed = 0;

    } else {
        conf->policy.allowed = conf->allowed->elts;
        conf->policy.nallowed = conf->allowed->nelts;
    }

    return NGX_CONF_OK;
}


static ngx_array_t *
ngx_http_sandbox_default_allowed(ngx_conf_t *cf)
{
    const char   **name;
    sbx_str_t     *s;
    ngx_array_t   *allowed;

    allowed = ngx_array_create(cf->pool, 40, sizeof(sbx_str_t));
    if (allowed == NULL) {
        return NULL;
    }

    for (name = ngx_http_sandbox_default_commands; *name; name++) {
        s = ngx_array_push(allowed);
        if (s == NULL) {
            return NULL;
        }

        s->data = *name;
        s->len = ngx_strlen(*name);
    }

    return allowed;
}


static ngx_int_t
ngx_http_sandbox_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_sandbox_main_conf_t  *smcf;

    static ngx_str_t  request_id = ngx_string("request_id");

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sandbox_module);

    smcf->request_id_index = ngx_http_get_variable_index(cf, &request_id);
    if (smcf->request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_sandbox_access_handler;

    return ngx_http_sandbox_filter_init(cf);
}


static char *
ngx_http_sandbox(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    char                          *rv;
    ngx_url_t                      u;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_sandbox_main_conf_t  *smcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (!slcf->enable) {
        return NGX_CONF_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_sandbox_handler;

    /*
     * upstreams are initialized before locations are merged, so the
     * default one is added here, while the configuration is parsed
     */

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sandbox_module);

    if (smcf->default_upstream == NULL) {
        ngx_memzero(&u, sizeof(ngx_url_t));

        ngx_str_set(&u.url, NGX_HTTP_SANDBOX_DEFAULT_PASS);
        u.no_resolve = 1;

        smcf->default_upstream = ngx_http_upstream_add(cf, &u, 0);
        if (smcf->default_upstream == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_sandbox_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    ngx_str_t  *value;
    ngx_url_t   u;

    if (slcf->upstream.upstream) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.no_resolve = 1;

    slcf->upstream.upstream = ngx_http_upstream_add(cf, &u, 0);
    if (slcf->upstream.upstream == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_sandbox_api_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    switch (ngx_http_sandbox_add_api_key(cf, slcf, &value[1], &value[2])) {

    case NGX_OK:
        return NGX_CONF_OK;

    case NGX_DECLINED:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid key or user id \"%V\"", &value[2]);
        /* fall through */

    default:
        return NGX_CONF_ERROR;
    }
}


static char *
ngx_http_sandbox_api_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    return ngx_http_sandbox_load_key_file(cf, conf, &value[1]);
}


/*
 * "sandbox_anonymous <user> | off": requests that bring no credentials act
 * as <user>.  "off" is kept as the empty string, which merging leaves
 * alone, so that it can switch off what an outer level set.
 */

static char *
ngx_http_sandbox_anonymous(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->anonymous.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&slcf->anonymous, "");
        return NGX_CONF_OK;
    }

    if (!sbx_user_id_valid((const char *) value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid user id \"%V\" (1 to %d bytes, no "
                           "control characters)", &value[1], SBX_USER_ID_MAX);
        return NGX_CONF_ERROR;
    }

    slcf->anonymous = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_sandbox_allowed_commands(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    ngx_str_t   *value;
    sbx_str_t   *s;
    ngx_uint_t   i;

    if (slcf->allowed != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        slcf->allowed = NULL;
        return NGX_CONF_OK;
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "default") == 0) {
        slcf->allowed = ngx_http_sandbox_default_allowed(cf);
        return slcf->allowed ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    slcf->allowed = ngx_array_create(cf->pool, cf->args->nelts,
                                     sizeof(sbx_str_t));
    if (slcf->allowed == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (!ngx_http_sandbox_command_name_valid(&value[i])) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid command name \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(slcf->allowed);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        s->data = (const char *) value[i].data;
        s->len = value[i].len;
    }

    return NGX_CONF_OK;
}


static ngx_uint_t
ngx_http_sandbox_command_name_valid(ngx_str_t *name)
{
    ngx_uint_t  i;

    if (name->len == 0) {
        return 0;
    }

    for (i = 0; i < name->len; i++) {
        if (name->data[i] <= ' ' || name->data[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}
