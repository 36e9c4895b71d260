
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_log.h"
#include "sbx_op.h"
#include "sbx_pool.h"
#include "sbx_quota.h"
#include "sbx_session.h"
#include "sbx_task.h"


#define SBX_ID_MAX          64
#define SBX_TIMEOUT_MAX_MS  3600000L
#define SBX_PATH_MAX        4096
#define SBX_READY_MS        2000


typedef struct {
    const char         *name;
    int                 needs_user;
    int                 takes_body;
    int                 audited;     /* it changes or runs something */
    sbx_op_handler_pt   handler;
} sbx_op_t;


static int sbx_op_ping(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
static int sbx_op_ready(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
static int sbx_op_session_create(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
static int sbx_op_session_get(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
static int sbx_op_session_list(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
static int sbx_op_session_delete(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);
static int sbx_op_exec(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err);


static const sbx_op_t  sbx_ops[] = {
    { "ping", 0, 0, 0, sbx_op_ping },
    { "ready", 0, 0, 0, sbx_op_ready },
    { "session.create", 1, 0, 1, sbx_op_session_create },
    { "session.get", 1, 0, 0, sbx_op_session_get },
    { "session.list", 1, 0, 0, sbx_op_session_list },
    { "session.delete", 1, 0, 1, sbx_op_session_delete },
    { "exec", 1, 0, 1, sbx_op_exec },
    { "file.list", 1, 0, 0, sbx_op_file_list },
    { "file.read", 1, 0, 0, sbx_op_file_read },
    { "file.write", 1, 1, 1, sbx_op_file_write },
    { "file.delete", 1, 0, 1, sbx_op_file_delete },
    { "quota", 1, 0, 0, sbx_op_quota },
    { "run", 1, 1, 1, sbx_op_run },
    { "runtimes", 1, 0, 0, sbx_op_runtimes },
    { "install", 1, 0, 1, sbx_op_install },
    { "task.submit", 1, 1, 0, sbx_op_task_submit },
    { "task.get", 1, 0, 0, sbx_op_task_get },
    { "task.cancel", 1, 0, 1, sbx_op_task_cancel },
    { NULL, 0, 0, 0, NULL }
};


void
sbx_response_free(sbx_response_t *resp)
{
    cJSON_Delete(resp->header);
    sbx_exec_result_free(&resp->exec);
    free(resp->owned);
    memset(resp, 0, sizeof(*resp));
}


void
sbx_ops_error_response(sbx_response_t *resp, const char *id,
    const char *code, const char *message)
{
    cJSON  *e;

    cJSON_Delete(resp->header);
    resp->nbody = 0;

    resp->header = cJSON_CreateObject();
    cJSON_AddStringToObject(resp->header, "id", id ? id : "");
    cJSON_AddBoolToObject(resp->header, "ok", 0);
    e = cJSON_AddObjectToObject(resp->header, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);

    if (strcmp(code, SBX_E_BAD_FRAME) == 0
        || strcmp(code, SBX_E_UNSUPPORTED_VERSION) == 0)
    {
        resp->close = 1;
    }
}


/* Whether a raw JSON text holds a \u0000 escape, which cJSON truncates. */
static int
sbx_ops_has_nul_escape(const char *p, size_t len)
{
    size_t  i, bs;

    for (i = 0, bs = 0; i < len; i++) {
        if (p[i] == '\\') {
            bs++;
            continue;
        }

        if ((bs & 1) && p[i] == 'u' && i + 4 < len
            && memcmp(p + i + 1, "0000", 4) == 0)
        {
            return 1;
        }

        bs = 0;
    }

    return 0;
}


int
sbx_ops_check_args(cJSON *args, const char **allowed, sbx_error_t *err)
{
    cJSON        *a;
    const char  **n;

    cJSON_ArrayForEach(a, args) {
        for (n = allowed; *n; n++) {
            if (strcmp(a->string, *n) == 0) {
                break;
            }
        }

        if (*n == NULL) {
            sbx_error_set(err, SBX_E_INVALID_ARGUMENT,
                          "unknown argument \"%.64s\"", a->string);
            return SBX_ERR;
        }
    }

    return SBX_OK;
}


int
sbx_ops_session_arg(sbx_op_req_t *req, int required, const char **out,
    sbx_error_t *err)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(req->args, "session_id");
    *out = NULL;

    if (v == NULL) {
        if (required) {
            sbx_error_set(err, SBX_E_INVALID_ARGUMENT,
                          "\"session_id\" is required");
            return SBX_ERR;
        }
        return SBX_OK;
    }

    if (!cJSON_IsString(v)
        || !sbx_session_id_valid(v->valuestring, strlen(v->valuestring)))
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT,
                      "\"session_id\" must be 1..128 characters of "
                      "[A-Za-z0-9_.-], starting with a letter or digit");
        return SBX_ERR;
    }

    *out = v->valuestring;
    req->session_id = *out;

    return SBX_OK;
}


static cJSON *
sbx_ops_session_object(sbx_ctx_t *ctx, cJSON *to,
    const sbx_session_rec_t *rec)
{
    cJSON_AddStringToObject(to, "session_id", rec->session_id);
    cJSON_AddNumberToObject(to, "created_at", (double) rec->created_at);
    cJSON_AddNumberToObject(to, "last_used_at", (double) rec->last_used_at);
    cJSON_AddNumberToObject(to, "expires_at",
                            (double) (rec->last_used_at
                                      + (int64_t) ctx->conf->session_ttl));
    return to;
}


static int
sbx_op_ping(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char  *allowed[] = { NULL };

    (void) ctx;
    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK) {
        return SBX_ERR;
    }

    cJSON_AddStringToObject(req->result, "version", SBX_VERSION);

    return SBX_OK;
}


static void
sbx_ops_check(cJSON *checks, const char *name, int ok, const char *error)
{
    cJSON  *c;

    c = cJSON_AddObjectToObject(checks, name);
    cJSON_AddBoolToObject(c, "ok", ok);

    if (!ok) {
        cJSON_AddStringToObject(c, "error", error);
    }
}


static int
sbx_op_ready(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char  *allowed[] = { NULL };
    sbx_error_t         derr, rerr;
    cJSON              *checks;
    int                 dok, rok;

    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK) {
        return SBX_ERR;
    }

    dok = sbx_docker_ping(&ctx->docker, SBX_READY_MS, &derr) == SBX_OK;
    rok = sbx_store_ping(&ctx->store, SBX_READY_MS, &rerr) == SBX_OK;

    cJSON_AddBoolToObject(req->result, "ready", dok && rok);
    cJSON_AddStringToObject(req->result, "store",
                            ctx->store.memory ? "memory" : "redis");
    sbx_pool_report(req->result);
    sbx_tasks_report(req->result);
    checks = cJSON_AddObjectToObject(req->result, "checks");

    /* in memory, the store is not ready until Docker gave the sessions */
    if (ctx->store.memory) {
        sbx_ops_check(checks, "docker", dok && rok,
                      dok ? rerr.msg : derr.msg);
        return SBX_OK;
    }

    sbx_ops_check(checks, "docker", dok, derr.msg);
    sbx_ops_check(checks, "redis", rok, rerr.msg);

    return SBX_OK;
}


