
/*
 * Copyright (C) ngx_sandbox contributors
 */


#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE  200809L        /* gmtime_r() */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbx_json.h"
#include "sbx_render.h"


#define SBX_RENDER_ISO_LEN  80      /* "1970-01-01T00:00:00.000Z" */
#define SBX_RENDER_MS_MAX   253402300799999.0    /* 9999-12-31 */


static int sbx_render_streams(cJSON *scalars, const uint8_t *body,
    size_t out_len, size_t err_len, sbx_text_t *out);
static int sbx_render_step(cJSON *json, cJSON *result, const char *name,
    const uint8_t **body, size_t *left);
static int sbx_render_time(cJSON *to, cJSON *from, const char *name);
static int sbx_render_printed(cJSON *json, sbx_text_t *out);


size_t
sbx_render_splice_len(const char *scalars, sbx_blob_t *blobs, size_t n)
{
    size_t  i, len;

    len = strlen(scalars);

    /* ,"ENC":"base64","KEY": and the value */

    for (i = 0; i < n; i++) {
        blobs[i].utf8 = sbx_utf8_valid(blobs[i].data, blobs[i].len);
        len += strlen(blobs[i].encoding_key) + strlen(blobs[i].key)
               + sizeof(",\"\":\"base64\",\"\":") - 1
               + (blobs[i].utf8
                  ? sbx_json_escaped_len(blobs[i].data, blobs[i].len)
                  : sbx_base64_len(blobs[i].len) + 2);
    }

    return len;
}


uint8_t *
sbx_render_splice(uint8_t *out, const char *scalars, const sbx_blob_t *blobs,
    size_t n)
{
    size_t  i, head;

    head = strlen(scalars) - 1;

    memcpy(out, scalars, head);
    out += head;

    for (i = 0; i < n; i++) {
        out += sprintf((char *) out, "%s\"%s\":\"%s\",\"%s\":",
                       head > 1 || i > 0 ? "," : "",
                       blobs[i].encoding_key,
                       blobs[i].utf8 ? "utf8" : "base64", blobs[i].key);

        if (blobs[i].utf8) {
            out = sbx_json_escape(out, blobs[i].data, blobs[i].len);
            continue;
        }

        *out++ = '"';
        out = sbx_base64_encode(out, blobs[i].data, blobs[i].len);
        *out++ = '"';
    }

    *out++ = '}';

    return out;
}


int
sbx_json_copy(cJSON *to, cJSON *from, const char *name,
    cJSON_bool (*is_type)(const cJSON *))
{
    cJSON  *item, *copy;

    item = cJSON_GetObjectItemCaseSensitive(from, name);

    if (item == NULL || !is_type(item)) {
        return 0;
    }

    copy = cJSON_Duplicate(item, 1);

    if (copy == NULL || !cJSON_AddItemToObject(to, name, copy)) {
        cJSON_Delete(copy);
        return -1;
    }

    return 0;
}


int
sbx_json_copy_or_null(cJSON *to, cJSON *from, const char *name,
    cJSON_bool (*is_type)(const cJSON *))
{
    if (is_type(cJSON_GetObjectItemCaseSensitive(from, name))) {
        return sbx_json_copy(to, from, name, is_type);
    }

    return cJSON_AddNullToObject(to, name) != NULL ? 0 : -1;
}


/*
 * The exec result with its output.  Output travels as raw bytes in the
 * frame body; here each stream becomes a JSON string when it is UTF-8,
 * or base64 (with "<stream>_encoding": "base64") when it is not, so that
 * no byte is lost.  An install's result is an exec's, with its manager
 * and packages.
 */

