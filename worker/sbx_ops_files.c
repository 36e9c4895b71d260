
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The workspace operations: file.list, file.read, file.write and
 * file.delete of a session's /workspace.  The agent in the container
 * resolves every path (docs/PROTOCOL.md, "File operations"); sandboxd
 * checks the path's syntax first, and everything the agent answers after.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_agent_rpc.h"
#include "sbx_json.h"
#include "sbx_log.h"
#include "sbx_op.h"
#include "sbx_session.h"


#define SBX_FILES_ANSWER_MS    30000
#define SBX_FILES_LIST_LIMIT   10000
#define SBX_FILES_LIST_MAX     100000
#define SBX_FILES_ENTRY_MAX    (SBX_WS_NAME_MAX + 96)   /* its fields */
#define SBX_FILES_NUMBERS      2


/* What the agent answered, once checked. */
typedef struct {
    int         ok;
    char        error[32];
    char        message[160];
    uint64_t    value[SBX_FILES_NUMBERS];    /* the op's numbers, in order */
} sbx_files_reply_t;


/* The agent's error codes, as API errors. */
static const struct {
    const char  *agent;
    const char  *code;
    const char  *message;
} sbx_files_errors[] = {
    { "not_found", SBX_E_NOT_FOUND, "no such file or directory" },
    { "not_a_file", SBX_E_INVALID_ARGUMENT, "not a regular file" },
    { "is_a_directory", SBX_E_INVALID_ARGUMENT, "is a directory" },
    { "not_a_directory", SBX_E_INVALID_ARGUMENT,
      "a component of the path is not a directory" },
    { "escape", SBX_E_INVALID_ARGUMENT,
      "a symlink on the path leads out of /workspace" },
    { "too_large", SBX_E_TOO_LARGE, "the file is over the size limit" },
    { "no_space", SBX_E_NO_SPACE, "the workspace is full" },
    { NULL, NULL, NULL }
};


/* Reads and checks args.path into *path. */
static int
sbx_files_path_arg(cJSON *args, int allow_root, const char **path,
    sbx_error_t *err)
{
    cJSON       *v;
    const char  *why;

    v = cJSON_GetObjectItemCaseSensitive(args, "path");

    if (v == NULL && allow_root) {
        *path = ".";
        return SBX_OK;
    }

    if (!cJSON_IsString(v)) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT,
                      "\"path\" is required, a string");
        return SBX_ERR;
    }

    why = sbx_ws_path_check(v->valuestring, strlen(v->valuestring),
                            allow_root);
    if (why != NULL) {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"path\" %s", why);
        return SBX_ERR;
    }

    *path = v->valuestring;

    return SBX_OK;
}


/* Reads an optional integer argument of 0..max (or min..max). */
static int
sbx_files_number_arg(cJSON *args, const char *name, uint64_t min,
    uint64_t max, uint64_t dflt, uint64_t *out, sbx_error_t *err)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(args, name);

    if (v == NULL) {
        *out = dflt;
        return SBX_OK;
    }

    if (!cJSON_IsNumber(v) || v->valuedouble < (double) min
        || v->valuedouble > (double) max
        || v->valuedouble != (double) (uint64_t) v->valuedouble)
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"%s\" must be an "
                      "integer of %llu..%llu", name,
                      (unsigned long long) min, (unsigned long long) max);
        return SBX_ERR;
    }

    *out = (uint64_t) v->valuedouble;

    return SBX_OK;
}


/* The session, which must exist (a file op never creates one). */
static int
sbx_files_session(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_session_rec_t *rec,
    sbx_error_t *err)
{
    const char  *sid;

    if (sbx_ops_session_arg(req, 1, &sid, err) != SBX_OK) {
        return SBX_ERR;
    }

    return sbx_session_get(ctx, req->user, sid, rec, err);
}


