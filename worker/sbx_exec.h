
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Running one command in a session's container.  Backends sit behind
 * sbx_exec_backend_t: the in-container agent, and Docker's exec API when a
 * container has no agent to offer.
 */


#ifndef SBX_EXEC_H
#define SBX_EXEC_H


#include <stddef.h>
#include <stdint.h>

#include "sbx_agent_rpc.h"
#include "sbx_ctx.h"
#include "sbx_demux.h"


typedef struct {
    const sbx_session_rec_t  *session;
    const char               *command;
    const char               *working_dir;
    const char              **env;        /* "NAME=value" strings */
    size_t                    nenv;
    const char               *stdin_data; /* NULL: none */
    size_t                    stdin_len;
    long                      timeout_ms;
} sbx_exec_req_t;


typedef struct {
    const char     *via;         /* the backend's name */
    int             exit_code;   /* meaningful when signal is 0 */
    int             signal;      /* the signal that ended it, or 0 */
    int             timed_out;
    sbx_capture_t   out;
    sbx_capture_t   err;
    int64_t         duration_us; /* the command's wall time */
    int             has_usage;   /* cpu_us and max_rss_kb are known */
    int64_t         cpu_us;
    int64_t         max_rss_kb;
    int             oom_killed;  /* the container's OOM killer struck
                                    while it ran: 1, 0, or -1 unknown */
} sbx_exec_result_t;


typedef struct {
    const char  *name;

    /*
     * Runs req and fills res (the caller frees it with
     * sbx_exec_result_free() whatever the outcome).  An error with code
     * session_lost means that the container is gone or must go; nothing
     * is cleaned up here.  SBX_DECLINED: this backend cannot reach the
     * container and ran nothing.
     */
    int (*run)(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
               sbx_exec_result_t *res, sbx_error_t *err);
} sbx_exec_backend_t;


extern const sbx_exec_backend_t  sbx_exec_agent_backend;
extern const sbx_exec_backend_t  sbx_exec_docker_backend;


/* Runs req through the agent, or through docker exec when it declines. */
int sbx_exec_run(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
    sbx_exec_result_t *res, sbx_error_t *err);
void sbx_exec_result_free(sbx_exec_result_t *res);


#endif /* SBX_EXEC_H */
