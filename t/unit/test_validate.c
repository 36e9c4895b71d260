
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Validation of request bodies, identifiers and the command allow-list.
 */


#include "tap.h"
#include "sbx_validate.h"


static const sbx_str_t  allowed[] = {
    { 2, "ls" }, { 4, "echo" }, { 7, "python3" }
};

static const sbx_exec_policy_t  policy = {
    allowed, 3, 30000, 300000
};

static const sbx_exec_policy_t  open_policy = {
    NULL, 0, 30000, 300000
};


#define str_ok(f, s)  f(s, sizeof(s) - 1)
#define permits(p, s)  sbx_command_allowed(p, s, sizeof(s) - 1)


static cJSON *
execute(const char *body, const sbx_exec_policy_t *p, sbx_refusal_t *why)
{
    return sbx_parse_execute(body, strlen(body), p, why);
}


/* Refused with this status and code, and nothing returned. */

static int
refused(const char *body, int status, const char *code)
{
    cJSON          *args;
    sbx_refusal_t   why;

    args = execute(body, &policy, &why);

    if (args != NULL) {
        cJSON_Delete(args);
        return 0;
    }

    if (why.status != status || strcmp(why.code, code) != 0) {
        printf("# refused with %d %s: %s\n", why.status, why.code,
               why.message);
        return 0;
    }

    return 1;
}


static void
test_identifiers(void)
{
    ok(str_ok(sbx_session_id_valid, "my-session-1"), "a seed-style id");
    ok(str_ok(sbx_session_id_valid, "A.b_c-9"), "dots and underscores");
    ok(!str_ok(sbx_session_id_valid, ""), "empty id");
    ok(!str_ok(sbx_session_id_valid, "-leading"), "leading dash");
    ok(!str_ok(sbx_session_id_valid, "_leading"), "leading underscore");
    ok(!str_ok(sbx_session_id_valid, "a/b"), "slash");
    ok(!str_ok(sbx_session_id_valid, ".."), "dot-dot");
    ok(!str_ok(sbx_session_id_valid, "sp ace"), "space");
    ok(sbx_session_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 128),
       "128 characters");
    ok(!sbx_session_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 129),
       "129 characters");

    ok(str_ok(sbx_user_id_valid, "auth0|1234"), "a JWT-style subject");
    ok(!str_ok(sbx_user_id_valid, "a\nb"), "a user id with a newline");

    ok(str_ok(sbx_env_name_valid, "PATH_2"), "an env name");
    ok(!str_ok(sbx_env_name_valid, "2X"), "an env name with a leading digit");
    ok(!str_ok(sbx_env_name_valid, "A=B"), "an env name with '='");
}


static void
test_nul(void)
{
    ok(str_ok(sbx_json_has_nul, "{\"a\":\"x\\u0000y\"}"), "\\u0000 found");
    ok(!str_ok(sbx_json_has_nul, "{\"a\":\"x\\\\u0000y\"}"),
       "an escaped backslash before u0000 is not a NUL");
    ok(str_ok(sbx_json_has_nul, "{\"a\":\"x\0\"}"), "a raw NUL byte");
    ok(!str_ok(sbx_json_has_nul, "{\"a\":\"\\u0001\"}"), "\\u0001 is fine");
}


static void
test_allow_list(void)
{
    sbx_str_t  t;

    ok(sbx_command_first_token("  ls -la", 8, &t) && t.len == 2
       && memcmp(t.data, "ls", 2) == 0, "first token skips blanks");
    ok(!sbx_command_first_token(" \t\n", 3, &t), "a blank command");

    ok(permits(&policy, "ls -la"), "ls is allowed");
    ok(permits(&policy, "echo hi | python3"),
       "only the first token is checked");
    ok(!permits(&policy, "rm -rf /"), "rm is not");
    ok(!permits(&policy, "lsblk"), "a prefix is not enough");
    ok(!permits(&policy, "ls;rm -rf /"),
       "a metacharacter glued to the token makes it another token");
    ok(!permits(&policy, "/bin/ls"),
       "a path is not the listed name");
    ok(permits(&open_policy, "anything at all"),
       "an open policy allows all");
}


