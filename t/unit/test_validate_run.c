
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The POST /run body: its members, bounds and defaults.
 */


#include <stdlib.h>

#include "tap.h"
#include "sbx_validate.h"


static const sbx_exec_policy_t  policy = {
    NULL, 0, 10000, 60000
};


static cJSON *
run(const char *body, sbx_refusal_t *why)
{
    return sbx_parse_run(body, strlen(body), &policy, why);
}


/* Refused with a 400 and this code; the message must hold what. */

static int
refused(const char *body, const char *code, const char *what)
{
    cJSON          *args;
    sbx_refusal_t   why;

    args = run(body, &why);

    if (args != NULL) {
        cJSON_Delete(args);
        return 0;
    }

    if (why.status != 400 || strcmp(why.code, code) != 0
        || strstr(why.message, what) == NULL)
    {
        printf("# refused with %d %s: %s\n", why.status, why.code,
               why.message);
        return 0;
    }

    return 1;
}


static double
number(cJSON *args, const char *name)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(args, name));
}


static void
test_accepted(void)
{
    cJSON          *args;
    sbx_refusal_t   why;

    args = run("{\"code\": \"print(1)\"}", &why);
    ok(args != NULL, "code alone");
    is_int((long long) number(args, "timeout_ms"), 10000,
           "  the default timeout");
    is_int((long long) number(args, "compile_timeout_ms"), 30000,
           "  the default compile timeout");
    ok(cJSON_GetObjectItemCaseSensitive(args, "language") == NULL,
       "  no language: sandboxd's default");
    cJSON_Delete(args);

    args = run("{\"language\": \"c++\", \"version\": \"*\", \"code\": \"x\","
               " \"stdin\": \"in\", \"args\": [\"a\", \"b c\"],"
               " \"timeout\": 2.5, \"compile_timeout\": 60,"
               " \"memory_limit\": 67108864}", &why);
    ok(args != NULL, "every member");
    is_int((long long) number(args, "timeout_ms"), 2500, "  timeout in ms");
    is_int((long long) number(args, "compile_timeout_ms"), 60000,
           "  compile_timeout in ms");
    is_int((long long) number(args, "memory_limit"), 67108864,
           "  memory_limit");
    is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(args,
                                                               "args")),
           2, "  args");
    cJSON_Delete(args);

    args = run("{\"files\": [{\"content\": \"x\"}, {\"name\": \"d/a.h\","
               " \"content\": \"eA==\", \"encoding\": \"base64\"}]}", &why);
    ok(args != NULL, "files, the first without a name");
    cJSON_Delete(args);

    args = run("{\"code\": \"x\", \"stdin\": null}", &why);
    ok(args != NULL, "a null member counts as absent");
    cJSON_Delete(args);
}


