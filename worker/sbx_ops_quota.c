
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The quota op: the caller's limits and what it uses of them.
 */


#include "sbx_op.h"
#include "sbx_quota.h"


/* {"<used>": used, "max": max}; a max of 0 (or a used < 0) is null */
static void
sbx_ops_quota_pair(cJSON *to, const char *name, const char *used_name,
    long long used, uint64_t max)
{
    cJSON  *o;

    o = cJSON_AddObjectToObject(to, name);

    if (used < 0) {
        cJSON_AddNullToObject(o, used_name);
    } else {
        cJSON_AddNumberToObject(o, used_name, (double) used);
    }

    if (max == 0) {
        cJSON_AddNullToObject(o, "max");
    } else {
        cJSON_AddNumberToObject(o, "max", (double) max);
    }
}


int
sbx_op_quota(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char  *allowed[] = { NULL };
    long long           sessions, execs;

    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_quota_usage(ctx, req->user, &sessions, &execs, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    sbx_ops_quota_pair(req->result, "sessions", "live", sessions,
                       ctx->conf->max_sessions_per_user);
    sbx_ops_quota_pair(req->result, "executions", "running", execs,
                       ctx->conf->max_concurrent_execs_per_user);
    cJSON_AddNumberToObject(req->result, "session_ttl_seconds",
                            (double) ctx->conf->session_ttl);
    cJSON_AddNumberToObject(req->result, "exec_timeout_max_ms",
                            (double) ctx->conf->exec_timeout_max * 1000);

    return SBX_OK;
}