int
sbx_render_exec(cJSON *result, const uint8_t *body, size_t len,
    sbx_text_t *out)
{
    int     rc;
    cJSON  *json, *out_len, *err_len, *exit_code, *signal, *so, *se;

    out_len = cJSON_GetObjectItemCaseSensitive(result, "stdout_len");
    err_len = cJSON_GetObjectItemCaseSensitive(result, "stderr_len");
    exit_code = cJSON_GetObjectItemCaseSensitive(result, "exit_code");
    signal = cJSON_GetObjectItemCaseSensitive(result, "signal");
    so = cJSON_GetObjectItemCaseSensitive(result, "stdout_truncated");
    se = cJSON_GetObjectItemCaseSensitive(result, "stderr_truncated");

    if (!cJSON_IsNumber(out_len) || !cJSON_IsNumber(err_len)
        || out_len->valuedouble < 0 || err_len->valuedouble < 0
        || out_len->valuedouble + err_len->valuedouble != (double) len
        || !(cJSON_IsNumber(exit_code) || cJSON_IsNull(exit_code))
        || !(cJSON_IsString(signal) || cJSON_IsNull(signal))
        || !cJSON_IsBool(so) || !cJSON_IsBool(se))
    {
        return SBX_RENDER_MALFORMED;
    }

    json = cJSON_CreateObject();

    if (json == NULL
        || sbx_json_copy(json, result, "session_id", cJSON_IsString) != 0
        || sbx_json_copy(json, result, "session_created", cJSON_IsBool) != 0
        || sbx_json_copy(json, result, "manager", cJSON_IsString) != 0
        || sbx_json_copy(json, result, "packages", cJSON_IsArray) != 0
        || sbx_json_copy_or_null(json, result, "exit_code", cJSON_IsNumber)
           != 0
        || sbx_json_copy_or_null(json, result, "signal", cJSON_IsString) != 0
        || sbx_json_copy(json, result, "timed_out", cJSON_IsBool) != 0
        || sbx_json_copy_or_null(json, result, "oom_killed", cJSON_IsBool)
           != 0
        || cJSON_AddBoolToObject(json, "truncated",
                                 cJSON_IsTrue(so) || cJSON_IsTrue(se))
           == NULL
        || sbx_json_copy(json, result, "stdout_truncated", cJSON_IsBool) != 0
        || sbx_json_copy(json, result, "stderr_truncated", cJSON_IsBool) != 0
        || sbx_json_copy(json, result, "duration_ms", cJSON_IsNumber) != 0
        || sbx_json_copy_or_null(json, result, "cpu_ms", cJSON_IsNumber) != 0
        || sbx_json_copy_or_null(json, result, "max_rss_kb", cJSON_IsNumber)
           != 0
        || sbx_json_copy(json, result, "via", cJSON_IsString) != 0)
    {
        cJSON_Delete(json);
        return SBX_RENDER_NOMEM;
    }

    rc = sbx_render_streams(json, body, (size_t) out_len->valuedouble,
                            (size_t) err_len->valuedouble, out);

    cJSON_Delete(json);

    return rc;
}


/* scalars with "stdout" (out_len bytes of body) and "stderr" spliced in. */
static int
sbx_render_streams(cJSON *scalars, const uint8_t *body, size_t out_len,
    size_t err_len, sbx_text_t *out)
{
    char        *s;
    uint8_t     *end;
    sbx_blob_t   streams[2];

    s = cJSON_PrintUnformatted(scalars);
    if (s == NULL) {
        return SBX_RENDER_NOMEM;
    }

    streams[0].encoding_key = "stdout_encoding";
    streams[0].key = "stdout";
    streams[0].data = body;
    streams[0].len = out_len;
    streams[1].encoding_key = "stderr_encoding";
    streams[1].key = "stderr";
    streams[1].data = body + out_len;
    streams[1].len = err_len;

    out->data = malloc(sbx_render_splice_len(s, streams, 2) + 1);

    if (out->data == NULL) {
        cJSON_free(s);
        return SBX_RENDER_NOMEM;
    }

    end = sbx_render_splice((uint8_t *) out->data, s, streams, 2);
    *end = '\0';
    out->len = end - (uint8_t *) out->data;

    cJSON_free(s);

    return SBX_RENDER_OK;
}