static void
test_refused(void)
{
    char    *big;
    size_t   n;

    ok(refused("", "invalid_request", "required"), "an empty body");
    ok(refused("{\"code\": ", "invalid_json", "JSON"), "not JSON");
    ok(refused("[]", "invalid_request", "object"), "not an object");
    ok(refused("{}", "invalid_request", "exactly one"), "no code");
    ok(refused("{\"code\": \"x\", \"files\": [{\"content\": \"x\"}]}",
               "invalid_request", "exactly one"), "code and files");
    ok(refused("{\"code\": \"x\", \"colour\": 1}", "invalid_request",
               "colour"), "an unknown field");
    ok(refused("{\"code\": 1}", "invalid_request", "\"code\""),
       "code not a string");
    ok(refused("{\"code\": \"x\", \"language\": \"\"}", "invalid_request",
               "language"), "an empty language");
    ok(refused("{\"code\": \"x\", \"language\": \"Python\"}",
               "invalid_request", "lower case"), "an upper-case language");
    ok(refused("{\"code\": \"x\", \"language\": \"py thon\"}",
               "invalid_request", "language"), "a space in the language");
    ok(refused("{\"code\": \"x\", \"timeout\": 61}", "invalid_request",
               "60 seconds"), "a timeout over the maximum");
    ok(refused("{\"code\": \"x\", \"timeout\": 0}", "invalid_request",
               "timeout"), "a timeout of 0");
    ok(refused("{\"code\": \"x\", \"compile_timeout\": \"5\"}",
               "invalid_request", "compile_timeout"),
       "a compile_timeout that is a string");
    ok(refused("{\"code\": \"x\", \"memory_limit\": 1.5}",
               "invalid_request", "memory_limit"),
       "a fractional memory_limit");
    ok(refused("{\"code\": \"x\", \"args\": \"a\"}", "invalid_request",
               "args"), "args not an array");
    ok(refused("{\"code\": \"x\", \"args\": [null]}", "invalid_request",
               "args"), "an arg that is not a string");
    ok(refused("{\"files\": []}", "invalid_request", "files"),
       "no files");
    ok(refused("{\"files\": [{\"name\": \"../x\", \"content\": \"\"}]}",
               "invalid_request", "\"..\""), "a name with ..");
    ok(refused("{\"files\": [{\"name\": \"/etc/x\", \"content\": \"\"}]}",
               "invalid_request", "relative"), "an absolute name");
    ok(refused("{\"files\": [{\"name\": \"a//b\", \"content\": \"\"}]}",
               "invalid_request", "empty"), "an empty component");
    ok(refused("{\"files\": [{\"content\": \"\"}, {\"content\": \"\"}]}",
               "invalid_request", "first"), "a second file without name");
    ok(refused("{\"files\": [{\"content\": \"\", \"mode\": 7}]}",
               "invalid_request", "mode"), "an unknown member of a file");
    ok(refused("{\"files\": [{\"content\": \"\", \"encoding\": \"hex\"}]}",
               "invalid_request", "encoding"), "an unknown encoding");
    ok(refused("{\"files\": [{\"name\": \"a\"}]}", "invalid_request",
               "content"), "a file without content");
    ok(refused("{\"files\": [1]}", "invalid_request", "object"),
       "a file that is not an object");

    /* the bounds */

    n = SBX_RUN_CODE_MAX + 1;
    big = malloc(n + 32);
    if (big == NULL) {
        return;
    }

    memcpy(big, "{\"code\": \"", 10);
    memset(big + 10, 'x', n);
    strcpy(big + 10 + n, "\"}");
    ok(refused(big, "invalid_request", "\"code\""), "code over the bound");

    strcpy(big + 10 + n - 1, "\"}");
    ok(run(big, &(sbx_refusal_t) { 0 }) != NULL, "code at the bound");
    cJSON_Delete(run(big, &(sbx_refusal_t) { 0 }));

    free(big);
}


static void
test_counts(void)
{
    char    buf[8192], *p;
    int     i;
    cJSON  *args;

    p = buf + sprintf(buf, "{\"code\": \"x\", \"args\": [");
    for (i = 0; i < SBX_RUN_ARGS_MAX + 1; i++) {
        p += sprintf(p, "%s\"a\"", i ? "," : "");
    }
    strcpy(p, "]}");
    ok(refused(buf, "invalid_request", "args"), "too many args");

    p = buf + sprintf(buf, "{\"files\": [");
    for (i = 0; i < SBX_RUN_FILES_MAX + 1; i++) {
        p += sprintf(p, "%s{\"name\": \"f%d\", \"content\": \"\"}",
                     i ? "," : "", i);
    }
    strcpy(p, "]}");
    ok(refused(buf, "invalid_request", "files"), "too many files");

    p = buf + sprintf(buf, "{\"files\": [");
    for (i = 0; i < SBX_RUN_FILES_MAX; i++) {
        p += sprintf(p, "%s{\"name\": \"f%d\", \"content\": \"\"}",
                     i ? "," : "", i);
    }
    strcpy(p, "]}");
    args = run(buf, &(sbx_refusal_t) { 0 });
    ok(args != NULL, "as many files as allowed");
    cJSON_Delete(args);
}


int
main(void)
{
    test_accepted();
    test_refused();
    test_counts();

    return done_testing();
}
