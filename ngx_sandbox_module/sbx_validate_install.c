
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The body of POST /sessions/{id}/install: its shape is checked here;
 * sandboxd checks each package name against its manager's syntax, the one
 * place that knows what the installer will take.
 */


#include <string.h>

#include "sbx_validate.h"


static int sbx_install_check_manager(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_install_check_packages(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
static int sbx_install_check_async(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);


static const sbx_field_t  sbx_install_fields[] = {
    { "manager", sbx_install_check_manager },
    { "packages", sbx_install_check_packages },
    { "async", sbx_install_check_async },
    { "callback_url", sbx_check_callback_url },
    { NULL, NULL }
};


static int
sbx_install_check_manager(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    const char  *m;

    (void) policy;

    m = cJSON_GetStringValue(item);

    if (m == NULL || (strcmp(m, "pip") != 0 && strcmp(m, "npm") != 0)) {
        return sbx_refuse(why, 400, "invalid_request",
                          "\"manager\" must be \"pip\" or \"npm\"");
    }

    if (cJSON_AddStringToObject(args, "manager", m) == NULL) {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


static int
sbx_install_check_packages(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    int           n;
    size_t        len;
    const cJSON  *p;

    (void) policy;

    n = cJSON_GetArraySize(item);

    if (!cJSON_IsArray(item) || n < 1 || n > SBX_INSTALL_PACKAGES_MAX) {
        return sbx_refuse(why, 400, "invalid_request", "\"packages\" must "
                          "be an array of 1..%d package names",
                          SBX_INSTALL_PACKAGES_MAX);
    }

    cJSON_ArrayForEach(p, item) {
        len = cJSON_IsString(p) ? strlen(p->valuestring) : 0;

        if (len == 0 || len > SBX_INSTALL_PACKAGE_MAX) {
            return sbx_refuse(why, 400, "invalid_request", "each of "
                              "\"packages\" must be a string of 1..%d "
                              "bytes", SBX_INSTALL_PACKAGE_MAX);
        }
    }

    if (!cJSON_AddItemToObject(args, "packages", cJSON_Duplicate(item, 1))) {
        return sbx_refuse(why, 500, "internal", "out of memory");
    }

    return 0;
}


/* An install always runs as a task: "async" may say so, never otherwise. */
static int
sbx_install_check_async(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why)
{
    (void) args;
    (void) policy;

    if (!cJSON_IsTrue(item)) {
        return sbx_refuse(why, 400, "invalid_request", "an install always "
                          "runs as a task: \"async\" can only be true");
    }

    return 0;
}


cJSON *
sbx_parse_install(const char *body, size_t len, sbx_refusal_t *why)
{
    cJSON  *obj, *args;

    obj = len ? sbx_parse_object(body, len, why) : NULL;

    if (obj == NULL) {
        if (len == 0) {
            sbx_refuse(why, 400, "invalid_request", "a JSON body with "
                       "\"manager\" and \"packages\" is required");
        }
        return NULL;
    }

    args = sbx_check_fields(obj, sbx_install_fields, NULL, why);

    cJSON_Delete(obj);

    if (args == NULL) {
        return NULL;
    }

    if (cJSON_GetObjectItemCaseSensitive(args, "manager") == NULL
        || cJSON_GetObjectItemCaseSensitive(args, "packages") == NULL)
    {
        cJSON_Delete(args);
        sbx_refuse(why, 400, "invalid_request", "\"manager\" and "
                   "\"packages\" are required");
        return NULL;
    }

    if (cJSON_AddTrueToObject(args, "async") == NULL) {
        cJSON_Delete(args);
        sbx_refuse(why, 500, "internal", "out of memory");
        return NULL;
    }

    return args;
}
