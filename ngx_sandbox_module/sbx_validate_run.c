
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The body of POST /run: its members, each checked and bounded here;
 * sandboxd resolves the language and checks the memory limit against its
 * own maximum.
 */


#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sbx_validate.h"


static int sbx_run_check_language(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_run_check_version(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_run_check_code(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_run_check_files(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_run_check_stdin(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_run_check_args(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_run_check_timeout(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_run_check_compile_timeout(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_run_check_memory(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);


static const sbx_field_t  sbx_run_fields[] = {
    { "language", sbx_run_check_language },
    { "version", sbx_run_check_version },
    { "code", sbx_run_check_code },
    { "files", sbx_run_check_files },
    { "stdin", sbx_run_check_stdin },
    { "args", sbx_run_check_args },
    { "timeout", sbx_run_check_timeout },
    { "compile_timeout", sbx_run_check_compile_timeout },
    { "memory_limit", sbx_run_check_memory },
    { "async", sbx_check_async },
    { "callback_url", sbx_check_callback_url },
    { NULL, NULL }
};


static int
sbx_run_copy(cJSON *args, const char *name, const cJSON *item,
    sbx_refusal_t *why)
{
    cJSON  *copy;

    copy = cJSON_Duplicate(item, 1);

    if (copy == NULL || !cJSON_AddItemToObject(args, name, copy)) {
        cJSON_Delete(copy);
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


static int
sbx_run_check_language(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    size_t       len;
    const char  *p;

    (void) policy;

    len = cJSON_IsString(item) ? strlen(item->valuestring) : 0;

    if (len == 0 || len > SBX_RUN_LANGUAGE_MAX
        || strspn(item->valuestring, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+#._-") != len)
    {
        return sbx_refuse(why, 400, "invalid_request", "\"language\" must "
                          "be a language name or alias (GET /runtimes)");
    }

    for (p = item->valuestring; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            return sbx_refuse(why, 400, "invalid_request", "\"language\" "
                              "must be in lower case");
        }
    }

    return sbx_run_copy(args, "language", item, why);
}


static int
sbx_run_check_version(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    (void) policy;

    if (!cJSON_IsString(item) || item->valuestring[0] == '\0'
        || strlen(item->valuestring) > SBX_RUN_LANGUAGE_MAX)
    {
        return sbx_refuse(why, 400, "invalid_request", "\"version\" must "
                          "be a version or range (\"3.11.2\", \"3\", "
                          "\"3.x\", \"^3.8\", \"*\")");
    }

    return sbx_run_copy(args, "version", item, why);
}


static int
sbx_run_check_code(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    (void) policy;

    if (!cJSON_IsString(item)
        || strlen(item->valuestring) > SBX_RUN_CODE_MAX)
    {
        return sbx_refuse(why, 400, "invalid_request", "\"code\" must be a "
                          "string of at most %d bytes", SBX_RUN_CODE_MAX);
    }

    return sbx_run_copy(args, "code", item, why);
}


/* One of "files": {name?, content, encoding?}; only the first may be
 * unnamed.  *total adds its content's length. */
static int
sbx_run_check_file(const cJSON *f, int first, size_t *total,
    sbx_refusal_t *why)
{
    const cJSON  *m;
    const char   *bad;

    if (!cJSON_IsObject(f)) {
        return sbx_refuse(why, 400, "invalid_request", "each of \"files\" "
                          "must be an object {name, content, encoding?}");
    }

    cJSON_ArrayForEach(m, f) {
        if (strcmp(m->string, "name") != 0
            && strcmp(m->string, "content") != 0
            && strcmp(m->string, "encoding") != 0)
        {
            return sbx_refuse(why, 400, "invalid_request", "unknown field "
                              "\"%.64s\" in \"files\"", m->string);
        }
    }

    m = cJSON_GetObjectItemCaseSensitive(f, "name");

    if (m == NULL && !first) {
        return sbx_refuse(why, 400, "invalid_request", "only the first of "
                          "\"files\" may have no \"name\"");
    }

    bad = m == NULL ? NULL
          : !cJSON_IsString(m) ? "must be a string"
          : sbx_ws_path_check(m->valuestring, strlen(m->valuestring), 0);

    if (bad != NULL) {
        return sbx_refuse(why, 400, "invalid_request", "a file \"name\" %s",
                          bad);
    }

    m = cJSON_GetObjectItemCaseSensitive(f, "encoding");

    if (m != NULL
        && (!cJSON_IsString(m)
            || (strcmp(m->valuestring, "utf8") != 0
                && strcmp(m->valuestring, "base64") != 0)))
    {
        return sbx_refuse(why, 400, "invalid_request", "a file \"encoding\" "
                          "must be \"utf8\" or \"base64\"");
    }

    m = cJSON_GetObjectItemCaseSensitive(f, "content");

    if (!cJSON_IsString(m)) {
        return sbx_refuse(why, 400, "invalid_request", "a file \"content\" "
                          "must be a string");
    }

    *total += strlen(m->valuestring);

    return 0;
}


static int
sbx_run_check_files(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    int           n, i;
    size_t        total;

    (void) policy;

    n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : 0;

    if (n < 1 || n > SBX_RUN_FILES_MAX) {
        return sbx_refuse(why, 400, "invalid_request", "\"files\" must be an "
                          "array of 1 to %d files", SBX_RUN_FILES_MAX);
    }

    total = 0;

    for (i = 0; i < n; i++) {
        if (sbx_run_check_file(cJSON_GetArrayItem(item, i), i == 0, &total,
                               why)
            != 0)
        {
            return -1;
        }
    }

    if (total > SBX_RUN_CODE_MAX) {
        return sbx_refuse(why, 400, "invalid_request", "\"files\" hold more "
                          "than %d bytes", SBX_RUN_CODE_MAX);
    }

    return sbx_run_copy(args, "files", item, why);
}


static int
sbx_run_check_stdin(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    (void) policy;

    if (!cJSON_IsString(item)
        || strlen(item->valuestring) > SBX_RUN_STDIN_MAX)
    {
        return sbx_refuse(why, 400, "invalid_request", "\"stdin\" must be a "
                          "string of at most %d bytes", SBX_RUN_STDIN_MAX);
    }

    return sbx_run_copy(args, "stdin", item, why);
}


static int
sbx_run_check_args(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    const cJSON  *a;

    (void) policy;

    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) > SBX_RUN_ARGS_MAX)
    {
        goto invalid;
    }

    cJSON_ArrayForEach(a, item) {
        if (!cJSON_IsString(a) || strlen(a->valuestring) > SBX_RUN_ARG_MAX) {
            goto invalid;
        }
    }

    return sbx_run_copy(args, "args", item, why);

invalid:

    return sbx_refuse(why, 400, "invalid_request", "\"args\" must be an "
                      "array of at most %d strings of at most %d bytes",
                      SBX_RUN_ARGS_MAX, SBX_RUN_ARG_MAX);
}


/* A timeout in seconds, as name_ms in milliseconds. */
static int
sbx_run_seconds(const cJSON *item, cJSON *args, const char *name,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    double  ms;
    char    key[32];

    ms = cJSON_IsNumber(item) ? item->valuedouble * 1000.0 : 0;

    if (!(ms >= 1.0) || ms > (double) policy->timeout_max_ms) {
        return sbx_refuse(why, 400, "invalid_request", "\"%s\" must be "
                          "more than 0 and at most %u seconds", name,
                          policy->timeout_max_ms / 1000);
    }

    snprintf(key, sizeof(key), "%s_ms", name);

    if (cJSON_AddNumberToObject(args, key, (double) (uint32_t) ms) == NULL) {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


static int
sbx_run_check_timeout(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    return sbx_run_seconds(item, args, "timeout", policy, why);
}


static int
sbx_run_check_compile_timeout(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    return sbx_run_seconds(item, args, "compile_timeout", policy, why);
}


static int
sbx_run_check_memory(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    (void) policy;

    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble)
        || item->valuedouble < 1 || item->valuedouble > 1099511627776.0)
    {
        return sbx_refuse(why, 400, "invalid_request", "\"memory_limit\" "
                          "must be a whole number of bytes");
    }

    return sbx_run_copy(args, "memory_limit", item, why);
}


/* Defaults for what the body left out: the timeouts. */
static int
sbx_run_defaults(cJSON *args, const sbx_exec_policy_t *policy,
    sbx_refusal_t *why)
{
    uint32_t  compile;

    compile = SBX_RUN_COMPILE_MS < policy->timeout_max_ms
              ? SBX_RUN_COMPILE_MS : policy->timeout_max_ms;

    if ((cJSON_GetObjectItemCaseSensitive(args, "timeout_ms") == NULL
         && cJSON_AddNumberToObject(args, "timeout_ms",
                                    policy->timeout_default_ms) == NULL)
        || (cJSON_GetObjectItemCaseSensitive(args, "compile_timeout_ms")
            == NULL
            && cJSON_AddNumberToObject(args, "compile_timeout_ms", compile)
               == NULL))
    {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


cJSON *
sbx_parse_run(const char *body, size_t len, const sbx_exec_policy_t *policy,
    sbx_refusal_t *why)
{
    cJSON  *obj, *args;

    if (len == 0) {
        sbx_refuse(why, 400, "invalid_request",
                   "a JSON body with \"code\" or \"files\" is required");
        return NULL;
    }

    obj = sbx_parse_object(body, len, why);
    if (obj == NULL) {
        return NULL;
    }

    args = sbx_check_fields(obj, sbx_run_fields, policy, why);
    if (args == NULL) {
        cJSON_Delete(obj);
        return NULL;
    }

    if ((cJSON_GetObjectItemCaseSensitive(args, "code") == NULL)
        == (cJSON_GetObjectItemCaseSensitive(args, "files") == NULL))
    {
        sbx_refuse(why, 400, "invalid_request",
                   "exactly one of \"code\" and \"files\" is required");
        goto failed;
    }

    if (sbx_check_async_pair(args, why) != 0
        || sbx_run_defaults(args, policy, why) != 0)
    {
        goto failed;
    }

    cJSON_Delete(obj);

    return args;

failed:

    cJSON_Delete(args);
    cJSON_Delete(obj);

    return NULL;
}
