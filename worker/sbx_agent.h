
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The channels to the in-container agents (docs/PROTOCOL.md, "The
 * in-container agent").  For each container sandboxd listens on a unix
 * socket in a root-owned host directory that is bind-mounted read-only
 * into the container; the agent, its PID 1, connects out and keeps a few
 * idle connections open.  One thread accepts them all, keeping only those
 * whose peer is the container's PID 1; an exec takes one, uses it for one
 * request and closes it.
 */


#ifndef SBX_AGENT_H
#define SBX_AGENT_H


#include <sys/types.h>

#include "sbx_ctx.h"


#define SBX_AGENT_MOUNT_BIN  "/.sbx/agent"
#define SBX_AGENT_MOUNT_RUN  "/.sbx/run"
#define SBX_AGENT_SOCKET     "agent.sock"


/*
 * Makes <agent_dir>/<instance> (root-owned, not writable by others),
 * installs a copy of the agent binary in it and starts the accepting
 * thread.  Does nothing when the agent is off.  On error writes a message
 * to err.
 */
int sbx_agent_start(const sbx_config_t *conf, char *err, size_t errlen);

/* Stops the accepting thread and closes every channel. */
void sbx_agent_stop(void);

/* Whether new containers get the agent. */
int sbx_agent_enabled(void);

/*
 * The host paths a new container mounts: the agent binary and the
 * container's own directory (buf, len bytes).
 */
const char *sbx_agent_binary(void);
int sbx_agent_run_dir(const char *name, char *buf, size_t len);

/*
 * Before a container named name is created: makes its directory and
 * listens in it; a channel of an earlier container of that name is
 * closed first.
 */
int sbx_agent_prepare(const char *name, sbx_error_t *err);

/*
 * The container started: pid is its PID 1 on the host, 0 when it runs no
 * agent.  Connections are accepted from then on.
 */
void sbx_agent_attach(const char *name, const char *container_id, pid_t pid);

/* Closes the channel of a container and removes its directory. */
void sbx_agent_forget(const char *name);

/*
 * Removes the directories of this instance that belong to no channel and
 * whose name is not in keep (container names, NULL-terminated): what a
 * sandboxd that stopped abruptly left behind.
 */
void sbx_agent_sweep(const char **keep);

/*
 * Whether the agent of the container named name is up, without waiting:
 * it has an idle connection open, or its process is still there.  A
 * container that died (its agent, PID 1, with it) is not.  Closed idle
 * connections are dropped on the way.
 */
int sbx_agent_ready(const char *name);

/*
 * A connection to the agent of rec's container, waiting up to wait_ms for
 * one.  A container this process has no channel for (sandboxd restarted
 * since it was created) is inspected and its channel opened again.
 * Returns -1 when the container has no agent or none answered in time:
 * the caller falls back to docker exec.
 */
int sbx_agent_take(sbx_ctx_t *ctx, const sbx_session_rec_t *rec,
    long wait_ms);


#endif /* SBX_AGENT_H */
