
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The run op: one program, in a language of sbx_runtimes.c, in a fresh
 * container (sbx_run_box.c) that is removed afterwards; and the runtimes
 * op that lists the languages.  The files are written through the agent,
 * the optional compile step and the run are two execs.  The response
 * body is the compile step's stdout and stderr, then the run's.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_log.h"
#include "sbx_op.h"
#include "sbx_quota.h"
#include "sbx_run_box.h"
#include "sbx_runtimes.h"
#include "sbx_semver.h"


#define SBX_RUN_TIMEOUT_MAX_MS   3600000L
#define SBX_RUN_MEMORY_MIN       (16 * 1024 * 1024)
#define SBX_RUN_MAKE_GRACE_MS    30000L     /* for the container's making */


typedef struct {
    const sbx_runtime_t  *rt;
    cJSON                *files;      /* [{name?, size}], in the body */
    const char           *body;       /* the files' bytes, then stdin */
    const char           *stdin_data;
    size_t                stdin_len;
    char                 *command;    /* the run command with the args */
    char                  main[SBX_WS_PATH_MAX + 16];   /* SBX_MAIN=... */
    long                  timeout_ms;
    long                  compile_ms;
    uint64_t              memory;
} sbx_run_t;


/* What a compile or run step gave: its result, or an error. */
typedef struct {
    int                 ran;
    sbx_exec_result_t   res;
} sbx_run_step_t;


static int
sbx_run_ms_arg(sbx_ctx_t *ctx, cJSON *args, const char *name, long def,
    long *out, sbx_error_t *err)
{
    cJSON   *v;
    double   max_ms;

    max_ms = (double) ctx->conf->exec_timeout_max * 1000;
    if (max_ms > SBX_RUN_TIMEOUT_MAX_MS) {
        max_ms = SBX_RUN_TIMEOUT_MAX_MS;
    }

    v = cJSON_GetObjectItemCaseSensitive(args, name);

    if (v == NULL && def > 0) {
        *out = def < max_ms ? def : (long) max_ms;
        return SBX_OK;
    }

    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)
        || v->valuedouble < 1 || v->valuedouble > max_ms)
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"%s\" must be an "
                      "integer of 1..%.0f", name, max_ms);
        return SBX_ERR;
    }

    *out = (long) v->valuedouble;

    return SBX_OK;
}


static int
sbx_run_runtime_arg(cJSON *args, sbx_run_t *run, sbx_error_t *err)
{
    cJSON  *lang, *ver;

    lang = cJSON_GetObjectItemCaseSensitive(args, "language");
    ver = cJSON_GetObjectItemCaseSensitive(args, "version");

    if (lang != NULL && !cJSON_IsString(lang)) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT,
                      "\"language\" must be a string");
        return SBX_ERR;
    }

    run->rt = sbx_runtime_find(lang ? lang->valuestring : "python");

    if (run->rt == NULL) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "unknown language "
                      "\"%.64s\"", lang->valuestring);
        return SBX_ERR;
    }

    if (ver != NULL
        && (!cJSON_IsString(ver)
            || !sbx_semver_match(ver->valuestring, run->rt->version)))
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "%s-%.32s runtime is "
                      "unknown: %s is %s", run->rt->language,
                      cJSON_IsString(ver) ? ver->valuestring : "?",
                      run->rt->language, run->rt->version);
        return SBX_ERR;
    }

    return SBX_OK;
}


/* Checks one of "files": {name?, size}; only the first needs no name. */
static int
sbx_run_file_ok(cJSON *f, int first, uint64_t *total, sbx_error_t *err)
{
    cJSON  *name, *size;

    name = cJSON_GetObjectItemCaseSensitive(f, "name");
    size = cJSON_GetObjectItemCaseSensitive(f, "size");

    if (!cJSON_IsObject(f) || !cJSON_IsNumber(size)
        || size->valuedouble < 0 || size->valuedouble > SBX_RUN_CODE_MAX
        || size->valuedouble != floor(size->valuedouble)
        || cJSON_GetArraySize(f) != 1 + (name != NULL)
        || (name == NULL && !first)
        || (name != NULL
            && (!cJSON_IsString(name)
                || sbx_ws_path_check(name->valuestring,
                                     strlen(name->valuestring), 0)
                   != NULL)))
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "each of \"files\" must "
                      "be {name, size} with a relative name (the first may "
                      "have none) and a size of at most %d",
                      SBX_RUN_CODE_MAX);
        return SBX_ERR;
    }

    *total += (uint64_t) size->valuedouble;

    return SBX_OK;
}


