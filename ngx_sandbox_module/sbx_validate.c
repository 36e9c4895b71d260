
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sbx_validate.h"


static int sbx_check_session_id(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_check_command(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_check_timeout(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_check_working_dir(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_check_env(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_check_stdin(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_is_space(char c);


static const sbx_field_t  sbx_execute_fields[] = {
    { "command", sbx_check_command },
    { "session_id", sbx_check_session_id },
    { "timeout", sbx_check_timeout },
    { "working_dir", sbx_check_working_dir },
    { "env", sbx_check_env },
    { "stdin", sbx_check_stdin },
    { "async", sbx_check_async },
    { "callback_url", sbx_check_callback_url },
    { NULL, NULL }
};


static const sbx_field_t  sbx_session_create_fields[] = {
    { "session_id", sbx_check_session_id },
    { NULL, NULL }
};


int
sbx_session_id_valid(const char *p, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0 || len > SBX_SESSION_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            continue;
        }

        if (i > 0 && (c == '_' || c == '.' || c == '-')) {
            continue;
        }

        return 0;
    }

    return 1;
}


int
sbx_user_id_valid(const char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > SBX_USER_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


const char *
sbx_ws_path_check(const char *p, size_t len, int allow_root)
{
    const char  *c, *end, *slash;
    size_t       n;

    if (len == 1 && p[0] == '.' && allow_root) {
        return NULL;
    }

    if (len == 0 || len > SBX_WS_PATH_MAX) {
        return "must be 1..4096 bytes";
    }

    if (memchr(p, '\0', len) != NULL) {
        return "must not contain NUL";
    }

    if (p[0] == '/') {
        return "must be relative to /workspace";
    }

    end = p + len;

    for (c = p; c <= end; c = slash + 1) {
        slash = memchr(c, '/', (size_t) (end - c));
        if (slash == NULL) {
            slash = end;
        }

        n = (size_t) (slash - c);

        if (n == 0) {
            return "must not have empty components";
        }

        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
        {
            return "must not have \".\" or \"..\" components";
        }

        if (n > SBX_WS_NAME_MAX) {
            return "must not have components over 255 bytes";
        }
    }

    return NULL;
}


int
sbx_env_name_valid(const char *p, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0 || len > SBX_ENV_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
            || (i > 0 && c >= '0' && c <= '9'))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


int
sbx_json_has_nul(const char *p, size_t len)
{
    size_t  i;
    int     in_string;

    in_string = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '\0') {
            return 1;
        }

        if (p[i] == '"') {
            in_string = !in_string;
            continue;
        }

        if (!in_string || p[i] != '\\' || i + 1 >= len) {
            continue;
        }

        i++;

        if (p[i] == 'u' && i + 4 < len
            && memcmp(p + i + 1, "0000", 4) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
sbx_command_first_token(const char *cmd, size_t len, sbx_str_t *token)
{
    size_t  i, start;

    for (i = 0; i < len && sbx_is_space(cmd[i]); i++) {
        /* void */
    }

    if (i == len) {
        return 0;
    }

    start = i;

    while (i < len && !sbx_is_space(cmd[i])) {
        i++;
    }

    token->data = cmd + start;
    token->len = i - start;

    return 1;
}


int
sbx_command_allowed(const sbx_exec_policy_t *policy, const char *cmd,
    size_t len)
{
    size_t     i;
    sbx_str_t  token;

    if (!sbx_command_first_token(cmd, len, &token)) {
        return 0;
    }

    if (policy->allowed == NULL) {
        return 1;
    }

    for (i = 0; i < policy->nallowed; i++) {
        if (policy->allowed[i].len == token.len
            && memcmp(policy->allowed[i].data, token.data, token.len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


cJSON *
sbx_parse_execute(const char *body, size_t len,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    cJSON  *obj, *args;

    if (len == 0) {
        sbx_refuse(why, 400, "invalid_request",
                   "a JSON body with \"command\" is required");
        return NULL;
    }

    obj = sbx_parse_object(body, len, why);
    if (obj == NULL) {
        return NULL;
    }

    args = sbx_check_fields(obj, sbx_execute_fields, policy, why);

    cJSON_Delete(obj);

    if (args == NULL) {
        return NULL;
    }

    if (cJSON_GetObjectItemCaseSensitive(args, "command") == NULL) {
        cJSON_Delete(args);
        sbx_refuse(why, 400, "invalid_request", "\"command\" is required");
        return NULL;
    }

    if (sbx_check_async_pair(args, why) != 0) {
        cJSON_Delete(args);
        return NULL;
    }

    if (cJSON_GetObjectItemCaseSensitive(args, "timeout_ms") == NULL
        && cJSON_AddNumberToObject(args, "timeout_ms",
                                   policy->timeout_default_ms)
           == NULL)
    {
        cJSON_Delete(args);
        sbx_refuse(why, 500, "internal", "out of memory");
        return NULL;
    }

    return args;
}


cJSON *
sbx_parse_session_create(const char *body, size_t len, sbx_refusal_t *why)
{
    cJSON  *obj, *args;

    if (len == 0) {
        args = cJSON_CreateObject();

        if (args == NULL) {
            sbx_refuse(why, 500, "internal", "out of memory");
        }

        return args;
    }

    obj = sbx_parse_object(body, len, why);
    if (obj == NULL) {
        return NULL;
    }

    args = sbx_check_fields(obj, sbx_session_create_fields, NULL, why);

    cJSON_Delete(obj);

    return args;
}


cJSON *
sbx_parse_object(const char *body, size_t len, sbx_refusal_t *why)
{
    cJSON  *obj;

    if (sbx_json_has_nul(body, len)) {
        sbx_refuse(why, 400, "invalid_request",
                   "the body must not contain NUL characters");
        return NULL;
    }

    obj = cJSON_ParseWithLength(body, len);

    if (obj == NULL) {
        sbx_refuse(why, 400, "invalid_json", "the body is not valid JSON");
        return NULL;
    }

    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        sbx_refuse(why, 400, "invalid_request",
                   "the body must be a JSON object");
        return NULL;
    }

    return obj;
}


/*
 * Runs each member of obj through the check of the field of its name; a
 * member with no field is refused, so that a misspelt option never goes
 * unnoticed.  A null member counts as absent.  Returns the op arguments the
 * checks built.
 */

cJSON *
sbx_check_fields(const cJSON *obj, const sbx_field_t *fields,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    cJSON              *args;
    const cJSON        *item;
    const sbx_field_t  *f;

    args = cJSON_CreateObject();
    if (args == NULL) {
        sbx_refuse(why, 500, "internal", "out of memory");
        return NULL;
    }

    cJSON_ArrayForEach(item, obj) {

        for (f = fields; f->name != NULL; f++) {
            if (strcmp(f->name, item->string) == 0) {
                break;
            }
        }

        if (f->name == NULL) {
            sbx_refuse(why, 400, "invalid_request", "unknown field \"%.64s\"",
                       item->string);
            goto failed;
        }

        if (cJSON_IsNull(item)) {
            continue;
        }

        if (f->check(item, args, policy, why) != 0) {
            goto failed;
        }
    }

    return args;

failed:

    cJSON_Delete(args);

    return NULL;
}


static int
sbx_check_session_id(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    (void) policy;

    if (!cJSON_IsString(item)
        || !sbx_session_id_valid(item->valuestring,
                                 strlen(item->valuestring)))
    {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"session_id\" must be 1 to 128 characters of "
                          "[A-Za-z0-9_.-], starting with a letter or digit");
    }

    if (cJSON_AddStringToObject(args, "session_id", item->valuestring)
        == NULL)
    {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


static int
sbx_check_command(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    size_t     len;
    sbx_str_t  token;

    if (!cJSON_IsString(item)) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"command\" must be a string");
    }

    len = strlen(item->valuestring);

    if (len > SBX_COMMAND_MAX) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"command\" is longer than %d bytes",
                          SBX_COMMAND_MAX);
    }

    if (!sbx_command_first_token(item->valuestring, len, &token)) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"command\" is empty");
    }

    if (!sbx_command_allowed(policy, item->valuestring, len)) {
        return sbx_refuse(why, 403, "command_not_allowed",
                          "command \"%.*s\" is not in the allowed list",
                          (int) (token.len > 64 ? 64 : token.len),
                          token.data);
    }

    if (cJSON_AddStringToObject(args, "command", item->valuestring) == NULL) {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


static int
sbx_check_timeout(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    double  ms;

    if (!cJSON_IsNumber(item)) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"timeout\" must be a number of seconds");
    }

    ms = item->valuedouble * 1000.0;

    if (!(ms >= 1.0) || ms > (double) policy->timeout_max_ms) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"timeout\" must be more than 0 and at most %u "
                          "seconds", policy->timeout_max_ms / 1000);
    }

    if (cJSON_AddNumberToObject(args, "timeout_ms", (double) (uint32_t) ms)
        == NULL)
    {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


static int
sbx_check_working_dir(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    size_t  len;

    (void) policy;

    if (!cJSON_IsString(item)) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"working_dir\" must be a string");
    }

    len = strlen(item->valuestring);

    if (len == 0 || len > SBX_WORKING_DIR_MAX
        || item->valuestring[0] != '/')
    {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"working_dir\" must be an absolute path of at "
                          "most %d bytes", SBX_WORKING_DIR_MAX);
    }

    if (cJSON_AddStringToObject(args, "working_dir", item->valuestring)
        == NULL)
    {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


static int
sbx_check_stdin(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    (void) policy;

    if (!cJSON_IsString(item) || strlen(item->valuestring) > SBX_STDIN_MAX)
    {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"stdin\" must be a string of at most %d bytes",
                          SBX_STDIN_MAX);
    }

    if (cJSON_AddStringToObject(args, "stdin", item->valuestring) == NULL) {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


int
sbx_check_async(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    (void) policy;

    if (!cJSON_IsBool(item)) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"async\" must be a boolean");
    }

    if (cJSON_AddBoolToObject(args, "async", cJSON_IsTrue(item)) == NULL) {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


int
sbx_check_callback_url(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    const char  *url;
    size_t       len;

    (void) policy;

    url = cJSON_GetStringValue(item);
    len = url ? strlen(url) : 0;

    if (url == NULL || len > SBX_CALLBACK_URL_MAX
        || !((len > 7 && strncmp(url, "http://", 7) == 0)
             || (len > 8 && strncmp(url, "https://", 8) == 0)))
    {
        return sbx_refuse(why, 400, "invalid_request", "\"callback_url\" "
                          "must be an http:// or https:// URL of at most %d "
                          "bytes", SBX_CALLBACK_URL_MAX);
    }

    for ( /* void */ ; *url; url++) {
        if ((unsigned char) *url <= 0x20 || *url == 0x7f) {
            return sbx_refuse(why, 400, "invalid_request", "\"callback_url\" "
                              "must not contain spaces or control "
                              "characters");
        }
    }

    if (cJSON_AddStringToObject(args, "callback_url", item->valuestring)
        == NULL)
    {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


int
sbx_check_async_pair(const cJSON *args, sbx_refusal_t *why)
{
    if (cJSON_GetObjectItemCaseSensitive(args, "callback_url") != NULL
        && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "async")))
    {
        return sbx_refuse(why, 400, "invalid_request", "\"callback_url\" "
                          "needs \"async\": true");
    }

    return 0;
}


static int
sbx_check_env(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    int          n;
    cJSON       *env;
    const cJSON  *var;

    (void) policy;

    if (!cJSON_IsObject(item)) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"env\" must be an object of strings");
    }

    n = cJSON_GetArraySize(item);

    if (n > SBX_ENV_MAX) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"env\" has more than %d variables", SBX_ENV_MAX);
    }

    cJSON_ArrayForEach(var, item) {

        if (!sbx_env_name_valid(var->string, strlen(var->string))) {
            return sbx_refuse(why, 400, "invalid_request",
                              "\"env\" name \"%.64s\" is not a valid "
                              "variable name", var->string);
        }

        if (!cJSON_IsString(var)
            || strlen(var->valuestring) > SBX_ENV_VALUE_MAX)
        {
            return sbx_refuse(why, 400, "invalid_request",
                              "\"env\" value of \"%.64s\" must be a string "
                              "of at most %d bytes", var->string,
                              SBX_ENV_VALUE_MAX);
        }
    }

    env = cJSON_Duplicate(item, 1);

    if (env == NULL || !cJSON_AddItemToObject(args, "env", env)) {
        cJSON_Delete(env);
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


int
sbx_refuse(sbx_refusal_t *why, int status, const char *code,
    const char *fmt, ...)
{
    va_list  ap;

    why->status = status;
    why->code = code;

    va_start(ap, fmt);
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);

    return -1;
}


static int
sbx_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}
