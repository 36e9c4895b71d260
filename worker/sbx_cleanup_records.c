
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The records step of a cleanup pass: a session record whose container is
 * gone is dropped, with a "lost" mark for the session's next call.  Only
 * records of this instance are looked at (their container name is this
 * instance's hash of the session): sandboxd hosts sharing a redis_prefix
 * must each have an instance of their own.
 */


#include <string.h>

#include "sbx_agent.h"
#include "sbx_cleanup_steps.h"
#include "sbx_log.h"
#include "sbx_session.h"
#include "sbx_store_gc.h"


typedef struct {
    sbx_ctx_t  *ctx;
    cJSON      *list;
    int         dropped;
    int         failed;
} sbx_cleanup_records_t;


/*
 * The record still names container_id (the stripe is held): drops it
 * when Docker says the container does not exist.
 */
static void
sbx_cleanup_record_gone(sbx_cleanup_records_t *cr, const char *user,
    const sbx_session_rec_t *rec)
{
    sbx_ctx_t    *ctx = cr->ctx;
    sbx_error_t   err;
    long          pid;
    int           agent, dropped;

    if (sbx_docker_inspect_init(&ctx->docker, rec->container_id, &pid,
                                &agent, &err)
        == SBX_OK
        || strcmp(err.code, SBX_E_SESSION_LOST) != 0)
    {
        /* it exists (made since the listing), or Docker cannot tell */
        return;
    }

    if (sbx_store_drop_lost(&ctx->store, user, rec->session_id,
                            rec->container_id, SBX_LOST_CONTAINER_GONE,
                            &dropped, &err)
        != SBX_OK)
    {
        sbx_log_warn("cleanup: redis failed (%s), pass skipped", err.msg);
        cr->failed = 1;
        return;
    }

    if (dropped) {
        sbx_log_info("cleanup: dropped session \"%s\": its container %s "
                     "is gone", rec->session_id, rec->container_name);
        sbx_agent_forget(rec->container_name);
        cr->dropped++;
    }
}


static int
sbx_cleanup_record(void *data, const char *user, const char *session_id)
{
    sbx_cleanup_records_t  *cr = data;
    sbx_ctx_t              *ctx = cr->ctx;
    sbx_session_rec_t       rec;
    sbx_error_t             err;
    char                    name[SBX_CONTAINER_NAME_LEN + 1];
    int                     found;

    if (sbx_cleanup_stopped()) {
        return SBX_ERR;
    }

    if (sbx_container_name(ctx->conf->instance, user, session_id, name)
        != SBX_OK)
    {
        return SBX_OK;
    }

    sbx_session_lock(user, session_id);

    if (sbx_store_get(&ctx->store, user, session_id, &rec, &found, &err)
        != SBX_OK)
    {
        sbx_log_warn("cleanup: redis failed (%s), pass skipped", err.msg);
        cr->failed = 1;

    } else if (found && strcmp(rec.container_name, name) == 0
               && !sbx_cleanup_listed(cr->list, rec.container_id, NULL))
    {
        sbx_cleanup_record_gone(cr, user, &rec);
    }

    sbx_session_unlock(user, session_id);

    return cr->failed ? SBX_ERR : SBX_OK;
}


int
sbx_cleanup_records(sbx_ctx_t *ctx, cJSON *list)
{
    sbx_cleanup_records_t  cr;
    sbx_error_t            err;

    cr.ctx = ctx;
    cr.list = list;
    cr.dropped = 0;
    cr.failed = 0;

    if (sbx_store_scan_records(&ctx->store, sbx_cleanup_record, &cr, &err)
        != SBX_OK
        && !cr.failed && !sbx_cleanup_stopped())
    {
        sbx_log_warn("cleanup: cannot scan the session records: %s",
                     err.msg);
        return -1;
    }

    return cr.failed ? -1 : cr.dropped;
}
