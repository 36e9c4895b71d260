
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * One request to a container's agent and its answer (docs/PROTOCOL.md,
 * "The in-container agent"): an idle connection is taken, the request
 * frame written, the response frame read within bounds and a deadline.
 * What the agent answers is the caller's to check; what went wrong on the
 * way is turned into the protocol's errors here.
 */


#ifndef SBX_AGENT_RPC_H
#define SBX_AGENT_RPC_H


#include "sbx_ctx.h"
#include "sbx_kv.h"


#define SBX_AGENT_REQUEST_MAX   (1024 * 1024)
#define SBX_AGENT_RESPONSE_MAX  4096

/* A backend that cannot reach the container ran nothing: the next may. */
#define SBX_DECLINED  1


typedef struct {
    char      header[SBX_AGENT_RESPONSE_MAX];
    size_t    header_len;
    char     *body;            /* malloc'ed, NULL when empty */
    size_t    body_len;
} sbx_agent_reply_t;


/*
 * Sends req (fields) with body to the agent of rec's container and reads
 * its reply, whose body may be at most body_max bytes, within answer_ms
 * after the request is sent.  SBX_DECLINED: the container has no agent,
 * nothing ran.  SBX_ERR: err says why; session_lost when the container is
 * gone or the agent must not be trusted again (it broke the protocol, or
 * hung past the deadline), agent_failed when its process died before it
 * answered.
 */
int sbx_agent_call(sbx_ctx_t *ctx, const sbx_session_rec_t *rec,
    const sbx_kv_buf_t *req, const void *body, size_t body_len,
    long answer_ms, size_t body_max, sbx_agent_reply_t *reply,
    sbx_error_t *err);

void sbx_agent_reply_free(sbx_agent_reply_t *reply);

/* The agent's answer breaks the protocol (why): session_lost. */
int sbx_agent_broken(const sbx_session_rec_t *rec, const char *why,
    sbx_error_t *err);

/*
 * Copies a value an agent sent into dst (size bytes), for a log line or a
 * comparison: printable ASCII only.
 */
void sbx_agent_copy_value(char *dst, size_t size, const sbx_kv_t *kv);


#endif /* SBX_AGENT_RPC_H */
