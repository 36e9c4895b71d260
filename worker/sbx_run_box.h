
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The fresh, hardened container of one run (a "box"): made on demand here,
 * its agent connected, and removed off the request path once the run is
 * over.  A warm pool takes the place of sbx_run_box_acquire() later: the
 * run itself only sees a box.
 */


#ifndef SBX_RUN_BOX_H
#define SBX_RUN_BOX_H


#include <stdint.h>
#include <time.h>

#include "sbx_ctx.h"


typedef struct {
    sbx_session_rec_t  rec;      /* the container, as the exec code sees it */
    int                made;
} sbx_run_box_t;


/*
 * Makes the container of a run of user with memory bytes of memory, once
 * the host's container cap admits it (capacity_exhausted otherwise), and
 * waits for nothing more: the first exec waits for its agent.
 */
int sbx_run_box_acquire(sbx_ctx_t *ctx, const char *user, uint64_t memory,
    sbx_run_box_t *box, sbx_error_t *err);

/*
 * Removes the box's container in a detached thread (or here, when no
 * thread can be made); the cleanup loop removes what a crash leaves.
 */
void sbx_run_box_release(sbx_ctx_t *ctx, sbx_run_box_t *box);

/*
 * At shutdown: waits until the removals under way are done, or the
 * deadline (CLOCK_REALTIME) passed (SBX_ERR).
 */
int sbx_run_box_join(const struct timespec *deadline);


#endif /* SBX_RUN_BOX_H */
