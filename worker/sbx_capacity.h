
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The host-wide cap on this sandboxd's containers (max_containers): a new
 * session's container is admitted only while fewer exist.  Docker's list
 * of this instance's containers (every state: a stopped one still holds
 * its disk until the cleanup loop removes it) is counted together with the
 * containers being created right now, under one mutex, so that two
 * concurrent creations cannot both take the last place.
 */


#ifndef SBX_CAPACITY_H
#define SBX_CAPACITY_H


#include <stddef.h>

#include "sbx_ctx.h"


#define SBX_E_CAPACITY  "capacity_exhausted"


/*
 * Admits the creation of the container named name, or fails with
 * capacity_exhausted (or Docker's error) before anything is made.  A
 * container of that name that already exists is admitted: it is reused,
 * not added.  Always SBX_OK when max_containers is 0.
 */
int sbx_capacity_reserve(sbx_ctx_t *ctx, const char *name, sbx_error_t *err);

/* The creation of name is over (made or not): it leaves the pending set. */
void sbx_capacity_release(sbx_ctx_t *ctx, const char *name);

/*
 * The number of containers: those listed plus those pending that are not
 * listed yet.  *listed_has says whether name is among the listed ones.
 * Pure, for the unit tests.
 */
size_t sbx_capacity_count(const char **listed, size_t nlisted,
    const char **pending, size_t npending, const char *name,
    int *listed_has);


#endif /* SBX_CAPACITY_H */
