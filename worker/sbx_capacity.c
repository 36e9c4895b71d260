
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_capacity.h"
#include "sbx_log.h"


static pthread_mutex_t   sbx_capacity_mutex = PTHREAD_MUTEX_INITIALIZER;
static char            **sbx_pending;      /* names being created */
static size_t            sbx_npending;
static size_t            sbx_pending_cap;


static int
sbx_capacity_in(const char **names, size_t n, const char *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


size_t
sbx_capacity_count(const char **listed, size_t nlisted,
    const char **pending, size_t npending, const char *name,
    int *listed_has)
{
    size_t  i, n;

    n = nlisted;

    for (i = 0; i < npending; i++) {
        if (!sbx_capacity_in(listed, nlisted, pending[i])) {
            n++;
        }
    }

    *listed_has = sbx_capacity_in(listed, nlisted, name);

    return n;
}


/* The names of a /containers/json answer ("/sbx-..."), without the '/'. */
static const char **
sbx_capacity_names(cJSON *list, size_t *n)
{
    const char  **names;
    cJSON        *c, *v;

    names = calloc((size_t) cJSON_GetArraySize(list) + 1, sizeof(char *));
    if (names == NULL) {
        return NULL;
    }

    *n = 0;

    cJSON_ArrayForEach(c, list) {
        v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "Names"),
                               0);
        if (cJSON_IsString(v) && v->valuestring[0] == '/') {
            names[(*n)++] = v->valuestring + 1;
        }
    }

    return names;
}


/* Adds name to the pending set; the mutex is held. */
static int
sbx_capacity_add(const char *name)
{
    char   **p;
    size_t   cap;

    if (sbx_npending == sbx_pending_cap) {
        cap = sbx_pending_cap ? 2 * sbx_pending_cap : 16;
        p = realloc(sbx_pending, cap * sizeof(char *));
        if (p == NULL) {
            return SBX_ERR;
        }
        sbx_pending = p;
        sbx_pending_cap = cap;
    }

    sbx_pending[sbx_npending] = strdup(name);
    if (sbx_pending[sbx_npending] == NULL) {
        return SBX_ERR;
    }

    sbx_npending++;

    return SBX_OK;
}


/* Counts and admits under the mutex. */
static int
sbx_capacity_admit(sbx_ctx_t *ctx, const char *name, cJSON *list,
    sbx_error_t *err)
{
    const char  **names;
    size_t        nnames, n;
    int           exists;
    uint64_t      max = ctx->conf->max_containers;

    names = sbx_capacity_names(list, &nnames);
    if (names == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    n = sbx_capacity_count(names, nnames, (const char **) sbx_pending,
                           sbx_npending, name, &exists);
    free(names);

    if (!exists && n >= max) {
        sbx_log_warn("max_containers (%llu) reached: a new session is "
                     "refused", (unsigned long long) max);
        sbx_error_set(err, SBX_E_CAPACITY, "this sandbox host is at its "
                      "limit of %llu containers; try again later",
                      (unsigned long long) max);
        return SBX_ERR;
    }

    if (sbx_capacity_add(name) != SBX_OK) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_capacity_reserve(sbx_ctx_t *ctx, const char *name, sbx_error_t *err)
{
    cJSON  *list;
    int     rc;

    if (ctx->conf->max_containers == 0) {
        return SBX_OK;
    }

    pthread_mutex_lock(&sbx_capacity_mutex);

    rc = sbx_docker_list_managed(&ctx->docker, &list, err);

    if (rc == SBX_OK) {
        rc = sbx_capacity_admit(ctx, name, list, err);
        cJSON_Delete(list);
    }

    pthread_mutex_unlock(&sbx_capacity_mutex);

    return rc;
}


void
sbx_capacity_release(sbx_ctx_t *ctx, const char *name)
{
    size_t  i;

    if (ctx->conf->max_containers == 0) {
        return;
    }

    pthread_mutex_lock(&sbx_capacity_mutex);

    for (i = 0; i < sbx_npending; i++) {
        if (strcmp(sbx_pending[i], name) == 0) {
            free(sbx_pending[i]);
            sbx_pending[i] = sbx_pending[--sbx_npending];
            break;
        }
    }

    if (sbx_npending == 0) {
        free(sbx_pending);
        sbx_pending = NULL;
        sbx_pending_cap = 0;
    }

    pthread_mutex_unlock(&sbx_capacity_mutex);
}