/* Reads the optional boolean args.persist: -1 when absent. */
static int
sbx_ops_persist_arg(cJSON *args, int *persist, sbx_error_t *err)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(args, "persist");
    *persist = -1;

    if (v == NULL) {
        return SBX_OK;
    }

    if (!cJSON_IsBool(v)) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT,
                      "\"persist\" must be a boolean");
        return SBX_ERR;
    }

    *persist = cJSON_IsTrue(v);

    return SBX_OK;
}


static int
sbx_op_session_create(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err)
{
    static const char  *allowed[] = { "session_id", "persist", NULL };
    const char         *sid;
    sbx_session_rec_t   rec;
    int                 created, persist;

    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_ops_session_arg(req, 0, &sid, err) != SBX_OK
        || sbx_ops_persist_arg(req->args, &persist, err) != SBX_OK
        || sbx_session_acquire(ctx, req->user, sid, persist, &rec, &created,
                               err)
           != SBX_OK
        || (!created && sbx_session_check(ctx, req->user, &rec, err)
                        != SBX_OK))
    {
        return SBX_ERR;
    }

    sbx_ops_session_object(ctx, req->result, &rec);
    cJSON_AddBoolToObject(req->result, "created", created);

    return SBX_OK;
}


static int
sbx_op_session_get(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char  *allowed[] = { "session_id", NULL };
    const char         *sid;
    sbx_session_rec_t   rec;

    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_ops_session_arg(req, 1, &sid, err) != SBX_OK
        || sbx_session_get(ctx, req->user, sid, &rec, err) != SBX_OK
        || sbx_session_check(ctx, req->user, &rec, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    sbx_ops_session_object(ctx, req->result, &rec);

    return SBX_OK;
}


static int
sbx_op_session_list(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char  *allowed[] = { NULL };
    sbx_session_rec_t  *recs;
    size_t              n, i;
    cJSON              *list;

    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_store_list(&ctx->store, req->user, &recs, &n, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    list = cJSON_AddArrayToObject(req->result, "sessions");

    for (i = 0; i < n; i++) {
        cJSON_AddItemToArray(list, sbx_ops_session_object(
                                       ctx, cJSON_CreateObject(), &recs[i]));
    }

    free(recs);

    return SBX_OK;
}


static int
sbx_op_session_delete(sbx_ctx_t *ctx, sbx_op_req_t *req,
    sbx_response_t *resp, sbx_error_t *err)
{
    static const char  *allowed[] = { "session_id", NULL };
    const char         *sid;

    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_ops_session_arg(req, 1, &sid, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    return sbx_session_delete(ctx, req->user, sid, err);
}


/* Checks and collects args.env as "NAME=value" strings (malloc'ed). */
static int
sbx_ops_env_arg(cJSON *args, char ***env, size_t *nenv, sbx_error_t *err)
{
    cJSON   *obj, *v;
    size_t   n;

    *env = NULL;
    *nenv = 0;

    obj = cJSON_GetObjectItemCaseSensitive(args, "env");
    if (obj == NULL) {
        return SBX_OK;
    }

    if (!cJSON_IsObject(obj) || cJSON_GetArraySize(obj) > SBX_ENV_MAX) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"env\" must be an "
                      "object of at most %d strings", SBX_ENV_MAX);
        return SBX_ERR;
    }

    *env = calloc((size_t) cJSON_GetArraySize(obj) + 1, sizeof(char *));
    if (*env == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    n = 0;

    cJSON_ArrayForEach(v, obj) {
        if (!sbx_env_name_valid(v->string, strlen(v->string))
            || strcmp(v->string, "SBX_EXEC_ID") == 0)
        {
            sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "invalid environment "
                          "variable name \"%.64s\"", v->string);
            goto err;
        }

        if (!cJSON_IsString(v) || strlen(v->valuestring) > SBX_ENV_VALUE_MAX)
        {
            sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "environment value "
                          "of \"%.64s\" must be a string of at most %d "
                          "bytes", v->string, SBX_ENV_VALUE_MAX);
            goto err;
        }

        if (asprintf(&(*env)[n], "%s=%s", v->string, v->valuestring) < 0) {
            (*env)[n] = NULL;
            sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
            goto err;
        }

        *nenv = ++n;
    }

    return SBX_OK;

err:

    return SBX_ERR;
}