/*
 * The files and stdin: their sizes in args, their bytes in the body, in
 * that order.
 */
static int
sbx_run_files_arg(sbx_op_req_t *req, sbx_run_t *run, sbx_error_t *err)
{
    cJSON     *files, *name, *v;
    uint64_t   total;
    int        n, i;

    files = cJSON_GetObjectItemCaseSensitive(req->args, "files");
    n = cJSON_IsArray(files) ? cJSON_GetArraySize(files) : 0;

    if (n < 1 || n > SBX_RUN_FILES_MAX) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"files\" must be an "
                      "array of 1..%d files", SBX_RUN_FILES_MAX);
        return SBX_ERR;
    }

    total = 0;

    for (i = 0; i < n; i++) {
        if (sbx_run_file_ok(cJSON_GetArrayItem(files, i), i == 0, &total,
                            err)
            != SBX_OK)
        {
            return SBX_ERR;
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(req->args, "stdin_size");

    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0
            || v->valuedouble > SBX_RUN_STDIN_MAX
            || v->valuedouble != floor(v->valuedouble))
        {
            sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"stdin_size\" "
                          "must be an integer of 0..%d", SBX_RUN_STDIN_MAX);
            return SBX_ERR;
        }
        run->stdin_len = (size_t) v->valuedouble;
    }

    if (total > SBX_RUN_CODE_MAX || total + run->stdin_len != req->body_len)
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "the files (at most %d "
                      "bytes) and stdin must make up the body",
                      SBX_RUN_CODE_MAX);
        return SBX_ERR;
    }

    run->files = files;
    run->body = req->body;
    run->stdin_data = run->stdin_len != 0 ? req->body + total : NULL;

    /* the first file is the program */
    name = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(files, 0),
                                            "name");

    snprintf(run->main, sizeof(run->main), "SBX_MAIN=%s",
             name != NULL ? name->valuestring : run->rt->source);

    return SBX_OK;
}


/* Appends s to the shell text at *p, single-quoted. */
static char *
sbx_run_quote(char *p, const char *s)
{
    *p++ = ' ';
    *p++ = '\'';

    for ( /* void */ ; *s; s++) {
        if (*s == '\'') {
            memcpy(p, "'\\''", 4);
            p += 4;
            continue;
        }
        *p++ = *s;
    }

    *p++ = '\'';

    return p;
}


/* The run command: the runtime's, with args appended, quoted. */
static int
sbx_run_command_arg(cJSON *args, sbx_run_t *run, sbx_error_t *err)
{
    cJSON   *list, *a;
    size_t   len;
    char    *p;

    list = cJSON_GetObjectItemCaseSensitive(args, "args");
    len = strlen(run->rt->run) + 1;

    if (list != NULL && (!cJSON_IsArray(list)
                         || cJSON_GetArraySize(list) > SBX_RUN_ARGS_MAX))
    {
        goto invalid;
    }

    cJSON_ArrayForEach(a, list) {
        if (!cJSON_IsString(a) || strlen(a->valuestring) > SBX_RUN_ARG_MAX) {
            goto invalid;
        }
        len += 4 * strlen(a->valuestring) + 3;
    }

    run->command = malloc(len);
    if (run->command == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    p = stpcpy(run->command, run->rt->run);

    cJSON_ArrayForEach(a, list) {
        p = sbx_run_quote(p, a->valuestring);
    }

    *p = '\0';

    return SBX_OK;

invalid:

    sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"args\" must be an array "
                  "of at most %d strings of at most %d bytes",
                  SBX_RUN_ARGS_MAX, SBX_RUN_ARG_MAX);
    return SBX_ERR;
}