static void
test_execute(void)
{
    cJSON          *args;
    sbx_refusal_t   why;

    args = execute("{\"command\": \"ls\", \"session_id\": \"s1\", "
                   "\"timeout\": 2.5, \"working_dir\": \"/tmp\", "
                   "\"env\": {\"A\": \"1\"}}", &policy, &why);

    ok(args != NULL, "a full execute body is accepted");
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(args, "command")), "ls",
           "command kept");
    is_int(cJSON_GetNumberValue(cJSON_GetObjectItem(args, "timeout_ms")),
           2500, "timeout in seconds becomes timeout_ms");
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(
               cJSON_GetObjectItem(args, "env"), "A")), "1", "env kept");
    cJSON_Delete(args);

    args = execute("{\"command\": \"echo hi\", \"session_id\": null}",
                   &policy, &why);
    is_int(cJSON_GetNumberValue(cJSON_GetObjectItem(args, "timeout_ms")),
           30000, "default timeout");
    ok(cJSON_GetObjectItem(args, "session_id") == NULL,
       "a null session_id counts as absent");
    cJSON_Delete(args);

    ok(refused("", 400, "invalid_request"), "empty body");
    ok(refused("{", 400, "invalid_json"), "broken JSON");
    ok(refused("[1]", 400, "invalid_request"), "not an object");
    ok(refused("{}", 400, "invalid_request"), "no command");
    ok(refused("{\"command\": 5}", 400, "invalid_request"),
       "command of the wrong type");
    ok(refused("{\"command\": \"   \"}", 400, "invalid_request"),
       "blank command");
    ok(refused("{\"command\": \"rm x\"}", 403, "command_not_allowed"),
       "command not in the list");
    ok(refused("{\"command\": \"ls\", \"timout\": 1}", 400,
               "invalid_request"), "a misspelt field is refused");
    ok(refused("{\"command\": \"ls\", \"timeout\": 0}", 400,
               "invalid_request"), "zero timeout");
    ok(refused("{\"command\": \"ls\", \"timeout\": -1}", 400,
               "invalid_request"), "negative timeout");
    ok(refused("{\"command\": \"ls\", \"timeout\": 301}", 400,
               "invalid_request"), "timeout over the maximum");
    ok(refused("{\"command\": \"ls\", \"timeout\": \"5\"}", 400,
               "invalid_request"), "timeout as a string");
    ok(refused("{\"command\": \"ls\", \"working_dir\": \"rel\"}", 400,
               "invalid_request"), "relative working_dir");
    ok(refused("{\"command\": \"ls\", \"env\": {\"1A\": \"x\"}}", 400,
               "invalid_request"), "bad env name");
    ok(refused("{\"command\": \"ls\", \"env\": {\"A\": 1}}", 400,
               "invalid_request"), "env value not a string");
    ok(refused("{\"command\": \"ls\", \"env\": [\"A=1\"]}", 400,
               "invalid_request"), "env as an array");
    ok(refused("{\"command\": \"ls\", \"session_id\": \"../x\"}", 400,
               "invalid_request"), "bad session id");
    ok(refused("{\"command\": \"ls\\u0000rm\"}", 400, "invalid_request"),
       "a NUL smuggled into the command");
}


static void
test_session_create(void)
{
    cJSON          *args;
    sbx_refusal_t   why;

    args = sbx_parse_session_create("", 0, &why);
    ok(args != NULL && cJSON_GetArraySize(args) == 0,
       "an empty body creates a session with a generated id");
    cJSON_Delete(args);

    args = sbx_parse_session_create("{\"session_id\":\"abc\"}", 20, &why);
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(args, "session_id")),
           "abc", "a given id is kept");
    cJSON_Delete(args);

    args = sbx_parse_session_create("{\"id\":\"abc\"}", 12, &why);
    ok(args == NULL && why.status == 400, "an unknown field is refused");
}


static void
test_ws_paths(void)
{
    char  buf[4200];

#define WS(p, root)  sbx_ws_path_check(p, sizeof(p) - 1, root)

    ok(WS("a", 0) == NULL, "a plain name");
    ok(WS("src/main.py", 0) == NULL, "a nested path");
    ok(WS(".hidden/..x/x..", 0) == NULL, "dots inside names are fine");
    ok(WS(".", 1) == NULL, "\".\" names the root where allowed");
    ok(WS(".", 0) != NULL, "but not elsewhere");
    ok(WS("", 0) != NULL, "empty");
    ok(WS("/etc/passwd", 0) != NULL, "absolute");
    ok(WS("..", 0) != NULL, "..");
    ok(WS("a/../b", 0) != NULL, "a .. component");
    ok(WS("a/..", 0) != NULL, "a trailing .. component");
    ok(WS("./a", 0) != NULL, "a . component");
    ok(WS("a//b", 0) != NULL, "an empty component");
    ok(WS("a/", 0) != NULL, "a trailing slash");
    ok(WS("a\0b", 0) != NULL, "a NUL");

    memset(buf, 'x', 256);
    ok(sbx_ws_path_check(buf, 255, 0) == NULL, "a 255-byte name");
    ok(sbx_ws_path_check(buf, 256, 0) != NULL, "a 256-byte name");

    memset(buf, 'a', sizeof(buf));
    for (size_t i = 1; i < sizeof(buf); i += 2) {
        buf[i] = '/';
    }
    ok(sbx_ws_path_check(buf, 4095, 0) == NULL, "a 4095-byte path");
    ok(sbx_ws_path_check(buf, 4097, 0) != NULL, "a 4097-byte path");

#undef WS
}


int
main(void)
{
    test_identifiers();
    test_nul();
    test_allow_list();
    test_execute();
    test_session_create();
    test_ws_paths();

    return done_testing();
}
