
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * GET /quota: the caller's limits and what it uses of them, as sandboxd
 * counts them in Redis (shared by every nginx and sandboxd).
 */


#include "ngx_http_sandbox_module.h"


static ngx_int_t ngx_http_sandbox_quota_pair(cJSON *to, cJSON *from,
    const char *name, const char *used);
static ngx_uint_t ngx_http_sandbox_quota_count(cJSON *v, ngx_uint_t null);


/*
 * {"user", "sessions": {"live", "max"}, "executions": {"running", "max"},
 *  "session_ttl_seconds", "exec_timeout_max_ms"}; a max of null is no
 * limit.  The longest timeout is the lower of sandboxd's and the
 * location's sandbox_exec_timeout_max.
 */

ngx_int_t
ngx_http_sandbox_render_quota(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    char                         *user;
    cJSON                        *json, *ttl, *timeout;
    double                        timeout_max;
    ngx_int_t                     rc;
    ngx_http_sandbox_loc_conf_t  *slcf;

    ttl = cJSON_GetObjectItemCaseSensitive(result, "session_ttl_seconds");
    timeout = cJSON_GetObjectItemCaseSensitive(result, "exec_timeout_max_ms");

    if (!ngx_http_sandbox_quota_count(ttl, 0)
        || !ngx_http_sandbox_quota_count(timeout, 0))
    {
        return ngx_http_sandbox_invalid(r, "a malformed quota result");
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    timeout_max = ngx_min(timeout->valuedouble,
                          (double) slcf->policy.timeout_max_ms);

    user = ngx_http_sandbox_pstrz(r->pool, &ctx->user);
    json = cJSON_CreateObject();

    if (user == NULL || json == NULL
        || cJSON_AddStringToObject(json, "user", user) == NULL)
    {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    rc = ngx_http_sandbox_quota_pair(json, result, "sessions", "live");

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_quota_pair(json, result, "executions",
                                         "running");
    }

    if (rc == NGX_OK
        && (cJSON_AddNumberToObject(json, "session_ttl_seconds",
                                    ttl->valuedouble) == NULL
            || cJSON_AddNumberToObject(json, "exec_timeout_max_ms",
                                       timeout_max) == NULL))
    {
        rc = NGX_ERROR;
    }

    if (rc == NGX_OK) {
        rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);
    }

    cJSON_Delete(json);

    if (rc == NGX_DECLINED) {
        return ngx_http_sandbox_invalid(r, "a malformed quota result");
    }

    return rc;
}


/*
 * Copies {"<used>": count or null, "max": count or null}; NGX_DECLINED
 * when from's member is not of that shape.
 */

static ngx_int_t
ngx_http_sandbox_quota_pair(cJSON *to, cJSON *from, const char *name,
    const char *used)
{
    cJSON  *pair, *u, *max;

    pair = cJSON_GetObjectItemCaseSensitive(from, name);
    u = cJSON_GetObjectItemCaseSensitive(pair, used);
    max = cJSON_GetObjectItemCaseSensitive(pair, "max");

    if (!cJSON_IsObject(pair)
        || !ngx_http_sandbox_quota_count(u, 1)
        || !ngx_http_sandbox_quota_count(max, 1))
    {
        return NGX_DECLINED;
    }

    pair = cJSON_Duplicate(pair, 1);

    if (pair == NULL || !cJSON_AddItemToObject(to, name, pair)) {
        cJSON_Delete(pair);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A non-negative integer, or null when null is allowed. */

static ngx_uint_t
ngx_http_sandbox_quota_count(cJSON *v, ngx_uint_t null)
{
    if (null && cJSON_IsNull(v)) {
        return 1;
    }

    return cJSON_IsNumber(v) && v->valuedouble >= 0
           && v->valuedouble == (double) (int64_t) v->valuedouble;
}