static void
sbx_ops_env_free(char **env, size_t n)
{
    size_t  i;

    for (i = 0; env != NULL && i < n; i++) {
        free(env[i]);
    }

    free(env);
}


/* Checks command, timeout_ms and working_dir into req. */
static int
sbx_ops_exec_args(sbx_ctx_t *ctx, cJSON *args, sbx_exec_req_t *req,
    sbx_error_t *err)
{
    cJSON   *v;
    double   max_ms;

    v = cJSON_GetObjectItemCaseSensitive(args, "command");
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0'
        || strlen(v->valuestring) > SBX_COMMAND_MAX)
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"command\" must be a "
                      "string of 1..%d bytes", SBX_COMMAND_MAX);
        return SBX_ERR;
    }

    req->command = v->valuestring;

    max_ms = (double) ctx->conf->exec_timeout_max * 1000;
    if (max_ms > SBX_TIMEOUT_MAX_MS) {
        max_ms = SBX_TIMEOUT_MAX_MS;
    }

    v = cJSON_GetObjectItemCaseSensitive(args, "timeout_ms");
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)
        || v->valuedouble < 1 || v->valuedouble > max_ms)
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"timeout_ms\" must be "
                      "an integer of 1..%.0f", max_ms);
        return SBX_ERR;
    }

    req->timeout_ms = (long) v->valuedouble;

    v = cJSON_GetObjectItemCaseSensitive(args, "working_dir");
    req->working_dir = "/workspace";

    if (v != NULL) {
        if (!cJSON_IsString(v) || v->valuestring[0] != '/'
            || strlen(v->valuestring) > SBX_PATH_MAX)
        {
            sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"working_dir\" "
                          "must be an absolute path of at most %d bytes",
                          SBX_PATH_MAX);
            return SBX_ERR;
        }
        req->working_dir = v->valuestring;
    }

    return SBX_OK;
}


