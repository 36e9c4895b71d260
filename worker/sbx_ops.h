
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Operations (docs/PROTOCOL.md): checks a request header, dispatches the
 * op, builds the response header and body.
 */


#ifndef SBX_OPS_H
#define SBX_OPS_H


#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <cjson/cJSON.h>

#include "sbx_ctx.h"
#include "sbx_exec.h"


typedef struct {
    cJSON              *header;     /* the response header */
    struct iovec        body[2];
    size_t              nbody;
    sbx_exec_result_t   exec;       /* owns the body of an exec */
    void               *owned;      /* or owns it (freed with it) */
    int                 close;      /* close the connection after it */
} sbx_response_t;


/*
 * Handles one request frame: header_len bytes of JSON header and its
 * body.  Always fills resp; resp->close asks for the connection to be
 * closed.
 */
void sbx_ops_handle(sbx_ctx_t *ctx, const char *header, size_t header_len,
    const char *body, size_t body_len, sbx_response_t *resp);

/* An error response (id may be NULL). */
void sbx_ops_error_response(sbx_response_t *resp, const char *id,
    const char *code, const char *message);

void sbx_response_free(sbx_response_t *resp);


#endif /* SBX_OPS_H */
