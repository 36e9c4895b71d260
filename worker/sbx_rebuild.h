
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The memory store's view of the sessions, rebuilt from Docker's labels
 * when sandboxd starts: a restarted sandboxd still serves the sessions
 * its containers hold, and its cleanup loop still reaps them when they
 * expire.
 */


#ifndef SBX_REBUILD_H
#define SBX_REBUILD_H


#include "sbx_config.h"
#include "sbx_util.h"


/*
 * Each running container of this instance whose labels name a user, a
 * session and its creation time, and whose name is that session's,
 * becomes a session record again (created_at from the label, last used
 * now: a full TTL from the restart), unless the session has one already.
 * Then marks the memory store ready.  Returns how many records were
 * made, or -1 with err set when Docker did not answer (the store stays
 * not ready, and nothing is reaped meanwhile).
 */
int sbx_rebuild_sessions(const sbx_config_t *conf, sbx_error_t *err);


#endif /* SBX_REBUILD_H */