const char *
sbx_ops_signal_name(int sig, char *buf, size_t len)
{
    static const char  *names[] = {
        NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
        "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2",
        "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
        "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
        "SIGSYS"
    };

    if (sig > 0 && sig < (int) (sizeof(names) / sizeof(names[0]))) {
        return names[sig];
    }

    snprintf(buf, len, "SIG%d", sig);

    return buf;
}


void
sbx_ops_exec_result(sbx_op_req_t *req, const char *sid, int created,
    sbx_exec_result_t *res, sbx_response_t *resp)
{
    cJSON  *r = req->result;
    char    sig[16];

    cJSON_AddStringToObject(r, "session_id", sid);
    cJSON_AddBoolToObject(r, "session_created", created);

    if (res->signal != 0) {
        cJSON_AddNullToObject(r, "exit_code");
        cJSON_AddStringToObject(r, "signal",
                                sbx_ops_signal_name(res->signal, sig,
                                                    sizeof(sig)));
    } else {
        cJSON_AddNumberToObject(r, "exit_code", res->exit_code);
        cJSON_AddNullToObject(r, "signal");
    }

    cJSON_AddBoolToObject(r, "timed_out", res->timed_out);

    if (res->oom_killed >= 0) {
        cJSON_AddBoolToObject(r, "oom_killed", res->oom_killed);
    } else {
        cJSON_AddNullToObject(r, "oom_killed");
    }

    cJSON_AddNumberToObject(r, "stdout_len", (double) res->out.len);
    cJSON_AddNumberToObject(r, "stderr_len", (double) res->err.len);
    cJSON_AddBoolToObject(r, "stdout_truncated", res->out.truncated);
    cJSON_AddBoolToObject(r, "stderr_truncated", res->err.truncated);
    cJSON_AddNumberToObject(r, "duration_ms",
                            (double) res->duration_us / 1000);

    if (res->has_usage) {
        cJSON_AddNumberToObject(r, "cpu_ms", (double) res->cpu_us / 1000);
        cJSON_AddNumberToObject(r, "max_rss_kb", (double) res->max_rss_kb);
    } else {
        cJSON_AddNullToObject(r, "cpu_ms");
        cJSON_AddNullToObject(r, "max_rss_kb");
    }

    cJSON_AddStringToObject(r, "via", res->via);

    resp->exec = *res;
    resp->body[0].iov_base = res->out.data;
    resp->body[0].iov_len = res->out.len;
    resp->body[1].iov_base = res->err.data;
    resp->body[1].iov_len = res->err.len;
    resp->nbody = 2;
}


/* Reads args.stdin into req: NULL when absent. */
static int
sbx_ops_stdin_arg(cJSON *args, sbx_exec_req_t *req, sbx_error_t *err)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(args, "stdin");
    if (v == NULL) {
        return SBX_OK;
    }

    if (!cJSON_IsString(v) || strlen(v->valuestring) > SBX_STDIN_MAX) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"stdin\" must be a "
                      "string of at most %d bytes", SBX_STDIN_MAX);
        return SBX_ERR;
    }

    req->stdin_data = v->valuestring;
    req->stdin_len = strlen(v->valuestring);

    return SBX_OK;
}


/* Gets (or makes) the session and runs the command in it. */
static int
sbx_ops_exec_in_session(sbx_ctx_t *ctx, sbx_op_req_t *req, const char *sid,
    int persist, const char *slot, sbx_exec_req_t *ereq,
    sbx_response_t *resp, sbx_error_t *err)
{
    int                 created, rc;
    sbx_exec_result_t   res;
    sbx_session_rec_t   rec;

    rc = sbx_session_acquire(ctx, req->user, sid, persist, &rec, &created,
                             err);
    if (rc != SBX_OK) {
        return rc;
    }

    /* making the container may have used up much of the slot's grace */

    if (created) {
        sbx_quota_exec_renew(ctx, req->user, slot, ereq->timeout_ms);
    }

    ereq->session = &rec;

    rc = sbx_exec_run(ctx, ereq, &res, err);

    if (rc == SBX_OK) {
        sbx_session_touch(ctx, req->user, rec.session_id);
        sbx_ops_exec_result(req, rec.session_id, created, &res, resp);
        return SBX_OK;
    }

    sbx_exec_result_free(&res);

    /* for the log and audit lines only: a failed op sends no result */
    cJSON_AddStringToObject(req->result, "session_id", rec.session_id);

    if (strcmp(err->code, SBX_E_SESSION_LOST) == 0) {
        sbx_session_lost(ctx, req->user, &rec, err);
    } else {
        sbx_session_touch(ctx, req->user, rec.session_id);
    }

    return rc;
}


