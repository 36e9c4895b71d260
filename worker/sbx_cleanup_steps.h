
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The steps of a cleanup pass (sbx_cleanup.c runs them in this order,
 * over one listing of the instance's containers):
 *
 *   containers  a container with no record, or older than
 *               cleanup_max_container_age, once past cleanup_grace
 *   records     a record whose container is gone (removed by hand, by
 *               Docker, with dockerd's data)
 *   volumes     a workspace volume with neither container nor record for
 *               cleanup_volume_max_idle
 *
 * A live session removed by the loop (its container too old, or gone)
 * leaves a "lost" mark (sbx_store_gc.h): the next call naming it answers
 * session_lost instead of silently making a new, empty session.
 */


#ifndef SBX_CLEANUP_STEPS_H
#define SBX_CLEANUP_STEPS_H


#include <stdint.h>

#include <cjson/cJSON.h>

#include "sbx_ctx.h"


/* Whether sbx_cleanup_stop() was called: a step stops between items. */
int sbx_cleanup_stopped(void);

/* Whether the container listing holds a container of that id or name. */
int sbx_cleanup_listed(cJSON *list, const char *id, const char *name);

/* The value of a string label of a listed object, or NULL. */
const char *sbx_cleanup_label(cJSON *obj, const char *name);

/*
 * Drops the records of this instance whose container is neither in list
 * nor in Docker; returns how many, or -1 when Redis failed.
 */
int sbx_cleanup_records(sbx_ctx_t *ctx, cJSON *list);

/*
 * Removes the shared workspace tmpfs volumes no container uses, and the
 * persistent workspace volumes unused (no container in list, no record)
 * for cleanup_volume_max_idle; returns how many, or -1.
 */
int sbx_cleanup_volumes(sbx_ctx_t *ctx, cJSON *list, int64_t now);


#endif /* SBX_CLEANUP_STEPS_H */
