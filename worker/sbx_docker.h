
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The Docker Engine API client (libcurl, API v1.41).  One client per
 * thread: its easy handle keeps the connection to dockerd alive.  Every
 * call tells "Docker did not answer" (docker_unavailable) from "Docker
 * answered with an error" (sandbox_error) and keeps the HTTP status in
 * status.  Docker's own error text may name host paths: it is logged at
 * warn, never put in an error a client sees.
 */


#ifndef SBX_DOCKER_H
#define SBX_DOCKER_H


#include <stddef.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "sbx_config.h"
#include "sbx_util.h"


#define SBX_LABEL_MANAGED   "io.ngx-sandbox.managed"
#define SBX_LABEL_INSTANCE  "io.ngx-sandbox.instance"
#define SBX_LABEL_USER      "io.ngx-sandbox.user"
#define SBX_LABEL_SESSION   "io.ngx-sandbox.session"
#define SBX_LABEL_CREATED   "io.ngx-sandbox.created"
#define SBX_LABEL_RUN       "io.ngx-sandbox.run"
#define SBX_LABEL_POOL      "io.ngx-sandbox.pool"
#define SBX_LABEL_WORKSPACE "io.ngx-sandbox.workspace"


/*
 * What sets an install helper's container apart from a run's
 * (sbx_ops_install.c): its image, its network, the session's /workspace
 * volume, and the operator's offline package directories (empty: none),
 * mounted read-only at /wheels and /npm-cache.
 */
typedef struct {
    const char  *image;
    const char  *network;
    const char  *workspace;
    const char  *wheelhouse;
    const char  *npm_cache;
} sbx_docker_helper_t;


typedef size_t (*sbx_docker_sink_pt)(char *p, size_t size, size_t n,
    void *data);


typedef struct {
    const sbx_config_t  *conf;
    CURL                *curl;       /* created on first use */
    long                 status;     /* HTTP status of the last call */
    int                  timed_out;  /* the last call hit its deadline */
    const char          *req_id;     /* the request's id for logs, or NULL */
} sbx_docker_t;


void sbx_docker_init(sbx_docker_t *dk, const sbx_config_t *conf);
void sbx_docker_cleanup(sbx_docker_t *dk);

/*
 * Sends one request (json may be NULL) and hands the response body to
 * sink.  Returns SBX_OK once Docker answered, whatever the status; SBX_ERR
 * with docker_unavailable when it did not (timed_out tells a deadline).
 */
int sbx_docker_request(sbx_docker_t *dk, const char *method,
    const char *path, const char *json, long timeout_ms,
    sbx_docker_sink_pt sink, void *sink_data, sbx_error_t *err);

/*
 * A JSON call: body may be NULL.  On a 2xx answer *out (when out is not
 * NULL) receives the parsed body or NULL for an empty one; the caller
 * frees it.  Any other status is SBX_ERR with sandbox_error and a fixed
 * message; Docker's message is logged.
 */
int sbx_docker_call(sbx_docker_t *dk, const char *method, const char *path,
    cJSON *body, long timeout_ms, cJSON **out, sbx_error_t *err);

/*
 * Formats a request path into buf; SBX_ERR (internal) when it does not
 * fit, so that a truncated path is never sent.
 */
int sbx_docker_path(char *buf, size_t len, sbx_error_t *err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* GET /_ping with the given deadline. */
int sbx_docker_ping(sbx_docker_t *dk, long timeout_ms, sbx_error_t *err);

/* The environment of a sandbox container and of every command in it. */
extern const char  *sbx_container_env[];

/*
 * Creates and starts the container of (user, session) named name, with
 * every isolation setting; reuses a container of that name when its labels
 * say it is this very session.  With agent_run (the host directory of its
 * agent channel) the agent is its PID 1, else tini and "sleep infinity".
 * With persist, /workspace is the session's named volume, not a tmpfs.
 * Writes its id to id (65 bytes).  A container that fails to start is
 * removed.
 */
int sbx_docker_create_session(sbx_docker_t *dk, const char *user,
    const char *session_id, const char *name, const char *agent_run,
    int persist, char *id, sbx_error_t *err);

/*
 * Creates and starts the container of a one-shot run: isolated as a
 * session's (tmpfs /workspace, never a volume), labelled with the run's
 * id instead of a session's, with its own memory limit (bytes).  With
 * user NULL, a warm pool's container: no user label, and a pool label
 * of run_id's value as well (sbx_pool.h).  With helper, an install
 * helper's container instead: see sbx_docker_helper_t.
 */
int sbx_docker_create_run(sbx_docker_t *dk, const char *user,
    const char *run_id, const char *name, const char *agent_run,
    uint64_t memory, const sbx_docker_helper_t *helper, char *id,
    sbx_error_t *err);

/*
 * The name of the volume at /workspace of the container id into vol (len
 * bytes); conflict when its /workspace is no volume (a session made
 * before install helpers existed).
 */
int sbx_docker_workspace_volume(sbx_docker_t *dk, const char *id, char *vol,
    size_t len, sbx_error_t *err);
/*
 * Inspects a container: *pid is its PID 1 on the host (0 unless running),
 * *agent whether that is the agent.  A missing container is session_lost.
 */
int sbx_docker_inspect_init(sbx_docker_t *dk, const char *id, long *pid,
    int *agent, sbx_error_t *err);

/*
 * Removes the volume named volume (*removed says whether there was one;
 * one in use is sandbox_error, Docker refuses).
 */
int sbx_docker_delete_volume(sbx_docker_t *dk, const char *volume,
    int *removed, sbx_error_t *err);

/*
 * Removes the workspace volume of the container named name (*removed says
 * whether there was one).
 */
int sbx_docker_remove_volume(sbx_docker_t *dk, const char *name,
    int *removed, sbx_error_t *err);

/* Force-removes a container with its anonymous volumes; gone is fine. */
int sbx_docker_remove(sbx_docker_t *dk, const char *id, sbx_error_t *err);

/* Replaces Docker's text of a sandbox_error with a message for API users. */
void sbx_docker_public_error(sbx_error_t *err, const char *message);

/* The containers this instance manages (GET /containers/json), an array. */
int sbx_docker_list_managed(sbx_docker_t *dk, cJSON **list,
    sbx_error_t *err);

/*
 * This instance's labelled workspace volumes (GET /volumes), an array;
 * with dangling, only those no container uses.
 */
int sbx_docker_list_volumes(sbx_docker_t *dk, int dangling, cJSON **list,
    sbx_error_t *err);


#endif /* SBX_DOCKER_H */
