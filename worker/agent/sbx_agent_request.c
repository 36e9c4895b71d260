
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The exec request: its header fields (sbx_kv.c) checked against the
 * protocol and turned into argv, envp and the command's limits.  A request
 * that breaks a rule is refused whole (bad_request): it can only come from
 * a bug in sandboxd, and running half of it would hide that.  The file
 * operations' fields (path, limit, max) are checked here too.
 */


#include <stdlib.h>
#include <string.h>

#include "sbx_agent_core.h"
#include "sbx_kv.h"


#define SBX_AGENT_TIMEOUT_MS_MAX     3600000
#define SBX_AGENT_OUTPUT_LIMIT_MAX   (1024 * 1024 * 1024)
#define SBX_AGENT_DEFAULT_PATH       "/usr/local/bin:/usr/bin:/bin"

/* the fields that appear at most once, as bits of a "seen" mask */
#define SBX_AGENT_F_CWD              0x01
#define SBX_AGENT_F_TIMEOUT          0x02
#define SBX_AGENT_F_OUTPUT_LIMIT     0x04
#define SBX_AGENT_F_PATH             0x08    /* next to SBX_AGENT_FILE_* */


typedef struct {
    const char  *name;
    int          resource;
} sbx_agent_rlimit_name_t;


static const sbx_agent_rlimit_name_t  sbx_agent_rlimit_names[] = {
    { "core",   RLIMIT_CORE },
    { "cpu",    RLIMIT_CPU },
    { "fsize",  RLIMIT_FSIZE },
    { "nofile", RLIMIT_NOFILE },
    { "nproc",  RLIMIT_NPROC },
    { "as",     RLIMIT_AS },
    { "stack",  RLIMIT_STACK }
};

_Static_assert(sizeof(sbx_agent_rlimit_names)
               / sizeof(sbx_agent_rlimit_names[0]) == SBX_AGENT_RLIMIT_MAX,
               "one sbx_agent_req_t slot per rlimit name");


static int sbx_agent_request_check(sbx_agent_req_t *req,
    const sbx_agent_frame_t *frame, size_t *nargs, size_t *nenv,
    sbx_agent_error_t *err);
static int sbx_agent_request_field(sbx_agent_req_t *req, const sbx_kv_t *kv,
    unsigned *seen, size_t *nargs, size_t *nenv, sbx_agent_error_t *err);
static int sbx_agent_request_once(const sbx_kv_t *kv, unsigned *seen,
    unsigned bit, sbx_agent_error_t *err);
static int sbx_agent_request_number(const sbx_kv_t *kv, unsigned *seen,
    unsigned bit, uint64_t min, uint64_t max, uint64_t *out,
    sbx_agent_error_t *err);
static int sbx_agent_request_rlimit(sbx_agent_req_t *req, const sbx_kv_t *kv,
    sbx_agent_error_t *err);
static void sbx_agent_request_lists(sbx_agent_req_t *req,
    const sbx_agent_frame_t *frame);
static int sbx_agent_request_file_field(sbx_agent_file_req_t *req,
    const sbx_kv_t *kv, unsigned fields, unsigned *seen,
    sbx_agent_error_t *err);


/*
 * Fills req from frame, which must outlive it.  The first pass checks
 * every field and counts the repeated ones, the second points argv and
 * envp at the values, NUL-terminated in place.
 */
int
sbx_agent_request_parse(sbx_agent_req_t *req, const sbx_agent_frame_t *frame,
    sbx_agent_error_t *err)
{
    size_t  nargs, nenv;

    memset(req, 0, sizeof(*req));

    if (sbx_agent_request_check(req, frame, &nargs, &nenv, err)
        != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    req->argv = calloc(nargs + 1, sizeof(char *));
    req->envp = calloc(nenv + 1, sizeof(char *));

    if (req->argv == NULL || req->envp == NULL) {
        sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "out of memory");
        return SBX_AGENT_ERR;
    }

    sbx_agent_request_lists(req, frame);

    req->stdin_data = frame->data + frame->header_len;
    req->stdin_len = frame->body_len;

    return SBX_AGENT_OK;
}


static int
sbx_agent_request_check(sbx_agent_req_t *req, const sbx_agent_frame_t *frame,
    size_t *nargs, size_t *nenv, sbx_agent_error_t *err)
{
    int            rc;
    unsigned       seen;
    sbx_kv_t       kv;
    sbx_kv_iter_t  it;

    sbx_kv_iter_init(&it, frame->data, frame->header_len);

    rc = sbx_kv_next(&it, &kv);

    if (rc != 1 || !sbx_kv_is(&kv, "op")) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "the first field must be op");
        return SBX_AGENT_ERR;
    }

    if (strcmp(kv.value, "exec") != 0) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "unknown op \"%.64s\"", kv.value);
        return SBX_AGENT_ERR;
    }

    seen = 0;
    *nargs = 0;
    *nenv = 0;

    while ((rc = sbx_kv_next(&it, &kv)) == 1) {
        if (sbx_agent_request_field(req, &kv, &seen, nargs, nenv, err)
            != SBX_AGENT_OK)
        {
            return SBX_AGENT_ERR;
        }
    }

    if (rc == -1) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "malformed header field");
        return SBX_AGENT_ERR;
    }

    if (*nargs == 0 || !(seen & SBX_AGENT_F_CWD)
        || !(seen & SBX_AGENT_F_TIMEOUT) || !(seen & SBX_AGENT_F_OUTPUT_LIMIT))
    {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "missing field %s",
                            *nargs == 0 ? "arg"
                            : !(seen & SBX_AGENT_F_CWD) ? "cwd"
                            : !(seen & SBX_AGENT_F_TIMEOUT) ? "timeout_ms"
                            : "output_limit");
        return SBX_AGENT_ERR;
    }

    return SBX_AGENT_OK;
}


