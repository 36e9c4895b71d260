
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The API's JSON bodies made from op results, in plain C on cJSON: the
 * module answers requests with them, and sandboxd posts a finished task
 * to its callback URL with the very same text (one renderer, never two).
 */


#ifndef SBX_RENDER_H
#define SBX_RENDER_H


#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>


#define SBX_RENDER_OK         0
#define SBX_RENDER_NOMEM     -1
#define SBX_RENDER_MALFORMED -2     /* the op result breaks the protocol */


/* Bytes that become a JSON string, or base64 when they are not UTF-8. */
typedef struct {
    const char     *encoding_key;
    const char     *key;
    const uint8_t  *data;
    size_t          len;
    int             utf8;           /* set by sbx_render_splice_len() */
} sbx_blob_t;


/* A rendered body: malloc'ed, for the caller to free(). */
typedef struct {
    char    *data;
    size_t   len;
} sbx_text_t;


/*
 * The room the object text scalars (an object's JSON, "{...}") takes with
 * the blobs spliced in before its closing brace; sets each blob's utf8.
 */
size_t sbx_render_splice_len(const char *scalars, sbx_blob_t *blobs,
    size_t n);

/*
 * Writes it: {..., "<encoding_key>": "utf8"|"base64", "<key>": "..."},
 * and returns the position after it.
 */
uint8_t *sbx_render_splice(uint8_t *out, const char *scalars,
    const sbx_blob_t *blobs, size_t n);

/* Copies from->name to to->name when present and of the type: 0 or -1. */
int sbx_json_copy(cJSON *to, cJSON *from, const char *name,
    cJSON_bool (*is_type)(const cJSON *));

/* Copies the member when it is of the type, else adds it as null. */
int sbx_json_copy_or_null(cJSON *to, cJSON *from, const char *name,
    cJSON_bool (*is_type)(const cJSON *));

/*
 * POST /execute's body from an "exec" result and its body (stdout, then
 * stderr).
 */
int sbx_render_exec(cJSON *result, const uint8_t *body, size_t len,
    sbx_text_t *out);

/* POST /run's body from a "run" result and its body (the steps' output). */
int sbx_render_run(cJSON *result, const uint8_t *body, size_t len,
    sbx_text_t *out);

/*
 * GET /tasks/{id}'s body from a "task.get" result (docs/PROTOCOL.md) and
 * its body (the output of the task's op); a "status_url" member the
 * caller added to the result is kept.
 */
int sbx_render_task(cJSON *task, const uint8_t *body, size_t len,
    sbx_text_t *out);


#endif /* SBX_RENDER_H */