/* One call to the agent; a session whose agent failed is dropped. */
static int
sbx_files_call(sbx_ctx_t *ctx, sbx_op_req_t *req,
    const sbx_session_rec_t *rec, const sbx_kv_buf_t *h, size_t body_max,
    sbx_agent_reply_t *reply, sbx_error_t *err)
{
    int  rc;

    if (h->failed) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    rc = sbx_agent_call(ctx, rec, h, req->body, req->body_len,
                        SBX_FILES_ANSWER_MS, body_max, reply, err);

    if (rc == SBX_DECLINED) {
        /* no agent answers: its container may be gone (session_lost) */
        if (sbx_session_check(ctx, req->user, rec, err) != SBX_OK) {
            return SBX_ERR;
        }

        sbx_error_set(err, SBX_E_AGENT_UNAVAILABLE, "the workspace API "
                      "needs the sandbox's agent, which does not answer "
                      "in this session");
        return SBX_ERR;
    }

    if (rc != SBX_OK && strcmp(err->code, SBX_E_SESSION_LOST) == 0) {
        sbx_session_lost(ctx, req->user, rec, err);
    }

    return rc;
}


/*
 * Parses a reply header: status, error, message and the op's numbers
 * (names, in the order of value[]), each required on success.
 */
static int
sbx_files_parse(const sbx_agent_reply_t *reply, const char **names,
    const uint64_t *max, sbx_files_reply_t *r, const char **why)
{
    sbx_kv_iter_t  it;
    sbx_kv_t       kv;
    unsigned       i, seen, status;
    int            n;

    memset(r, 0, sizeof(*r));
    sbx_kv_iter_init(&it, reply->header, reply->header_len);
    seen = 0;
    status = 0;

    while ((n = sbx_kv_next(&it, &kv)) == 1) {
        if (sbx_kv_is(&kv, "status")) {
            r->ok = kv.value_len == 2 && memcmp(kv.value, "ok", 2) == 0;
            status = r->ok || strcmp(kv.value, "error") == 0;
            continue;
        }

        if (sbx_kv_is(&kv, "error") || sbx_kv_is(&kv, "message")) {
            sbx_agent_copy_value(sbx_kv_is(&kv, "error") ? r->error
                                                        : r->message,
                                 sbx_kv_is(&kv, "error") ? sizeof(r->error)
                                                        : sizeof(r->message),
                                 &kv);
            continue;
        }

        for (i = 0; names[i] != NULL; i++) {
            if (sbx_kv_is(&kv, names[i])) {
                break;
            }
        }

        if (names[i] == NULL || (seen & (1u << i))
            || sbx_kv_number(&kv, max[i], &r->value[i]) != 0)
        {
            *why = "an unknown, repeated or malformed field";
            return SBX_ERR;
        }

        seen |= 1u << i;
    }

    *why = "a malformed header or no status";

    if (n < 0 || !status) {
        return SBX_ERR;
    }

    *why = "an incomplete answer";

    if (!r->ok) {
        return r->error[0] != '\0' && reply->body_len == 0 ? SBX_OK
                                                            : SBX_ERR;
    }

    for (i = 0; names[i] != NULL; i++) {
        if (!(seen & (1u << i))) {
            return SBX_ERR;
        }
    }

    return SBX_OK;
}


/* The agent refused: its code as the API's error. */
static int
sbx_files_refused(const char *path, const sbx_files_reply_t *r,
    sbx_error_t *err)
{
    int  i;

    for (i = 0; sbx_files_errors[i].agent != NULL; i++) {
        if (strcmp(sbx_files_errors[i].agent, r->error) == 0) {
            sbx_error_set(err, sbx_files_errors[i].code, "%.1024s: %s",
                          path, sbx_files_errors[i].message);
            return SBX_ERR;
        }
    }

    sbx_log_warn("the agent could not do a file operation on \"%.256s\": "
                 "%s: %s", path, r->error, r->message);
    sbx_error_set(err, SBX_E_INTERNAL, "%.1024s: the file operation "
                  "failed in the sandbox", path);

    return SBX_ERR;
}


