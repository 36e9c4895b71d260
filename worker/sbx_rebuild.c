
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <stdio.h>
#include <string.h>

#include "sbx_ctx.h"
#include "sbx_log.h"
#include "sbx_rebuild.h"
#include "sbx_session.h"
#include "sbx_store_mem.h"


static const char *
sbx_rebuild_str(cJSON *obj, const char *name)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


/*
 * The record a container stands for: 1 when it is a running session
 * container of this instance, labelled and named consistently.
 */
static int
sbx_rebuild_rec(const sbx_config_t *conf, cJSON *c, const char **user,
    sbx_session_rec_t *rec)
{
    cJSON       *labels, *names;
    const char  *sid, *created, *id, *state, *name;
    uint64_t     t;

    labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
    names = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "Names"),
                               0);
    id = sbx_rebuild_str(c, "Id");
    state = sbx_rebuild_str(c, "State");
    *user = sbx_rebuild_str(labels, SBX_LABEL_USER);
    sid = sbx_rebuild_str(labels, SBX_LABEL_SESSION);
    created = sbx_rebuild_str(labels, SBX_LABEL_CREATED);
    name = cJSON_IsString(names) ? names->valuestring : NULL;

    if (id == NULL || !sbx_valid_docker_id(id) || state == NULL
        || strcmp(state, "running") != 0 || *user == NULL
        || !sbx_user_id_valid(*user, strlen(*user)) || sid == NULL
        || !sbx_session_id_valid(sid, strlen(sid)) || created == NULL
        || sbx_parse_uint(created, &t) != SBX_OK || t >= INT64_MAX
        || name == NULL || name[0] != '/')
    {
        return 0;
    }

    memset(rec, 0, sizeof(*rec));

    /* a container named otherwise is not this session's: the cleanup's */
    if (sbx_container_name(conf->instance, *user, sid, rec->container_name)
        != SBX_OK
        || strcmp(rec->container_name, name + 1) != 0)
    {
        return 0;
    }

    snprintf(rec->session_id, sizeof(rec->session_id), "%s", sid);
    snprintf(rec->container_id, sizeof(rec->container_id), "%s", id);
    rec->created_at = (int64_t) t;
    rec->last_used_at = sbx_time_now();

    return 1;
}


/*
 * Writes the record unless the session has one; 1 when written.  No
 * request changes the store meanwhile: it is not ready until this is done.
 */
static int
sbx_rebuild_put(sbx_ctx_t *ctx, const char *user,
    const sbx_session_rec_t *rec, sbx_error_t *err)
{
    int  written, rc;

    sbx_session_lock(user, rec->session_id);
    rc = sbx_store_mem_adopt(&ctx->store, user, rec, &written, err);
    sbx_session_unlock(user, rec->session_id);

    return rc != SBX_OK ? -1 : written;
}


int
sbx_rebuild_sessions(const sbx_config_t *conf, sbx_error_t *err)
{
    sbx_ctx_t          ctx;
    sbx_session_rec_t  rec;
    cJSON             *list, *c;
    const char        *user;
    int                n, rc;

    sbx_ctx_init(&ctx, conf);

    n = -1;

    if (sbx_docker_list_managed(&ctx.docker, &list, err) != SBX_OK) {
        sbx_log_warn("memory store: cannot list containers to rebuild the "
                     "sessions (%s); will try again", err->msg);
        err->code = SBX_E_STORE_UNAVAILABLE;
        goto done;
    }

    n = 0;

    cJSON_ArrayForEach(c, list) {
        if (!sbx_rebuild_rec(conf, c, &user, &rec)) {
            continue;
        }

        rc = sbx_rebuild_put(&ctx, user, &rec, err);
        if (rc < 0) {
            n = -1;
            break;
        }

        n += rc;
    }

    cJSON_Delete(list);

    if (n >= 0) {
        sbx_store_mem_rebuilt();
        sbx_log_info("memory store: %d session(s) rebuilt from Docker's "
                     "labels", n);
    }

done:

    sbx_docker_cleanup(&ctx.docker);
    sbx_store_cleanup(&ctx.store);

    return n;
}