static int
sbx_agent_request_field(sbx_agent_req_t *req, const sbx_kv_t *kv,
    unsigned *seen, size_t *nargs, size_t *nenv, sbx_agent_error_t *err)
{
    const char  *eq;

    if (sbx_kv_is(kv, "arg")) {
        (*nargs)++;
        return SBX_AGENT_OK;
    }

    if (sbx_kv_is(kv, "env")) {
        eq = memchr(kv->value, '=', kv->value_len);

        if (eq == NULL || eq == kv->value) {
            sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                                "env is not NAME=value");
            return SBX_AGENT_ERR;
        }

        (*nenv)++;
        return SBX_AGENT_OK;
    }

    if (sbx_kv_is(kv, "cwd")) {
        if (sbx_agent_request_once(kv, seen, SBX_AGENT_F_CWD, err)
            != SBX_AGENT_OK)
        {
            return SBX_AGENT_ERR;
        }

        if (kv->value[0] != '/') {
            sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                                "cwd is not an absolute path");
            return SBX_AGENT_ERR;
        }

        req->cwd = kv->value;
        return SBX_AGENT_OK;
    }

    if (sbx_kv_is(kv, "timeout_ms")) {
        return sbx_agent_request_number(kv, seen, SBX_AGENT_F_TIMEOUT,
                                        1, SBX_AGENT_TIMEOUT_MS_MAX,
                                        &req->timeout_ms, err);
    }

    if (sbx_kv_is(kv, "output_limit")) {
        return sbx_agent_request_number(kv, seen, SBX_AGENT_F_OUTPUT_LIMIT,
                                        0, SBX_AGENT_OUTPUT_LIMIT_MAX,
                                        &req->output_limit, err);
    }

    if (sbx_kv_is(kv, "rlimit")) {
        return sbx_agent_request_rlimit(req, kv, err);
    }

    sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                        sbx_kv_is(kv, "op") ? "repeated field \"%.*s\""
                                            : "unknown field \"%.*s\"",
                        (int) kv->name_len, kv->name);

    return SBX_AGENT_ERR;
}


static int
sbx_agent_request_once(const sbx_kv_t *kv, unsigned *seen, unsigned bit,
    sbx_agent_error_t *err)
{
    if (*seen & bit) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "repeated field \"%.*s\"", (int) kv->name_len,
                            kv->name);
        return SBX_AGENT_ERR;
    }

    *seen |= bit;

    return SBX_AGENT_OK;
}


/* A numeric field that appears once, of min..max. */
static int
sbx_agent_request_number(const sbx_kv_t *kv, unsigned *seen, unsigned bit,
    uint64_t min, uint64_t max, uint64_t *out, sbx_agent_error_t *err)
{
    if (sbx_agent_request_once(kv, seen, bit, err) != SBX_AGENT_OK) {
        return SBX_AGENT_ERR;
    }

    if (sbx_kv_number(kv, max, out) != 0 || *out < min) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "%.*s is not a number in %llu..%llu",
                            (int) kv->name_len, kv->name,
                            (unsigned long long) min,
                            (unsigned long long) max);
        return SBX_AGENT_ERR;
    }

    return SBX_AGENT_OK;
}


/* "rlimit=name:N"; a name given twice is refused as a repeated field. */
static int
sbx_agent_request_rlimit(sbx_agent_req_t *req, const sbx_kv_t *kv,
    sbx_agent_error_t *err)
{
    size_t       i, j, len;
    uint64_t     v;
    sbx_kv_t     num;
    const char  *colon;

    colon = memchr(kv->value, ':', kv->value_len);
    len = colon ? (size_t) (colon - kv->value) : 0;

    for (i = 0; i < SBX_AGENT_RLIMIT_MAX; i++) {
        if (colon != NULL && strlen(sbx_agent_rlimit_names[i].name) == len
            && memcmp(sbx_agent_rlimit_names[i].name, kv->value, len) == 0)
        {
            break;
        }
    }

    num = *kv;

    if (i < SBX_AGENT_RLIMIT_MAX) {
        num.value = colon + 1;
        num.value_len = kv->value_len - len - 1;
    }

    if (i == SBX_AGENT_RLIMIT_MAX || sbx_kv_number(&num, UINT64_MAX, &v) != 0)
    {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "rlimit is not name:N with a known name");
        return SBX_AGENT_ERR;
    }

    for (j = 0; j < req->nrlimit; j++) {
        if (req->rlimit[j].resource == sbx_agent_rlimit_names[i].resource) {
            sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                                "repeated rlimit \"%s\"",
                                sbx_agent_rlimit_names[i].name);
            return SBX_AGENT_ERR;
        }
    }

    req->rlimit[req->nrlimit].name = sbx_agent_rlimit_names[i].name;
    req->rlimit[req->nrlimit].resource = sbx_agent_rlimit_names[i].resource;
    req->rlimit[req->nrlimit].value = (rlim_t) v;
    req->nrlimit++;

    return SBX_AGENT_OK;
}