/*
 * Checks a reply against the op's names: SBX_OK with r filled on a
 * success, SBX_ERR with err set otherwise.
 */
static int
sbx_files_answer(sbx_ctx_t *ctx, sbx_op_req_t *req,
    const sbx_session_rec_t *rec, const char *path,
    const sbx_agent_reply_t *reply, const char **names,
    const uint64_t *max, sbx_files_reply_t *r, sbx_error_t *err)
{
    const char  *why;

    why = "";

    if (sbx_files_parse(reply, names, max, r, &why) != SBX_OK) {
        sbx_agent_broken(rec, why, err);
        sbx_session_lost(ctx, req->user, rec, err);
        return SBX_ERR;
    }

    return r->ok ? SBX_OK : sbx_files_refused(path, r, err);
}


static cJSON *
sbx_files_name(const char *name, size_t len)
{
    cJSON  *e;
    char   *b64;

    e = cJSON_CreateObject();

    if (sbx_utf8_valid((const uint8_t *) name, len)) {
        cJSON_AddStringToObject(e, "name", name);
        return e;
    }

    b64 = malloc(sbx_base64_len(len) + 1);
    if (b64 != NULL) {
        *sbx_base64_encode((uint8_t *) b64, (const uint8_t *) name, len) = 0;
        cJSON_AddStringToObject(e, "name", b64);
        cJSON_AddStringToObject(e, "name_encoding", "base64");
        free(b64);
    }

    return e;
}


/*
 * One entry of a listing: the fields name, type, size, mtime, in that
 * order.  Returns SBX_ERR when the agent broke the format.
 */
static int
sbx_files_entry(sbx_kv_iter_t *it, cJSON *list)
{
    static const char  *types[] = { "file", "dir", "symlink", "other", NULL };
    sbx_kv_t            name, type, size, mtime;
    uint64_t            sz, mt;
    cJSON              *e;
    int                 i;

    if (sbx_kv_next(it, &name) != 1 || !sbx_kv_is(&name, "name")
        || sbx_kv_next(it, &type) != 1 || !sbx_kv_is(&type, "type")
        || sbx_kv_next(it, &size) != 1 || !sbx_kv_is(&size, "size")
        || sbx_kv_next(it, &mtime) != 1 || !sbx_kv_is(&mtime, "mtime")
        || name.value_len == 0 || name.value_len > SBX_WS_NAME_MAX
        || memchr(name.value, '/', name.value_len) != NULL
        || sbx_kv_number(&size, INT64_MAX, &sz) != 0
        || sbx_kv_number(&mtime, INT64_MAX, &mt) != 0)
    {
        return SBX_ERR;
    }

    for (i = 0; types[i] != NULL; i++) {
        if (strcmp(type.value, types[i]) == 0) {
            break;
        }
    }

    if (types[i] == NULL) {
        return SBX_ERR;
    }

    e = sbx_files_name(name.value, name.value_len);
    cJSON_AddStringToObject(e, "type", types[i]);
    cJSON_AddNumberToObject(e, "size", (double) sz);
    cJSON_AddNumberToObject(e, "mtime", (double) mt);
    cJSON_AddItemToArray(list, e);

    return SBX_OK;
}