/*
 * Checks every argument of an exec into sid, ereq and persist, and
 * collects its environment (freed with sbx_ops_env_free()).
 */
static int
sbx_ops_exec_parse(sbx_ctx_t *ctx, sbx_op_req_t *req, const char **sid,
    sbx_exec_req_t *ereq, int *persist, char ***env, size_t *nenv,
    sbx_error_t *err)
{
    static const char  *allowed[] = {
        "session_id", "command", "timeout_ms", "working_dir", "env",
        "stdin", "persist", NULL
    };

    memset(ereq, 0, sizeof(*ereq));
    *env = NULL;
    *nenv = 0;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_ops_session_arg(req, 0, sid, err) != SBX_OK
        || sbx_ops_exec_args(ctx, req->args, ereq, err) != SBX_OK
        || sbx_ops_stdin_arg(req->args, ereq, err) != SBX_OK
        || sbx_ops_persist_arg(req->args, persist, err) != SBX_OK
        || sbx_ops_env_arg(req->args, env, nenv, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    ereq->env = (const char **) *env;
    ereq->nenv = *nenv;

    return SBX_OK;
}


int
sbx_op_exec_check(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_error_t *err)
{
    const char      *sid;
    char           **env;
    size_t           nenv;
    int              rc, persist;
    sbx_exec_req_t   ereq;

    rc = sbx_ops_exec_parse(ctx, req, &sid, &ereq, &persist, &env, &nenv,
                            err);
    sbx_ops_env_free(env, nenv);

    return rc;
}


static int
sbx_op_exec(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    const char         *sid;
    char              **env, slot[SBX_QUOTA_SLOT_LEN + 1];
    size_t              nenv;
    int                 rc, persist;
    sbx_exec_req_t      ereq;

    if (sbx_ops_exec_parse(ctx, req, &sid, &ereq, &persist, &env, &nenv,
                           err)
        != SBX_OK)
    {
        sbx_ops_env_free(env, nenv);
        return SBX_ERR;
    }

    sbx_log_debug("exec command: %.1000s", ereq.command);

    rc = sbx_quota_exec_begin(ctx, req->user, ereq.timeout_ms, slot, err);

    if (rc == SBX_OK) {
        rc = sbx_ops_exec_in_session(ctx, req, sid, persist, slot, &ereq,
                                     resp, err);
        sbx_quota_exec_end(ctx, req->user, slot);
    }

    sbx_ops_env_free(env, nenv);

    return rc;
}


/*
 * Checks the envelope: a JSON object with id, op and (for most ops) user.
 * Returns the op, or NULL with resp filled with the error.
 */
static const sbx_op_t *
sbx_ops_envelope(cJSON *h, sbx_op_req_t *req, const char **id,
    sbx_response_t *resp)
{
    const sbx_op_t  *op;
    cJSON           *v, *o, *u;

    v = cJSON_GetObjectItemCaseSensitive(h, "id");
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0'
        || strlen(v->valuestring) > SBX_ID_MAX)
    {
        sbx_ops_error_response(resp, NULL, SBX_E_BAD_FRAME,
                               "\"id\" must be a string of 1..64 bytes");
        return NULL;
    }

    *id = v->valuestring;

    o = cJSON_GetObjectItemCaseSensitive(h, "op");
    if (!cJSON_IsString(o)) {
        sbx_ops_error_response(resp, *id, SBX_E_BAD_FRAME,
                               "\"op\" must be a string");
        return NULL;
    }

    for (op = sbx_ops; op->name; op++) {
        if (strcmp(op->name, o->valuestring) == 0) {
            break;
        }
    }

    if (op->name == NULL) {
        sbx_ops_error_response(resp, *id, SBX_E_UNKNOWN_OP,
                               "unknown operation");
        return NULL;
    }

    u = cJSON_GetObjectItemCaseSensitive(h, "user");
    if (op->needs_user) {
        if (!cJSON_IsString(u)) {
            sbx_ops_error_response(resp, *id, SBX_E_BAD_FRAME,
                                   "\"user\" must be a string");
            return NULL;
        }

        if (!sbx_user_id_valid(u->valuestring, strlen(u->valuestring))) {
            sbx_ops_error_response(resp, *id, SBX_E_INVALID_ARGUMENT,
                                   "\"user\" must be 1..256 bytes without "
                                   "control characters");
            return NULL;
        }

        req->user = u->valuestring;
    }

    req->args = cJSON_GetObjectItemCaseSensitive(h, "args");
    if (req->args != NULL && !cJSON_IsObject(req->args)) {
        sbx_ops_error_response(resp, *id, SBX_E_INVALID_ARGUMENT,
                               "\"args\" must be an object");
        return NULL;
    }

    return op;
}