int
sbx_render_run(cJSON *result, const uint8_t *body, size_t len,
    sbx_text_t *out)
{
    int     rc;
    cJSON  *json, *status;

    status = cJSON_GetObjectItemCaseSensitive(result, "status");

    if (!cJSON_IsString(status)) {
        return SBX_RENDER_MALFORMED;
    }

    json = cJSON_CreateObject();

    if (json == NULL
        || sbx_json_copy(json, result, "language", cJSON_IsString) != 0
        || sbx_json_copy(json, result, "version", cJSON_IsString) != 0
        || sbx_json_copy(json, result, "run_id", cJSON_IsString) != 0)
    {
        cJSON_Delete(json);
        return SBX_RENDER_NOMEM;
    }

    rc = sbx_render_step(json, result, "compile", &body, &len);

    if (rc == SBX_RENDER_OK) {
        rc = sbx_render_step(json, result, "run", &body, &len);
    }

    if (rc == SBX_RENDER_OK && len != 0) {
        rc = SBX_RENDER_MALFORMED;
    }

    if (rc == SBX_RENDER_OK
        && cJSON_AddStringToObject(json, "status", status->valuestring)
           == NULL)
    {
        rc = SBX_RENDER_NOMEM;
    }

    if (rc == SBX_RENDER_OK) {
        rc = sbx_render_printed(json, out);
    }

    cJSON_Delete(json);

    return rc;
}


/*
 * A run step's object, when the result has it, with its stdout and
 * stderr taken from the body.
 */
static int
sbx_render_step(cJSON *json, cJSON *result, const char *name,
    const uint8_t **body, size_t *left)
{
    int          rc;
    cJSON       *step, *out_len, *err_len, *s;
    size_t       olen, elen;
    sbx_text_t   text;

    step = cJSON_GetObjectItemCaseSensitive(result, name);
    if (step == NULL) {
        return SBX_RENDER_OK;
    }

    out_len = cJSON_GetObjectItemCaseSensitive(step, "stdout_len");
    err_len = cJSON_GetObjectItemCaseSensitive(step, "stderr_len");

    if (!cJSON_IsNumber(out_len) || !cJSON_IsNumber(err_len)
        || out_len->valuedouble < 0 || err_len->valuedouble < 0
        || out_len->valuedouble + err_len->valuedouble > (double) *left)
    {
        return SBX_RENDER_MALFORMED;
    }

    olen = (size_t) out_len->valuedouble;
    elen = (size_t) err_len->valuedouble;

    s = cJSON_CreateObject();

    if (s == NULL
        || sbx_json_copy_or_null(s, step, "exit_code", cJSON_IsNumber) != 0
        || sbx_json_copy_or_null(s, step, "signal", cJSON_IsString) != 0
        || sbx_json_copy(s, step, "timed_out", cJSON_IsBool) != 0
        || sbx_json_copy_or_null(s, step, "oom_killed", cJSON_IsBool) != 0
        || sbx_json_copy(s, step, "truncated", cJSON_IsBool) != 0
        || sbx_json_copy_or_null(s, step, "cpu_ms", cJSON_IsNumber) != 0
        || sbx_json_copy(s, step, "wall_ms", cJSON_IsNumber) != 0
        || sbx_json_copy_or_null(s, step, "memory_peak_bytes",
                                 cJSON_IsNumber) != 0)
    {
        cJSON_Delete(s);
        return SBX_RENDER_NOMEM;
    }

    rc = sbx_render_streams(s, *body, olen, elen, &text);
    cJSON_Delete(s);

    if (rc != SBX_RENDER_OK) {
        return rc;
    }

    *body += olen + elen;
    *left -= olen + elen;

    if (cJSON_AddRawToObject(json, name, text.data) == NULL) {
        rc = SBX_RENDER_NOMEM;
    }

    free(text.data);

    return rc;
}