/* The second pass: argv, envp and the PATH the program is searched in. */
static void
sbx_agent_request_lists(sbx_agent_req_t *req, const sbx_agent_frame_t *frame)
{
    size_t         nargs, nenv;
    sbx_kv_t       kv;
    sbx_kv_iter_t  it;

    nargs = 0;
    nenv = 0;
    req->path = NULL;

    sbx_kv_iter_init(&it, frame->data, frame->header_len);

    while (sbx_kv_next(&it, &kv) == 1) {
        if (sbx_kv_is(&kv, "arg")) {
            req->argv[nargs++] = (char *) kv.value;

        } else if (sbx_kv_is(&kv, "env")) {
            req->envp[nenv++] = (char *) kv.value;

            /* the first PATH, as getenv() would see it */
            if (req->path == NULL && strncmp(kv.value, "PATH=", 5) == 0) {
                req->path = kv.value + 5;
            }
        }
    }

    if (req->path == NULL) {
        req->path = SBX_AGENT_DEFAULT_PATH;
    }
}


/*
 * Fills req from a file operation's frame: path, checked, and the fields
 * that fields asks for (SBX_AGENT_FILE_LIMIT, _MAX), all required.
 */
int
sbx_agent_request_file(sbx_agent_file_req_t *req,
    const sbx_agent_frame_t *frame, unsigned fields, sbx_agent_error_t *err)
{
    int            rc;
    unsigned       seen, want;
    sbx_kv_t       kv;
    sbx_kv_iter_t  it;

    req->path_len = 0;
    req->limit = 0;
    req->max = 0;

    sbx_kv_iter_init(&it, frame->data, frame->header_len);

    /* op, as sbx_agent_serve.c found it */
    (void) sbx_kv_next(&it, &kv);

    seen = 0;

    while ((rc = sbx_kv_next(&it, &kv)) == 1) {
        if (sbx_agent_request_file_field(req, &kv, fields, &seen, err)
            != SBX_AGENT_OK)
        {
            return SBX_AGENT_ERR;
        }
    }

    if (rc == -1) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "malformed header field");
        return SBX_AGENT_ERR;
    }

    want = SBX_AGENT_F_PATH
           | (fields & (SBX_AGENT_FILE_LIMIT | SBX_AGENT_FILE_MAX));

    if (seen != want) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "missing field %s",
                            !(seen & SBX_AGENT_F_PATH) ? "path"
                            : !(seen & SBX_AGENT_FILE_LIMIT) ? "limit"
                            : "max");
        return SBX_AGENT_ERR;
    }

    return SBX_AGENT_OK;
}


static int
sbx_agent_request_file_field(sbx_agent_file_req_t *req, const sbx_kv_t *kv,
    unsigned fields, unsigned *seen, sbx_agent_error_t *err)
{
    if (sbx_kv_is(kv, "path")) {
        if (sbx_agent_request_once(kv, seen, SBX_AGENT_F_PATH, err)
            != SBX_AGENT_OK
            || sbx_agent_path_check(kv->value, kv->value_len,
                                    fields & SBX_AGENT_FILE_DOT, err)
               != SBX_AGENT_OK)
        {
            return SBX_AGENT_ERR;
        }

        memcpy(req->path, kv->value, kv->value_len + 1);
        req->path_len = kv->value_len;

        return SBX_AGENT_OK;
    }

    if ((fields & SBX_AGENT_FILE_LIMIT) && sbx_kv_is(kv, "limit")) {
        return sbx_agent_request_number(kv, seen, SBX_AGENT_FILE_LIMIT,
                                        1, SBX_AGENT_LIST_MAX,
                                        &req->limit, err);
    }

    if ((fields & SBX_AGENT_FILE_MAX) && sbx_kv_is(kv, "max")) {
        return sbx_agent_request_number(kv, seen, SBX_AGENT_FILE_MAX,
                                        0, SBX_AGENT_READ_MAX,
                                        &req->max, err);
    }

    sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                        sbx_kv_is(kv, "op") ? "repeated field \"%.*s\""
                                            : "unknown field \"%.*s\"",
                        (int) kv->name_len, kv->name);

    return SBX_AGENT_ERR;
}
