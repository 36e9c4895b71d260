
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The audit line of an operation, from its request and result.
 */


#include <string.h>
#include <time.h>

#include "sbx_audit.h"
#include "sbx_op.h"


static const char *
sbx_ops_audit_str(cJSON *obj, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, name));
}


/* The command's outcome, when the result of an exec carries one. */
static void
sbx_ops_audit_exec(cJSON *result, sbx_audit_rec_t *rec)
{
    cJSON  *exit_code, *duration;

    exit_code = cJSON_GetObjectItemCaseSensitive(result, "exit_code");
    duration = cJSON_GetObjectItemCaseSensitive(result, "duration_ms");
    rec->signal = sbx_ops_audit_str(result, "signal");

    if (!cJSON_IsNumber(duration)
        || !(cJSON_IsNumber(exit_code) || rec->signal != NULL))
    {
        rec->signal = NULL;
        return;
    }

    rec->ran = 1;
    rec->exit_code = cJSON_IsNumber(exit_code) ? exit_code->valueint : 0;
    rec->timed_out = cJSON_IsTrue(
                         cJSON_GetObjectItemCaseSensitive(result,
                                                          "timed_out"));
    rec->duration_ms = duration->valuedouble;
}


void
sbx_ops_audit(sbx_ctx_t *ctx, const char *op, const char *id,
    sbx_op_req_t *req, const char *code, int64_t started_ms)
{
    sbx_audit_rec_t  rec;
    struct timespec  ts;
    const char      *sid;

    if (!sbx_audit_enabled()) {
        return;
    }

    memset(&rec, 0, sizeof(rec));

    clock_gettime(CLOCK_REALTIME, &ts);
    rec.time_ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    rec.op_ms = (double) (sbx_time_mono_ms() - started_ms);

    rec.instance = ctx->conf->instance;
    rec.request_id = id;
    rec.user = req->user;
    rec.op = op;
    rec.outcome = code != NULL ? code : "ok";

    /* a generated session id is in the result */
    sid = sbx_ops_audit_str(req->result, "session_id");
    rec.session = sid != NULL ? sid : req->session_id;

    if (strcmp(op, "exec") == 0) {
        rec.command = sbx_ops_audit_str(req->args, "command");
        sbx_ops_audit_exec(req->result, &rec);
    }

    /* a run is told by its language; its session is the run's id */
    if (strcmp(op, "run") == 0) {
        rec.command = sbx_ops_audit_str(req->result, "language");
    }

    if (strncmp(op, "file.", 5) == 0) {
        rec.path = sbx_ops_audit_str(req->args, "path");
    }

    sbx_audit_write(&rec);
}