static int
sbx_run_memory_arg(sbx_ctx_t *ctx, cJSON *args, sbx_run_t *run,
    sbx_error_t *err)
{
    cJSON     *v;
    uint64_t   max;

    max = ctx->conf->container_memory;
    v = cJSON_GetObjectItemCaseSensitive(args, "memory_limit");
    run->memory = max;

    if (v == NULL) {
        return SBX_OK;
    }

    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)
        || v->valuedouble < SBX_RUN_MEMORY_MIN
        || v->valuedouble > (double) max)
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"memory_limit\" must "
                      "be %d..%llu bytes", SBX_RUN_MEMORY_MIN,
                      (unsigned long long) max);
        return SBX_ERR;
    }

    run->memory = (uint64_t) v->valuedouble;

    return SBX_OK;
}


static int
sbx_run_args(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_run_t *run,
    sbx_error_t *err)
{
    static const char  *allowed[] = {
        "language", "version", "files", "stdin_size", "args", "timeout_ms",
        "compile_timeout_ms", "memory_limit", NULL
    };
    cJSON              *args = req->args;

    if (sbx_ops_check_args(args, allowed, err) != SBX_OK
        || sbx_run_runtime_arg(args, run, err) != SBX_OK
        || sbx_run_files_arg(req, run, err) != SBX_OK
        || sbx_run_ms_arg(ctx, args, "timeout_ms", 0, &run->timeout_ms, err)
           != SBX_OK
        || sbx_run_ms_arg(ctx, args, "compile_timeout_ms",
                          SBX_RUN_COMPILE_MS, &run->compile_ms, err)
           != SBX_OK
        || sbx_run_memory_arg(ctx, args, run, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    return sbx_run_command_arg(args, run, err);
}


/* Writes the files, each a slice of the body. */
static int
sbx_run_write_files(sbx_ctx_t *ctx, sbx_run_t *run, sbx_run_box_t *box,
    sbx_error_t *err)
{
    cJSON       *f, *name;
    const char  *p;
    size_t       size;

    p = run->body;

    cJSON_ArrayForEach(f, run->files) {
        name = cJSON_GetObjectItemCaseSensitive(f, "name");
        size = (size_t) cJSON_GetNumberValue(
                            cJSON_GetObjectItemCaseSensitive(f, "size"));

        if (sbx_files_write_box(ctx, &box->rec,
                                name != NULL ? name->valuestring
                                             : run->rt->source,
                                p, size, err)
            != SBX_OK)
        {
            return SBX_ERR;
        }

        if (size != 0) {
            p += size;
        }
    }

    return SBX_OK;
}


/*
 * One step in the box.  The agent's serving process killed under the
 * program (agent_failed), or the box gone, is the run's internal_error,
 * not the op's: step->ran stays 0.
 */
static int
sbx_run_step(sbx_ctx_t *ctx, sbx_run_t *run, sbx_run_box_t *box,
    const char *command, long timeout_ms, int with_stdin,
    sbx_run_step_t *step, sbx_error_t *err)
{
    const char      *env[1];
    sbx_exec_req_t   ereq;

    memset(&ereq, 0, sizeof(ereq));
    env[0] = run->main;

    ereq.session = &box->rec;
    ereq.command = command;
    ereq.working_dir = "/workspace";
    ereq.env = env;
    ereq.nenv = 1;
    ereq.timeout_ms = timeout_ms;

    if (with_stdin) {
        ereq.stdin_data = run->stdin_data;
        ereq.stdin_len = run->stdin_len;
    }

    if (sbx_exec_run(ctx, &ereq, &step->res, err) == SBX_OK) {
        step->ran = 1;
        return SBX_OK;
    }

    sbx_exec_result_free(&step->res);

    if (strcmp(err->code, SBX_E_AGENT_FAILED) == 0
        || strcmp(err->code, SBX_E_SESSION_LOST) == 0)
    {
        sbx_log_warn("run %s: %s", box->rec.session_id, err->msg);
        return SBX_OK;
    }

    return SBX_ERR;
}


/* What a step that ran says, in the order the statuses win. */
static const char *
sbx_run_status(const sbx_exec_result_t *res)
{
    if (res->oom_killed == 1) {
        return "oom";
    }

    if (res->timed_out) {
        return "timeout";
    }

    if (res->out.truncated || res->err.truncated) {
        return "output_limit";
    }

    if (res->signal != 0 || res->exit_code != 0) {
        return "runtime_error";
    }

    return "ok";
}


static void
sbx_run_step_json(cJSON *to, const char *name, const sbx_exec_result_t *res)
{
    cJSON  *s;
    char    sig[16];

    s = cJSON_AddObjectToObject(to, name);

    if (res->signal != 0) {
        cJSON_AddNullToObject(s, "exit_code");
        cJSON_AddStringToObject(s, "signal",
                                sbx_ops_signal_name(res->signal, sig,
                                                    sizeof(sig)));
    } else {
        cJSON_AddNumberToObject(s, "exit_code", res->exit_code);
        cJSON_AddNullToObject(s, "signal");
    }

    cJSON_AddBoolToObject(s, "timed_out", res->timed_out);

    if (res->oom_killed >= 0) {
        cJSON_AddBoolToObject(s, "oom_killed", res->oom_killed);
    } else {
        cJSON_AddNullToObject(s, "oom_killed");
    }

    cJSON_AddBoolToObject(s, "truncated",
                          res->out.truncated || res->err.truncated);
    cJSON_AddNumberToObject(s, "stdout_len", (double) res->out.len);
    cJSON_AddNumberToObject(s, "stderr_len", (double) res->err.len);
    cJSON_AddNumberToObject(s, "wall_ms", (double) res->duration_us / 1000);

    if (res->has_usage) {
        cJSON_AddNumberToObject(s, "cpu_ms", (double) res->cpu_us / 1000);
        cJSON_AddNumberToObject(s, "memory_peak_bytes",
                                (double) res->max_rss_kb * 1024);
    } else {
        cJSON_AddNullToObject(s, "cpu_ms");
        cJSON_AddNullToObject(s, "memory_peak_bytes");
    }
}


/* The body: the compile step's stdout and stderr, then the run's. */
static int
sbx_run_body(sbx_run_step_t *steps, sbx_response_t *resp, sbx_error_t *err)
{
    size_t              len, i;
    char               *p;
    sbx_exec_result_t  *r;

    len = 0;

    for (i = 0; i < 2; i++) {
        len += steps[i].ran ? steps[i].res.out.len + steps[i].res.err.len
                            : 0;
    }

    resp->owned = malloc(len + 1);
    if (resp->owned == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    p = resp->owned;

    for (i = 0; i < 2; i++) {
        if (!steps[i].ran) {
            continue;
        }

        /* an empty stream may have no buffer at all */
        r = &steps[i].res;

        if (r->out.len != 0) {
            p = (char *) memcpy(p, r->out.data, r->out.len) + r->out.len;
        }

        if (r->err.len != 0) {
            p = (char *) memcpy(p, r->err.data, r->err.len) + r->err.len;
        }
    }

    resp->body[0].iov_base = resp->owned;
    resp->body[0].iov_len = len;
    resp->nbody = 1;

    return SBX_OK;
}


static int
sbx_run_result(sbx_op_req_t *req, sbx_run_t *run, sbx_run_step_t *steps,
    sbx_response_t *resp, sbx_error_t *err)
{
    const char  *status;
    cJSON       *r = req->result;

    if (run->rt->compile != NULL && steps[0].ran) {
        sbx_run_step_json(r, "compile", &steps[0].res);
    }

    if (steps[1].ran) {
        sbx_run_step_json(r, "run", &steps[1].res);
    }

    if (run->rt->compile != NULL
        && (!steps[0].ran || strcmp(sbx_run_status(&steps[0].res), "ok")))
    {
        status = steps[0].ran ? "compile_error" : "internal_error";

    } else {
        status = steps[1].ran ? sbx_run_status(&steps[1].res)
                              : "internal_error";
    }

    cJSON_AddStringToObject(r, "status", status);

    return sbx_run_body(steps, resp, err);
}


/* In the box: the files, the compile step, the run. */
static int
sbx_run_in_box(sbx_ctx_t *ctx, sbx_run_t *run, sbx_run_box_t *box,
    sbx_run_step_t *steps, sbx_error_t *err)
{
    if (sbx_run_write_files(ctx, run, box, err) != SBX_OK) {
        return SBX_ERR;
    }

    if (run->rt->compile != NULL) {
        if (sbx_run_step(ctx, run, box, run->rt->compile, run->compile_ms,
                         0, &steps[0], err)
            != SBX_OK)
        {
            return SBX_ERR;
        }

        if (!steps[0].ran || strcmp(sbx_run_status(&steps[0].res), "ok")) {
            return SBX_OK;
        }
    }

    return sbx_run_step(ctx, run, box, run->command, run->timeout_ms, 1,
                        &steps[1], err);
}


int
sbx_op_run_check(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_error_t *err)
{
    int        rc;
    sbx_run_t  run;

    memset(&run, 0, sizeof(run));

    rc = sbx_run_args(ctx, req, &run, err);
    free(run.command);

    return rc;
}


int
sbx_op_run(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    char             slot[SBX_QUOTA_SLOT_LEN + 1];
    long             total_ms;
    int              rc, i;
    sbx_run_t        run;
    sbx_run_box_t    box;
    sbx_run_step_t   steps[2];

    memset(&run, 0, sizeof(run));
    memset(steps, 0, sizeof(steps));

    if (sbx_run_args(ctx, req, &run, err) != SBX_OK) {
        free(run.command);
        return SBX_ERR;
    }

    cJSON_AddStringToObject(req->result, "language", run.rt->language);
    cJSON_AddStringToObject(req->result, "version", run.rt->version);

    total_ms = run.timeout_ms + SBX_RUN_MAKE_GRACE_MS
               + (run.rt->compile ? run.compile_ms : 0);

    rc = sbx_quota_exec_begin(ctx, req->user, total_ms, slot, err);

    if (rc == SBX_OK) {
        rc = sbx_run_box_acquire(ctx, req->user, run.memory, &box, err);

        if (rc == SBX_OK) {
            /* the log and audit lines name the run; box is gone by then */
            snprintf(req->made_id, sizeof(req->made_id), "%s",
                     box.rec.session_id);
            req->session_id = req->made_id;
            cJSON_AddStringToObject(req->result, "run_id", req->made_id);
            rc = sbx_run_in_box(ctx, &run, &box, steps, err);
            sbx_run_box_release(ctx, &box);
        }

        sbx_quota_exec_end(ctx, req->user, slot);
    }

    if (rc == SBX_OK) {
        rc = sbx_run_result(req, &run, steps, resp, err);
    }

    for (i = 0; i < 2; i++) {
        sbx_exec_result_free(&steps[i].res);
    }

    free(run.command);

    return rc;
}


int
sbx_op_runtimes(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char     *allowed[] = { NULL };
    const sbx_runtime_t   *rt;
    cJSON                 *list, *o, *aliases;
    const char * const    *a;

    (void) ctx;
    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK) {
        return SBX_ERR;
    }

    list = cJSON_AddArrayToObject(req->result, "runtimes");

    for (rt = sbx_runtimes(); rt->language != NULL; rt++) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "language", rt->language);
        cJSON_AddStringToObject(o, "version", rt->version);
        aliases = cJSON_AddArrayToObject(o, "aliases");

        for (a = rt->aliases; *a != NULL; a++) {
            cJSON_AddItemToArray(aliases, cJSON_CreateString(*a));
        }

        cJSON_AddItemToArray(list, o);
    }

    return SBX_OK;
}