static void
sbx_ops_log(const char *opname, sbx_op_req_t *req, int64_t started,
    const char *code)
{
    cJSON       *v;
    const char  *sid;

    if (sbx_log_level < SBX_LOG_INFO) {
        return;
    }

    /* a generated session id is in the result */
    v = cJSON_GetObjectItemCaseSensitive(req->result, "session_id");
    sid = cJSON_IsString(v) ? v->valuestring : req->session_id;

    sbx_log_info("op=%s user=%s session=%s ms=%lld %s%s", opname,
                 req->user ? req->user : "-", sid ? sid : "-",
                 (long long) (sbx_time_mono_ms() - started),
                 code ? "error=" : "ok", code ? code : "");
}


void
sbx_ops_handle(sbx_ctx_t *ctx, const char *header, size_t header_len,
    const char *body, size_t body_len, sbx_response_t *resp)
{
    const sbx_op_t  *op;
    const char      *id;
    cJSON           *h, *empty;
    sbx_op_req_t     req;
    sbx_error_t      err;
    int64_t          started;

    memset(resp, 0, sizeof(*resp));
    memset(&req, 0, sizeof(req));
    started = sbx_time_mono_ms();

    h = cJSON_ParseWithLength(header, header_len);
    if (!cJSON_IsObject(h)) {
        cJSON_Delete(h);
        sbx_ops_error_response(resp, NULL, SBX_E_BAD_FRAME,
                               "the header is not a JSON object");
        return;
    }

    id = NULL;
    empty = NULL;

    op = sbx_ops_envelope(h, &req, &id, resp);
    if (op == NULL) {
        goto done;
    }

    if (req.args == NULL) {
        empty = cJSON_CreateObject();
        req.args = empty;
    }

    sbx_error_set(&err, SBX_E_INTERNAL, "internal error");

    if (body_len != 0 && !op->takes_body) {
        sbx_error_set(&err, SBX_E_INVALID_ARGUMENT,
                      "this operation takes no body");
        goto failed;
    }

    req.body = body;
    req.body_len = body_len;

    if (sbx_ops_has_nul_escape(header, header_len)) {
        sbx_error_set(&err, SBX_E_INVALID_ARGUMENT,
                      "strings must not contain NUL characters");
        goto failed;
    }

    req.result = cJSON_CreateObject();

    /* Docker's own error messages are logged with the request's id */
    ctx->docker.req_id = id;

    if (op->handler(ctx, &req, resp, &err) == SBX_OK) {
        if (op->audited) {
            sbx_ops_audit(ctx, op->name, id, &req, NULL, started);
        }

        resp->header = cJSON_CreateObject();
        cJSON_AddStringToObject(resp->header, "id", id);
        cJSON_AddBoolToObject(resp->header, "ok", 1);
        cJSON_AddItemToObject(resp->header, "result", req.result);
        sbx_ops_log(op->name, &req, started, NULL);
        goto done;
    }

failed:

    if (op->audited) {
        sbx_ops_audit(ctx, op->name, id, &req, err.code, started);
    }

    cJSON_Delete(req.result);
    req.result = NULL;

    sbx_ops_error_response(resp, id, err.code, err.msg);
    sbx_ops_log(op->name, &req, started, err.code);

done:

    ctx->docker.req_id = NULL;
    cJSON_Delete(empty);
    cJSON_Delete(h);
}
