
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Sessions: a Redis record plus a running container.  Creation and removal
 * of one (user, session) are serialized by a striped mutex, so that two
 * concurrent requests never create two containers for one session.
 */


#ifndef SBX_SESSION_H
#define SBX_SESSION_H


#include "sbx_ctx.h"


void sbx_session_lock(const char *user, const char *session_id);
void sbx_session_unlock(const char *user, const char *session_id);

/*
 * Returns the session (creating its id when session_id is NULL, its
 * container and record when it does not exist) and refreshes its TTL.  A
 * new session's /workspace is a named volume when persist is 1, a tmpfs
 * when 0, and as workspace_persist_volumes says when -1.
 * Redis is read before any container is created; a record that cannot be
 * written removes the new container again.
 */
int sbx_session_acquire(sbx_ctx_t *ctx, const char *user,
    const char *session_id, int persist, sbx_session_rec_t *rec,
    int *created, sbx_error_t *err);

/* Reads and refreshes a session; not_found when there is none. */
int sbx_session_get(sbx_ctx_t *ctx, const char *user, const char *session_id,
    sbx_session_rec_t *rec, sbx_error_t *err);

/*
 * Refreshes the session's TTL after a long use (an exec), so that it counts
 * from the end of the use; best effort, a record already gone stays gone.
 */
void sbx_session_touch(sbx_ctx_t *ctx, const char *user,
    const char *session_id);

/* Removes the container, then the record; not_found when there is none. */
int sbx_session_delete(sbx_ctx_t *ctx, const char *user,
    const char *session_id, sbx_error_t *err);

/*
 * The session's container is gone: removes what is left of it and its
 * record (when it still names that container), best effort, and sets err
 * to session_lost.
 */
void sbx_session_lost(sbx_ctx_t *ctx, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err);


/*
 * Whether the session's container still runs (one Docker inspect): a
 * session that an operation would report without using its container
 * (session.get, an existing session.create) is never a silent success.
 * A container gone or stopped (dockerd restarted, say) is handled as
 * sbx_session_lost() does: session_lost.  Docker down: docker_unavailable.
 */
int sbx_session_check(sbx_ctx_t *ctx, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err);

#endif /* SBX_SESSION_H */
