
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The header encoding of the agent protocol (docs/PROTOCOL.md, "The
 * in-container agent"): a run of fields, each "name=value" and a NUL byte.
 * Every value the agent exchanges (argv, environment, paths, numbers) is a
 * C string that cannot hold a NUL, so no escaping exists.  Shared by
 * sandboxd and the agent; plain C11, no dependency, no allocation on the
 * reading side.
 */


#ifndef SBX_KV_H
#define SBX_KV_H


#include <stddef.h>
#include <stdint.h>


#define SBX_KV_NAME_MAX  32


typedef struct {
    const char  *name;       /* not NUL-terminated */
    size_t       name_len;
    const char  *value;      /* NUL-terminated in the buffer */
    size_t       value_len;
} sbx_kv_t;


typedef struct {
    const char  *p;
    const char  *end;
} sbx_kv_iter_t;


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
    size_t   max;            /* the encoded fields never exceed it */
    int      failed;         /* out of memory or over max: data is void */
} sbx_kv_buf_t;


void sbx_kv_iter_init(sbx_kv_iter_t *it, const void *data, size_t len);

/*
 * Reads the next field: 1 with *kv filled, 0 at the end, -1 when the rest
 * is malformed (no NUL terminator, no "=", a name of other than
 * 1..SBX_KV_NAME_MAX characters of [a-z0-9_]).
 */
int sbx_kv_next(sbx_kv_iter_t *it, sbx_kv_t *kv);

/* Whether kv's name is name. */
int sbx_kv_is(const sbx_kv_t *kv, const char *name);

/*
 * Reads kv's value as a decimal number of at most max (no sign, no
 * leading zero but "0", no space): 0 on success, -1 otherwise.
 */
int sbx_kv_number(const sbx_kv_t *kv, uint64_t max, uint64_t *out);

/* A buffer that refuses to grow over max bytes. */
void sbx_kv_buf_init(sbx_kv_buf_t *b, size_t max);
void sbx_kv_buf_free(sbx_kv_buf_t *b);

/*
 * Appends "name=value\0"; a value holding a NUL (value_len counts it) or a
 * bad name sets failed, as does running out of memory or over max.
 */
void sbx_kv_add(sbx_kv_buf_t *b, const char *name, const char *value,
    size_t value_len);
void sbx_kv_add_str(sbx_kv_buf_t *b, const char *name, const char *value);
void sbx_kv_add_number(sbx_kv_buf_t *b, const char *name, uint64_t v);


#endif /* SBX_KV_H */