/*
 * A task: its state and times, what it ran in, and once it is over the
 * body its operation's synchronous endpoint would have answered, or its
 * error.
 */

int
sbx_render_task(cJSON *task, const uint8_t *body, size_t len,
    sbx_text_t *out)
{
    int          rc;
    cJSON       *json, *kind, *result;
    sbx_text_t   text;

    kind = cJSON_GetObjectItemCaseSensitive(task, "kind");
    result = cJSON_GetObjectItemCaseSensitive(task, "result");

    if (!cJSON_IsString(kind)
        || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(task, "task_id"))
        || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(task, "status"))
        || (result != NULL && !cJSON_IsObject(result)))
    {
        return SBX_RENDER_MALFORMED;
    }

    json = cJSON_CreateObject();

    if (json == NULL
        || sbx_json_copy(json, task, "task_id", cJSON_IsString) != 0
        || sbx_json_copy(json, task, "kind", cJSON_IsString) != 0
        || sbx_json_copy(json, task, "status", cJSON_IsString) != 0
        || sbx_json_copy(json, task, "status_url", cJSON_IsString) != 0)
    {
        cJSON_Delete(json);
        return SBX_RENDER_NOMEM;
    }

    rc = sbx_render_time(json, task, "created_at");

    if (rc == SBX_RENDER_OK) {
        rc = sbx_render_time(json, task, "started_at");
    }

    if (rc == SBX_RENDER_OK) {
        rc = sbx_render_time(json, task, "finished_at");
    }

    if (rc == SBX_RENDER_OK
        && (sbx_json_copy(json, task, "session_id", cJSON_IsString) != 0
            || sbx_json_copy(json, task, "error", cJSON_IsObject) != 0
            || sbx_json_copy(json, task, "callback", cJSON_IsObject) != 0))
    {
        rc = SBX_RENDER_NOMEM;
    }

    if (rc == SBX_RENDER_OK && result != NULL) {
        rc = strcmp(kind->valuestring, "run") == 0
             ? sbx_render_run(result, body, len, &text)
             : sbx_render_exec(result, body, len, &text);

        if (rc == SBX_RENDER_OK) {
            if (cJSON_AddRawToObject(json, "result", text.data) == NULL) {
                rc = SBX_RENDER_NOMEM;
            }

            free(text.data);
        }
    }

    if (rc == SBX_RENDER_OK) {
        rc = sbx_render_printed(json, out);
    }

    cJSON_Delete(json);

    return rc;
}


/* from->name, a time in ms since the epoch, as ISO 8601; null if absent. */
static int
sbx_render_time(cJSON *to, cJSON *from, const char *name)
{
    cJSON      *t;
    time_t      sec;
    struct tm   tm;
    char        iso[SBX_RENDER_ISO_LEN];

    t = cJSON_GetObjectItemCaseSensitive(from, name);

    if (t == NULL || cJSON_IsNull(t)) {
        return cJSON_AddNullToObject(to, name) ? SBX_RENDER_OK
                                               : SBX_RENDER_NOMEM;
    }

    if (!cJSON_IsNumber(t) || t->valuedouble < 0
        || t->valuedouble > SBX_RENDER_MS_MAX)
    {
        return SBX_RENDER_MALFORMED;
    }

    sec = (time_t) (t->valuedouble / 1000);

    if (gmtime_r(&sec, &tm) == NULL) {
        return SBX_RENDER_MALFORMED;
    }

    snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec,
             (int) ((int64_t) t->valuedouble % 1000));

    return cJSON_AddStringToObject(to, name, iso) ? SBX_RENDER_OK
                                                  : SBX_RENDER_NOMEM;
}


static int
sbx_render_printed(cJSON *json, sbx_text_t *out)
{
    out->data = cJSON_PrintUnformatted(json);

    if (out->data == NULL) {
        return SBX_RENDER_NOMEM;
    }

    out->len = strlen(out->data);

    return SBX_RENDER_OK;
}
