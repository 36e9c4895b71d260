
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Piston v2 compatibility, the plain-C half (see sbx_piston.h).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_piston.h"


static int sbx_piston_files(const cJSON *files, cJSON *run, char *err,
    size_t err_len);
static int sbx_piston_file(const cJSON *f, int i, cJSON *list, char *err,
    size_t err_len);
static int sbx_piston_ms(const cJSON *piston, const char *from, cJSON *run,
    const char *to, char *err, size_t err_len);
static int sbx_piston_limit(const cJSON *piston, cJSON *run, char *err,
    size_t err_len);


cJSON *
sbx_piston_to_run(const cJSON *piston, char *err, size_t err_len)
{
    cJSON        *run, *copy;
    const cJSON  *language, *version, *in, *args;

    if (!cJSON_IsObject(piston)) {
        snprintf(err, err_len, "the request body must be a JSON object");
        return NULL;
    }

    language = cJSON_GetObjectItemCaseSensitive(piston, "language");
    version = cJSON_GetObjectItemCaseSensitive(piston, "version");
    in = cJSON_GetObjectItemCaseSensitive(piston, "stdin");
    args = cJSON_GetObjectItemCaseSensitive(piston, "args");

    if (!cJSON_IsString(language)) {
        snprintf(err, err_len, "language is required as a string");
        return NULL;
    }

    if (version != NULL && !cJSON_IsNull(version)
        && !cJSON_IsString(version))
    {
        snprintf(err, err_len, "version must be a string");
        return NULL;
    }

    run = cJSON_CreateObject();

    if (run == NULL
        || cJSON_AddStringToObject(run, "language", language->valuestring)
           == NULL)
    {
        goto nomem;
    }

    if (sbx_piston_files(cJSON_GetObjectItemCaseSensitive(piston, "files"),
                         run, err, err_len) != 0
        || sbx_piston_ms(piston, "run_timeout", run, "timeout", err,
                         err_len) != 0
        || sbx_piston_ms(piston, "compile_timeout", run, "compile_timeout",
                         err, err_len) != 0
        || sbx_piston_limit(piston, run, err, err_len) != 0)
    {
        cJSON_Delete(run);
        return NULL;
    }

    if (cJSON_IsString(version)
        && cJSON_AddStringToObject(run, "version", version->valuestring)
           == NULL)
    {
        goto nomem;
    }

    if (in != NULL && !cJSON_IsNull(in)) {
        copy = cJSON_Duplicate(in, 1);

        if (copy == NULL || !cJSON_AddItemToObject(run, "stdin", copy)) {
            cJSON_Delete(copy);
            goto nomem;
        }
    }

    if (args != NULL && !cJSON_IsNull(args)) {
        copy = cJSON_Duplicate(args, 1);

        if (copy == NULL || !cJSON_AddItemToObject(run, "args", copy)) {
            cJSON_Delete(copy);
            goto nomem;
        }
    }

    return run;

nomem:

    cJSON_Delete(run);
    snprintf(err, err_len, "out of memory");

    return NULL;
}


/* Piston names the files it is given no name for; so do we, but the first
 * (the entry point), which the run op names after the language. */

static int
sbx_piston_files(const cJSON *files, cJSON *run, char *err, size_t err_len)
{
    int           i;
    cJSON        *list;
    const cJSON  *f;

    if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) == 0) {
        snprintf(err, err_len, "files is required as an array");
        return -1;
    }

    list = cJSON_AddArrayToObject(run, "files");
    if (list == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    i = 0;

    cJSON_ArrayForEach(f, files) {
        if (sbx_piston_file(f, i++, list, err, err_len) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
sbx_piston_file(const cJSON *f, int i, cJSON *list, char *err,
    size_t err_len)
{
    char          name[32];
    cJSON        *o;
    const cJSON  *content, *fname, *encoding;

    content = cJSON_GetObjectItemCaseSensitive(f, "content");
    fname = cJSON_GetObjectItemCaseSensitive(f, "name");
    encoding = cJSON_GetObjectItemCaseSensitive(f, "encoding");

    if (!cJSON_IsString(content)) {
        snprintf(err, err_len, "files[%d].content is required as a string",
                 i);
        return -1;
    }

    if (encoding != NULL && !cJSON_IsNull(encoding)
        && !(cJSON_IsString(encoding)
             && (strcmp(encoding->valuestring, "utf8") == 0
                 || strcmp(encoding->valuestring, "base64") == 0)))
    {
        snprintf(err, err_len, "files[%d].encoding must be \"utf8\" or "
                 "\"base64\"", i);
        return -1;
    }

    o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddItemToArray(list, o)
        || cJSON_AddStringToObject(o, "content", content->valuestring)
           == NULL)
    {
        cJSON_Delete(o);
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    if (cJSON_IsString(fname)) {
        if (cJSON_AddStringToObject(o, "name", fname->valuestring) == NULL) {
            goto nomem;
        }

    } else if (i > 0) {
        snprintf(name, sizeof(name), "file%d.code", i);
        if (cJSON_AddStringToObject(o, "name", name) == NULL) {
            goto nomem;
        }
    }

    if (cJSON_IsString(encoding)
        && strcmp(encoding->valuestring, "base64") == 0
        && cJSON_AddStringToObject(o, "encoding", "base64") == NULL)
    {
        goto nomem;
    }

    return 0;

nomem:

    snprintf(err, err_len, "out of memory");

    return -1;
}


/* A timeout in milliseconds as one in seconds; absent, null or -1: ours. */

static int
sbx_piston_ms(const cJSON *piston, const char *from, cJSON *run,
    const char *to, char *err, size_t err_len)
{
    const cJSON  *ms;

    ms = cJSON_GetObjectItemCaseSensitive(piston, from);

    if (ms == NULL || cJSON_IsNull(ms)
        || (cJSON_IsNumber(ms) && ms->valuedouble == -1))
    {
        return 0;
    }

    if (!cJSON_IsNumber(ms) || !(ms->valuedouble > 0)) {
        snprintf(err, err_len, "%s must be a number of milliseconds", from);
        return -1;
    }

    if (cJSON_AddNumberToObject(run, to, ms->valuedouble / 1000.0) == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    return 0;
}


/* run_memory_limit in bytes; absent, null or -1: ours.  The compile step
 * has sandboxd's limit: compile_memory_limit is checked, not used. */

static int
sbx_piston_limit(const cJSON *piston, cJSON *run, char *err, size_t err_len)
{
    const char   **name;
    const cJSON   *limit;

    static const char  *names[] = {
        "compile_memory_limit", "run_memory_limit", NULL
    };

    for (name = names; *name; name++) {
        limit = cJSON_GetObjectItemCaseSensitive(piston, *name);

        if (limit == NULL || cJSON_IsNull(limit)
            || (cJSON_IsNumber(limit) && limit->valuedouble == -1))
        {
            continue;
        }

        if (!cJSON_IsNumber(limit) || !(limit->valuedouble >= 1)) {
            snprintf(err, err_len, "%s must be a number of bytes", *name);
            return -1;
        }

        if (strcmp(*name, "run_memory_limit") == 0
            && cJSON_AddNumberToObject(run, "memory_limit",
                                       limit->valuedouble) == NULL)
        {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
    }

    return 0;
}
