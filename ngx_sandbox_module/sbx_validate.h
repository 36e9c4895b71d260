
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Validation of API request bodies and identifiers.  Plain C on cJSON, so
 * that it is unit tested without nginx; sandboxd checks the op arguments
 * again on its side.
 */


#ifndef SBX_VALIDATE_H
#define SBX_VALIDATE_H


#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>


#define SBX_SESSION_ID_MAX     128
#define SBX_USER_ID_MAX        256
#define SBX_COMMAND_MAX        65536
#define SBX_STDIN_MAX          (1024 * 1024)
#define SBX_WORKING_DIR_MAX    4096
#define SBX_ENV_MAX            128
#define SBX_ENV_NAME_MAX       256
#define SBX_ENV_VALUE_MAX      32768
#define SBX_WS_PATH_MAX        4096
#define SBX_WS_NAME_MAX        255
#define SBX_RUN_CODE_MAX       (256 * 1024)     /* code, or all files */
#define SBX_RUN_STDIN_MAX      (128 * 1024)
#define SBX_RUN_FILES_MAX      32
#define SBX_RUN_ARGS_MAX       64
#define SBX_RUN_ARG_MAX        4096
#define SBX_RUN_LANGUAGE_MAX   32
#define SBX_RUN_COMPILE_MS     30000
#define SBX_CALLBACK_URL_MAX   2048
#define SBX_INSTALL_PACKAGES_MAX  64     /* names in one install */
#define SBX_INSTALL_PACKAGE_MAX   300    /* bytes of one name with its
                                            version */


typedef struct {
    size_t       len;
    const char  *data;
} sbx_str_t;


typedef struct {
    const sbx_str_t  *allowed;          /* NULL: every command is allowed */
    size_t            nallowed;
    uint32_t          timeout_default_ms;
    uint32_t          timeout_max_ms;
} sbx_exec_policy_t;


/* Why a request was refused: the HTTP status, an error code, a message. */
typedef struct {
    int          status;
    const char  *code;
    char         message[256];
} sbx_refusal_t;


int sbx_session_id_valid(const char *p, size_t len);
int sbx_user_id_valid(const char *p, size_t len);
int sbx_env_name_valid(const char *p, size_t len);

/*
 * A workspace path: relative to /workspace, 1..SBX_WS_PATH_MAX bytes of
 * components of 1..SBX_WS_NAME_MAX bytes, none empty, "." or "..", no NUL.
 * With allow_root, "." alone names /workspace itself.  Returns NULL when
 * valid, else what is wrong.
 */
const char *sbx_ws_path_check(const char *p, size_t len, int allow_root);

/* Non-zero when the JSON text holds a NUL byte or a \u0000 escape. */
int sbx_json_has_nul(const char *p, size_t len);

/*
 * Stores in *token the first whitespace-delimited word of a command; returns
 * 0 when the command is blank.
 */
int sbx_command_first_token(const char *cmd, size_t len, sbx_str_t *token);

int sbx_command_allowed(const sbx_exec_policy_t *policy, const char *cmd,
    size_t len);

/*
 * Parse and check a POST /execute body; returns the "exec" op's arguments
 * (the caller frees them with cJSON_Delete), or NULL with *why filled in.
 */
cJSON *sbx_parse_execute(const char *body, size_t len,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);

/* The same for a POST /sessions body, which may be empty. */
cJSON *sbx_parse_session_create(const char *body, size_t len,
    sbx_refusal_t *why);

/*
 * The same for a POST /run body (sbx_validate_run.c): the "run" op's
 * arguments, timeouts in milliseconds, compile_timeout_ms always set.
 */
cJSON *sbx_parse_run(const char *body, size_t len,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);

/*
 * The args of a POST /sessions/{id}/install body: {manager, packages,
 * callback_url?, async: true} (sbx_validate_install.c).
 */
cJSON *sbx_parse_install(const char *body, size_t len, sbx_refusal_t *why);

/* A JSON object of at most len bytes without NUL, or NULL with *why. */
cJSON *sbx_parse_object(const char *body, size_t len, sbx_refusal_t *why);

/* A body member's check: adds what it allows to args, or refuses. */
typedef int (*sbx_field_check_pt)(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);

typedef struct {
    const char          *name;
    sbx_field_check_pt   check;
} sbx_field_t;

/*
 * The args of a body object: each member checked by its field's check
 * (null members skipped), an unknown one refused.  NULL with *why filled
 * in when refused; the caller frees the result.
 */
cJSON *sbx_check_fields(const cJSON *obj, const sbx_field_t *fields,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);

/*
 * "async" (a boolean) and "callback_url" (an http or https URL of at most
 * SBX_CALLBACK_URL_MAX bytes) of an endpoint that runs as a task on
 * request; sbx_check_async_pair() refuses a callback_url without
 * "async": true once the fields are in args.
 */
int sbx_check_async(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
int sbx_check_callback_url(const cJSON *item, cJSON *args,
    const sbx_exec_policy_t *policy, sbx_refusal_t *why);
int sbx_check_async_pair(const cJSON *args, sbx_refusal_t *why);

/* Fills *why; returns -1. */
int sbx_refuse(sbx_refusal_t *why, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));


#endif /* SBX_VALIDATE_H */