int
sbx_op_file_list(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char      *allowed[] = {
        "session_id", "path", "limit", NULL
    };
    static const char      *names[] = { "entries", "truncated", NULL };
    uint64_t                max[] = { SBX_FILES_LIST_MAX, 1 };
    const char             *path;
    uint64_t                limit, i;
    sbx_session_rec_t       rec;
    sbx_kv_buf_t            h;
    sbx_agent_reply_t       reply;
    sbx_files_reply_t       r;
    sbx_kv_iter_t           it;
    cJSON                  *list;
    int                     rc;

    (void) resp;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_files_path_arg(req->args, 1, &path, err) != SBX_OK
        || sbx_files_number_arg(req->args, "limit", 1, SBX_FILES_LIST_MAX,
                                SBX_FILES_LIST_LIMIT, &limit, err)
           != SBX_OK
        || sbx_files_session(ctx, req, &rec, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    sbx_kv_buf_init(&h, SBX_AGENT_REQUEST_MAX);
    sbx_kv_add_str(&h, "op", "list");
    sbx_kv_add_str(&h, "path", path);
    sbx_kv_add_number(&h, "limit", limit);

    rc = sbx_files_call(ctx, req, &rec, &h,
                        (size_t) limit * SBX_FILES_ENTRY_MAX, &reply, err);
    sbx_kv_buf_free(&h);

    if (rc != SBX_OK) {
        return SBX_ERR;
    }

    max[0] = limit;

    if (sbx_files_answer(ctx, req, &rec, path, &reply, names, max, &r, err)
        != SBX_OK)
    {
        sbx_agent_reply_free(&reply);
        return SBX_ERR;
    }

    cJSON_AddStringToObject(req->result, "path", path);
    list = cJSON_AddArrayToObject(req->result, "entries");
    sbx_kv_iter_init(&it, reply.body, reply.body_len);

    for (i = 0, rc = SBX_OK; i < r.value[0] && rc == SBX_OK; i++) {
        rc = sbx_files_entry(&it, list);
    }

    if (rc == SBX_OK && it.p != it.end) {
        rc = SBX_ERR;
    }

    sbx_agent_reply_free(&reply);

    if (rc != SBX_OK) {
        sbx_agent_broken(&rec, "a malformed listing", err);
        sbx_session_lost(ctx, req->user, &rec, err);
        return SBX_ERR;
    }

    cJSON_AddBoolToObject(req->result, "truncated", r.value[1] != 0);

    return SBX_OK;
}


int
sbx_op_file_read(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char  *allowed[] = {
        "session_id", "path", "max_size", NULL
    };
    static const char  *names[] = { "size", NULL };
    uint64_t            max[] = { 0 };
    const char         *path;
    uint64_t            max_size;
    sbx_session_rec_t   rec;
    sbx_kv_buf_t        h;
    sbx_agent_reply_t   reply;
    sbx_files_reply_t   r;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_files_path_arg(req->args, 0, &path, err) != SBX_OK
        || sbx_files_number_arg(req->args, "max_size", 0,
                                ctx->conf->max_request_body,
                                ctx->conf->max_request_body, &max_size,
                                err)
           != SBX_OK
        || sbx_files_session(ctx, req, &rec, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    sbx_kv_buf_init(&h, SBX_AGENT_REQUEST_MAX);
    sbx_kv_add_str(&h, "op", "read");
    sbx_kv_add_str(&h, "path", path);
    sbx_kv_add_number(&h, "max", max_size);

    if (sbx_files_call(ctx, req, &rec, &h, (size_t) max_size, &reply, err)
        != SBX_OK)
    {
        sbx_kv_buf_free(&h);
        return SBX_ERR;
    }

    sbx_kv_buf_free(&h);
    max[0] = max_size;

    if (sbx_files_answer(ctx, req, &rec, path, &reply, names, max, &r, err)
        != SBX_OK)
    {
        sbx_agent_reply_free(&reply);
        return SBX_ERR;
    }

    if (r.value[0] != reply.body_len) {
        sbx_agent_reply_free(&reply);
        sbx_agent_broken(&rec, "a size that is not the body's", err);
        sbx_session_lost(ctx, req->user, &rec, err);
        return SBX_ERR;
    }

    cJSON_AddStringToObject(req->result, "path", path);
    cJSON_AddNumberToObject(req->result, "size", (double) reply.body_len);

    resp->owned = reply.body;
    resp->body[0].iov_base = reply.body;
    resp->body[0].iov_len = reply.body_len;
    resp->nbody = 1;

    return SBX_OK;
}


/*
 * An op on one path that answers no body: write (with the request's body)
 * and delete.  On success r holds the answer's numbers and rec the
 * session.
 */
static int
sbx_files_path_op(sbx_ctx_t *ctx, sbx_op_req_t *req, const char *op,
    const char **names, const uint64_t *max, const char **path,
    sbx_session_rec_t *rec, sbx_files_reply_t *r, sbx_error_t *err)
{
    static const char  *allowed[] = { "session_id", "path", NULL };
    sbx_kv_buf_t        h;
    sbx_agent_reply_t   reply;
    int                 rc;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_files_path_arg(req->args, 0, path, err) != SBX_OK
        || sbx_files_session(ctx, req, rec, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    sbx_kv_buf_init(&h, SBX_AGENT_REQUEST_MAX);
    sbx_kv_add_str(&h, "op", op);
    sbx_kv_add_str(&h, "path", *path);

    rc = sbx_files_call(ctx, req, rec, &h, 0, &reply, err);
    sbx_kv_buf_free(&h);

    if (rc != SBX_OK) {
        return SBX_ERR;
    }

    rc = sbx_files_answer(ctx, req, rec, *path, &reply, names, max, r, err);
    sbx_agent_reply_free(&reply);

    if (rc == SBX_OK) {
        cJSON_AddStringToObject(req->result, "path", *path);
    }

    return rc;
}


int
sbx_op_file_write(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char  *names[] = { "size", NULL };
    uint64_t            max[1];
    const char         *path;
    sbx_session_rec_t   rec;
    sbx_files_reply_t   r;

    (void) resp;

    max[0] = req->body_len;

    if (sbx_files_path_op(ctx, req, "write", names, max, &path, &rec, &r,
                          err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (r.value[0] != req->body_len) {
        sbx_agent_broken(&rec, "a size that is not the file's", err);
        sbx_session_lost(ctx, req->user, &rec, err);
        return SBX_ERR;
    }

    cJSON_AddNumberToObject(req->result, "size", (double) req->body_len);

    return SBX_OK;
}


int
sbx_op_file_delete(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    static const char  *names[] = { NULL };
    const char         *path;
    sbx_session_rec_t   rec;
    sbx_files_reply_t   r;

    (void) resp;

    return sbx_files_path_op(ctx, req, "delete", names, NULL, &path, &rec,
                             &r, err);
}


int
sbx_files_write_box(sbx_ctx_t *ctx, const sbx_session_rec_t *rec,
    const char *path, const void *data, size_t len, sbx_error_t *err)
{
    static const char  *names[] = { "size", NULL };
    uint64_t            max[1];
    sbx_kv_buf_t        h;
    sbx_agent_reply_t   reply;
    sbx_files_reply_t   r;
    const char         *why;
    int                 rc;

    sbx_kv_buf_init(&h, SBX_AGENT_REQUEST_MAX);
    sbx_kv_add_str(&h, "op", "write");
    sbx_kv_add_str(&h, "path", path);

    if (h.failed) {
        sbx_kv_buf_free(&h);
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    rc = sbx_agent_call(ctx, rec, &h, data, len, SBX_FILES_ANSWER_MS, 0,
                        &reply, err);
    sbx_kv_buf_free(&h);

    if (rc == SBX_DECLINED) {
        sbx_error_set(err, SBX_E_AGENT_UNAVAILABLE,
                      "the sandbox's agent does not answer");
        return SBX_ERR;
    }

    if (rc != SBX_OK) {
        return SBX_ERR;
    }

    max[0] = len;
    why = "";
    rc = sbx_files_parse(&reply, names, max, &r, &why);
    sbx_agent_reply_free(&reply);

    if (rc != SBX_OK || (r.ok && r.value[0] != len)) {
        return sbx_agent_broken(rec, why, err);
    }

    return r.ok ? SBX_OK : sbx_files_refused(path, &r, err);
}
