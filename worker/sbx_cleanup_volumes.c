
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The volumes step of a cleanup pass.  A session's shared tmpfs that no
 * container uses any more is removed at once.  A persistent workspace
 * outlives its container on purpose (the same session id mounts it
 * again), so neither an expired session nor a lost record is reason
 * enough to remove it: a labelled volume goes once it has been seen,
 * pass after pass, with neither a container nor a session record for
 * cleanup_volume_max_idle (0: never).  The clock is kept in the store; a
 * store that lost its data restarts it, which only keeps a volume longer.
 */


#include <stdio.h>
#include <string.h>

#include "sbx_cleanup_steps.h"
#include "sbx_log.h"
#include "sbx_session.h"
#include "sbx_store_gc.h"


/*
 * The container name of a labelled volume, when the volume is this
 * instance's workspace volume of the session its labels name.
 */
static int
sbx_cleanup_volume_owner(sbx_ctx_t *ctx, cJSON *v, const char **user,
    const char **sid, char *name)
{
    cJSON  *n;
    char    expect[SBX_CONTAINER_NAME_LEN + 4];

    n = cJSON_GetObjectItemCaseSensitive(v, "Name");
    *user = sbx_cleanup_label(v, SBX_LABEL_USER);
    *sid = sbx_cleanup_label(v, SBX_LABEL_SESSION);

    if (!cJSON_IsString(n) || *user == NULL || *sid == NULL
        || sbx_container_name(ctx->conf->instance, *user, *sid, name)
           != SBX_OK)
    {
        return SBX_ERR;
    }

    snprintf(expect, sizeof(expect), "%s-ws", name);

    return strcmp(n->valuestring, expect) == 0 ? SBX_OK : SBX_ERR;
}


/* Removes an idle volume unless its session came back; the stripe. */
static int
sbx_cleanup_volume_remove(sbx_ctx_t *ctx, const char *user,
    const char *sid, const char *name, const char *volume)
{
    sbx_error_t  err;
    int          exists, removed, rc;

    sbx_session_lock(user, sid);

    rc = sbx_store_exists(&ctx->store, user, sid, &exists, &err);

    if (rc != SBX_OK) {
        sbx_log_warn("cleanup: redis failed (%s), pass skipped", err.msg);
        rc = -1;

    } else if (exists) {
        rc = 0;

    } else if (sbx_docker_remove_volume(&ctx->docker, name, &removed, &err)
               != SBX_OK)
    {
        /* in use by a container made since the listing: Docker refuses */
        sbx_log_warn("cleanup: cannot remove volume %s: %s", volume,
                     err.msg);
        rc = 0;

    } else {
        if (removed) {
            sbx_log_info("cleanup: removed volume %s of session \"%s\" "
                         "(unused for cleanup_volume_max_idle)", volume, sid);
        }

        (void) sbx_store_volume_used(&ctx->store, volume, &err);
        rc = removed;
    }

    sbx_session_unlock(user, sid);

    return rc;
}


/* One volume: 1 when removed, 0 when kept, -1 when Redis failed. */
static int
sbx_cleanup_volume(sbx_ctx_t *ctx, cJSON *v, cJSON *list, int64_t now)
{
    const char   *user, *sid, *volume, *created;
    char          name[SBX_CONTAINER_NAME_LEN + 1];
    int           exists;
    int64_t       since;
    sbx_error_t   err;

    if (sbx_cleanup_volume_owner(ctx, v, &user, &sid, name) != SBX_OK) {
        return 0;
    }

    volume = cJSON_GetObjectItemCaseSensitive(v, "Name")->valuestring;
    created = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                       v, "CreatedAt"));

    exists = sbx_cleanup_listed(list, NULL, name);

    if (!exists
        && sbx_store_exists(&ctx->store, user, sid, &exists, &err) != SBX_OK)
    {
        goto failed;
    }

    if (exists) {
        return sbx_store_volume_used(&ctx->store, volume, &err) == SBX_OK
               ? 0 : -1;
    }

    if (sbx_store_volume_idle(&ctx->store, volume,
                              created ? created : "", now, &since, &err)
        != SBX_OK)
    {
        goto failed;
    }

    if (now - since < (int64_t) ctx->conf->cleanup_volume_max_idle) {
        return 0;
    }

    return sbx_cleanup_volume_remove(ctx, user, sid, name, volume);

failed:

    sbx_log_warn("cleanup: redis failed (%s), pass skipped", err.msg);
    return -1;
}


/*
 * A session's shared tmpfs (sbx_docker.c) goes with its container, unless
 * an install helper still held it then: once no container uses it, it
 * holds no data and goes.  The number removed, or -1.
 */
static int
sbx_cleanup_shared_tmpfs(sbx_ctx_t *ctx)
{
    cJSON        *vols, *v, *name;
    const char   *ws;
    sbx_error_t   err;
    int           removed, gone;

    if (sbx_docker_list_volumes(&ctx->docker, 1, &vols, &err) != SBX_OK) {
        sbx_log_warn("cleanup: cannot list volumes: %s", err.msg);
        return -1;
    }

    removed = 0;

    cJSON_ArrayForEach(v, vols) {
        name = cJSON_GetObjectItemCaseSensitive(v, "Name");
        ws = sbx_cleanup_label(v, SBX_LABEL_WORKSPACE);

        if (!cJSON_IsString(name) || ws == NULL || strcmp(ws, "tmpfs") != 0)
        {
            continue;
        }

        /* a container made since the listing makes Docker refuse: kept */
        if (sbx_docker_delete_volume(&ctx->docker, name->valuestring, &gone,
                                     &err)
            == SBX_OK && gone)
        {
            sbx_log_info("cleanup: removed unused workspace tmpfs %.12s",
                         name->valuestring);
            removed++;
        }
    }

    cJSON_Delete(vols);

    return removed;
}


int
sbx_cleanup_volumes(sbx_ctx_t *ctx, cJSON *list, int64_t now)
{
    cJSON        *vols, *v;
    sbx_error_t   err;
    int           removed, rc;

    removed = sbx_cleanup_shared_tmpfs(ctx);

    if (removed < 0 || ctx->conf->cleanup_volume_max_idle == 0) {
        return removed;
    }

    if (sbx_docker_list_volumes(&ctx->docker, 0, &vols, &err) != SBX_OK) {
        sbx_log_warn("cleanup: cannot list volumes: %s", err.msg);
        return -1;
    }

    cJSON_ArrayForEach(v, vols) {
        if (sbx_cleanup_stopped()) {
            break;
        }

        rc = sbx_cleanup_volume(ctx, v, list, now);
        if (rc < 0) {
            removed = -1;
            break;
        }
        removed += rc;
    }

    cJSON_Delete(vols);

    return removed;
}
