
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Running one command in a session's container.  Backends sit behind
 * sbx_exec_backend_t: Docker's exec API today, an in-container agent later.
 */


#ifndef SBX_EXEC_H
#define SBX_EXEC_H


#include <stddef.h>
#include <stdint.h>

#include "sbx_ctx.h"
#include "sbx_demux.h"


typedef struct {
    const char   *container_id;
    const char   *command;
    const char   *working_dir;
    const char  **env;           /* "NAME=value" strings */
    size_t        nenv;
    long          timeout_ms;
} sbx_exec_req_t;


typedef struct {
    int            exit_code;    /* meaningful when !killed */
    int            killed;       /* by SIGKILL */
    int            timed_out;
    sbx_capture_t  out;
    sbx_capture_t  err;
    int64_t        duration_ms;
} sbx_exec_result_t;


typedef struct {
    const char  *name;

    /*
     * Runs req and fills res (the caller frees it with
     * sbx_exec_result_free() whatever the outcome).  An error with code
     * session_lost means that the container is gone; nothing is cleaned
     * up here.
     */
    int (*run)(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
               sbx_exec_result_t *res, sbx_error_t *err);
} sbx_exec_backend_t;


extern const sbx_exec_backend_t  sbx_exec_docker_backend;


int sbx_exec_run(sbx_ctx_t *ctx, const sbx_exec_req_t *req,
    sbx_exec_result_t *res, sbx_error_t *err);
void sbx_exec_result_free(sbx_exec_result_t *res);


#endif /* SBX_EXEC_H */
